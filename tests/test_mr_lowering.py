"""Lowering real HiveQL to MapReduce jobs: each construct runs as MR jobs and returns the Arrow engine's rows.

Constructs: windows, n-way and outer/semi joins, subqueries (uncorrelated and
correlated), CTEs, derived tables, UNION ALL/DISTINCT, COUNT(DISTINCT),
grouping sets, SORT BY/DISTRIBUTE BY, ORDER BY with LIMIT/OFFSET; EXPLAIN
shapes; a few TPC-H queries (all 22 with HIVEISH_TEST_MR_TPCH=1).
"""

from __future__ import annotations

import os
import sys

import pytest

from hiveish.session import Session
from tests.test_mapreduce import _approx, _write_data, explain, rows

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("mrlower")
    text, pq_path = _write_data(str(root))
    s = Session(warehouse=str(root / "wh"), metastore=str(root / "ms.db"),
                settings={"hive.local.time.zone": "UTC", "hiveish.mapreduce.local.dir": str(root / "mr"),
                          "hiveish.mapreduce.workers": "2", "mapreduce.job.reduces": "2",
                          "mapreduce.input.fileinputformat.split.maxsize": "200000"})
    s.execute("CREATE TABLE sales (id int, k string, v int, d double, day string) "
              "ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    s.execute(f"LOAD DATA LOCAL INPATH '{text}' INTO TABLE sales")
    s.execute("CREATE TABLE dim (k string, name string, w int) STORED AS PARQUET")
    s.execute(f"LOAD DATA LOCAL INPATH '{pq_path}' INTO TABLE dim")
    s.execute("CREATE TABLE facts (id bigint, k string, v bigint) STORED AS PARQUET")
    s.execute(f"LOAD DATA LOCAL INPATH '{root / 'facts.parquet'}' INTO TABLE facts")
    yield s
    s.close()


def compare(s: Session, sql: str, ordered: bool = False, **settings: str) -> str:
    """Rows under mr equal rows under arrow; the query really ran as MR jobs. Returns the MR EXPLAIN."""
    for k, v in settings.items():
        s.execute(f"SET {k.replace('__', '.')}={v}")
    try:
        s.execute("SET hive.execution.engine=arrow")
        want = [_approx(r) for r in rows(s, sql)]
        s.execute("SET hive.execution.engine=mr")
        text = explain(s, sql)
        assert text.startswith("Engine: mr"), text.splitlines()[0]
        before = s.mapreduce_last
        got = [_approx(r) for r in rows(s, sql)]
        assert s.mapreduce_last is not before and s.mapreduce_last.reports, "the query did not run as MR jobs"
        assert all(r.status == "SUCCESS" for r in s.mapreduce_last.reports)
    finally:
        s.execute("SET hive.auto.convert.join=true")  # the only setting these tests change
    if not ordered:
        key = lambda r: tuple((x is None, str(x)) for x in r)  # noqa: E731
        want, got = sorted(want, key=key), sorted(got, key=key)
    assert len(got) == len(want)
    assert got == want
    return text


CONSTRUCTS = {
    "window": ("select k, id, rank() over (partition by k order by v, id) r, "
               "sum(v) over (partition by k order by id rows between 2 preceding and current row) s, "
               "row_number() over (partition by k, day order by id) n from sales where id < 4000", False),
    "window_no_partition": ("select id, lag(v) over (order by id) from sales where id < 300", False),
    "nway_join": ("select s.id, d.name, f.v from sales s join dim d on s.k = d.k join facts f on f.id = s.id "
                  "where s.v > 500", False),
    "comma_join": ("select d.name, sum(f.v), count(*) from facts f, dim d, sales s "
                   "where f.k = d.k and s.id = f.id and s.v > 0 group by d.name", False),
    "left_outer": ("select d.k, count(s.id), sum(s.v) from dim d left outer join sales s on s.k = d.k "
                   "and s.v > 900 group by d.k", False),
    "full_outer": ("select s.id, d.name from sales s full outer join dim d on s.k = d.k "
                   "where s.id is null or s.id < 300", False),
    "left_semi": "select d.k, d.name from dim d left semi join sales s on s.k = d.k and s.v > 990",
    "non_equi_residual": ("select s.id, d.name from sales s join dim d on s.k = d.k and s.v > d.w * 20 "
                          "where s.id < 2000", False),
    "cross_join": ("select d.k, x.c from dim d cross join (select count(*) c from sales where v > 990) x", False),
    "scalar_and_in_subquery": ("select id, v from sales where v > (select avg(v) + 800 from sales) "
                               "and k in (select k from dim where w < 20)", False),
    "correlated_exists": ("select d.k from dim d where exists "
                          "(select 1 from sales s where s.k = d.k and s.v > 995)", False),
    "not_in_subquery": "select k, name from dim where k not in (select k from sales where v > 990 and k is not null)",
    "cte_chain": ("with a as (select k, sum(v) sv, count(*) c from sales group by k), "
                  "b as (select k, sv from a where c > 250) "
                  "select b.k, b.sv, d.name from b join dim d on b.k = d.k", False),
    "derived_table_order": ("select t.k, t.c from (select k, count(*) c from sales group by k) t "
                            "where t.c > 300 order by t.c desc, t.k", True),
    "union_all": ("select k, v from sales where v > 990 union all select k, w from dim", False),
    "union_distinct": ("select day from sales union select name from dim where w < 3", False),
    "count_distinct": ("select day, count(distinct k), count(*), percentile(v, 0.5) "
                       "from sales group by day", False),
    "distinct_rows": ("select distinct day, k from sales where v > 900", False),
    "rollup": ("select day, k, count(*), sum(v) from sales where v > 900 group by day, k with rollup", False),
    "grouping_sets": ("select day, k, count(*) from sales where v > 800 "
                      "group by day, k grouping sets ((day, k), (day))", False),
    "collect_set": ("select k, sort_array(collect_set(day)), variance(v) from sales group by k", False),
    "sort_distribute_by": ("select k, v from sales where v > 980 distribute by k sort by v", False),
    "cluster_by": ("select k, id from sales where v > 985 cluster by k", False),
    "order_limit_offset": ("select id, v from sales order by v desc, id limit 10 offset 5", True),
    "limit_in_subquery": ("select count(*) from (select id from sales where v > 0 order by id limit 37) t", False),
    "lateral_view": ("select d.k, x from dim d lateral view explode(array(d.w, d.w + 1)) t as x "
                     "where d.w < 10", False),
    "having_subquery": ("select k, sum(v) from sales group by k "
                        "having sum(v) > (select avg(v) * 300 from sales)", False),
}


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_construct_same_rows_as_arrow(session, name):
    case = CONSTRUCTS[name]
    sql, ordered = case if isinstance(case, tuple) else (case, False)
    compare(session, sql, ordered)


def test_reduce_side_nway_join_chain(session):
    text = compare(session, CONSTRUCTS["nway_join"][0], hive__auto__convert__join="false")
    assert "Map Join Operator" not in text
    assert text.count("Join Operator") == 2
    assert "Stage-2 depends on stages: Stage-1" in text


def test_map_join_fuses_small_tables(session):
    text = compare(session, CONSTRUCTS["comma_join"][0])
    assert "Map Join Operator" in text and "Map Reduce Local Work" in text


def _skeleton(text: str) -> list[str]:
    """EXPLAIN lines that carry the plan's shape (stage structure and operator names)."""
    keep = ("STAGE", "Stage", "Map Reduce", "Map Operator Tree", "Reduce Operator Tree", "Fetch Operator")
    out = []
    for line in text.splitlines()[1:]:
        s = line.strip()
        if s.startswith(keep) or s.endswith("Operator") or s in ("Union", "PTF Operator", "Limit", "TableScan"):
            out.append(line.rstrip())
    return out


def test_explain_window_shape(session):
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select k, rank() over (partition by k order by v) from sales")
    assert _skeleton(text) == [
        "STAGE DEPENDENCIES:",
        "  Stage-1 is a root stage",
        "  Stage-0 depends on stages: Stage-1",
        "STAGE PLANS:",
        "  Stage: Stage-1",
        "    Map Reduce",
        "      Map Operator Tree:",
        "          TableScan",
        "          Select Operator",
        "          Reduce Output Operator",
        "      Reduce Operator Tree: (reducers: 2)",
        "          PTF Operator",
        "          Select Operator",
        "          File Output Operator",
        "  Stage: Stage-0",
        "    Fetch Operator",
    ]
    assert "Map-reduce partition columns: __p0 (hash)" in text


def test_explain_union_and_subquery_shape(session):
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select k from sales where v > (select max(w) from dim) union all select k from dim")
    sk = _skeleton(text)
    assert sk[:4] == ["STAGE DEPENDENCIES:", "  Stage-1 is a root stage",
                      "  Stage-2 depends on stages: Stage-1", "  Stage-0 depends on stages: Stage-2"]
    assert "Alias -> Map Local Tables: subquery (subquery)" in text and "output of Stage-1" in text
    assert text.count("          Union") >= 2 and "mode: UNION ALL" in text


def test_explain_count_distinct_reduces_whole_groups(session):
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select day, count(distinct k) from sales group by day")
    assert "mode: complete" in text and "mode: hash" not in text
    text = explain(session, "select day, count(k) from sales group by day")
    assert "mode: hash" in text and "mode: mergepartial" in text


def test_query_without_table_falls_back(session):
    session.execute("SET hive.execution.engine=mr")
    text = explain(session, "select 1 + 1")
    assert text.startswith("Engine: arrow") and "reads no table" in text


# -- TPC-H under mr: a few join/subquery-heavy queries always, all 22 with HIVEISH_TEST_MR_TPCH=1 ----------
BENCH = os.path.join(REPO_ROOT, "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402

TPCH_DIR = os.path.join(REPO_ROOT, "..", "shared", "tpch")
TPCH_QUERIES = tpch_data.QUERIES if os.environ.get("HIVEISH_TEST_MR_TPCH") else [2, 13, 17, 20, 21, 22]


@pytest.fixture(scope="module")
def tpch_mr(tmp_path_factory):
    if tpch_data.tpchgen_path() is None or not os.path.isdir(os.path.join(TPCH_DIR, "answers", "sf0.01")):
        pytest.skip("tpchgen-cli or the TPC-H answers are missing")
    d = str(tmp_path_factory.mktemp("tpch-mr"))
    tpch_data.generate_parquet("0.01", d)
    with tpch_data.Warehouse(os.path.join(d, "parquet"), "parquet", **{"hive.execution.engine": "mr"}) as wh:
        yield wh


@pytest.mark.parametrize("q", TPCH_QUERIES, ids=lambda q: f"q{q:02d}")
def test_tpch_under_mr(tpch_mr, q):
    cur = tpch_mr.conn.cursor()
    try:
        cur.execute("EXPLAIN " + tpch_data.query_text(q))
        first = cur.fetchall()[0][0]
        assert first.startswith("Engine: mr"), first
        cur.execute(tpch_data.query_text(q))
        got = cur.fetchall()
    finally:
        cur.close()
    ok, msg = tpch_answers.compare(got, tpch_answers.load_answer(tpch_answers.answer_path(TPCH_DIR, "0.01", q)))
    assert ok, f"Q{q}: {msg}"
