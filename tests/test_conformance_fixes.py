"""Hive semantics behind conformance-corpus failures, one focused query per rule, on both engines.

Expected values are what Hive 2.1.1 prints (its documentation and its own test outputs).
"""

from __future__ import annotations

import pytest

from tests.helpers import new_session, printed


@pytest.fixture(scope="module", params=["arrow", "mr"])
def s(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"conffix-{request.param}")
    sess = new_session(base, **{"hive.local.time.zone": "US/Pacific", "hive.execution.engine": request.param})
    (base / "kv.txt").write_text("".join(f"{k}\x01val_{k}\n" for k in (0, 2, 4, 10, 17, 18, 18, 19, 20)))
    sess.execute("CREATE TABLE kv (key STRING, value STRING)")
    sess.execute(f"LOAD DATA LOCAL INPATH '{base / 'kv.txt'}' INTO TABLE kv")
    yield sess
    sess.close()


def test_from_first_join_select(s):
    # FROM a JOIN b ON ... SELECT ...: the join is part of the FROM clause, as in SELECT ... FROM a JOIN b
    assert sorted(printed(s, "FROM kv a LEFT OUTER JOIN kv b ON (a.key = b.key) "
                             "SELECT a.key, b.value WHERE a.key > 10 AND b.key < 19")) == [
        "17\tval_17", "18\tval_18", "18\tval_18", "18\tval_18", "18\tval_18"]
    assert printed(s, "FROM kv a JOIN (SELECT key FROM kv WHERE key = '2') b ON a.key = b.key "
                      "JOIN kv c ON c.key = a.key SELECT a.key, c.value") == ["2\tval_2"]


def test_table_function_reads_input_column_named_like_its_output(s):
    # Hive evaluates a UDTF's arguments on its input row: `value` in explode(array(key, value)) AS (value)
    # is the input's column, and the output is a STRING that compares with a number as a double
    assert sorted(printed(s, "SELECT value FROM (SELECT explode(array(key, value)) AS (value) FROM kv) b "
                             "WHERE value < 3")) == ["0", "2"]
    assert printed(s, "SELECT count(*) FROM kv LATERAL VIEW explode(array(key, value)) t AS value "
                      "WHERE t.value > 17") == ["4"]
