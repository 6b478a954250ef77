"""Map splits of tables on HDFS, from the NameNode's block locations (GETFILEBLOCKLOCATIONS).

A real `python -m hiveish.minihdfs` process serves the warehouse with 32 KiB
blocks, so a few hundred KiB of data spans several blocks and lines straddle
block boundaries. A text file gets one split per block (each keeping its
block's host), a smaller `mapreduce.input.fileinputformat.split.maxsize`
cuts blocks further, Parquet is split by row groups, and MapReduce queries over
those splits give the Arrow engine's answers with every record read once.
"""

from __future__ import annotations

import math
import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog.formats.base import FileScan
from catalog.fs import LocalFileSystem, filesystem_for
from executors.mapreduce.splits import splits_for_scan
from hiveish.minihdfs import MiniHdfs
from hiveish.session import Session
from planner.plan import ScanNode
from tests.helpers import rows

BLOCK = 32 << 10
MINIHDFS_OPTIONS = {"block_size": BLOCK, "root_permission": "777"}
FAST = {"hiveish.hdfs.retries": "3", "hiveish.hdfs.retry_backoff": "0.01", "hiveish.hdfs.retry_max_backoff": "0.05"}
N_ROWS = 12000
COLUMNS = [("id", "int"), ("k", "string"), ("v", "int")]


def _lines(header: bool = False) -> bytes:
    rnd = random.Random(7)
    out = ["id,k,v"] if header else []
    out += [f"{i},key{rnd.randrange(40):02d},{rnd.randrange(-500, 500)}" for i in range(N_ROWS)]
    return ("\n".join(out) + "\n").encode()


