"""The MapReduce engine: same rows as the Arrow engine, retries, failures, spills, EXPLAIN."""

from __future__ import annotations

import os
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hiveish import errors
from hiveish.session import Session
from tests.helpers import rows

N_ROWS = 20000


def _write_data(root: str) -> tuple[str, str]:
    rnd = random.Random(42)
    text = os.path.join(root, "sales.txt")
    with open(text, "w", encoding="utf-8") as f:
        for i in range(N_ROWS):
            k = f"k{rnd.randrange(60):02d}" if rnd.random() > 0.01 else "\\N"
            v = rnd.randrange(-1000, 1000)
            d = "\\N" if rnd.random() < 0.05 else f"{rnd.random() * 100:.3f}"
            f.write(f"{i},{k},{v},{d},day{rnd.randrange(7)}\n")
    keys = [f"k{i:02d}" for i in range(0, 70, 2)]
    table = pa.table({"k": keys, "name": [f"name of {k}" for k in keys], "w": list(range(len(keys)))})
    pq_path = os.path.join(root, "dim.parquet")
    pq.write_table(table, pq_path, row_group_size=5)
    facts = pa.table({"id": list(range(N_ROWS)), "k": [f"k{i % 70:02d}" for i in range(N_ROWS)],
                      "v": [(i * 7919) % 1000 for i in range(N_ROWS)]})
    pq.write_table(facts, os.path.join(root, "facts.parquet"), row_group_size=500)
    return text, pq_path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mrdata")
    return _write_data(str(root))


