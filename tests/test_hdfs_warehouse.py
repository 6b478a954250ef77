"""The warehouse on HDFS: hiveish end to end against a real WebHDFS server process on loopback.

`python -m hiveish.minihdfs` is started once for the module (`MiniHdfs`, root
permission 777 so the test user may write anywhere, 4 MiB blocks so bigger
files span several blocks). Managed tables live under `hdfs://127.0.0.1:PORT/...`:

* statements: CREATE/INSERT (static, dynamic, OVERWRITE)/CTAS/LOAD (LOCAL upload,
  INPATH rename within HDFS)/ALTER ... PARTITION/MSCK REPAIR/TRUNCATE/DROP, every
  format (text, CSV, JSON, ORC, Parquet, compressed text), `--warehouse` and
  `SET hive.metastore.warehouse.dir`, the local copies the Arrow engine scans;
* errors: unreachable namenode, permission denied, missing path;
* faults: transient DataNode 503s and connection resets are survived with the
  right answer; a persistent failure during INSERT OVERWRITE leaves the table as it was;
* the conformance `setup.sql` on HDFS and a named subset of the corpus (CONFORMANCE_CASES);
* TPC-H on Parquet and text tables uploaded into the HDFS warehouse, answers checked.
  The scale factor is `HIVEISH_HDFS_TPCH_SF` (default 0.1, about 50 s for both formats);
  `HIVEISH_HDFS_TPCH_SF=0.01` for a quick run.  All 22 also run under the MapReduce engine
  (Parquet tables), each checked to have run as MR jobs reading HDFS (about 2.5 minutes).
"""

from __future__ import annotations

import bz2
import getpass
import gzip
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pytest

from catalog.fs import filesystem_for
from catalog.fs.webhdfs import WebHdfsFileSystem
from hiveish import errors
from hiveish.minihdfs import MiniHdfs
from hiveish.session import Session
from tests import conformance, tpch_hdfs

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO_ROOT, "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import tpch_data  # noqa: E402

BLOCK = 4 << 20
MINIHDFS_OPTIONS = {"block_size": BLOCK, "root_permission": "777"}
# quick retries, so fault tests stay fast; still enough to ride out a couple of failures
FAST = {"hiveish.hdfs.retries": "3", "hiveish.hdfs.retry_backoff": "0.01", "hiveish.hdfs.retry_max_backoff": "0.05",
        "hiveish.hdfs.connect_timeout": "2", "hiveish.hdfs.timeout": "20"}
TPCH_SF = os.environ.get("HIVEISH_HDFS_TPCH_SF", "0.1")

# A broad subset of ../shared/conformance/cases, chosen to pass on the local warehouse and to
# cover the storage paths: text/escaped text, Parquet, ORC, LOAD, INSERT (multi-insert,
# static and dynamic partitions, OVERWRITE), partition DDL, plus query shapes over setup tables.
CONFORMANCE_CASES = [
    "add_part_exist.test",
    "alter_table_partition_drop.test",
    "bucket_groupby.test",
    "cbo_semijoin.test",
    "cbo_simple_select.test",
    "decimal_join2.test",
    "default_partition_name.test",
    "drop_multi_partitions.test",
    "drop_partitions_filter.test",
    "dynpart_merge.test",
    "escape3.test",
    "groupby_cube1.test",
    "groupby_multi_insert_common_distinct.test",
    "input12.test",
    "insert1.test",
    "insert_into_with_schema2.test",
    "join_nullsafe.test",
    "lateral_view_ppd.test",
    "limit_partition_metadataonly.test",
    "load_dyn_part8.test",
    "load_overwrite.test",
    "merge_dynamic_partition.test",
    "multi_insert_with_join.test",
    "parquet_array_null_element.test",
    "parquet_decimal1.test",
    "parquet_partitioned.test",
    "parquet_write_correct_definition_levels.test",
    "partition_boolexpr.test",
    "showparts.test",
    "subquery_notin.test",
    "temp_table_gb1.test",
    "udf_concat_insert2.test",
    "union_null.test",
    "union_stats.test",
    "windowing_udaf.test",
]


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture
def fs(hdfs: MiniHdfs) -> WebHdfsFileSystem:
    """A client of the server for looking at (and tampering with) the namespace directly."""
    out = filesystem_for(hdfs.uri("/"), FAST)
    assert isinstance(out, WebHdfsFileSystem)
    return out


