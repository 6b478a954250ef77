"""TPC-H on hiveish against DuckDB on the same files.

    python bench/tpch.py --sf 1 [--format parquet|text|both] [--data DIR] [--queries 1,3,...] [--repeat N]

Makes the data with `tpchgen-cli` (cached in bench/.data/sf{SF}), registers the 8 tables
of ../shared/tpch/tables.sql as external tables in a fresh temporary warehouse, runs the
22 HiveQL queries of ../shared/tpch/queries through hiveish and the DuckDB versions in
bench/tpch_duckdb through DuckDB directly over the same files, checks both against
../shared/tpch/answers/sf{SF} when present, and prints the times (best of --repeat runs,
result fetched as Arrow), their ratio and the geometric mean of the ratios.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for p in (ROOT, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402

DUCKDB_QUERIES = os.path.join(BENCH, "tpch_duckdb")
DUCK_TYPES = {"STRING": "VARCHAR", "INT": "INTEGER"}


def duckdb_query_text(n: int) -> str:
    with open(os.path.join(DUCKDB_QUERIES, f"q{n:02d}.sql"), encoding="utf-8") as f:
        return f.read().strip().rstrip(";").strip()


def duckdb_connection(table_dir: str, fmt: str):
    """An in-memory DuckDB with one view per table over the same files hiveish reads."""
    import duckdb

    con = duckdb.connect(":memory:")
    lit = tpch_data._lit
    for table, cols in tpch_data.table_columns().items():
        files = lit(os.path.join(os.path.abspath(table_dir), table, "*"))
        if fmt == "parquet":
            src = f"read_parquet({files})"
        else:
            spec = ", ".join(f"{lit(c)}: {lit(DUCK_TYPES.get(t.upper(), t))}" for c, t in cols)
            src = (f"read_csv({files}, columns={{{spec}}}, delim={lit(tpch_data.FIELD_DELIM)}, header=false, "
                   f"quote='', escape='', nullstr={lit(tpch_data.NULL_TEXT)}, auto_detect=false)")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {src}")
    return con


def _timed(fn, repeat: int):
    """(best seconds, last result) over `repeat` runs; the exception if a run fails."""
    best = math.inf
    result = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _check(table, answer) -> str:
    if answer is None:
        return "-"
    ok, msg = tpch_answers.compare(tpch_data.rows_of(table), answer)
    return msg if ok else f"WRONG: {msg}"


def _short(e: BaseException) -> str:
    return f"ERROR: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"


def run_format(sf: str, table_dir: str, fmt: str, queries: list[int], repeat: int) -> list[dict]:
    results = []
    duck = duckdb_connection(table_dir, fmt)
    with tpch_data.Warehouse(table_dir, fmt) as wh:
        # warm up both engines (connection set-up, macros, file metadata) outside the timings
        wh.run("SELECT count(*) FROM region")
        duck.execute("SELECT count(*) FROM region").fetchall()
        for q in queries:
            path = tpch_answers.answer_path(tpch_data.TPCH_DIR, sf, q)
            answer = tpch_answers.load_answer(path) if os.path.exists(path) else None
            row = {"query": q, "hiveish": None, "duckdb": None, "ok": "-", "duck_ok": "-"}
            hive_sql = tpch_data.query_text(q)
            duck_sql = duckdb_query_text(q)
            try:
                row["hiveish"], (table, _) = _timed(lambda: wh.run(hive_sql), repeat)
                row["ok"] = _check(table, answer)
            except Exception as e:  # report and go on with the next query
                row["ok"] = _short(e)
            try:
                row["duckdb"], table = _timed(lambda: duck.sql(duck_sql).to_arrow_table(), repeat)
                row["duck_ok"] = _check(table, answer)
            except Exception as e:
                row["duck_ok"] = _short(e)
            results.append(row)
            print_row(row, flush=True)
    duck.close()
    return results


HEADER = f"{'query':>5}  {'hiveish s':>10}  {'duckdb s':>9}  {'ratio':>7}  answer"


def _fmt_s(v: float | None) -> str:
    return f"{v:10.3f}" if v is not None else f"{'-':>10}"


def print_row(row: dict, flush: bool = False) -> None:
    ratio = row["hiveish"] / row["duckdb"] if row["hiveish"] and row["duckdb"] else None
    note = row["ok"]
    if not row["duck_ok"].startswith(("ok", "-")):
        note += f"  (duckdb: {row['duck_ok']})"
    print(f"{'Q%02d' % row['query']:>5}  {_fmt_s(row['hiveish'])}  {_fmt_s(row['duckdb'])[1:]}  "
          f"{f'{ratio:7.2f}' if ratio else '      -'}  {note}", flush=flush)


def summary(results: list[dict]) -> str:
    ratios = [r["hiveish"] / r["duckdb"] for r in results if r["hiveish"] and r["duckdb"]]
    ok = sum(1 for r in results if r["ok"].startswith("ok"))
    checked = sum(1 for r in results if r["ok"] != "-")
    total_h = sum(r["hiveish"] or 0 for r in results)
    total_d = sum(r["duckdb"] or 0 for r in results)
    geo = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else float("nan")
    return (f"geomean ratio (hiveish/duckdb) over {len(ratios)} queries: {geo:.2f}   "
            f"total {total_h:.2f}s vs {total_d:.2f}s   answers ok: {ok}/{checked}")


def parse_queries(text: str | None) -> list[int]:
    if not text:
        return list(tpch_data.QUERIES)
    out = []
    for part in text.split(","):
        part = part.strip().lower().lstrip("q")
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    bad = [q for q in out if q not in tpch_data.QUERIES]
    if bad:
        raise SystemExit(f"no such TPC-H query: {bad}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", default="1", help="scale factor (default 1)")
    ap.add_argument("--format", choices=["parquet", "text", "both"], default="parquet")
    ap.add_argument("--data", help="data cache directory (default bench/.data/sf{SF})")
    ap.add_argument("--queries", help="e.g. 1,3,5-7 (default all 22)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query; the best time counts (default 3)")
    args = ap.parse_args(argv)

    sf = tpch_data.sf_name(args.sf)
    data_dir = args.data or os.path.join(BENCH, ".data", f"sf{sf}")
    formats = ["parquet", "text"] if args.format == "both" else [args.format]
    queries = parse_queries(args.queries)

    t0 = time.perf_counter()
    dirs = tpch_data.prepare(sf, data_dir, formats)
    print(f"TPC-H SF{sf} data in {data_dir} ({time.perf_counter() - t0:.1f}s)")
    answers = os.path.join(tpch_data.TPCH_DIR, "answers", f"sf{sf}")
    if not os.path.isdir(answers):
        print(f"no reference answers for SF{sf} ({answers}); answers not checked")
    failed = False
    for fmt in formats:
        print(f"\n== {fmt} (best of {args.repeat})")
        print(HEADER)
        results = run_format(sf, dirs[fmt], fmt, queries, args.repeat)
        print(summary(results))
        failed = failed or any(not r["ok"].startswith(("ok", "-")) for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
