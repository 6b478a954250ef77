"""Statistics: ANALYZE TABLE, hive.stats.autogather, DESCRIBE FORMATTED of tables, partitions and columns."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from hiveish import errors
from tests.helpers import new_session, rows

ENGINES = ["arrow", "mr"]


@pytest.fixture
def s(tmp_path):
    sess = new_session(tmp_path, **{"hive.local.time.zone": "UTC",
                                    "hiveish.mapreduce.local.dir": str(tmp_path / "mr")})
    yield sess
    sess.close()


def params(s, sql: str) -> dict[str, str]:
    """The `Table Parameters:` / `Partition Parameters:` rows of DESCRIBE FORMATTED."""
    out, inside = {}, False
    for r in rows(s, sql):
        if r[0] in ("Table Parameters:", "Partition Parameters:"):
            inside = True
        elif inside and r[0] == "" and r[1] is not None:
            out[r[1]] = r[2]
        elif inside:
            break
    return out


def column(s, sql: str) -> dict[str, str]:
    """DESCRIBE FORMATTED t col as {header: value} (blank cells as '')."""
    got = rows(s, sql)
    assert got[0][0].startswith("# col_name") and got[1][0] == ""
    header = [h.strip().lstrip("# ") for h in got[0]]
    return {h: v.strip() for h, v in zip(header, got[2])}


def sizes(location: str) -> tuple[int, int]:
    files = [os.path.join(d, f) for d, _, fs in os.walk(location) for f in fs if not f.startswith((".", "_"))]
    return len(files), sum(os.path.getsize(f) for f in files)


def text_table(s, name="t"):
    s.execute("SET hive.stats.autogather=false")
    s.execute(f"CREATE TABLE {name} (a INT, b STRING, c DOUBLE, d BOOLEAN, e DATE, f DECIMAL(10,2))")
    s.execute(f"INSERT INTO {name} VALUES (1, 'x', 1.5, true, '2020-01-01', 1.50), "
              "(2, NULL, NULL, false, NULL, NULL), (3, 'hello', 2.25, NULL, '2021-05-06', 10.25)")
    s.execute(f"INSERT INTO {name} VALUES (3, 'hello', -0.5, true, '2019-12-31', -3.00)")
    s.execute("SET hive.stats.autogather=true")


@pytest.mark.parametrize("engine", ENGINES)
def test_analyze_stores_hive_basic_statistics(s, tmp_path, engine):
    text_table(s)
    assert "numRows" not in params(s, "DESCRIBE FORMATTED t")  # written without autogather
    s.execute(f"SET hive.execution.engine={engine}")
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS")
    p = params(s, "DESCRIBE FORMATTED t")
    nfiles, total = sizes(str(tmp_path / "wh" / "t"))
    assert (p["numFiles"], p["totalSize"], p["numRows"]) == (str(nfiles), str(total), "4")
    assert nfiles == 2
    # LazySimpleSerDe's raw size: the rows' bytes without their line terminators
    assert p["rawDataSize"] == str(total - 4)
    assert p["COLUMN_STATS_ACCURATE"] == '{"BASIC_STATS":"true"}'


def test_noscan_measures_files_only(s, tmp_path):
    text_table(s)
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS NOSCAN")
    p = params(s, "DESCRIBE FORMATTED t")
    assert (p["numFiles"], p["totalSize"]) == tuple(map(str, sizes(str(tmp_path / "wh" / "t"))))
    assert "numRows" not in p and "COLUMN_STATS_ACCURATE" not in p


def test_partial_partition_spec_analyzes_every_matching_partition(s):
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING, hr INT)")
    s.execute("SET hive.stats.autogather=false")
    s.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    s.execute("INSERT INTO p PARTITION (ds, hr) VALUES (1, '1', 1), (2, '1', 2), (3, '1', 2), (4, '2', 1)")
    s.execute("ANALYZE TABLE p PARTITION (ds='1', hr) COMPUTE STATISTICS")
    assert params(s, "DESCRIBE FORMATTED p PARTITION (ds='1', hr=1)")["numRows"] == "1"
    assert params(s, "DESCRIBE FORMATTED p PARTITION (ds='1', hr=2)")["numRows"] == "2"
    assert "numRows" not in params(s, "DESCRIBE FORMATTED p PARTITION (ds='2', hr=1)")
    s.execute("ANALYZE TABLE p PARTITION (ds, hr) COMPUTE STATISTICS")
    assert params(s, "DESCRIBE FORMATTED p PARTITION (ds='2', hr=1)")["numRows"] == "1"
    with pytest.raises(errors.SemanticException, match="10006"):
        s.execute("ANALYZE TABLE p PARTITION (ds='9', hr=9) COMPUTE STATISTICS")
    with pytest.raises(errors.SemanticException, match="10098"):
        s.execute("ANALYZE TABLE p PARTITION (nope='1') COMPUTE STATISTICS")


@pytest.mark.parametrize("engine", ENGINES)
def test_column_statistics_in_describe_formatted(s, engine):
    text_table(s)
    s.execute(f"SET hive.execution.engine={engine}")
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS")
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS FOR COLUMNS")
    assert json.loads(params(s, "DESCRIBE FORMATTED t")["COLUMN_STATS_ACCURATE"]) == {
        "BASIC_STATS": "true", "COLUMN_STATS": {c: "true" for c in "abcdef"}}
    blank = {"min": "", "max": "", "num_nulls": "", "distinct_count": "", "avg_col_len": "", "max_col_len": "",
             "num_trues": "", "num_falses": ""}
    assert column(s, "DESCRIBE FORMATTED t a") == {**blank, "col_name": "a", "data_type": "int", "min": "1",
                                                   "max": "3", "num_nulls": "0", "distinct_count": "3",
                                                   "comment": "from deserializer"}
    assert column(s, "DESCRIBE FORMATTED t b") == {**blank, "col_name": "b", "data_type": "string",
                                                   "num_nulls": "1", "distinct_count": "2",
                                                   "avg_col_len": "3.6666666666666665", "max_col_len": "5",
                                                   "comment": "from deserializer"}
    assert column(s, "DESCRIBE FORMATTED t c")["min"] == "-0.5"
    assert column(s, "DESCRIBE FORMATTED t c")["max"] == "2.25"
    d = column(s, "DESCRIBE FORMATTED t d")
    assert (d["num_nulls"], d["num_trues"], d["num_falses"], d["distinct_count"]) == ("1", "2", "1", "")
    e = column(s, "DESCRIBE FORMATTED t e")
    assert (e["min"], e["max"], e["num_nulls"]) == ("2019-12-31", "2021-05-06", "1")
    f = column(s, "DESCRIBE FORMATTED t f")
    assert (f["min"], f["max"]) == ("-3", "10.25")
    # plain DESCRIBE of a column keeps its three columns
    assert rows(s, "DESCRIBE t a") == [("a", "int", "from deserializer")]


def test_column_list_and_partitions(s):
    s.execute("CREATE TABLE p (a INT, b STRING) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1, 'aa'), (5, NULL)")
    s.execute("INSERT INTO p PARTITION (ds='2') VALUES (-2, 'bbbb'), (NULL, 'c')")
    s.execute("ANALYZE TABLE p PARTITION (ds) COMPUTE STATISTICS FOR COLUMNS a")
    p1 = params(s, "DESCRIBE FORMATTED p PARTITION (ds='1')")
    assert json.loads(p1["COLUMN_STATS_ACCURATE"]) == {"BASIC_STATS": "true", "COLUMN_STATS": {"a": "true"}}
    assert column(s, "DESCRIBE FORMATTED p PARTITION (ds='1') a")["min"] == "1"
    assert column(s, "DESCRIBE FORMATTED p PARTITION (ds='2') a")["num_nulls"] == "1"
    agg = column(s, "DESCRIBE FORMATTED p a")  # over the partitions
    assert (agg["min"], agg["max"], agg["num_nulls"]) == ("-2", "5", "1")
    assert column(s, "DESCRIBE FORMATTED p b")["num_nulls"] == ""  # not analyzed
    s.execute("ALTER TABLE p PARTITION (ds='1') RENAME TO PARTITION (ds='9')")
    assert column(s, "DESCRIBE FORMATTED p PARTITION (ds='9') a")["min"] == "1"
    s.execute("ALTER TABLE p DROP PARTITION (ds='9')")
    assert column(s, "DESCRIBE FORMATTED p a")["min"] == "-2"
    with pytest.raises(errors.SemanticException, match="10002"):
        s.execute("ANALYZE TABLE p COMPUTE STATISTICS FOR COLUMNS nope")


def test_complex_columns_are_refused(s):
    s.execute("CREATE TABLE c (a ARRAY<INT>, b INT)")
    with pytest.raises(errors.SemanticException, match="Only primitive type arguments"):
        s.execute("ANALYZE TABLE c COMPUTE STATISTICS FOR COLUMNS")
    s.execute("ANALYZE TABLE c COMPUTE STATISTICS FOR COLUMNS b")


def test_changed_or_dropped_column_loses_its_statistics(s):
    text_table(s)
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS FOR COLUMNS a, b")
    s.execute("ALTER TABLE t CHANGE a a BIGINT")
    assert column(s, "DESCRIBE FORMATTED t a")["min"] == ""
    assert column(s, "DESCRIBE FORMATTED t b")["max_col_len"] == "5"
    s.execute("ALTER TABLE t RENAME TO t2")
    assert column(s, "DESCRIBE FORMATTED t2 b")["max_col_len"] == "5"


def test_autogather_on_insert_ctas_load_truncate(s, tmp_path):
    s.execute("CREATE TABLE t (a INT, b STRING)")
    s.execute("INSERT INTO t VALUES (1, 'x'), (2, 'yy')")
    p = params(s, "DESCRIBE FORMATTED t")
    assert (p["numRows"], p["numFiles"], p["COLUMN_STATS_ACCURATE"]) == ("2", "1", '{"BASIC_STATS":"true"}')
    assert p["totalSize"] == str(sizes(str(tmp_path / "wh" / "t"))[1])
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS FOR COLUMNS")
    s.execute("INSERT INTO t VALUES (3, 'z')")
    p = params(s, "DESCRIBE FORMATTED t")
    # INSERT INTO adds to accurate figures; the column statistics no longer hold
    assert (p["numRows"], p["numFiles"], p["COLUMN_STATS_ACCURATE"]) == ("3", "2", '{"BASIC_STATS":"true"}')
    assert p["rawDataSize"] == str(int(p["totalSize"]) - 3)
    s.execute("INSERT OVERWRITE TABLE t SELECT 7, 'q'")
    assert params(s, "DESCRIBE FORMATTED t")["numRows"] == "1"
    s.execute("CREATE TABLE c AS SELECT a FROM t")
    assert params(s, "DESCRIBE FORMATTED c")["numRows"] == "1"
    data = tmp_path / "d.txt"
    data.write_text("5\x01e\n6\x01f\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE t")
    p = params(s, "DESCRIBE FORMATTED t")
    assert "COLUMN_STATS_ACCURATE" not in p and p["numFiles"] == "2"  # rows unknown: not accurate
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS")
    assert params(s, "DESCRIBE FORMATTED t")["numRows"] == "3"
    s.execute("SET hive.stats.autogather=false")
    s.execute("INSERT INTO t VALUES (8, 'r')")
    assert "COLUMN_STATS_ACCURATE" not in params(s, "DESCRIBE FORMATTED t")
    s.execute("TRUNCATE TABLE t")
    s.execute("SET hive.stats.autogather=true")
    s.execute("ANALYZE TABLE t COMPUTE STATISTICS")
    s.execute("INSERT INTO t VALUES (8, 'r')")
    s.execute("TRUNCATE TABLE t")
    p = params(s, "DESCRIBE FORMATTED t")
    assert (p["numRows"], p["numFiles"], p["totalSize"]) == ("0", "0", "0")


def test_dynamic_partition_insert_counts_rows_per_partition(s):
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    s.execute("INSERT INTO p PARTITION (ds) VALUES (1, 'x'), (2, 'x'), (3, 'y')")
    assert params(s, "DESCRIBE FORMATTED p PARTITION (ds='x')")["numRows"] == "2"
    assert params(s, "DESCRIBE FORMATTED p PARTITION (ds='y')")["numRows"] == "1"


def test_parquet_raw_data_size_is_rows_times_columns(s):
    s.execute("CREATE TABLE pq (a INT, b STRING, c DOUBLE) STORED AS PARQUET")
    s.execute("INSERT INTO pq VALUES (1, 'x', 1.0), (2, 'y', 2.0)")
    s.execute("ANALYZE TABLE pq COMPUTE STATISTICS")
    assert params(s, "DESCRIBE FORMATTED pq")["rawDataSize"] == "6"


def test_set_location_makes_statistics_inaccurate(s, tmp_path):
    s.execute("CREATE EXTERNAL TABLE e (a INT) LOCATION '%s'" % (tmp_path / "e1"))
    s.execute("INSERT INTO e VALUES (1)")
    assert "COLUMN_STATS_ACCURATE" in params(s, "DESCRIBE FORMATTED e")
    s.execute("ALTER TABLE e SET LOCATION '%s'" % (tmp_path / "e2"))
    assert "COLUMN_STATS_ACCURATE" not in params(s, "DESCRIBE FORMATTED e")


def test_metastore_without_the_statistics_table_keeps_working(tmp_path):
    sess = new_session(tmp_path)
    sess.execute("CREATE TABLE t (a INT)")
    sess.execute("INSERT INTO t VALUES (1), (2)")
    sess.close()
    conn = sqlite3.connect(tmp_path / "ms.db")  # as written by a hiveish before column statistics
    conn.execute("DROP TABLE col_stats")
    conn.commit()
    conn.close()
    sess = new_session(tmp_path)
    try:
        assert rows(sess, "SELECT count(*) FROM t") == [(2,)]
        sess.execute("ANALYZE TABLE t COMPUTE STATISTICS FOR COLUMNS")
        assert column(sess, "DESCRIBE FORMATTED t a")["max"] == "2"
    finally:
        sess.close()


# -- answers from statistics -------------------------------------------------------------------------

@pytest.mark.parametrize("engine", ENGINES)
def test_count_star_same_answers_with_and_without_statistics(s, engine):
    s.execute(f"SET hive.execution.engine={engine}")
    s.execute("CREATE TABLE t (a INT)")
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO t VALUES (1), (NULL), (3)")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1), (2)")
    s.execute("INSERT INTO p PARTITION (ds='2') VALUES (3)")
    queries = ["SELECT count(*) FROM t", "SELECT count(1) AS n, count(*) FROM t", "SELECT count(*) FROM p",
               "SELECT count(a) FROM t", "SELECT count(*) FROM t WHERE a > 1"]
    without = [rows(s, q) for q in queries]
    s.execute("SET hive.compute.query.using.stats=true")
    assert [rows(s, q) for q in queries] == without == [[(3,)], [(3, 3)], [(3,)], [(2,)], [(1,)]]
    r = s.execute("SELECT count(1) AS n, count(*) FROM t")
    assert r.columns == [("n", "bigint"), ("_c1", "bigint")]


def test_count_star_comes_from_statistics_only_when_enabled_and_accurate(s, tmp_path):
    """Hive's StatsOptimizer: with hive.compute.query.using.stats the answer is numRows, even when
    files changed behind the metastore's back (so the default, false, always scans)."""
    loc = tmp_path / "ext"
    s.execute(f"CREATE EXTERNAL TABLE e (a INT) LOCATION '{loc}'")
    s.execute("INSERT INTO e VALUES (1), (2)")
    (loc / "extra.txt").write_text("7\n8\n9\n")  # not through hiveish: the statistics do not know
    assert rows(s, "SELECT count(*) FROM e") == [(5,)]  # default: scans
    s.execute("SET hive.compute.query.using.stats=true")
    assert rows(s, "SELECT count(*) FROM e") == [(2,)]  # from numRows, as Hive answers
    s.execute("ANALYZE TABLE e COMPUTE STATISTICS")  # ANALYZE itself always scans
    assert rows(s, "SELECT count(*) FROM e") == [(5,)]
    assert params(s, "DESCRIBE FORMATTED e")["numRows"] == "5"
    s.execute(f"LOAD DATA LOCAL INPATH '{loc / 'extra.txt'}' INTO TABLE e")  # rows unknown: not accurate
    assert rows(s, "SELECT count(*) FROM e") == [(8,)]


def test_explain_shows_the_plan_statistics_change(s):
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (1), (2)")
    scan = "\n".join(r[0] for r in rows(s, "EXPLAIN SELECT count(*) FROM t"))
    assert "Answered from statistics" not in scan
    s.execute("SET hive.compute.query.using.stats=true")
    plan = "\n".join(r[0] for r in rows(s, "EXPLAIN SELECT count(*) FROM t"))
    assert plan.startswith("Answered from statistics: numRows of t")
    s.execute("SET hive.stats.autogather=false")
    s.execute("INSERT INTO t VALUES (3)")  # statistics no longer accurate: the plan scans again
    again = "\n".join(r[0] for r in rows(s, "EXPLAIN SELECT count(*) FROM t"))
    assert "TableScan default.t" in again and "Answered from statistics" not in again
    assert rows(s, "SELECT count(*) FROM t") == [(3,)]
