"""Scan throughput over WebHDFS against the local filesystem, for the same TPC-H lineitem table.

    python bench/webhdfs_scan.py [--sf 1] [--format parquet|text|both] [--repeat 3] [--data DIR]

Makes lineitem with `tpchgen-cli` (cached in bench/.data/sf{SF}), starts `python -m hiveish.minihdfs`
on loopback, uploads the table into an HDFS warehouse (LOAD DATA LOCAL INPATH) and runs one query
that reads every column of every row through hiveish:

* local       an external table over the local files (DuckDB reads them directly)
* hdfs cold   a new session per run: the Arrow engine first copies the files out of HDFS
              (one streamed OPEN per file), then scans the copies
* hdfs warm   the same session again: the copies are reused (the file's mtime and size unchanged)
* hdfs arrow  Parquet only, `hiveish.hdfs.scan.columnar=arrow`: a pyarrow dataset reading column
              chunks in place through the WebHDFS FileSystem, nothing copied
* raw copy    `WebHdfsFileSystem.copy_to_local` alone: what the wire gives, without parsing

MB/s counts the table's bytes on storage; rows/s its rows. Best of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for p in (ROOT, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

import tpch_data  # noqa: E402

# touches every value of every column (plain min/max could be answered from Parquet statistics)
SCAN = ("SELECT count(*), sum(l_orderkey), sum(l_partkey), sum(l_suppkey), sum(l_linenumber), sum(l_quantity), "
        "sum(l_extendedprice), sum(l_discount), sum(l_tax), sum(length(l_returnflag)), sum(length(l_linestatus)), "
        "sum(datediff(l_receiptdate, l_shipdate)), sum(datediff(l_commitdate, l_shipdate)), "
        "sum(length(l_shipinstruct)), sum(length(l_shipmode)), sum(length(l_comment)) FROM lineitem")


def lineitem_ddl(fmt: str, location: str | None) -> str:
    with open(os.path.join(tpch_data.TPCH_DIR, "tables.sql"), encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"CREATE EXTERNAL TABLE lineitem \(.*?;", text, re.S)
    assert m, "lineitem not in tables.sql"
    ddl = m.group(0).rstrip(";").replace("${STORED_AS}", tpch_data.FORMATS[fmt])
    if location is None:
        return re.sub(r"\s*LOCATION '[^']*'", "", ddl.replace("CREATE EXTERNAL TABLE", "CREATE TABLE"))
    return ddl.replace("${TPCH_DATA}/lineitem", location)


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def best_fresh(open_session, repeat: int) -> tuple[float, tuple]:
    """Best time of a scan as the first query of a new session (its start-up not timed)."""
    times, out = [], ()
    for _ in range(repeat):
        with open_session() as s:
            s.execute("SELECT 1")
            t = time.perf_counter()
            out = scan(s)
            times.append(time.perf_counter() - t)
    return min(times), out


def scan(session) -> tuple:
    result = session.execute(SCAN)
    rows = [tuple(r.values()) for b in result.batches for r in b.to_pylist()]
    return rows[0]


def bench_format(fmt: str, table_dir: str, hdfs, repeat: int, work: str) -> list[tuple[str, float, tuple]]:
    from catalog.fs import filesystem_for
    from hiveish.session import Session

    local_dir = os.path.join(table_dir, "lineitem")
    out: list[tuple[str, float, tuple]] = []
    with Session(warehouse=os.path.join(work, f"wh-{fmt}"), metastore=os.path.join(work, f"local-{fmt}.db")) as s:
        s.execute(lineitem_ddl(fmt, os.path.abspath(local_dir)))
        scan(s)  # warm the OS cache and DuckDB
        t, res = best(lambda: scan(s), repeat)
        out.append(("local", t, res))

    wh = hdfs.uri(f"/warehouse-{fmt}")
    metastore = os.path.join(work, f"hdfs-{fmt}.db")
    with Session(warehouse=wh, metastore=metastore) as s:
        s.execute(lineitem_ddl(fmt, None))
        t0 = time.perf_counter()
        s.execute(f"LOAD DATA LOCAL INPATH '{local_dir}' INTO TABLE lineitem")
        out.append(("upload (LOAD LOCAL)", time.perf_counter() - t0, ()))

    def fresh(settings: dict[str, str] | None = None):
        return lambda: Session(warehouse=wh, metastore=metastore, settings=settings)

    t, res = best_fresh(fresh(), repeat)
    out.append(("hdfs cold (copy + scan)", t, res))
    with Session(warehouse=wh, metastore=metastore) as s:
        scan(s)
        t, res = best(lambda: scan(s), repeat)
        out.append(("hdfs warm (copies reused)", t, res))
    if fmt == "parquet":
        t, res = best_fresh(fresh({"hiveish.hdfs.scan.columnar": "arrow"}), repeat)
        out.append(("hdfs arrow (in place)", t, res))
    fs = filesystem_for(wh)
    files = [st for st in fs.walk_files(wh + "/lineitem")]
    dest = os.path.join(work, "raw")

    def raw() -> tuple:
        for st in files:
            fs.copy_to_local(st.path, dest, st.size)
        return ()

    t, _ = best(raw, repeat)
    out.append(("raw copy (no parsing)", t, ()))
    os.remove(dest)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", default="1", help="scale factor (default 1)")
    ap.add_argument("--format", choices=["parquet", "text", "both"], default="both")
    ap.add_argument("--data", help="data cache directory (default bench/.data/sf{SF})")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best counts (default 3)")
    ap.add_argument("--block-size", type=int, default=128 << 20, help="HDFS block size of the server")
    args = ap.parse_args(argv)

    from hiveish.minihdfs import MiniHdfs

    sf = tpch_data.sf_name(args.sf)
    data_dir = args.data or os.path.join(BENCH, ".data", f"sf{sf}")
    formats = ["parquet", "text"] if args.format == "both" else [args.format]
    dirs = tpch_data.prepare(sf, data_dir, formats)
    work = tempfile.mkdtemp(prefix="hiveish-webhdfs-bench-")
    failed = False
    try:
        with MiniHdfs(os.path.join(work, "hdfsroot"), block_size=args.block_size, root_permission="777") as hdfs:
            print(f"TPC-H SF{sf} lineitem; minihdfs at {hdfs.namenode_url} (datanode {hdfs.datanode_url}); "
                  f"best of {args.repeat}")
            print(f"{'format':8} {'path':26} {'seconds':>8} {'MB/s':>8} {'Mrows/s':>8} {'vs local':>9}")
            for fmt in formats:
                local_dir = os.path.join(dirs[fmt], "lineitem")
                size = sum(os.path.getsize(os.path.join(local_dir, f)) for f in os.listdir(local_dir))
                results = bench_format(fmt, dirs[fmt], hdfs, args.repeat, work)
                base = results[0][1]
                rows = results[0][2][0]
                for name, t, res in results:
                    if res and res != results[0][2]:
                        print(f"  !! {name} returned a different answer: {res!r}")
                        failed = True
                    mrows = f"{rows / t / 1e6:8.2f}" if res else f"{'':8}"
                    ratio = f"{t / base:8.2f}x" if res else f"{'':9}"
                    print(f"{fmt:8} {name:26} {t:8.2f} {size / t / 1e6:8.1f} {mrows} {ratio}")
                print(f"{'':8} ({size / 1e6:.1f} MB, {rows} rows)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