@pytest.fixture(scope="module")
def files(hdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Local copies of the data files (for LOAD DATA LOCAL) and their sizes."""
    root = tmp_path_factory.mktemp("splitdata")
    text = root / "sales.txt"
    text.write_bytes(_lines())
    header = root / "with_header.txt"
    header.write_bytes(_lines(header=True))
    rnd = random.Random(11)
    table = pa.table({"id": list(range(N_ROWS)), "k": [f"key{rnd.randrange(40):02d}" for _ in range(N_ROWS)],
                      "v": [rnd.randrange(-500, 500) for _ in range(N_ROWS)]})
    pq.write_table(table, root / "facts.parquet", row_group_size=1000, compression="none")
    return {"text": str(text), "header": str(header), "parquet": str(root / "facts.parquet")}


@pytest.fixture(scope="module")
def session(hdfs: MiniHdfs, files: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("splitsession")
    s = Session(warehouse=hdfs.uri("/splits/warehouse"), metastore=str(tmp / "ms.db"),
                settings={**FAST, "hive.local.time.zone": "UTC", "hiveish.mapreduce.workers": "2",
                          "hiveish.mapreduce.local.dir": str(tmp / "mr")})
    s.execute("CREATE TABLE sales (id int, k string, v int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    s.execute(f"LOAD DATA LOCAL INPATH '{files['text']}' INTO TABLE sales")
    s.execute("CREATE TABLE headed (id int, k string, v int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
              "TBLPROPERTIES ('skip.header.line.count'='1')")
    s.execute(f"LOAD DATA LOCAL INPATH '{files['header']}' INTO TABLE headed")
    s.execute("CREATE TABLE footed (id int, k string, v int) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
              "TBLPROPERTIES ('skip.header.line.count'='1', 'skip.footer.line.count'='2')")
    s.execute(f"LOAD DATA LOCAL INPATH '{files['header']}' INTO TABLE footed")
    s.execute("CREATE TABLE facts (id int, k string, v int) STORED AS PARQUET")
    s.execute(f"LOAD DATA LOCAL INPATH '{files['parquet']}' INTO TABLE facts")
    yield s
    s.close()


def both(s: Session, sql: str, **mr: str) -> tuple[list, list]:
    """(arrow rows, mr rows), sorted, and the MR run really happened."""
    s.execute("SET hive.execution.engine=arrow")
    want = sorted(rows(s, sql))
    s.execute("SET hive.execution.engine=mr")
    for k, v in mr.items():
        s.execute(f"SET {k}={v}")
    try:
        before = len(s.mapreduce_log)
        got = sorted(rows(s, sql))
        assert len(s.mapreduce_log) > before, "the query did not run as MapReduce jobs"
    finally:
        s.execute("SET hive.execution.engine=auto")
        for k in mr:
            s.execute(f"RESET {k}")
    return want, got


def _scan(hdfs: MiniHdfs, fmt: str, path: str) -> ScanNode:
    src = FileScan(format=fmt, files=[hdfs.uri(path)], columns=COLUMNS, table_columns=COLUMNS, local=False,
                   fs_options=dict(FAST), serde_params={"field.delim": ","})
    return ScanNode(name="t", table="t", columns=list(COLUMNS), sources=[src])


def test_text_file_gets_one_split_per_block_with_hosts(hdfs: MiniHdfs, files: dict[str, str]) -> None:
    fs = filesystem_for(hdfs.uri("/"), FAST)
    fs.copy_from_local(files["text"], hdfs.uri("/raw/sales.txt"))
    size = os.path.getsize(files["text"])
    blocks = fs.block_locations(hdfs.uri("/raw/sales.txt"))
    assert len(blocks) == math.ceil(size / BLOCK) >= 4

    splits = splits_for_scan(0, _scan(hdfs, "textfile", "/raw/sales.txt"), 128 << 20)
    assert [(s.start, s.length) for s in splits] == [(b.offset, b.length) for b in blocks]
    assert sum(s.size for s in splits) == size
    assert all(s.hosts == ["127.0.0.1"] for s in splits)

    # a split size below the block size cuts blocks further; each piece keeps its block's host
    small = splits_for_scan(0, _scan(hdfs, "textfile", "/raw/sales.txt"), BLOCK // 4)
    assert len(small) == math.ceil(size / (BLOCK // 4))
    assert all(s.hosts == ["127.0.0.1"] and s.length <= BLOCK // 4 for s in small)


def test_compressed_text_is_one_split_sized_from_its_status(hdfs: MiniHdfs, files: dict[str, str],
                                                           tmp_path) -> None:
    import gzip

    gz = tmp_path / "sales.txt.gz"
    gz.write_bytes(gzip.compress(_lines() * 3, compresslevel=0))  # bigger than one block, not splittable
    fs = filesystem_for(hdfs.uri("/"), FAST)
    fs.copy_from_local(str(gz), hdfs.uri("/raw/gz/sales.txt.gz"))
    splits = splits_for_scan(0, _scan(hdfs, "textfile", "/raw/gz/sales.txt.gz"), 128 << 20)
    assert len(splits) == 1 and splits[0].length == -1
    assert splits[0].size == os.path.getsize(gz) > BLOCK
    assert splits[0].hosts == ["127.0.0.1"]


def test_text_query_over_block_splits_reads_every_record_once(session: Session) -> None:
    sql = "SELECT k, count(*), sum(v), min(id), max(id) FROM sales GROUP BY k"
    want, got = both(session, sql)
    assert got == want and len(got) == 40
    report = session.mapreduce_last.reports[0]
    assert report.maps == math.ceil(len(_lines()) / BLOCK) >= 4  # one map task per block
    assert report.counters["MAP_INPUT_RECORDS"] == N_ROWS
    assert report.counters["MAP_INPUT_BYTES"] == len(_lines())


def test_header_is_skipped_only_in_the_first_split(session: Session) -> None:
    want, got = both(session, "SELECT count(*), sum(v), min(id) FROM headed")
    assert got == want and got[0][0] == N_ROWS
    assert session.mapreduce_last.reports[0].maps >= 4


def test_a_file_with_a_footer_to_skip_is_one_split(session: Session) -> None:
    want, got = both(session, "SELECT count(*), sum(v), max(id) FROM footed")
    assert got == want and got[0][0] == N_ROWS - 2  # the last two lines are the footer
    assert session.mapreduce_last.reports[0].maps == 1


def test_parquet_is_split_by_row_groups_with_hosts(session: Session, hdfs: MiniHdfs, files: dict[str, str]) -> None:
    fs = filesystem_for(hdfs.uri("/"), FAST)
    fs.copy_from_local(files["parquet"], hdfs.uri("/raw/facts.parquet"))
    splits = splits_for_scan(0, _scan(hdfs, "parquet", "/raw/facts.parquet"), 128 << 20)
    groups = pq.ParquetFile(files["parquet"]).metadata.num_row_groups
    assert os.path.getsize(files["parquet"]) > 2 * BLOCK
    assert 2 <= len(splits) <= groups  # row groups packed into block-sized splits
    assert sorted(g for s in splits for g in s.row_groups) == list(range(groups))
    assert all(s.hosts == ["127.0.0.1"] for s in splits)

    want, got = both(session, "SELECT k, count(*), sum(v) FROM facts WHERE v > -400 GROUP BY k")
    assert got == want and len(got) == 40
    report = session.mapreduce_last.reports[0]
    assert report.maps == len(splits)
    assert report.counters["MAP_INPUT_RECORDS"] == N_ROWS


def test_join_of_split_inputs_matches(session: Session) -> None:
    want, got = both(session, "SELECT s.k, count(*), sum(f.v) FROM sales s JOIN facts f ON s.id = f.id "
                              "WHERE s.v > 0 GROUP BY s.k", **{"hive.auto.convert.join": "false"})
    assert got == want and got


def test_local_files_have_localhost_blocks(tmp_path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(b"a\n" * 1000)
    blocks = LocalFileSystem().block_locations(str(path))
    assert [(b.offset, b.length, b.hosts) for b in blocks] == [(0, 2000, ("localhost",))]
    src = FileScan(format="textfile", files=[str(path)], columns=[("a", "string")])
    splits = splits_for_scan(0, ScanNode(name="t", table="t", columns=[("a", "string")], sources=[src]), 500)
    assert len(splits) == 4 and all(s.hosts == ["localhost"] for s in splits)
