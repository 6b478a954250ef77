"""A reduce-side join whose small side only shows after its filters becomes a map join at run time.

Hive's conditional task: the tables are too big to broadcast by file size, so
the plan is a common (shuffle) join, but the filtered side's map output turns
out small; the other side's map tasks then join it whole and the big side is
never sorted or shuffled. The rows must equal the Arrow engine's for every
join kind the conversion may touch, and a side the join preserves (the outer
side of an outer join) must never be the one loaded whole.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hiveish.session import Session
from tests.helpers import new_session, rows

FACTS = 40_000
DIMS = 2_000
LIMIT = "30000"  # hive.mapjoin.smalltable.filesize: below both tables' file sizes


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("condjoin")
    s = new_session(root, **{"hive.local.time.zone": "UTC", "hiveish.mapreduce.local.dir": str(root / "mr"),
                             "hiveish.mapreduce.workers": "2", "mapreduce.job.reduces": "2",
                             "hive.mapjoin.smalltable.filesize": LIMIT,
                             "mapreduce.input.fileinputformat.split.maxsize": "60000"})
    facts, dims = root / "facts", root / "dims"
    facts.mkdir()
    dims.mkdir()
    ids = pa.array(range(FACTS), pa.int64())
    pq.write_table(pa.table({"id": ids, "dim": pa.array([i % (DIMS + 50) for i in range(FACTS)], pa.int32()),
                             "amount": pa.array([float(i % 97) for i in range(FACTS)])}),
                   facts / "f.parquet", row_group_size=5_000, compression="none")
    pq.write_table(pa.table({"dim": pa.array(range(DIMS), pa.int32()),
                             "name": pa.array([hashlib.md5(str(i).encode()).hexdigest() for i in range(DIMS)]),
                             "grp": pa.array([f"g{i % 40}" for i in range(DIMS)])}), dims / "d.parquet",
                   compression="none")
    s.execute(f"CREATE EXTERNAL TABLE facts (id bigint, dim int, amount double) STORED AS PARQUET "
              f"LOCATION '{facts}'")
    s.execute(f"CREATE EXTERNAL TABLE dims (dim int, name string, grp string) STORED AS PARQUET LOCATION '{dims}'")
    assert all((p.stat().st_size > int(LIMIT)) for p in (facts / "f.parquet", dims / "d.parquet"))
    yield s
    s.close()


def _key(r: tuple) -> tuple:
    return tuple((x is None, str(x)) for x in r)


def run_both(s: Session, sql: str) -> tuple[list, list]:
    """(rows under arrow, rows under mr), each sorted; the mr run's reports are `s.mapreduce_last`."""
    s.execute("SET hive.execution.engine=arrow")
    want = sorted(rows(s, sql), key=_key)
    s.execute("SET hive.execution.engine=mr")
    before = s.mapreduce_last
    got = sorted(rows(s, sql), key=_key)
    assert s.mapreduce_last is not before
    return want, got


def join_report(s: Session):
    """The report of the query's join job (the first stage)."""
    return s.mapreduce_last.reports[0]


SELECTIVE = "d.grp = 'g7' AND d.dim < 1000"  # 25 of the 2000 dims


def test_filtered_side_found_small_turns_the_common_join_into_a_map_join(session):
    sql = f"SELECT f.id, f.amount, d.name FROM facts f JOIN dims d ON f.dim = d.dim WHERE {SELECTIVE}"
    session.execute("SET hive.execution.engine=mr")
    text = "\n".join(r[0] for r in rows(session, "EXPLAIN " + sql))
    assert "Conditional Operator" in text and "Reduce Operator Tree" in text  # planned as a common join
    want, got = run_both(session, sql)
    assert got == want and len(got) > 100
    job = join_report(session)
    assert job.reduces == 0 and "REDUCE_INPUT_RECORDS" not in job.counters
    assert any("runs as a map join" in n and "of d " in n for n in job.notes), job.notes
    described = [r[0] for r in rows(session, f"DESCRIBE JOB {job.job_id}")]
    assert any("runs as a map join" in line for line in described), described
    # every facts split ran as a map join: the facts rows were read but none shuffled
    assert job.counters["MAP_INPUT_RECORDS"] == FACTS + DIMS
    assert job.maps >= 3


