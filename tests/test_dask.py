"""MapReduce jobs on a real Dask cluster, with the warehouse on the WebHDFS test server.

The module starts, as users do, a `dask scheduler` and two `dask worker`
processes (`--nworkers 1 --nthreads 1`, loopback, random ports, the scheduler
with `allowed-failures` 0 so a worker death reaches the driver as a failed
attempt), and a `python -m hiveish.minihdfs` process holding the warehouse.
Every session here runs `hive.execution.engine=mr` with
`hiveish.mapreduce.runner=dask`; the shuffle directory is a local temporary
directory, which the workers see since everything runs on one machine.

* placement: map tasks ask for the workers on their split's block hosts;
* without a scheduler address, a LocalCluster is started once and reused;
* counters and failure logs match the local runner's, retries included;
* the conformance corpus, a subset picked by a rule (CONFORMANCE_STEP below);
* all 22 TPC-H queries at SF0.1 (Parquet uploaded into HDFS) against the reference
  answers, each checked to have been lowered to MapReduce jobs that ran on the cluster;
* a worker SIGKILLed mid-job costs only its attempts; the query's rows are right;
* `cursor.cancel()` from another thread stops the cluster's tasks; cancelled attempts free
  their workers and leave nothing in the shuffle directory, even when the driver removed the
  query's directory (and its cancel marker) before they looked;
* an unreachable scheduler is a clear error.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from hiveish import errors
from hiveish.minihdfs import MiniHdfs
from hiveish.session import Session
from tests import conformance, tpch_hdfs

pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install '.[dask]')")

import tpch_data  # noqa: E402 - bench/ is on sys.path (tests/tpch_hdfs.py)
from dask_tpch import DaskCluster  # noqa: E402

from tests.helpers import rows

MINIHDFS_OPTIONS = {"block_size": 1 << 20, "root_permission": "777"}
FAST = {"hiveish.hdfs.retries": "3", "hiveish.hdfs.retry_backoff": "0.01", "hiveish.hdfs.retry_max_backoff": "0.05"}
N_ROWS = 60000


# ---------------------------------------------------------------------------
# the cluster: a scheduler and two workers, started as users start them
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    # allowed-failures 0: a worker's death reaches hiveish's driver as a failed attempt (see the README)
    c = DaskCluster(str(tmp_path_factory.mktemp("dask")), workers=2,
                    env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0", "TZ": conformance.TIME_ZONE})
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shuffle directory: seen by the client and the workers (one machine)."""
    return str(tmp_path_factory.mktemp("shuffle"))


@pytest.fixture(scope="module")
def dask_settings(cluster: DaskCluster, shared_dir: str) -> dict[str, str]:
    return {**FAST, "hive.execution.engine": "mr", "hiveish.mapreduce.runner": "dask",
            "hiveish.dask.scheduler": cluster.address, "hiveish.mapreduce.local.dir": shared_dir}


def _sales_file(path: str) -> str:
    rnd = random.Random(5)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(N_ROWS):
            f.write(f"{i},key{rnd.randrange(50):02d},{rnd.randrange(-1000, 1000)},{rnd.random() * 100:.3f}\n")
    return path