@pytest.fixture
def base(hdfs: MiniHdfs, request: pytest.FixtureRequest) -> str:
    """A fresh HDFS directory URI for this test."""
    return hdfs.uri("/t/" + re.sub(r"[^\w.-]", "_", request.node.name))


@pytest.fixture
def session(base: str, tmp_path) -> Iterator[Session]:
    """A session whose warehouse is `<base>/warehouse` on HDFS (metastore on local disk)."""
    with Session(warehouse=base + "/warehouse", metastore=str(tmp_path / "metastore.db"), settings=dict(FAST)) as s:
        yield s


def q(s: Session, sql: str) -> list[tuple]:
    result = s.execute(sql)
    rows: list[tuple] = []
    for b in result.batches:
        rows.extend(tuple(r.values()) for r in b.to_pylist())
    return rows


def names(fs: WebHdfsFileSystem, path: str) -> list[str]:
    return [st.path.rsplit("/", 1)[1] for st in fs.list(path)]


def all_paths(fs: WebHdfsFileSystem, path: str) -> list[str]:
    """Every file and directory below `path`, relative to it."""
    out = []
    for st in fs.list(path):
        rel = st.path[len(path) + 1:]
        out.append(rel)
        if st.is_dir:
            out += [f"{rel}/{p}" for p in all_paths(fs, st.path)]
    return out


def _free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


# ---------------------------------------------------------------------------
# statements with the warehouse on HDFS
# ---------------------------------------------------------------------------

