"""The MapReduce lowering's rewrites: decorrelated subqueries, CTEs lowered once, factored ORs, folded constants.

Each case checks the plan shape a user sees in EXPLAIN (a join instead of
every task loading a table whole, one job for a CTE read twice) and that the
rows equal the Arrow engine's, including SQL's NULL edge cases (NOT EXISTS
over an empty subquery, NOT IN with a NULL, a scalar aggregate over no rows).
"""

from __future__ import annotations

import pytest

from hiveish.session import Session
from tests.helpers import rows
from tests.test_mapreduce import explain

ORDERS = [(1, 10, 5), (2, 20, 1), (3, None, 7), (4, 40, 0), (5, 50, 100), (6, 60, 2), (7, None, None)]
LINES = [(1, 10, 1, 3), (1, 11, 2, 4), (2, 20, 3, 9), (2, 20, 4, 1), (3, None, 5, 2), (4, 41, 6, 8),
         (6, 60, 7, None), (6, None, 8, 5), (None, 10, 9, 1)]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("mrperf")
    s = Session(warehouse=str(root / "wh"), metastore=str(root / "ms.db"),
                settings={"hive.local.time.zone": "UTC", "hiveish.mapreduce.local.dir": str(root / "mr"),
                          "hiveish.mapreduce.workers": "2", "mapreduce.job.reduces": "2"})
    s.execute("CREATE TABLE ord (id int, k int, x int) STORED AS PARQUET")
    s.execute("CREATE TABLE line (ok int, k int, ln int, q int) STORED AS PARQUET")
    s.execute("INSERT INTO ord VALUES " + ", ".join(_tuple(r) for r in ORDERS))
    s.execute("INSERT INTO line VALUES " + ", ".join(_tuple(r) for r in LINES))
    yield s
    s.close()


def _tuple(r: tuple) -> str:
    return "(" + ", ".join("NULL" if v is None else str(v) for v in r) + ")"


def _key(r: tuple) -> tuple:
    return tuple((x is None, str(x)) for x in r)


def same_rows(s: Session, sql: str, **settings: str) -> tuple[str, list]:
    """Rows under mr (really run as MR jobs) equal rows under arrow; returns (MR EXPLAIN, rows)."""
    try:
        for k, v in settings.items():
            s.execute(f"SET {k.replace('__', '.')}={v}")
        s.execute("SET hive.execution.engine=arrow")
        want = sorted(rows(s, sql), key=_key)
        s.execute("SET hive.execution.engine=mr")
        text = explain(s, sql)
        assert text.startswith("Engine: mr"), text.splitlines()[0]
        before = s.mapreduce_last
        got = sorted(rows(s, sql), key=_key)
        assert s.mapreduce_last is not before and all(r.status == "SUCCESS" for r in s.mapreduce_last.reports)
    finally:
        s.execute("SET hive.auto.convert.join=true")
    assert got == want
    return text, got


BOTH_JOINS = pytest.mark.parametrize("convert", ["true", "false"], ids=["map_join", "reduce_join"])


@BOTH_JOINS
def test_correlated_exists_is_a_semi_join(session, convert):
    text, got = same_rows(session, "select o.id from ord o where exists "
                                   "(select * from line l where l.ok = o.id and l.k <> o.k)",
                          hive__auto__convert__join=convert)
    assert "Left Semi Join" in text and "correlated subquery" not in text
    assert "residual" in text or "Map Join Operator" in text
    assert (2,) not in got and (3,) not in got  # order 2's lines all have k = 20; order 3's k is NULL


@BOTH_JOINS
def test_correlated_not_exists_is_an_anti_join(session, convert):
    text, got = same_rows(session, "select o.id from ord o where not exists "
                                   "(select * from line l where l.ok = o.id and l.q > 4)",
                          hive__auto__convert__join=convert)
    assert "Left Anti Join" in text and "correlated subquery" not in text
    assert {r[0] for r in got} == {1, 3, 5, 7}


def test_not_exists_over_an_empty_subquery_keeps_every_row(session):
    _, got = same_rows(session, "select o.id from ord o where not exists "
                                "(select * from line l where l.ok = o.id and l.q > 1000)",
                       hive__auto__convert__join="false")
    assert len(got) == len(ORDERS)