@pytest.fixture(scope="module")
def sales(hdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A text table of N_ROWS rows (~1.4 MiB, 2 blocks) in an HDFS warehouse; returns the session arguments."""
    tmp = tmp_path_factory.mktemp("sales")
    args = {"warehouse": hdfs.uri("/dask/warehouse"), "metastore": str(tmp / "ms.db")}
    with Session(**args, settings={**FAST, "hive.local.time.zone": "UTC"}) as s:
        s.execute("CREATE TABLE sales (id int, k string, v int, d double) ROW FORMAT DELIMITED "
                  "FIELDS TERMINATED BY ','")
        s.execute(f"LOAD DATA LOCAL INPATH '{_sales_file(str(tmp / 'sales.txt'))}' INTO TABLE sales")
    return args


@pytest.fixture
def session(sales: dict, dask_settings: dict[str, str]) -> Iterator[Session]:
    with Session(**sales, settings={**dask_settings, "hive.local.time.zone": "UTC"}) as s:
        yield s


def on_arrow(s: Session, sql: str) -> list[tuple]:
    s.execute("SET hive.execution.engine=arrow")
    try:
        return rows(s, sql)
    finally:
        s.execute("SET hive.execution.engine=mr")


AGG = "SELECT k, count(*), sum(v), min(id), max(id), round(sum(d), 3) FROM sales GROUP BY k"


# ---------------------------------------------------------------------------
# placement, counters, retries
# ---------------------------------------------------------------------------

def test_tasks_run_on_the_cluster_near_their_blocks(session: Session, cluster: DaskCluster) -> None:
    from executors.mapreduce.dask_runner import DaskRunner

    s = session
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=262144")
    got = sorted(rows(s, AGG))
    assert got == sorted(on_arrow(s, AGG)) and len(got) == 50
    runner = s.mapreduce_last
    assert isinstance(runner, DaskRunner)
    report = runner.reports[0]
    assert report.maps >= 5 and report.counters["MAP_INPUT_RECORDS"] == N_ROWS
    workers = set(cluster.worker_pids())
    maps = {a: w for a, w in runner.placements.items() if "_m_" in a}
    assert len(maps) == report.maps
    # every split's block lives on 127.0.0.1, where both workers run
    assert all(set(w) == workers for w in maps.values()), maps
    assert set(runner.workers_for(["localhost"])) == workers
    assert runner.workers_for(["192.0.2.1"]) == []  # TEST-NET: no worker there; any worker may run it


def test_counters_and_retries_match_the_local_runner(session: Session, cluster: DaskCluster) -> None:
    s = session
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=524288")
    s.execute("SET hiveish.mapreduce.fail.attempts=map:1:0,reduce:0:0")
    got = sorted(rows(s, AGG))
    dask_runner = s.mapreduce_last
    dask_report = dask_runner.reports[0]
    assert _released(cluster, dask_runner) == []
    s.execute("SET hiveish.mapreduce.runner=local")
    want = sorted(rows(s, AGG))
    local_report = s.mapreduce_last.reports[0]
    assert got == want
    # OUTPUT_BYTES are Arrow IPC file sizes, which follow DuckDB's batch sizes: the local runner gives a
    # lone reducer every core, the Dask worker thread runs it on one
    ignore = {"CPU_MILLISECONDS", "OUTPUT_BYTES"}
    assert dask_report.counters["OUTPUT_BYTES"] > 0 and local_report.counters["OUTPUT_BYTES"] > 0
    assert {k: v for k, v in dask_report.counters.items() if k not in ignore} == \
        {k: v for k, v in local_report.counters.items() if k not in ignore}
    assert dask_report.counters["FAILED_ATTEMPTS"] == 2
    assert [f.split(":")[0] for f in dask_report.failures] == [f.split(":")[0] for f in local_report.failures]
    assert all("InjectedFailure" in f for f in dask_report.failures)


def _released(cluster: DaskCluster, runner, timeout: float = 10) -> list[str]:
    """The scheduler forgets a query's attempts, failed ones included, once the driver has their results."""
    ours = f"hiveish-{runner.query_id}-"
    deadline = time.monotonic() + timeout
    while cluster.tasks(ours) and time.monotonic() < deadline:
        time.sleep(0.1)
    return cluster.tasks(ours)


def test_unreachable_scheduler_is_a_clear_error(session: Session) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    session.execute(f"SET hiveish.dask.scheduler=tcp://127.0.0.1:{port}")
    session.execute("SET hiveish.dask.timeout=1")
    with pytest.raises(errors.ExecutionError, match=f"Cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        rows(session, AGG)


def test_without_a_scheduler_a_local_cluster_is_started_once(sales: dict, shared_dir: str) -> None:
    from executors.mapreduce import dask_runner

    settings = {**FAST, "hive.local.time.zone": "UTC", "hive.execution.engine": "mr",
                "hiveish.mapreduce.runner": "dask", "hiveish.mapreduce.workers": "2",
                "hiveish.mapreduce.local.dir": shared_dir}
    try:
        with Session(**sales, settings=settings) as s:
            want = sorted(on_arrow(s, AGG))
            assert sorted(rows(s, AGG)) == want
            cluster = dask_runner._LOCAL["cluster"]
            assert len(cluster.workers) == 2
            assert sorted(rows(s, AGG)) == want
            assert dask_runner._LOCAL["cluster"] is cluster  # reused, not started again
            assert isinstance(s.mapreduce_last, dask_runner.DaskRunner)
    finally:
        dask_runner.shutdown_local_cluster()


# ---------------------------------------------------------------------------
# a worker dies mid-job; cancel
# ---------------------------------------------------------------------------

def _run_in_thread(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t, box


def _wait_for_processing(cluster: DaskCluster, box: dict, timeout: float = 60) -> str:
    """A worker that holds one of our attempts right now."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "result" not in box and "error" not in box:
        busy = [w for w, keys in cluster.processing().items() if keys]
        if busy:
            return busy[0]
        time.sleep(0.05)
    raise AssertionError(f"no task reached the cluster: {box}")


def test_a_worker_killed_mid_job_costs_only_its_tasks(session: Session, cluster: DaskCluster) -> None:
    s = session
    want = sorted(on_arrow(s, AGG))
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=32768")  # ~45 map tasks
    # each attempt first waits 0.3 s: the victim is surely inside one when it dies
    s.execute("SET hiveish.mapreduce.task.delay.ms=300")
    thread, box = _run_in_thread(lambda: sorted(rows(s, AGG)))
    _wait_for_processing(cluster, box)
    # let a few maps finish first, so there is committed work the death must not cost
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (s.mapreduce_last and s.mapreduce_last.reports
                                                and s.mapreduce_last.reports[0].task_counters):
        time.sleep(0.05)
    # chosen now, not before the wait: a worker between two attempts holds none to lose
    victim = _wait_for_processing(cluster, box)
    pid = cluster.worker_pids()[victim]
    os.kill(pid, signal.SIGKILL)
    thread.join(180)
    assert not thread.is_alive()
    assert "error" not in box, box.get("error")
    assert box["result"] == want
    report = s.mapreduce_last.reports[0]
    assert report.counters["MAP_INPUT_RECORDS"] == N_ROWS  # every split counted once
    assert any("KilledWorker" in f for f in report.failures), report.failures
    # only the attempts the dead worker held were lost: far fewer failures than tasks
    assert report.counters["FAILED_ATTEMPTS"] <= 3 < report.maps
    s.execute("SET hiveish.mapreduce.task.delay.ms=0")
    cluster.wait_for_workers()  # the nanny restarts the worker for the tests that follow


def test_cursor_cancel_stops_the_cluster_tasks(sales: dict, dask_settings: dict[str, str],
                                               cluster: DaskCluster) -> None:
    import hiveish

    conn = hiveish.connect(**sales, **dask_settings, **{"mapreduce.input.fileinputformat.split.maxsize": "16384"})
    cur = conn.cursor()
    try:
        thread, box = _run_in_thread(lambda: cur.execute(AGG))
        _wait_for_processing(cluster, box)
        t0 = time.monotonic()
        cur.cancel()
        thread.join(60)
        assert not thread.is_alive()
        assert isinstance(box.get("error"), errors.OperationalError), box
        assert "cancel" in str(box["error"]).lower()
        assert time.monotonic() - t0 < 15
        runner = conn.session.mapreduce_last
        assert _released(cluster, runner, 15) == []  # nothing left queued or running on the cluster
        report = runner.reports[0]
        assert report.status == "KILLED"
        assert len([t for t in report.task_counters if "_m_" in t]) < report.maps  # stopped part way
    finally:
        cur.close()
        conn.close()


def _executing(cluster: DaskCluster) -> int:
    """Task attempts running in the workers' threads right now (the scheduler may have forgotten them)."""
    return sum(cluster.client.run(lambda dask_worker: dask_worker.state.executing_count).values())


def test_cancelled_attempts_free_their_workers(session: Session, cluster: DaskCluster, shared_dir: str) -> None:
    """Dask cannot interrupt a running task: a cancelled attempt must stop by itself, even when the
    driver has already removed the query's directory (and its cancel marker) when it next looks."""
    s = session
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=1048576")  # 2 long maps: ~36M rows each
    s.execute("SET hiveish.mapreduce.cancel.grace.ms=15000")  # they stop by themselves, no worker restarted
    pids = cluster.worker_pids()
    big = "SELECT a.id, b.id FROM sales a JOIN sales b ON a.k = b.k"
    thread, box = _run_in_thread(lambda: s.execute(big))
    _wait_for_processing(cluster, box)
    deadline = time.monotonic() + 30
    while _executing(cluster) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    s.cancel()
    thread.join(30)
    assert isinstance(box.get("error"), errors.Error) and "cancel" in str(box["error"]).lower(), box
    t0 = time.monotonic()
    while _executing(cluster) and time.monotonic() - t0 < 20:
        time.sleep(0.1)
    assert _executing(cluster) == 0
    assert time.monotonic() - t0 < 5  # well before the maps would have ended by themselves
    time.sleep(0.5)
    assert not [n for n in os.listdir(shared_dir) if n.startswith("query")], [(r, f) for r, _, f in os.walk(shared_dir)]
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=524288")
    assert sorted(rows(s, AGG)) == sorted(on_arrow(s, AGG))  # the cluster takes the next query at once
    assert cluster.worker_pids() == pids


# ---------------------------------------------------------------------------
# the conformance corpus under mr + dask, warehouse on HDFS
# ---------------------------------------------------------------------------

# The rule: every CONFORMANCE_STEP-th case of the corpus in name order (a spread across features:
# names group cases by feature), skipping the known failures. HIVEISH_DASK_CONFORMANCE=all runs
# every case.
CONFORMANCE_STEP = 1 if os.environ.get("HIVEISH_DASK_CONFORMANCE") == "all" else 4


def _conformance_cases() -> list[str]:
    cases = os.path.join(conformance.DEFAULT_CASES, "cases")
    if not os.path.isdir(cases):
        return []
    return sorted(f for f in os.listdir(cases) if f.endswith(".test"))[::CONFORMANCE_STEP]


@pytest.fixture(scope="module")
def conformance_setup(hdfs: MiniHdfs, tmp_path_factory: pytest.TempPathFactory) -> str:
    """setup.sql run once into an HDFS warehouse; returns the metastore file cases start from."""
    return tpch_hdfs.conformance_setup(hdfs, tmp_path_factory, FAST)


@pytest.mark.parametrize("case", _conformance_cases())
def test_conformance_case_on_dask(case: str, conformance_setup: str, hdfs: MiniHdfs, dask_settings: dict[str, str],
                                  tmp_path) -> None:
    from tests.test_conformance import known_failures

    if case in known_failures("mr"):
        pytest.skip("listed in conformance_known_failures.txt for MapReduce")
    settings = {**conformance._settings("mr"), **dask_settings}
    ok, msg, _MR_JOBS[case] = tpch_hdfs.run_conformance_case(case, conformance_setup, hdfs, tmp_path, settings)
    assert ok, msg


_MR_JOBS: dict[str, int] = {}  # case -> MapReduce jobs it ran on the cluster


def test_conformance_subset_ran_on_the_cluster() -> None:
    """Most chosen cases really ran MapReduce jobs (the others hold only DDL or unlowered queries)."""
    if not _MR_JOBS:
        pytest.skip("run together with test_conformance_case_on_dask")
    ran = [c for c, n in _MR_JOBS.items() if n]
    assert len(ran) * 2 >= len(_MR_JOBS), _MR_JOBS


# ---------------------------------------------------------------------------
# TPC-H SF0.1 on HDFS under mr + dask
# ---------------------------------------------------------------------------

TPCH_SF = "0.1"


@pytest.fixture(scope="module")
def tpch(hdfs: MiniHdfs, dask_settings: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """Managed Parquet TPC-H tables in the HDFS warehouse, queried with mr + dask."""
    table_dir = tpch_hdfs.parquet_dir(TPCH_SF, tmp_path_factory)
    yield from tpch_hdfs.tpch_warehouse(hdfs, table_dir, "parquet", str(tmp_path_factory.mktemp("m") / "m.db"),
                                        dask_settings)


@pytest.mark.skipif(not tpch_hdfs.has_answers(TPCH_SF), reason="TPC-H SF0.1 answers not found")
@pytest.mark.parametrize("n", tpch_data.QUERIES, ids=lambda n: f"q{n:02d}")
def test_tpch_on_dask(tpch, cluster: DaskCluster, n: int) -> None:
    from executors.mapreduce.dask_runner import DaskRunner

    jobs = tpch_hdfs.check_tpch(tpch, TPCH_SF, n, engine="mr")  # lowered; every job SUCCESS; right answer
    runner = tpch.session.mapreduce_last
    assert isinstance(runner, DaskRunner)
    assert [r.job_id for r in runner.reports] == [j.job_id for j in jobs]
    # every attempt of every job went to the cluster (placements: attempt id -> workers asked for)
    maps = sum(r.maps for r in runner.reports)
    assert len([a for a in runner.placements if "_m_" in a]) >= maps
