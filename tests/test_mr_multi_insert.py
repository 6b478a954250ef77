"""Multi-insert under the MapReduce engine reads its source once (Hive's multi-insert sharing one scan).

Each test runs the same statement on the Arrow engine and on MapReduce and compares the targets'
rows; the job counters then show how often the source was read: the jobs reading the source are the
root stages EXPLAIN lists, and their MAP_INPUT_RECORDS add up to the rows of the partitions read
once (branch by branch it would be once per branch).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from hiveish import errors
from hiveish.session import Session
from tests.helpers import new_session, rows

N = 300  # source rows: keys 0..149 in ds='1', 150..299 in ds='2'


def _session(tmp_path: Path, **settings: str) -> Session:
    conf = {"hiveish.mapreduce.local.dir": str(tmp_path / "mr"), "hiveish.mapreduce.inprocess": "true",
            "hive.exec.dynamic.partition.mode": "nonstrict", "mapreduce.input.fileinputformat.split.maxsize": "2048"}
    conf.update(settings)
    s = new_session(tmp_path, **conf)
    s.execute("CREATE TABLE src (key INT, value STRING, amount DOUBLE) PARTITIONED BY (ds STRING)")
    for ds, lo in (("1", 0), ("2", N // 2)):
        values = ", ".join(f"({k}, 'v{k % 7}', {k * 1.5})" for k in range(lo, lo + N // 2))
        s.execute(f"INSERT INTO src PARTITION (ds='{ds}') VALUES {values}")
    return s


@pytest.fixture
def session(tmp_path):
    s = _session(tmp_path)
    yield s
    s.close()


def _root_stages(s: Session, stmt: str) -> set[str]:
    return {line.split()[0] for (line,) in rows(s, "EXPLAIN " + stmt) if line.strip().endswith("is a root stage")}


def _run_both(s: Session, creates: list[str], stmt: str) -> tuple[dict[str, list], int]:
    """Targets' rows after `stmt` on Arrow and on MapReduce (asserted equal), and the MR run's source reads."""
    targets = [c.split()[2] for c in creates]
    results = []
    reads = 0
    for engine in ("arrow", "mr"):
        for t, c in zip(targets, creates):
            s.execute(f"DROP TABLE IF EXISTS {t}")
            s.execute(c)
        s.execute(f"SET hive.execution.engine={engine}")
        roots = _root_stages(s, stmt) if engine == "mr" else set()
        s.execute(stmt)
        if engine == "mr":
            jobs = list(s.statement_jobs)
            assert jobs and all(j.status == "SUCCESS" for j in jobs)
            reads = sum(j.counters.get("MAP_INPUT_RECORDS", 0) for j in jobs if j.stage in roots)
        results.append({t: sorted(rows(s, f"SELECT * FROM {t}"), key=repr) for t in targets})
    assert results[0] == results[1]
    assert all(results[1].values()), "every target got rows"
    return results[1], reads


def test_two_filtered_branches_read_the_source_once(tmp_path):
    s = _session(tmp_path, **{"hiveish.mapreduce.inprocess": "false", "hiveish.mapreduce.workers": "2"})
    stmt = ("FROM src s INSERT OVERWRITE TABLE small SELECT key, value WHERE key < 40 "
            "INSERT OVERWRITE TABLE big SELECT key, value WHERE key >= 260")
    got, reads = _run_both(s, ["CREATE TABLE small (key INT, value STRING)",
                               "CREATE TABLE big (key INT, value STRING)"], stmt)
    assert sorted(k for k, _ in got["small"]) == list(range(40))
    assert sorted(k for k, _ in got["big"]) == list(range(260, N))
    assert reads == N  # one scan of all N rows; branch by branch it is 2 * N
    assert not [d for d in os.listdir(tmp_path / "mr") if d.startswith("query-")], "intermediate files removed"
    s.close()


def test_group_by_branch_and_plain_branch_share_the_scan(session):
    stmt = ("FROM src INSERT OVERWRITE TABLE counts SELECT value, count(*), sum(amount) WHERE key % 3 = 0 "
            "GROUP BY value INSERT INTO TABLE plain SELECT key, value WHERE ds = '2' AND key < 170")
    got, reads = _run_both(session, ["CREATE TABLE counts (value STRING, n BIGINT, total DOUBLE)",
                                     "CREATE TABLE plain (key INT, value STRING)"], stmt)
    assert sum(n for _, n, _ in got["counts"]) == N // 3
    assert sorted(k for k, _ in got["plain"]) == list(range(150, 170))
    assert reads == N


def test_partitioned_targets_and_pruned_source(session):
    stmt = ("FROM src INSERT OVERWRITE TABLE dyn PARTITION (ds) SELECT key, value, ds WHERE ds = '2' AND key % 50 = 0 "
            "INSERT INTO TABLE stat PARTITION (ds='x') SELECT key, value WHERE ds = '2' AND key > 290")
    got, reads = _run_both(session, ["CREATE TABLE dyn (key INT, value STRING) PARTITIONED BY (ds STRING)",
                                     "CREATE TABLE stat (key INT, value STRING) PARTITIONED BY (ds STRING)"], stmt)
    assert sorted(k for k, _, _ in got["dyn"]) == [150, 200, 250]
    assert sorted(k for k, _, _ in got["stat"]) == list(range(291, N))
    assert reads == N // 2  # every branch reads ds='2' only: the shared scan prunes ds='1' too
    assert rows(session, "SHOW PARTITIONS stat") == [("ds=x",)]


def test_explain_shows_one_scan_feeding_every_insert(session):
    session.execute("SET hive.execution.engine=mr")
    session.execute("CREATE TABLE a (key INT)")
    session.execute("CREATE TABLE b (value STRING, n BIGINT)")
    lines = [line for (line,) in rows(session, "EXPLAIN FROM src INSERT OVERWRITE TABLE a SELECT key WHERE key < 5 "
                                               "INSERT INTO TABLE b SELECT value, count(*) GROUP BY value")]
    text = "\n".join(lines)
    assert "default.src is scanned once (Stage-1) for 2 inserts" in text
    assert sum(1 for line in lines if line.strip() == "table: default.src") == 1
    assert "Stage-2 depends on stages: Stage-1" in text and "Stage-3 depends on stages: Stage-1" in text


def test_failing_branch_leaves_every_target_unchanged(session, tmp_path):
    session.execute("CREATE TABLE keep1 (key INT, value STRING)")
    session.execute("CREATE TABLE keep2 (key INT, value STRING) PARTITIONED BY (ds STRING)")
    session.execute("INSERT INTO keep1 VALUES (-1, 'old')")
    session.execute("INSERT INTO keep2 PARTITION (ds='1') VALUES (-2, 'old')")
    session.execute("SET hive.execution.engine=mr")
    with pytest.raises(errors.Error, match="boom"):
        session.execute("FROM src INSERT OVERWRITE TABLE keep1 SELECT key, value WHERE key < 10 "
                        "INSERT OVERWRITE TABLE keep2 PARTITION (ds='1') "
                        "SELECT CAST(error('boom') AS INT), value WHERE key > 5")
    assert session.statement_jobs[0].counters["MAP_INPUT_RECORDS"] == N  # the shared scan ran first
    assert rows(session, "SELECT * FROM keep1") == [(-1, "old")]
    assert rows(session, "SELECT * FROM keep2") == [(-2, "old", "1")]
    assert rows(session, "SHOW PARTITIONS keep2") == [("ds=1",)]
    assert not [d for d in os.listdir(tmp_path / "mr") if d.startswith("query-")], "intermediate files removed"
    staged = [p for p in (tmp_path / "wh").rglob("*") if ".hive-staging" in p.name]
    assert staged == []


def test_join_in_the_shared_from_runs_branch_by_branch(session):
    session.execute("CREATE TABLE dim (value STRING, label STRING)")
    session.execute("INSERT INTO dim VALUES ('v1', 'one'), ('v2', 'two')")
    stmt = ("FROM src JOIN dim ON src.value = dim.value INSERT OVERWRITE TABLE j1 SELECT key, label WHERE key < 20 "
            "INSERT OVERWRITE TABLE j2 SELECT key, label WHERE key > 280")
    lines = [line for (line,) in rows(session, "EXPLAIN " + stmt)]
    assert not any("scanned once" in line for line in lines)
    got, _ = _run_both(session, ["CREATE TABLE j1 (key INT, label STRING)",
                                 "CREATE TABLE j2 (key INT, label STRING)"], stmt)
    assert {label for _, label in got["j1"]} == {"one", "two"}


def test_cancel_during_a_branch_removes_the_shared_files(session, tmp_path):
    session.execute("CREATE TABLE c1 (key INT, value STRING)")
    session.execute("CREATE TABLE c2 (key INT, value STRING)")
    session.execute("INSERT INTO c1 VALUES (-1, 'old')")
    session.execute("SET hive.execution.engine=mr")
    session.execute("SET hiveish.mapreduce.task.delay.ms=200")
    box: dict = {}

    def run() -> None:
        try:
            session.execute("FROM src INSERT OVERWRITE TABLE c1 SELECT key, value WHERE key < 10 "
                            "INSERT OVERWRITE TABLE c2 SELECT key, value WHERE key > 290")
        except errors.Error as e:
            box["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    # wait until a branch job runs: the shared scan's files exist then
    while time.monotonic() < deadline and len(session.statement_jobs) < 2:
        time.sleep(0.02)
    session.cancel()
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(box.get("error"), errors.Error), box
    assert session.statement_jobs[0].status == "SUCCESS" and session.statement_jobs[-1].status == "KILLED"
    assert rows(session, "SELECT * FROM c1") == [(-1, "old")]
    assert rows(session, "SELECT * FROM c2") == []
    assert not [d for d in os.listdir(tmp_path / "mr") if d.startswith("query-")], "intermediate files removed"