def test_not_in_with_null_in_the_subquery_is_not_decorrelated(session):
    # order 6 has a line with k NULL: `k NOT IN (60, NULL)` is NULL, so order 6 is never returned
    text, got = same_rows(session, "select o.id from ord o where o.k not in (select l.k from line l where l.ok = o.id)")
    assert "correlated subquery" in text and "Left Anti Join" not in text
    assert 6 not in {r[0] for r in got} and 4 in {r[0] for r in got}


def test_not_in_with_non_null_sides_is_an_anti_join(session):
    text, got = same_rows(session, "select o.id from ord o where o.k is not null and o.k not in "
                                   "(select l.k from line l where l.ok = o.id and l.k is not null)",
                          hive__auto__convert__join="false")
    assert "Left Anti Join" in text and "correlated subquery" not in text
    assert {r[0] for r in got} == {4, 5}


def test_correlated_in_is_a_semi_join(session):
    text, got = same_rows(session, "select o.id from ord o where o.k in (select l.k from line l where l.ok = o.id)",
                          hive__auto__convert__join="false")
    assert "Left Semi Join" in text
    assert {r[0] for r in got} == {1, 2, 6}


@BOTH_JOINS
def test_scalar_aggregate_is_a_grouped_join(session, convert):
    # orders without lines compare against NULL and drop out, as in the correlated form
    text, got = same_rows(session, "select o.id from ord o where o.x > "
                                   "(select 0.5 * avg(l.q) from line l where l.ok = o.id)",
                          hive__auto__convert__join=convert)
    assert "correlated subquery" not in text and "mode: mergepartial" in text
    assert {r[0] for r in got} == {1, 3}


def test_scalar_count_is_not_decorrelated(session):
    # count over no rows is 0, not NULL: orders without lines must still compare (x > 0)
    text, got = same_rows(session, "select o.id from ord o where o.x > (select count(*) from line l where l.ok = o.id)")
    assert "correlated subquery" in text
    assert 5 in {r[0] for r in got}


def test_cte_read_twice_runs_once(session):
    sql = ("with r as (select ok, sum(q) s from line where ok is not null group by ok) "
           "select r.ok, r.s from r where r.s = (select max(s) from r)")
    text, got = same_rows(session, sql)
    assert text.count("table: default.line") == 1
    assert len(session.mapreduce_last.reports) == text.count("  Stage: Stage-") - 1  # every stage ran, once
    assert got == [(2, 10)]


def test_or_with_a_common_join_key_is_a_keyed_join(session):
    sql = ("select o.id, l.ln from ord o join line l where (o.id = l.ok and o.x > 4 and l.q > 2) "
           "or (o.id = l.ok and o.x < 2 and l.q < 2)")
    text, got = same_rows(session, sql, hive__auto__convert__join="false")
    # hash-partitioned on the key pulled out of the OR; each side filtered by its part of the OR before the shuffle
    assert {"0 o.id", "1 l.ok"} <= {x.strip() for x in text.splitlines()} or \
        {"0 l.ok", "1 o.id"} <= {x.strip() for x in text.splitlines()}
    assert "predicate: (o.x > 4) OR (o.x < 2)" in text
    assert got


def test_constant_date_functions_are_folded(session):
    sql = "select id from ord where x < datediff(add_months('2020-01-31', 1), '2020-01-01')"
    _, got = same_rows(session, sql)
    assert got and (5,) not in got  # 2020-02-29 minus 2020-01-01 is 59 days
    session.execute("SET hive.execution.engine=mr")
    text = "\n".join(r[0] for r in rows(session, "EXPLAIN EXTENDED " + sql))
    map_sql = [x for x in text.splitlines() if "map SQL:" in x]
    assert map_sql and all("HIVE_ADD_MONTHS" not in x.upper() and "'59'" in x for x in map_sql), map_sql


# -- SORT BY / DISTRIBUTE BY / CLUSTER BY: per reducer ------------------------------------------------------
@pytest.fixture(scope="module")
def spread(session):
    session.execute("CREATE TABLE spread (k int, q int)")
    session.execute("INSERT INTO spread VALUES " + ", ".join(f"({i % 5}, {(i * 37) % 101})" for i in range(200)))
    return session