@pytest.fixture
def session(tmp_path, data):
    text, pq_path = data
    s = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                settings={"hive.local.time.zone": "UTC", "hiveish.mapreduce.local.dir": str(tmp_path / "mr"),
                          "hiveish.mapreduce.workers": "2"})
    s.execute("CREATE TABLE sales (id int, k string, v int, d double, day string) "
              "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    s.execute(f"LOAD DATA LOCAL INPATH '{text}' INTO TABLE sales")
    s.execute("CREATE TABLE dim (k string, name string, w int) STORED AS PARQUET")
    s.execute(f"LOAD DATA LOCAL INPATH '{pq_path}' INTO TABLE dim")
    yield s
    s.close()


def both(s: Session, sql: str, ordered: bool = False, **mr_settings: str) -> tuple[list, list]:
    s.execute("SET hive.execution.engine=arrow")
    want = rows(s, sql)
    s.execute("SET hive.execution.engine=mr")
    for k, v in mr_settings.items():
        s.execute(f"SET {k.replace('__', '.')}={v}")
    got = rows(s, sql)
    # partial sums add doubles in another order than one DuckDB aggregate: compare to 12 digits
    want, got = [_approx(r) for r in want], [_approx(r) for r in got]
    if not ordered:
        key = lambda r: tuple((x is None, str(x)) for x in r)  # noqa: E731
        want, got = sorted(want, key=key), sorted(got, key=key)
    return want, got


def _approx(row: tuple) -> tuple:
    return tuple(float(f"{x:.12g}") if isinstance(x, float) else x for x in row)


def explain(s: Session, sql: str) -> str:
    return "\n".join(r[0] for r in rows(s, "EXPLAIN " + sql))


SMALL = {"mapreduce.input.fileinputformat.split.maxsize": "65536", "mapreduce.job.reduces": "3"}


def small(s: Session) -> None:
    for k, v in SMALL.items():
        s.execute(f"SET {k}={v}")


QUERIES = [
    ("select id, k, v * 2 from sales where v > 500 and k like 'k1%'", False),
    ("select k, count(*), sum(v), min(d), max(day), avg(d) from sales group by k", False),
    ("select day, k, count(1) c from sales where d > 10 group by day, k having count(1) > 5", False),
    ("select distinct day from sales", False),
    ("select count(*), sum(v), avg(v), count(d), max(k) from sales", False),
    ("select id, k, v from sales order by v desc, id", True),
    ("select k, sum(v) s from sales group by k order by s, k limit 7", True),
    ("select s.id, s.v, d.name from sales s join dim d on s.k = d.k where s.v < 0", False),
    ("select d.name, count(*), sum(s.v) from sales s join dim d on s.k = d.k group by d.name", False),
    ("select s.id, d.name from sales s left outer join dim d on s.k = d.k where s.id < 3000", False),
    ("select s.id, d.w from dim d right outer join sales s on d.k = s.k order by s.id limit 50", True),
]


@pytest.mark.parametrize("sql,ordered", QUERIES)
def test_same_rows_as_arrow(session, sql, ordered):
    small(session)
    want, got = both(session, sql, ordered)
    assert len(got) == len(want)
    assert got == want
    assert "Engine: mr" in explain(session, sql)


@pytest.mark.parametrize("sql,ordered", [q for q in QUERIES if " join " in q[0]])
def test_reduce_side_join(session, sql, ordered):
    small(session)
    session.execute("SET hive.auto.convert.join=false")
    want, got = both(session, sql, ordered)
    assert got == want
    text = explain(session, sql)
    assert "Join Operator" in text and "Map Join" not in text


def test_map_join_is_chosen_for_small_table(session):
    small(session)
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select s.id, d.name from sales s join dim d on s.k = d.k")
    assert "Map Join Operator" in text and "Map Reduce Local Work" in text
    session.execute("SET hive.mapjoin.smalltable.filesize=10")
    text = explain(session, "select s.id, d.name from sales s join dim d on s.k = d.k")
    assert "Map Join Operator" not in text


def test_several_map_tasks_and_reducers(session):
    small(session)
    session.execute("SET hive.execution.engine=mr")
    rows(session, "select k, count(*) from sales group by k")
    runner = session.mapreduce_last
    report = runner.reports[0]
    assert report.maps >= 4 and report.reduces == 3
    assert report.counters["MAP_INPUT_RECORDS"] == N_ROWS
    assert report.counters["REDUCE_OUTPUT_RECORDS"] == 61
    assert report.counters["REDUCE_INPUT_GROUPS"] == 61
    assert session.mapreduce_log[-1].startswith("Stage-1: Map: ")
    assert session.mapreduce_log[-1].endswith("SUCCESS")


def test_total_order_sort_over_several_reducers(session):
    small(session)
    want, got = both(session, "select id, d from sales order by d desc, id", ordered=True)
    assert got == want
    report = session.mapreduce_last.reports[-1]
    assert report.reduces == 3
    per_reducer = [c["REDUCE_OUTPUT_RECORDS"] for t, c in report.task_counters.items() if "_r_" in t]
    assert len(per_reducer) == 3 and all(n > 0 for n in per_reducer)  # the sampled ranges split the rows


def test_explain_has_hive_stage_shape(session):
    small(session)
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select k, sum(v) s from sales group by k order by s")
    for part in ("STAGE DEPENDENCIES:", "Stage-1 is a root stage", "Stage-2 depends on stages: Stage-1",
                 "STAGE PLANS:", "Map Operator Tree:", "Reduce Operator Tree:", "mode: hash",
                 "mode: mergepartial", "Reduce Output Operator", "Fetch Operator"):
        assert part in text


def test_unsupported_shape_falls_back_with_reason(session):
    session.execute("SET hive.execution.engine=mr")
    sql = "select 1, upper('no table')"  # windows, subqueries, ... are lowered now; a query without FROM is not
    text = explain(session, sql)
    assert "Engine: arrow" in text and "MapReduce cannot run this query yet" in text
    assert rows(session, sql) == [(1, "NO TABLE")]


def test_tablesample_bucket_runs_in_the_map_tasks(session):
    """TABLESAMPLE(BUCKET x OUT OF y ON col) under mr: each split keeps the rows of bucket x by the
    bucket hash, so several splits give exactly the Arrow engine's rows; MAP_INPUT_RECORDS still
    counts every record read."""
    small(session)
    sql = "select k, count(*), sum(v) from sales tablesample(bucket 3 out of 7 on id) s group by k"
    session.execute("SET hive.execution.engine=mr")
    assert explain(session, sql).startswith("Engine: mr")
    want, got = both(session, sql)
    assert got == want and 0 < sum(r[1] for r in got) < N_ROWS
    first = session.mapreduce_last.reports[0]
    assert first.maps > 1 and first.counters["MAP_INPUT_RECORDS"] == N_ROWS


def test_a_query_mr_declines_is_reported_as_a_warning(tmp_path):
    """With MapReduce asked for, a table query it cannot lower still runs, and the user is told so:
    `WARNING:` on the CLI's stderr (also under -S) and PEP 249's `cursor.messages`."""
    import subprocess
    import sys

    import hiveish

    setup = ("CREATE TABLE w (g int, v int); INSERT INTO w VALUES (1, 2), (1, 3);")
    declined = "SELECT * FROM (SELECT g, g FROM w) t"  # a derived table with two columns named g
    conn = hiveish.connect(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))
    cur = conn.cursor()
    for stmt in setup.split(";")[:-1]:
        cur.execute(stmt)
    cur.execute("SET hive.execution.engine=mr")
    cur.execute(declined)
    assert cur.fetchall() == [(1, 1), (1, 1)]
    assert [(kind, text.split(":")[0]) for kind, text in cur.messages] == [
        (hiveish.Warning, "MapReduce cannot run this query yet")]
    cur.execute("SELECT g, sum(v) FROM w GROUP BY g")  # lowered: no warning
    assert cur.fetchall() == [(1, 5)] and cur.messages == []
    cur.execute("SELECT 1")  # reads no table: nothing for MapReduce to do, nothing to warn about
    assert cur.messages == []
    conn.close()
    p = subprocess.run([sys.executable, "-m", "hiveish", "-S", "--warehouse", str(tmp_path / "wh"), "--metastore",
                        str(tmp_path / "ms.db"), "--hiveconf", "hive.execution.engine=mr", "-e", declined + ";"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stdout.split() == ["1", "1", "1", "1"]
    assert "WARNING: MapReduce cannot run this query yet: a derived table with duplicate column names" in p.stderr


def test_silent_mr_run_leaves_stderr_empty(tmp_path):
    """`hiveish -S` with MapReduce worker processes: the rows on stdout and nothing at all on stderr
    (no job lines, and no interpreter-exit noise from the workers' DuckDB bindings)."""
    import subprocess
    import sys

    base = ["--warehouse", str(tmp_path / "wh"), "--metastore", str(tmp_path / "ms.db")]
    subprocess.run([sys.executable, "-m", "hiveish", *base, "-S", "-e",
                    "CREATE TABLE q (g int, v int); INSERT INTO q VALUES (1, 2), (1, 3), (2, 4);"],
                   check=True, capture_output=True, timeout=120)
    p = subprocess.run([sys.executable, "-m", "hiveish", *base, "-S", "--hiveconf", "hive.execution.engine=mr",
                        "--hiveconf", "hiveish.mapreduce.workers=2", "-e",
                        "SELECT g, sum(v) FROM q GROUP BY g ORDER BY g;"], capture_output=True, text=True, timeout=120)
    assert (p.returncode, p.stdout, p.stderr) == (0, "1\t5\n2\t4\n", "")


def test_injected_failures_are_retried(session):
    small(session)
    want, got = both(session, "select k, count(*), sum(v) from sales group by k",
                     hiveish__mapreduce__fail__attempts="map:0:0,map:2:0,map:2:1,reduce:1:0")
    assert got == want
    report = session.mapreduce_last.reports[0]
    assert report.counters["FAILED_ATTEMPTS"] == 4
    assert len(report.failures) == 4 and "InjectedFailure" in report.failures[0]


def test_injected_failures_in_process(session):
    small(session)
    want, got = both(session, "select id, v from sales order by v, id", ordered=True,
                     hiveish__mapreduce__inprocess="true",
                     hiveish__mapreduce__fail__attempts="Stage-1:reduce:0:0,map:1:0")
    assert got == want


def test_killed_worker_is_retried(session):
    small(session)
    want, got = both(session, "select k, count(*) from sales group by k",
                     hiveish__mapreduce__kill__attempts="map:1:0")
    assert got == want
    assert session.mapreduce_last.reports[0].counters["FAILED_ATTEMPTS"] >= 1


def test_exhausted_attempts_fail_the_query(session, tmp_path):
    small(session)
    session.execute("SET hive.execution.engine=mr")
    session.execute("SET mapreduce.reduce.maxattempts=2")
    session.execute("SET hiveish.mapreduce.fail.attempts=reduce:0:0,reduce:0:1")
    with pytest.raises(errors.ExecutionError) as e:
        rows(session, "select k, count(*) from sales group by k")
    msg = str(e.value)
    assert "Stage-1 failed" in msg and "reduce task 0" in msg and "2 attempt(s)" in msg
    assert "InjectedFailure" in msg
    assert session.mapreduce_log[-1].endswith("FAILED")
    assert not os.listdir(tmp_path / "mr")  # scratch space removed


def test_spills_when_over_sort_buffer(session):
    small(session)
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=4000000")  # one map task
    session.execute("SET mapreduce.task.io.sort.mb=1")
    session.execute("SET hive.execution.engine=mr")
    # pad rows so the map output is several times the 1 MB buffer
    sql = "select id, concat(day, repeat('x', 200)) pad, v from sales order by v, id"
    want, got = both(session, sql, ordered=True)
    assert got == want
    report = session.mapreduce_last.reports[-1]
    assert report.maps == 1
    assert report.counters["SPILLS"] >= 4
    assert report.counters["SPILLED_RECORDS"] >= 2 * N_ROWS  # spills plus the merge pass
    sql = "select id % 5000, count(*), sum(v) from sales group by id % 5000"
    session.execute("SET mapreduce.task.io.sort.mb=1")
    want, got = both(session, sql)
    assert got == want


def test_empty_input_and_limit(session):
    small(session)
    session.execute("CREATE TABLE empty_t (a int, b string)")
    for sql in ("select count(*), sum(a) from empty_t", "select a, count(*) from empty_t group by a",
                "select * from empty_t order by a"):
        want, got = both(session, sql)
        assert got == want
    session.execute("SET hive.execution.engine=mr")
    assert len(rows(session, "select id from sales limit 17")) == 17


def test_parquet_row_group_splits_and_orc(session, data):
    text, pq_path = data
    session.execute("CREATE TABLE facts (id bigint, k string, v bigint) STORED AS PARQUET")
    session.execute(f"LOAD DATA LOCAL INPATH '{os.path.join(os.path.dirname(pq_path), 'facts.parquet')}' INTO TABLE facts")
    session.execute("CREATE TABLE sales_orc STORED AS ORC AS SELECT * FROM sales")
    session.execute("SET mapreduce.input.fileinputformat.split.maxsize=20000")
    session.execute("SET mapreduce.job.reduces=2")
    want, got = both(session, "select k, count(*), sum(v), max(id) from facts group by k")
    assert got == want
    assert session.mapreduce_last.reports[0].maps >= 4  # row groups grouped into several splits
    assert session.mapreduce_last.reports[0].counters["MAP_INPUT_RECORDS"] == N_ROWS
    want, got = both(session, "select o.k, count(*), sum(f.v) from sales_orc o join facts f on o.id = f.id "
                              "where o.v > 0 group by o.k", hive__auto__convert__join="false")
    assert got == want


def test_a_killed_drivers_shuffle_directory_is_removed_by_the_next_query(tmp_path):
    """A driver SIGKILLed mid-query leaves its query directory (map outputs, spills) under
    `hiveish.mapreduce.local.dir`; the next MR query there removes it (its flock is free) and leaves a
    live driver's directory alone."""
    import signal
    import subprocess
    import sys
    import time

    local = tmp_path / "mr"
    base = ["--warehouse", str(tmp_path / "wh"), "--metastore", str(tmp_path / "ms.db"),
            "--hiveconf", f"hiveish.mapreduce.local.dir={local}", "--hiveconf", "hive.execution.engine=mr"]
    subprocess.run([sys.executable, "-m", "hiveish", *base, "-S", "-e",
                    "CREATE TABLE q (g int, v int); INSERT INTO q VALUES (1, 2), (1, 3), (2, 4);"],
                   check=True, capture_output=True, timeout=120)
    slow = ["--hiveconf", "hiveish.mapreduce.task.delay.ms=60000", "-e", "SELECT g, sum(v) FROM q GROUP BY g;"]
    doomed = subprocess.Popen([sys.executable, "-m", "hiveish", *base, *slow], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    live = subprocess.Popen([sys.executable, "-m", "hiveish", *base, *slow], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(local.glob("query-*/Stage-1"))) < 2:
            time.sleep(0.1)
        dirs = {p.parent for p in local.glob("query-*/Stage-1")}
        assert len(dirs) == 2
        os.killpg(doomed.pid, signal.SIGKILL)  # the driver and its worker processes
        doomed.wait(30)
        p = subprocess.run([sys.executable, "-m", "hiveish", *base, "-S", "-e", "SELECT count(*) FROM q;"],
                           capture_output=True, text=True, timeout=120)
        assert p.stdout == "3\n"
        left = {d for d in dirs if d.exists()}
        assert len(left) == 1  # the killed driver's directory is gone, the running one's is not
    finally:
        for proc in (doomed, live):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)