def test_side_found_big_keeps_the_common_join(session):
    sql = "SELECT f.id, d.name FROM facts f JOIN dims d ON f.dim = d.dim WHERE d.dim >= 10 AND d.grp <> 'g1'"
    want, got = run_both(session, sql)
    assert got == want and len(got) > 30_000
    job = join_report(session)
    assert job.reduces == 2 and not job.notes
    assert job.counters["REDUCE_INPUT_RECORDS"] > 30_000  # both sides went through the shuffle


@pytest.mark.parametrize("sql", [
    # outer join: facts rows without a match keep NULLs; only the inner side may be loaded whole
    f"SELECT f.id, d.name FROM facts f LEFT JOIN (SELECT * FROM dims d WHERE {SELECTIVE}) d ON f.dim = d.dim",
    f"SELECT f.id, d.name FROM (SELECT * FROM dims d WHERE {SELECTIVE}) d RIGHT JOIN facts f ON f.dim = d.dim",
    f"SELECT f.id FROM facts f LEFT SEMI JOIN (SELECT * FROM dims d WHERE {SELECTIVE}) d ON f.dim = d.dim",
    f"SELECT f.id FROM facts f WHERE NOT EXISTS (SELECT 1 FROM dims d WHERE d.dim = f.dim AND {SELECTIVE})",
], ids=["left", "right", "semi", "anti"])
def test_outer_semi_and_anti_joins_convert_with_the_inner_side_small(session, sql):
    want, got = run_both(session, sql)
    assert got == want
    job = join_report(session)
    assert job.reduces == 0 and job.notes, job.line()


def test_the_preserved_side_is_never_loaded_whole_but_filters_the_other_side(session):
    # the filtered dims side is small but preserved by the LEFT JOIN: loading it whole in every facts
    # task would repeat its unmatched rows once per task, so the join stays a common join; the facts
    # map tasks only drop the rows whose key no dims row has
    sql = (f"SELECT d.dim, f.id FROM (SELECT * FROM dims d WHERE {SELECTIVE}) d "
           f"LEFT JOIN (SELECT * FROM facts WHERE dim <> 7 AND id % 10 <> 3) f ON f.dim = d.dim")
    want, got = run_both(session, sql)
    assert got == want and any(r[1] is None for r in got)
    job = join_report(session)
    assert job.reduces > 0 and any("filters by join keys" in n for n in job.notes), job.notes
    assert job.counters["REDUCE_INPUT_RECORDS"] == 25 + sum(1 for r in got if r[1] is not None)


def test_exists_over_a_big_table_shuffles_only_rows_with_wanted_keys(session):
    sql = (f"SELECT d.dim, d.name FROM dims d WHERE {SELECTIVE} AND d.dim % 3 = 0 "
           "AND EXISTS (SELECT 1 FROM facts f WHERE f.dim = d.dim AND f.amount > 10)")
    want, got = run_both(session, sql)
    assert got == want and 0 < len(got) < 25
    job = join_report(session)
    assert any("filters by join keys" in n for n in job.notes), job.notes
    assert job.counters["MAP_INPUT_RECORDS"] == FACTS + DIMS  # every facts row read ...
    assert job.counters["REDUCE_INPUT_RECORDS"] < 500  # ... but only those of the wanted dims shuffled


def test_auto_convert_off_keeps_the_common_join(session):
    session.execute("SET hive.auto.convert.join=false")
    try:
        sql = f"SELECT f.id, d.name FROM facts f JOIN dims d ON f.dim = d.dim WHERE {SELECTIVE}"
        session.execute("SET hive.execution.engine=mr")
        text = "\n".join(r[0] for r in rows(session, "EXPLAIN " + sql))
        assert "Conditional Operator" not in text
        want, got = run_both(session, sql)
        assert got == want and join_report(session).reduces > 0
    finally:
        session.execute("SET hive.auto.convert.join=true")


def test_failed_map_join_attempts_are_retried(session):
    session.execute("SET hiveish.mapreduce.fail.attempts=Stage-1:map:0:0,Stage-1:map:3:0")
    try:
        sql = f"SELECT f.dim, count(*), sum(f.amount) FROM facts f JOIN dims d ON f.dim = d.dim WHERE {SELECTIVE} " \
              "GROUP BY f.dim"
        want, got = run_both(session, sql)
    finally:
        session.execute("SET hiveish.mapreduce.fail.attempts=")
    assert got == want and len(got) == 25
    job = join_report(session)
    assert job.notes and job.counters["FAILED_ATTEMPTS"] == 2