def _segments(s: Session, got: list) -> list[list]:
    """The result cut into the reducers' outputs (in reducer order, as the fetch reads them)."""
    counters = s.mapreduce_last.reports[-1].task_counters
    sizes = [counters[t].get("REDUCE_OUTPUT_RECORDS", 0) for t in sorted(t for t in counters if "_r_" in t)]
    assert sum(sizes) == len(got)
    out, start = [], 0
    for n in sizes:
        out.append(got[start:start + n])
        start += n
    return out


def test_distribute_by_sort_by_sorts_each_reducer(spread):
    spread.execute("SET hive.execution.engine=mr")
    text = explain(spread, "select k, q from spread distribute by k sort by q")
    assert "(hash)" in text and "sorted per reducer" in text
    got = rows(spread, "select k, q from spread distribute by k sort by q")
    segments = _segments(spread, got)
    assert len([seg for seg in segments if seg]) == 2
    for seg in segments:
        assert [q for _, q in seg] == sorted(q for _, q in seg)
    keys = [{k for k, _ in seg} for seg in segments]
    assert not keys[0] & keys[1]  # every k in exactly one reducer
    assert sorted(got) == sorted(rows(spread, "select k, q from spread"))


def test_cluster_by_with_one_reducer_is_totally_ordered(spread):
    spread.execute("SET hive.execution.engine=mr")
    try:
        spread.execute("SET mapreduce.job.reduces=1")
        got = rows(spread, "select k, q from spread cluster by k")
        assert [k for k, _ in got] == sorted(k for k, _ in got)
        got = rows(spread, "select k, q from spread sort by q")
        assert [q for _, q in got] == sorted(q for _, q in got)
    finally:
        spread.execute("SET mapreduce.job.reduces=2")
    got = rows(spread, "select k, q from spread cluster by k")
    segments = _segments(spread, got)
    for seg in segments:
        assert [k for k, _ in seg] == sorted(k for k, _ in seg)


def test_small_table_waits_for_the_big_table_holding_its_key(tmp_path):
    """A small table that joins the chain only on a non-key column now and on its key with a big
    table still to come is joined after that table (TPC-H Q5's customer: on c_nationkey it would
    give every lineitem row every customer of its nation). Seen as the jobs' MAP_OUTPUT_RECORDS."""
    s = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                settings={"hiveish.mapreduce.local.dir": str(tmp_path / "mr"), "hiveish.mapreduce.workers": "2",
                          "hive.mapjoin.smalltable.filesize": "4000"})
    s.execute("CREATE TABLE cust (ck int, nat int) STORED AS PARQUET")
    s.execute("CREATE TABLE supp (sk int, nat int) STORED AS PARQUET")
    s.execute("CREATE TABLE ords (ok int, ck int) STORED AS PARQUET")
    s.execute("CREATE TABLE lines (ok int, sk int) STORED AS PARQUET")
    s.execute("INSERT INTO cust VALUES " + ", ".join(f"({c}, {c % 2})" for c in range(40)))
    s.execute("INSERT INTO supp VALUES " + ", ".join(f"({k}, {k % 2})" for k in range(4)))
    s.execute("INSERT INTO ords VALUES " + ", ".join(f"({o}, {(o * 7) % 40})" for o in range(3000)))
    s.execute("INSERT INTO lines VALUES " + ", ".join(f"({(i * 13) % 3000}, {i % 4})" for i in range(6000)))
    sql = ("SELECT c.nat, count(*) FROM cust c, ords o, lines l, supp p "
           "WHERE c.ck = o.ck AND l.ok = o.ok AND l.sk = p.sk AND c.nat = p.nat GROUP BY c.nat")
    s.execute("SET hive.execution.engine=arrow")
    want = sorted(rows(s, sql))
    s.execute("SET hive.execution.engine=mr")
    text = explain(s, sql)
    assert "small table: c (default.cust, loaded whole)" in text
    assert "default.ords, loaded whole" not in text and "default.lines, loaded whole" not in text
    assert sorted(rows(s, sql)) == want
    shuffled = sum(r.counters.get("MAP_OUTPUT_RECORDS", 0) for r in s.mapreduce_last.reports)
    assert shuffled <= 6000 + 3000 + 100, shuffled  # each line and order once, not a line per customer
    s.close()