def test_tables_live_on_hdfs(session: Session, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    wh = base + "/warehouse"
    q(session, "CREATE TABLE t (k INT, v STRING)")
    assert session.metastore.get_table("default", "t").sd.location == wh + "/t"
    q(session, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    q(session, "INSERT INTO t VALUES (3, NULL)")
    assert q(session, "SELECT k, v FROM t ORDER BY k") == [(1, "a"), (2, "b"), (3, None)]
    assert names(fs, wh + "/t") == ["000000_0", "000000_0_copy_1"]
    assert fs.read_bytes(wh + "/t/000000_0") == b"1\x01a\n2\x01b\n"
    # OVERWRITE replaces the files through the same staged rename commit
    q(session, "INSERT OVERWRITE TABLE t SELECT k * 10, v FROM t WHERE k < 3")
    assert q(session, "SELECT k, v FROM t ORDER BY k") == [(10, "a"), (20, "b")]
    assert names(fs, wh + "/t") == ["000000_0"]
    # CTAS and a new database
    q(session, "CREATE DATABASE d")
    q(session, "CREATE TABLE d.c STORED AS ORC AS SELECT k, upper(v) AS u FROM t")
    assert session.metastore.get_table("d", "c").sd.location == wh + "/d.db/c"
    assert q(session, "SELECT * FROM d.c ORDER BY k") == [(10, "A"), (20, "B")]
    # the local disk holds the metastore only
    assert all(n.startswith("metastore.db") for n in os.listdir(tmp_path)), os.listdir(tmp_path)
    q(session, "DROP TABLE d.c")
    assert not fs.exists(wh + "/d.db/c")
    q(session, "ALTER TABLE t RENAME TO t2")
    assert not fs.exists(wh + "/t") and names(fs, wh + "/t2") == ["000000_0"]
    assert q(session, "SELECT count(*) FROM t2") == [(2,)]
    q(session, "TRUNCATE TABLE t2")
    assert q(session, "SELECT count(*) FROM t2") == [(0,)] and names(fs, wh + "/t2") == []
    assert not [p for p in all_paths(fs, wh) if ".hive-staging" in p]


def test_partitions_static_dynamic_alter_msck(session: Session, fs: WebHdfsFileSystem, base: str) -> None:
    wh = base + "/warehouse"
    q(session, "CREATE TABLE src (k INT, v STRING, ds STRING)")
    q(session, "INSERT INTO src VALUES (1, 'a', 'x'), (2, 'b', 'y'), (3, 'c', 'y'), (4, 'd', NULL)")
    q(session, "CREATE TABLE p (k INT, v STRING) PARTITIONED BY (ds STRING) STORED AS PARQUET")
    q(session, "INSERT INTO p PARTITION (ds='s') SELECT k, v FROM src WHERE k = 1")
    q(session, "SET hive.exec.dynamic.partition.mode=nonstrict")
    q(session, "INSERT INTO p PARTITION (ds) SELECT k, v, ds FROM src")
    assert names(fs, wh + "/p") == ["ds=__HIVE_DEFAULT_PARTITION__", "ds=s", "ds=x", "ds=y"]
    assert q(session, "SELECT ds, count(*) FROM p GROUP BY ds ORDER BY ds") == [
        ("__HIVE_DEFAULT_PARTITION__", 1), ("s", 1), ("x", 1), ("y", 2)]  # a string key reads the name
    # dynamic OVERWRITE replaces only the partitions it writes
    q(session, "INSERT OVERWRITE TABLE p PARTITION (ds) SELECT k + 100, v, ds FROM src WHERE ds = 'y'")
    assert q(session, "SELECT k FROM p WHERE ds = 'y' ORDER BY k") == [(102,), (103,)]
    assert q(session, "SELECT count(*) FROM p") == [(5,)]
    # ALTER ... PARTITION: add (default and explicit LOCATION), rename, drop
    q(session, "ALTER TABLE p ADD PARTITION (ds='new')")
    assert fs.is_dir(wh + "/p/ds=new")
    ext = base + "/elsewhere/part"
    q(session, f"ALTER TABLE p ADD PARTITION (ds='ext') LOCATION '{ext}'")
    q(session, "INSERT INTO p PARTITION (ds='ext') VALUES (7, 'e')")
    assert len(names(fs, ext)) == 1 and q(session, "SELECT k FROM p WHERE ds = 'ext'") == [(7,)]
    q(session, "ALTER TABLE p PARTITION (ds='x') RENAME TO PARTITION (ds='xx')")
    assert not fs.exists(wh + "/p/ds=x") and fs.is_dir(wh + "/p/ds=xx")
    assert q(session, "SELECT k FROM p WHERE ds = 'xx'") == [(1,)]
    q(session, "ALTER TABLE p DROP PARTITION (ds='s')")
    assert not fs.exists(wh + "/p/ds=s")
    # MSCK REPAIR finds a partition directory written straight into HDFS
    fs.mkdirs(wh + "/p/ds=m")
    fs.copy_from_local(_parquet_file(base), wh + "/p/ds=m/part-0.parquet")
    rows = q(session, "MSCK REPAIR TABLE p")
    assert any("ds=m" in r[0] for r in rows)
    assert q(session, "SELECT k, v FROM p WHERE ds = 'm'") == [(42, "msck")]
    shown = [r[0] for r in q(session, "SHOW PARTITIONS p")]
    assert shown == ["ds=__HIVE_DEFAULT_PARTITION__", "ds=ext", "ds=m", "ds=new", "ds=xx", "ds=y"]
    assert not [p for p in all_paths(fs, wh) if ".hive-staging" in p]


def _parquet_file(base: str) -> str:
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.path.join(tempfile.mkdtemp(prefix="hiveish-test-"), "part-0.parquet")
    pq.write_table(pa.table({"k": pa.array([42], pa.int32()), "v": ["msck"]}), path)
    return path


def test_load_data_local_and_within_hdfs(session: Session, fs: WebHdfsFileSystem, base: str, hdfs: MiniHdfs,
                                         tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = base + "/warehouse"
    local = tmp_path / "in"
    local.mkdir()
    (local / "a.txt").write_text("1\x01one\n2\x01two\n")
    (local / "b.txt.gz").write_bytes(gzip.compress(b"3\x01three\n"))
    q(session, "CREATE TABLE t (k INT, v STRING)")
    # LOCAL: uploaded, the local files stay
    q(session, f"LOAD DATA LOCAL INPATH '{local}' INTO TABLE t")
    assert names(fs, wh + "/t") == ["a.txt", "b.txt.gz"] and (local / "a.txt").exists()
    assert q(session, "SELECT k, v FROM t ORDER BY k") == [(1, "one"), (2, "two"), (3, "three")]
    # INPATH on HDFS: moved by rename (the source is gone), name clashes get _copy_N
    fs.write_bytes(base + "/landing/a.txt", b"4\x01four\n")
    q(session, f"LOAD DATA INPATH '{base}/landing/a.txt' INTO TABLE t")
    assert not fs.exists(base + "/landing/a.txt")
    assert names(fs, wh + "/t") == ["a.txt", "a_copy_1.txt", "b.txt.gz"]
    # a bare path means the warehouse's filesystem (as Hive resolves it against fs.defaultFS);
    # a relative one is under /user/<name>
    hp = base[len(hdfs.uri("/")) - 1:]
    fs.write_bytes(base + "/landing/c.txt", b"5\x01five\n")
    q(session, f"LOAD DATA INPATH '{hp}/landing/c.txt' INTO TABLE t")
    fs.write_bytes(hdfs.uri(f"/user/{getpass.getuser()}/rel.txt"), b"6\x01six\n")
    q(session, "LOAD DATA INPATH 'rel.txt' INTO TABLE t")
    assert not fs.exists(hdfs.uri(f"/user/{getpass.getuser()}/rel.txt"))
    # OVERWRITE of a partition with a directory of HDFS files
    q(session, "CREATE TABLE pt (k INT, v STRING) PARTITIONED BY (ds STRING)")
    fs.write_bytes(base + "/landing/dir/x.txt", b"7\x01seven\n")
    fs.write_bytes(base + "/landing/dir/_SUCCESS", b"")
    q(session, f"LOAD DATA INPATH '{base}/landing/dir' OVERWRITE INTO TABLE pt PARTITION (ds='d')")
    assert names(fs, wh + "/pt/ds=d") == ["x.txt"]
    assert q(session, "SELECT k, v, ds FROM pt") == [(7, "seven", "d")]
    assert q(session, "SELECT count(*), sum(k) FROM t") == [(6, 21)]
    # a LOAD whose commit fails gives the moved files back
    import hiveish.dml

    fs.write_bytes(base + "/landing/back.txt", b"0\x01zero\n")

    def broken_commit(*args, **kwargs):
        raise OSError("commit refused")

    with monkeypatch.context() as m:
        m.setattr(hiveish.dml, "commit", broken_commit)
        with pytest.raises(errors.Error, match="commit refused"):
            q(session, f"LOAD DATA INPATH '{base}/landing/back.txt' INTO TABLE t")
    assert fs.read_bytes(base + "/landing/back.txt") == b"0\x01zero\n"
    assert "back.txt" not in names(fs, wh + "/t") and not [n for n in names(fs, wh + "/t") if n.startswith(".")]
    # non-LOCAL INPATH on another filesystem: copied, then the source is removed (a move)
    (local / "m.txt").write_text("8\x01eight\n")
    q(session, f"LOAD DATA INPATH 'file://{local}/m.txt' INTO TABLE t")
    assert not (local / "m.txt").exists() and "m.txt" in names(fs, wh + "/t")
    with Session(warehouse=str(tmp_path / "localwh"), metastore=str(tmp_path / "local.db"), settings=dict(FAST)) as s2:
        q(s2, "CREATE TABLE lt (k INT, v STRING)")
        fs.write_bytes(base + "/landing/down.txt", b"9\x01nine\n")
        q(s2, f"LOAD DATA INPATH '{base}/landing/down.txt' INTO TABLE lt")
        assert not fs.exists(base + "/landing/down.txt")
        assert os.listdir(tmp_path / "localwh" / "lt") == ["down.txt"]
        assert q(s2, "SELECT * FROM lt") == [(9, "nine")]


def test_every_format_reads_and_writes(session: Session, fs: WebHdfsFileSystem, base: str) -> None:
    q(session, "CREATE TABLE src (k INT, v STRING, d DECIMAL(10,2), a ARRAY<INT>, m MAP<STRING,INT>)")
    q(session, "INSERT INTO src SELECT 1, 'x', 1.50, array(1, 2), map('a', 1) UNION ALL "
               "SELECT 2, NULL, NULL, array(), map()")
    expected = q(session, "SELECT k, v, d FROM src ORDER BY k")
    assert expected == [(1, "x", Decimal("1.50")), (2, None, None)]
    for fmt in ("TEXTFILE", "PARQUET", "ORC", "JSONFILE"):
        name = f"t_{fmt.lower()}"
        q(session, f"CREATE TABLE {name} STORED AS {fmt} AS SELECT * FROM src")
        assert q(session, f"SELECT k, v, d FROM {name} ORDER BY k") == expected, fmt
        assert q(session, f"SELECT a[1], m['a'] FROM {name} WHERE k = 1") == [(2, 1)], fmt
    q(session, "CREATE TABLE csv (k STRING, v STRING) ROW FORMAT SERDE "
               "'org.apache.hadoop.hive.serde2.OpenCSVSerde' WITH SERDEPROPERTIES ('separatorChar' = ';')")
    fs.write_bytes(base + "/warehouse/csv/data.csv", b'"1";"a;b"\n"2";"c"\n')
    assert q(session, "SELECT k, v FROM csv ORDER BY k") == [("1", "a;b"), ("2", "c")]
    q(session, "CREATE TABLE delim (k INT, v STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
               "ESCAPED BY '\\\\'")
    fs.write_bytes(base + "/warehouse/delim/f.bz2", bz2.compress(b"1|a\\|b\n2|c\n"))
    assert q(session, "SELECT k, v FROM delim ORDER BY k") == [(1, "a|b"), (2, "c")]


def test_columnar_read_in_place_mode(base: str, tmp_path) -> None:
    """hiveish.hdfs.scan.columnar=arrow reads Parquet/ORC through a pyarrow dataset over WebHDFS."""
    settings = {**FAST, "hiveish.hdfs.scan.columnar": "arrow"}
    with Session(warehouse=base + "/wh", metastore=str(tmp_path / "m.db"), settings=settings) as s:
        for fmt in ("PARQUET", "ORC"):
            q(s, f"CREATE TABLE t_{fmt} (k INT, v STRING, unused DOUBLE) STORED AS {fmt}")
            q(s, f"INSERT INTO t_{fmt} VALUES (1, 'a', 0.5), (2, 'b', 1.5)")
            assert q(s, f"SELECT v, k FROM t_{fmt} WHERE k > 1") == [("b", 2)]
            assert q(s, f"SELECT count(*) FROM t_{fmt}") == [(2,)]
        assert s.executor._remote._dir is None  # nothing was copied


def test_local_copies_are_current_bounded_and_removed(base: str, fs: WebHdfsFileSystem, tmp_path) -> None:
    cache = tmp_path / "cache"
    settings = {**FAST, "hiveish.hdfs.scan.cache_dir": str(cache), "hiveish.hdfs.scan.cache_bytes": "1"}
    s = Session(warehouse=base + "/wh", metastore=str(tmp_path / "m.db"), settings=settings)
    try:
        q(s, "CREATE TABLE a (k INT)")
        q(s, "CREATE TABLE b (k INT)")
        q(s, "INSERT INTO a VALUES (1), (2)")
        q(s, "INSERT INTO b VALUES (3)")
        assert q(s, "SELECT sum(k) FROM a") == [(3,)]
        [spill] = os.listdir(cache)
        assert len(os.listdir(cache / spill)) == 1
        # a changed file (new size and modification time) is fetched again
        fs.write_bytes(base + "/wh/a/000000_0", b"10\n20\n30\n")
        assert q(s, "SELECT sum(k) FROM a") == [(60,)]
        # beyond cache_bytes the older copies go, those of the current scan stay
        assert q(s, "SELECT sum(k) FROM b") == [(3,)]
        assert len(os.listdir(cache / spill)) == 1
        assert q(s, "SELECT (SELECT sum(k) FROM a) + (SELECT sum(k) FROM b)") == [(63,)]
        assert len(os.listdir(cache / spill)) == 2
    finally:
        s.close()
    assert os.listdir(cache) == []  # removed on close


def test_warehouse_from_setting_and_cli(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    # SET hive.metastore.warehouse.dir moves new managed tables (and databases) to HDFS
    with Session(warehouse=str(tmp_path / "localwh"), metastore=str(tmp_path / "m.db"), settings=dict(FAST)) as s:
        q(s, f"SET hive.metastore.warehouse.dir={base}/set")
        q(s, "CREATE TABLE t (k INT)")
        q(s, "INSERT INTO t VALUES (5)")
        q(s, "CREATE DATABASE db2")
        q(s, "CREATE TABLE db2.u AS SELECT k + 1 AS k FROM t")
        assert names(fs, base + "/set") == ["db2.db", "t"] and names(fs, base + "/set/db2.db/u") == ["000000_0"]
        assert q(s, "SELECT * FROM db2.u") == [(6,)]
    assert os.listdir(tmp_path / "localwh") == []
    # the command line: --warehouse hdfs://...
    env = dict(os.environ, HIVEISH_HOME=str(tmp_path / "home"))
    hconf = [a for k, v in FAST.items() for a in ("--hiveconf", f"{k}={v}")]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hiveish", "--warehouse", base + "/cli",
                               "--metastore", str(tmp_path / "cli.db"), *hconf, *args],
                              capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60)

    p = cli("-S", "-e", "CREATE TABLE c (k INT, v STRING) STORED AS PARQUET; "
                        "INSERT INTO c VALUES (1, 'one'); SELECT * FROM c;")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ["1\tone"]
    assert len(names(fs, base + "/cli/c")) == 1
    dead = f"hdfs://127.0.0.1:{_free_port()}/wh"
    p = subprocess.run([sys.executable, "-m", "hiveish", "--warehouse", dead, "--metastore", str(tmp_path / "d.db"),
                        *hconf, "-e", "SELECT 1"], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=60)
    assert p.returncode != 0
    assert "FAILED" in p.stderr and "Cannot reach HDFS" in p.stderr and dead.split("/")[2] in p.stderr


def test_insert_overwrite_directory_on_hdfs(session: Session, fs: WebHdfsFileSystem, base: str, hdfs: MiniHdfs) -> None:
    q(session, "CREATE TABLE t (k INT)")
    q(session, "INSERT INTO t VALUES (1), (2)")
    q(session, f"INSERT OVERWRITE DIRECTORY '{base}/out' SELECT k * 2 FROM t")
    assert fs.read_bytes(base + "/out/000000_0") == b"2\n4\n"
    hp = base[len(hdfs.uri("/")) - 1:]
    q(session, f"INSERT OVERWRITE DIRECTORY '{hp}/out2' ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
               "SELECT k, k FROM t")
    assert fs.read_bytes(base + "/out2/000000_0") == b"1,1\n2,2\n"
    assert not [n for n in names(fs, base) if n.startswith(".hive-staging")]


def test_partition_value_needing_escapes(session: Session, fs: WebHdfsFileSystem, base: str) -> None:
    q(session, "CREATE TABLE p (k INT) PARTITIONED BY (ts STRING)")
    q(session, "INSERT INTO p PARTITION (ts='10:00 50%') VALUES (1)")
    assert names(fs, base + "/warehouse/p") == ["ts=10%3A00 50%25"]
    assert q(session, "SELECT k, ts FROM p") == [(1, "10:00 50%")]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_unreachable_namenode(tmp_path, session: Session) -> None:
    dead = f"127.0.0.1:{_free_port()}"
    with pytest.raises(errors.OperationalError) as ei:  # PEP 249's class for "the database is unreachable"
        Session(warehouse=f"hdfs://{dead}/wh", metastore=str(tmp_path / "m.db"), settings=dict(FAST))
    msg = str(ei.value)
    assert f"Cannot reach HDFS at {dead} for MKDIRS hdfs://{dead}/wh" in msg and "Connection refused" in msg
    with pytest.raises(errors.ExecutionError) as ei2:
        q(session, f"CREATE EXTERNAL TABLE far (k INT) LOCATION 'hdfs://{dead}/data/far'")
    msg = ei2.value.hive_message()
    assert f"Cannot reach HDFS at {dead}" in msg and f"hdfs://{dead}/data/far" in msg, msg
    assert session.metastore.get_table("default", "far") is None


def test_permission_denied_and_missing_paths(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    fs.mkdirs(base + "/alice")
    fs.set_owner(base + "/alice", owner="alice")
    fs.mkdirs(base + "/locked/t")
    fs.write_bytes(base + "/locked/t/f", b"1\n")
    fs.set_permission(base + "/locked", "700")
    settings = {**FAST, "hiveish.hdfs.user": "alice"}
    with Session(warehouse=base + "/alice/wh", metastore=str(tmp_path / "m.db"), settings=settings) as s:
        q(s, "CREATE TABLE mine (k INT)")
        q(s, "INSERT INTO mine VALUES (1)")
        assert fs.status(base + "/alice/wh/mine/000000_0").owner == "alice"
        with pytest.raises(errors.ExecutionError) as ei:
            q(s, f"INSERT OVERWRITE DIRECTORY '{base}/locked/out' SELECT k FROM mine")
        msg = ei.value.hive_message()
        assert msg.startswith("Execution Error, return code 1 from hiveish: Permission denied: "
                              f"{base}/locked/"), msg
        assert "user=alice" in msg and f"127.0.0.1:{hdfs.namenode_port}" in msg and "AccessControlException" in msg
        with pytest.raises(errors.ExecutionError) as ei:
            q(s, f"CREATE EXTERNAL TABLE theirs (k INT) LOCATION '{base}/locked/t'")
        assert f"Permission denied: {base}/locked/t" in ei.value.hive_message()
        # reading a file the user may not read
        fs.mkdirs(base + "/alice/wh/mine/sub")
        fs.write_bytes(base + "/alice/wh/mine/secret", b"2\n")
        fs.set_permission(base + "/alice/wh/mine/secret", "600")
        with pytest.raises(errors.ExecutionError) as ei:
            q(s, "SELECT * FROM mine")
        msg = ei.value.hive_message()
        assert f"Permission denied: {base}/alice/wh/mine/secret (OPEN: user=alice, access=READ" in msg, msg
        # missing paths
        with pytest.raises(errors.SemanticException, match=re.escape(f"No files matching path {base}/nope")):
            q(s, f"LOAD DATA INPATH '{base}/nope' INTO TABLE mine")


# ---------------------------------------------------------------------------
# fault injection
# ---------------------------------------------------------------------------

def test_transient_datanode_errors_are_survived(session: Session, hdfs: MiniHdfs) -> None:
    q(session, "CREATE TABLE t (k INT, v STRING)")
    # writes: CREATE's second step (the DataNode) answers 503 twice
    hdfs.set_faults({"kind": "error", "node": "datanode", "op": "CREATE", "status": 503, "count": 2})
    q(session, "INSERT INTO t SELECT id, repeat('x', 100) FROM range(20000) AS r(id)")
    assert [f["fired"] for f in hdfs.faults()] == [2]
    # reads: OPEN answers 503 twice on the DataNode
    hdfs.set_faults({"kind": "error", "node": "datanode", "op": "OPEN", "status": 503, "count": 2})
    assert q(session, "SELECT count(*), sum(k), min(length(v)) FROM t") == [(20000, 199990000, 100)]
    assert [f["fired"] for f in hdfs.faults()] == [2]


def test_connection_reset_mid_read_resumes(session: Session, hdfs: MiniHdfs) -> None:
    q(session, "CREATE TABLE big (k INT, v STRING)")
    q(session, "INSERT INTO big SELECT id, md5(id::VARCHAR) FROM range(200000) AS r(id)")  # ~7 MB, two blocks
    hdfs.set_faults({"kind": "reset", "node": "datanode", "op": "OPEN", "after_bytes": 1 << 20, "count": 3})
    assert q(session, "SELECT count(*), sum(k), count(DISTINCT v) FROM big") == [(200000, 19999900000, 200000)]
    assert [f["fired"] for f in hdfs.faults()] == [3]


def _table_state(s: Session, fs: WebHdfsFileSystem, location: str) -> tuple:
    return (sorted(q(s, "SELECT * FROM t")), all_paths(fs, location),
            [p.values for p in s.metastore.list_partitions("default", "t")])


def test_persistent_failure_during_insert_overwrite_keeps_table(session: Session, hdfs: MiniHdfs,
                                                                 fs: WebHdfsFileSystem, base: str) -> None:
    q(session, "SET hive.exec.dynamic.partition.mode=nonstrict")
    q(session, "CREATE TABLE t (k INT, v STRING) PARTITIONED BY (ds STRING)")
    q(session, "INSERT INTO t PARTITION (ds) VALUES (1, 'a', 'x'), (2, 'b', 'y')")
    loc = base + "/warehouse/t"
    before = _table_state(session, fs, loc)
    # every DataNode write fails: staging cannot be written
    hdfs.set_faults({"kind": "error", "node": "datanode", "op": ["CREATE", "APPEND"], "status": 503, "count": -1})
    with pytest.raises(errors.ExecutionError) as ei:
        q(session, "INSERT OVERWRITE TABLE t PARTITION (ds) SELECT k + 10, v, ds FROM t UNION ALL "
                   "SELECT 3, 'c', 'z'")
    msg = ei.value.hive_message()
    assert "503" in msg and f"127.0.0.1:{hdfs.datanode_port}" in msg and "4 attempts" in msg and loc in msg, msg
    hdfs.clear_faults()
    assert _table_state(session, fs, loc) == before
    assert not [p for p in all_paths(fs, loc) if ".hive-staging" in p]
    # every RENAME fails: the commit cannot start, nothing moved
    hdfs.set_faults({"kind": "error", "node": "namenode", "op": "RENAME", "status": 503, "count": -1})
    with pytest.raises(errors.ExecutionError) as ei:
        q(session, "INSERT OVERWRITE TABLE t PARTITION (ds='x') SELECT 9, 'z'")
    assert "RENAME" in ei.value.hive_message() and "503" in ei.value.hive_message()
    hdfs.clear_faults()
    assert _table_state(session, fs, loc) == before
    assert not [p for p in all_paths(fs, loc) if ".hive-staging" in p]
    # and with the faults gone the same statement works
    q(session, "INSERT OVERWRITE TABLE t PARTITION (ds='x') SELECT 9, 'z'")
    assert sorted(q(session, "SELECT k, ds FROM t")) == [(2, "y"), (9, "x")]


# ---------------------------------------------------------------------------
# the conformance corpus with the warehouse on HDFS
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def conformance_setup(hdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory) -> str:
    """setup.sql run once into an HDFS warehouse; returns the metastore file cases start from."""
    return tpch_hdfs.conformance_setup(hdfs, tmp_path_factory, FAST)


def _known_failures() -> set[str]:
    from tests.test_conformance import known_failures

    return set(known_failures("arrow"))


@pytest.mark.parametrize("case", CONFORMANCE_CASES)
def test_conformance_case_on_hdfs(case: str, conformance_setup: str, hdfs: MiniHdfs, tmp_path) -> None:
    if case in _known_failures():
        pytest.skip("listed in conformance_known_failures.txt (fails on the local warehouse too)")
    settings = {**conformance._settings("arrow"), **FAST}
    ok, msg, _ = tpch_hdfs.run_conformance_case(case, conformance_setup, hdfs, tmp_path, settings)
    assert ok, msg
    assert all(n.startswith("metastore.db") for n in os.listdir(tmp_path)), os.listdir(tmp_path)


# ---------------------------------------------------------------------------
# TPC-H with the tables uploaded into the HDFS warehouse
# ---------------------------------------------------------------------------

TPCH_SKIP = [
    pytest.mark.skipif(tpch_data.tpchgen_path() is None, reason="tpchgen-cli is not installed"),
    pytest.mark.skipif(not os.path.isdir(os.path.join(tpch_data.TPCH_DIR, "answers", f"sf{TPCH_SF}")),
                       reason=f"TPC-H answers for SF{TPCH_SF} not found in {tpch_data.TPCH_DIR}"),
]


@pytest.fixture(scope="module")
def tpch_local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return tpch_data.prepare(TPCH_SF, str(tmp_path_factory.mktemp(f"tpch-sf{TPCH_SF}")), ["parquet", "text"])


def _tpch_warehouse(hdfs: MiniHdfs, tpch_local: dict[str, str], fmt: str, tmp_path_factory) -> Iterator:
    """Managed TPC-H tables in the HDFS warehouse, filled by LOAD DATA LOCAL INPATH (an upload)."""
    yield from tpch_hdfs.tpch_warehouse(hdfs, tpch_local[fmt], fmt, str(tmp_path_factory.mktemp("m") / "m.db"), FAST)


@pytest.fixture(scope="module")
def tpch_parquet(hdfs: MiniHdfs, tpch_local: dict[str, str], tmp_path_factory) -> Iterator:
    yield from _tpch_warehouse(hdfs, tpch_local, "parquet", tmp_path_factory)


@pytest.fixture(scope="module")
def tpch_text(hdfs: MiniHdfs, tpch_local: dict[str, str], tmp_path_factory) -> Iterator:
    yield from _tpch_warehouse(hdfs, tpch_local, "text", tmp_path_factory)


def _check_tpch(conn, n: int, engine: str = "arrow") -> None:
    tpch_hdfs.check_tpch(conn, TPCH_SF, n, engine)  # under mr: lowered, and its jobs ran reading HDFS


@pytest.mark.parametrize("n", tpch_data.QUERIES, ids=lambda n: f"q{n:02d}")
def test_tpch_parquet_on_hdfs(tpch_parquet, n: int) -> None:
    _check_tpch(tpch_parquet, n)


@pytest.mark.parametrize("n", tpch_data.QUERIES, ids=lambda n: f"q{n:02d}")
def test_tpch_text_on_hdfs(tpch_text, n: int) -> None:
    _check_tpch(tpch_text, n)


# under mr every TPC-H query runs as MapReduce jobs reading HDFS
@pytest.mark.parametrize("n", tpch_data.QUERIES, ids=lambda n: f"q{n:02d}")
def test_tpch_mapreduce_on_hdfs(tpch_parquet, n: int) -> None:
    _check_tpch(tpch_parquet, n, engine="mr")


for _name in ("test_tpch_parquet_on_hdfs", "test_tpch_text_on_hdfs", "test_tpch_mapreduce_on_hdfs"):
    for _mark in TPCH_SKIP:
        globals()[_name] = _mark(globals()[_name])
