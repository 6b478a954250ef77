"""Warehouses on the WebHDFS test server, shared by test_hdfs_warehouse.py and test_dask.py.

* `tpch_warehouse`: the TPC-H tables as managed tables in an HDFS warehouse, filled by
  LOAD DATA LOCAL INPATH (an upload); `check_tpch` runs one query on it against the
  reference answers, and under `hive.execution.engine=mr` also checks that the query was
  lowered to MapReduce jobs (EXPLAIN says `Engine: mr`, the cursor lists its jobs) rather
  than left to the vectorized engine;
* `conformance_setup` / `run_conformance_case`: the conformance corpus's setup.sql run once
  into an HDFS warehouse, and one case run from a copy of that metastore.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from collections.abc import Iterator

import pytest

from hiveish.minihdfs import MiniHdfs
from hiveish.session import Session
from tests import conformance

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO_ROOT, "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)

import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402


def has_answers(sf: str) -> bool:
    return os.path.isdir(os.path.join(tpch_data.TPCH_DIR, "answers", f"sf{sf}"))


def parquet_dir(sf: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Local TPC-H Parquet tables: bench's cache (bench/.data/sf{SF}) when complete, else generated."""
    cached = os.path.join(BENCH, ".data", f"sf{sf}", "parquet")
    if tpch_data._complete(cached, ".parquet"):
        return cached
    if tpch_data.tpchgen_path() is None:
        pytest.skip(f"tpchgen-cli is not installed and bench/.data has no SF{sf} data")
    return tpch_data.prepare(sf, str(tmp_path_factory.mktemp(f"tpch-sf{sf}")), ["parquet"])["parquet"]


def tpch_warehouse(hdfs: MiniHdfs, table_dir: str, fmt: str, metastore: str, settings: dict[str, str]) -> Iterator:
    """A DB-API connection whose warehouse (hdfs:///tpch/FMT) holds the 8 tables as managed tables."""
    import hiveish
    from hiveish.script import split_statements

    with open(os.path.join(tpch_data.TPCH_DIR, "tables.sql"), encoding="utf-8") as f:
        ddl = f.read().replace("CREATE EXTERNAL TABLE", "CREATE TABLE").replace("${STORED_AS}", tpch_data.FORMATS[fmt])
    ddl = re.sub(r"\s*LOCATION '[^']*'", "", ddl)
    conn = hiveish.connect(warehouse=hdfs.uri(f"/tpch/{fmt}"), metastore=metastore, **settings)
    try:
        cur = conn.cursor()
        for stmt in split_statements(ddl):
            cur.execute(stmt.text)
        for t in tpch_data.TABLES:
            cur.execute(f"LOAD DATA LOCAL INPATH '{table_dir}/{t}' INTO TABLE {t}")
        cur.close()
        yield conn
    finally:
        conn.close()


def check_tpch(conn, sf: str, n: int, engine: str = "arrow") -> list:
    """Run query n under `engine` and compare with the SF's answer; returns the MR jobs it ran (JobReports).

    Under `mr` the query must have been lowered (not handed to the vectorized engine) and its jobs
    must all have succeeded."""
    expected = tpch_answers.load_answer(tpch_answers.answer_path(tpch_data.TPCH_DIR, sf, n))
    sql = tpch_data.query_text(n)
    before = conn.session.settings.get("hive.execution.engine") or "auto"
    cur = conn.cursor()
    try:
        cur.execute(f"SET hive.execution.engine={engine}")
        if engine == "mr":
            cur.execute("EXPLAIN " + sql)
            first = cur.fetchall()[0][0]
            assert first.startswith("Engine: mr"), f"Q{n} was not lowered to MapReduce: {first}"
        cur.execute(sql)
        rows = cur.fetchall()
        jobs = list(cur.jobs)
        assert len(cur.description) == len(expected.columns)
    finally:
        cur.execute(f"SET hive.execution.engine={before}")
        cur.close()
    ok, msg = tpch_answers.compare(rows, expected)
    assert ok, f"Q{n} ({engine}): {msg}"
    if engine == "mr":
        assert jobs, f"Q{n}: no MapReduce job ran"
        assert all(j.status == "SUCCESS" for j in jobs), [(j.stage, j.status) for j in jobs]
    return jobs


def conformance_setup(hdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory, settings: dict[str, str]) -> str:
    """setup.sql run once into an HDFS warehouse (on the Arrow engine); returns the metastore file cases copy."""
    cases_dir = conformance.DEFAULT_CASES
    if not os.path.isdir(cases_dir):
        pytest.skip(f"conformance corpus not found at {cases_dir}")
    metastore = str(tmp_path_factory.mktemp("conformance") / "setup.db")
    with open(os.path.join(cases_dir, "setup.sql"), encoding="utf-8") as f:
        records = conformance.parse_records(f.read())
    with Session(warehouse=hdfs.uri("/conformance/setup"), metastore=metastore,
                 settings={**conformance._settings("arrow"), **settings}) as s:
        ok, msg = conformance.run_records(s, records, os.path.join(cases_dir, "data"))
    assert ok, f"setup.sql on HDFS: {msg}"
    return metastore


def run_conformance_case(case: str, setup_metastore: str, hdfs: MiniHdfs, tmp_path,
                         settings: dict[str, str]) -> tuple[bool, str, int]:
    """One case from a copy of the setup metastore, its own tables under hdfs:///conformance/CASE.

    The setup tables stay where setup.sql put them (no case writes to them). Returns (passed,
    message about the first failure, MapReduce jobs the case ran)."""
    metastore = str(tmp_path / "metastore.db")
    shutil.copyfile(setup_metastore, metastore)
    with open(os.path.join(conformance.DEFAULT_CASES, "cases", case), encoding="utf-8") as f:
        records = conformance.parse_records(f.read())
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = conformance.TIME_ZONE
    time.tzset()
    try:
        with Session(warehouse=hdfs.uri(f"/conformance/{case[:-5]}"), metastore=metastore, settings=settings) as s:
            ok, msg = conformance.run_records(s, records, os.path.join(conformance.DEFAULT_CASES, "data"))
            return ok, msg, len(s.mapreduce_log)
    finally:
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
