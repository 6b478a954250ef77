"""Hive expression semantics hiveish reproduces, one focused check per rule (beside the conformance corpus).

Expected values are Hive's (its documentation and the behaviour of Hive 2.1.1).
"""

from __future__ import annotations

import pytest

from hiveish import errors
from hiveish.session import Session
from tests.helpers import new_session, printed
from tests.test_functions import one


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    base = tmp_path_factory.mktemp("semantics")
    s = new_session(base, **{"hive.local.time.zone": "US/Pacific"})
    s.execute("CREATE TABLE dec_t (d DECIMAL(20,10), k INT) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    (base / "dec.txt").write_text("1234567890.1234567890,1\n0,1\n-1.5,2\n\\N,2\n2.25,2\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{base / 'dec.txt'}' INTO TABLE dec_t")
    yield s
    s.close()


# -- Python UDFs: XPath (javax.xml.xpath, the document node as context) ----------------------------

XML = "<a><b class=\"odd\">1</b><b class=\"even\">2</b><b class=\"odd\">4</b><c>8</c></a>"


@pytest.mark.parametrize("call, expected", [
    ("xpath('<a><b>b1</b><b>b2</b><c>c1</c></a>', 'a/*/text()')", '["b1","b2","c1"]'),
    ("xpath('<a><b>b1</b><b>b2</b></a>', 'a/b')", "[]"),  # element nodes have no node value
    ("xpath('<a><b id=\"x\">1</b><b id=\"y\">2</b></a>', '//@id')", '["x","y"]'),
    ("xpath_string('<a><b>bb</b><c>cc</c></a>', 'a')", "bbcc"),
    ("xpath_string('<a><b>b1</b><b>b2</b></a>', 'a/b[2]')", "b2"),
    ("xpath_string('<a><b>b1</b></a>', 'a/c')", ""),
    ("xpath_boolean('<a><b>10</b></a>', 'a/b = 10')", "true"),
    ("xpath_boolean('<a><b>b</b></a>', 'a/c')", "false"),
    (f"xpath_int('{XML}', 'sum(a/b[@class=\"odd\"])')", "5"),
    ("xpath_int('<a><b>2000000000</b><c>40000000000</c></a>', 'a/b * a/c')", "2147483647"),
    ("xpath_int('<a>not a number</a>', 'a')", "0"),
    (f"xpath_long('{XML}', 'sum(a/*)')", "15"),
    (f"xpath_short('{XML}', 'sum(a/b)')", "7"),
    ("xpath_float('<a>this is not a number</a>', 'a')", "NaN"),
    ("xpath_float('<a><b>2000000000</b><c>40000000000</c></a>', 'a/b * a/c')", "8.0E19"),
    ("xpath_double('<a><b>1</b><b>2</b></a>', 'sum(a/b)')", "3.0"),
    ("xpath_number('<a><b>1.5</b></a>', 'a/b')", "1.5"),
    ("xpath_string(CAST(NULL AS STRING), 'a')", "NULL"),
])
def test_xpath_functions(session, call, expected):
    assert one(session, f"SELECT {call}") == expected


def test_xpath_cannot_read_files(session, tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_text("<s>hidden</s>")
    with pytest.raises(Exception):
        printed(session, f"SELECT xpath_string('<a/>', 'document(\"{secret}\")/s')")


# -- Python UDFs: AES, SHA-2 ------------------------------------------------------------------------

def test_aes_round_trip_and_bad_keys(session):
    assert one(session, "SELECT base64(aes_encrypt('ABC', '1234567890123456')),"
                        " CAST(aes_decrypt(unbase64('y6Ss+zCYObpCbgfWfyNWTw=='), binary('1234567890123456')) AS STRING),"
                        " aes_encrypt('ABC', '12345'), aes_decrypt(unbase64('y6Ss+zCYObpCbgfWfyNWTw=='),"
                        " '6543210987654321')") == "y6Ss+zCYObpCbgfWfyNWTw==\tABC\tNULL\tNULL"


def test_sha2_all_lengths(session):
    row = one(session, "SELECT sha2('ABC', 224), sha2('ABC', 384), length(sha2(binary('ABC'), 512)), sha2('ABC', 1)")
    assert row == ("107c5072b799c4771f328304cfe1ebb375eb6ea7f35a3aa753836fad\t1e02dc92a41db610c9bcdc9b5935d1fb9be56391"
                   "16f6c67e97bc1a3ac649753baba7ba021c813e1fe20c0480213ad371\t128\tNULL")


# -- format_number (DecimalFormat, HALF_EVEN) --------------------------------------------------------

@pytest.mark.parametrize("call, expected", [
    ("format_number(12332.123456, 4)", "12,332.1235"),
    ("format_number(12332.2, 0)", "12,332"),
    ("format_number(CAST(12332.1 AS FLOAT), 4)", "12,332.0996"),  # the float's double value
    ("format_number(12332.123456BD, 2)", "12,332.12"),
    ("format_number(-123456, 3)", "-123,456.000"),
    ("format_number(0.125, 2)", "0.12"),  # an exact tie rounds to even
    ("format_number(0.165, 2)", "0.17"),  # the double 0.165 is above the tie (JDK 8)
    ("format_number(-12345.123456789, '##################.###')", "-12345.123"),
    ("format_number(-0.0, '#.##')", "-0"),
    ("format_number(1234.5, '#,##0.00 units')", "1,234.50 units"),
    ("format_number(CAST(NULL AS INT), 2)", "NULL"),
])
def test_format_number(session, call, expected):
    assert one(session, f"SELECT {call}") == expected


# -- literals and casts ------------------------------------------------------------------------------

def test_charset_literals(session):
    assert one(session, "SELECT _UTF-8 0xE993AEE982B5, _latin1 'abc', _utf8 0x41 = 'A'") == "铮邵\tabc\ttrue"


def test_cast_string_with_fraction_to_int_truncates(session):
    assert one(session, "SELECT CAST('1.6' AS INT), CAST('-1.9' AS TINYINT), CAST('1.0a' AS INT), CAST(' 7 ' AS BIGINT)") \
        == "1\t-1\tNULL\t7"


# -- DECIMAL arithmetic --------------------------------------------------------------------------------

def test_decimal_arithmetic_result_types(session):
    # dec(20,10): * 2 is dec(22,10), / 3 dec(22,12) (a constant counts with its own precision), + 1 dec(21,10)
    assert printed(session, "SELECT d, d * 2, d / 3, d + 1 FROM dec_t WHERE k = 1 ORDER BY d") == [
        "0.0000000000\t0.0000000000\t0.000000000000\t1.0000000000",
        "1234567890.1234567890\t2469135780.2469135780\t411522630.041152263000\t1234567891.1234567890"]


def test_decimal_overflow_is_null_and_division_by_zero_is_null(session):
    assert printed(session, "SELECT d * d, d / 0 FROM dec_t WHERE k = 1 ORDER BY d") == [
        "0.00000000000000000000\tNULL", "NULL\tNULL"]


def test_decimal_division_rounds_half_up(session):
    assert one(session, "SELECT CAST(1 AS DECIMAL(5,0)) / CAST(8 AS DECIMAL(5,0)),"
                        " CAST(-2 AS DECIMAL(5,0)) / CAST(3 AS DECIMAL(1,0))") == "0.125000\t-0.666667"


def test_folded_decimal_constants_take_their_value_type(session):
    assert one(session, "SELECT 0.09765625BD * 0.09765625BD * 0.0125BD * 578992BD, 0.5BD * 4") == \
        "69.0212249755859375\t2"


def test_avg_of_decimal_is_exact(session):
    assert one(session, "SELECT avg(d), avg(DISTINCT d) FROM dec_t") == "308641972.71836419725000\t308641972.71836419725000"
    assert printed(session, "SELECT k, avg(d) OVER (PARTITION BY k) FROM dec_t WHERE k = 2 AND d IS NOT NULL") == \
        ["2\t0.37500000000000"] * 2


# -- aggregates and windows ----------------------------------------------------------------------------

def test_sum_of_strings_is_zero_when_none_parse(session):
    assert one(session, "SELECT sum(s), sum(DISTINCT s), sum(n) FROM (SELECT 'x' AS s, '1.5' AS n"
                        " UNION ALL SELECT 'y' AS s, 'z' AS n) t") == "0.0\t0.0\t1.5"
    assert one(session, "SELECT sum(s) FROM (SELECT CAST(NULL AS STRING) AS s) t") == "NULL"


def test_sum_of_timestamps_adds_seconds_and_fraction(session):
    assert one(session, "SELECT sum(t) FROM (SELECT CAST('2013-03-01 09:11:58.703225' AS TIMESTAMP) AS t"
                        " UNION ALL SELECT CAST('2013-03-01 09:11:58.703277' AS TIMESTAMP) AS t) x") == \
        "2.724315837406502E9"


def test_range_window_over_timestamps_groups_by_second(session):
    rows = printed(session, "SELECT v, sum(v) OVER (ORDER BY t) FROM (SELECT 1 AS v, CAST('2013-03-01 09:11:58.1' AS"
                            " TIMESTAMP) AS t UNION ALL SELECT 2, CAST('2013-03-01 09:11:58.9' AS TIMESTAMP)"
                            " UNION ALL SELECT 4, CAST('2013-03-01 09:11:59.0' AS TIMESTAMP)) x ORDER BY v")
    assert rows == ["1\t3", "2\t3", "4\t7"]


def test_range_offsets_over_strings_reach_the_peers(session):
    rows = printed(session, "SELECT v, count(x) OVER (ORDER BY v RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING),"
                            " sum(x) OVER (ORDER BY v RANGE 1 PRECEDING) FROM (SELECT 'a' AS v, 1 AS x"
                            " UNION ALL SELECT 'a', 2 UNION ALL SELECT 'b', 4) t ORDER BY v")
    assert rows == ["a\t2\t3", "a\t2\t3", "b\t1\t4"]


def test_duplicate_grouping_sets_add_no_rows(session):
    assert printed(session, "SELECT k FROM dec_t GROUP BY k GROUPING SETS ((k), (k)) ORDER BY k") == ["1", "2"]


# -- complex values ------------------------------------------------------------------------------------

def test_struct_fields_are_named_by_position(session):
    assert one(session, "SELECT struct(k, 'x') FROM dec_t WHERE d = 0") == '{"col1":1,"col2":"x"}'


def test_map_literal_iterates_in_java_hash_order(session):
    assert one(session, "SELECT map('b', 2, 'a', 9, 'c', 7), map(3, 'x', 1, 'y'), map(1, 2, 'a', 'b')") == \
        '{"a":9,"b":2,"c":7}\t{1:"y",3:"x"}\t{"1":"2","a":"b"}'


def test_sort_array_of_complex_values(session):
    assert one(session, "SELECT sort_array(array(map('b', 2, 'a', 9), map('c', 3, 'a', 1), map('a', 1))),"
                        " sort_array(array(named_struct('f', 2), named_struct('f', CAST(NULL AS INT)),"
                        " named_struct('f', 1))), sort_array(array(3, NULL, 1))") == \
        '[{"a":1},{"a":1,"c":3},{"a":9,"b":2}]\t[{"f":null},{"f":1},{"f":2}]\t[null,1,3]'


def test_max_and_min_of_structs_never_pick_a_null_field(session):
    sql = ("SELECT max(a), min(a) FROM (SELECT named_struct('f', 1) AS a UNION ALL SELECT named_struct('f', 2)"
           " UNION ALL SELECT named_struct('f', CAST(NULL AS INT))) t")
    assert one(session, sql) == '{"f":2}\t{"f":1}'


def test_char_compares_without_trailing_spaces(session):
    assert one(session, "SELECT CAST('abc' AS CHAR(5)) = CAST('abc' AS CHAR(10)), CAST('abc' AS CHAR(5)) = 'abc',"
                        " CAST('abc' AS CHAR(5)) = 'abc '") == "true\ttrue\tfalse"


# -- sampling ---------------------------------------------------------------------------------------------

def test_bucket_sampling_uses_hive_hash(session):
    session.execute("CREATE TABLE IF NOT EXISTS samp (key INT, value STRING)")
    session.execute("INSERT OVERWRITE TABLE samp SELECT 1, 'a' UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'c'"
                    " UNION ALL SELECT 4, 'd'")
    # an int hashes to itself, a string to Java's hash of its bytes ('a' = 97)
    assert sorted(printed(session, "SELECT key FROM samp TABLESAMPLE (BUCKET 1 OUT OF 2 ON key)")) == ["2", "4"]
    assert sorted(printed(session, "SELECT value FROM samp TABLESAMPLE (BUCKET 2 OUT OF 2 ON value)")) == ["a", "c"]


# -- both engines get the Python UDFs --------------------------------------------------------------------

def test_python_udfs_run_in_mapreduce_tasks(tmp_path):
    s = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                settings={"hive.local.time.zone": "UTC", "hiveish.mapreduce.local.dir": str(tmp_path / "mr")})
    try:
        s.execute("CREATE TABLE docs (x STRING)")
        s.execute("INSERT INTO TABLE docs SELECT '<a><b>1</b><b>2</b></a>' UNION ALL SELECT '<a><b>5</b></a>'")
        s.execute("SET hive.execution.engine=mr")
        explain = "\n".join(printed(s, "EXPLAIN SELECT xpath_int(x, 'sum(a/b)') FROM docs"))
        assert "Engine: mr" in explain
        assert sorted(printed(s, "SELECT xpath_int(x, 'sum(a/b)'), sha2(x, 512) IS NOT NULL FROM docs")) == \
            ["3\ttrue", "5\ttrue"]
    finally:
        s.close()


# -- aggregate result types ---------------------------------------------------------------------------

def test_sum_of_integers_is_bigint_in_both_engines(session):
    """GenericUDAFSumLong: sum over TINYINT..BIGINT (plain, DISTINCT or windowed) is a BIGINT, not a
    128-bit decimal; a CTAS over it declares bigint."""
    session.execute("CREATE TABLE sum_t (a INT, b TINYINT)")
    session.execute("INSERT INTO sum_t VALUES (1, 1), (3, 2), (3, NULL)")
    for engine in ("arrow", "mr"):
        session.execute(f"SET hive.execution.engine={engine}")
        r = session.execute("SELECT sum(a), sum(b), sum(DISTINCT a), sum(1) FROM sum_t")
        assert [t for _, t in r.columns] == ["bigint"] * 4
        assert [row for b in r.batches for row in zip(*b.to_pydict().values())] == [(7, 3, 4, 3)]
    session.execute("SET hive.execution.engine=arrow")
    r = session.execute("SELECT a, sum(a) OVER (ORDER BY a ROWS UNBOUNDED PRECEDING) FROM sum_t ORDER BY a")
    assert r.columns[1][1] == "bigint"
    session.execute("CREATE TABLE sum_ctas AS SELECT sum(a) AS total FROM sum_t")
    assert [c.strip() for c in printed(session, "DESCRIBE sum_ctas")[0].split("\t")[:2]] == ["total", "bigint"]


def test_named_windows_in_both_engines(session):
    """`WINDOW w AS (…)`: uses by name, a definition built on another, a use adding its frame; the
    MapReduce engine runs it as jobs (no fallback); an undefined name is a SemanticException."""
    session.execute("CREATE TABLE win_t (g INT, v INT)")
    session.execute("INSERT INTO win_t VALUES (1, 10), (1, 20), (1, 30), (2, 5)")
    sql = ("SELECT g, v, sum(v) OVER w, rank() OVER w2, sum(v) OVER (w2 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
           "FROM win_t WINDOW w AS (PARTITION BY g), w2 AS (w ORDER BY v DESC) ORDER BY g, v")
    want = ["1\t10\t60\t3\t30", "1\t20\t60\t2\t50", "1\t30\t60\t1\t30", "2\t5\t5\t1\t5"]
    for engine in ("arrow", "mr"):
        session.execute(f"SET hive.execution.engine={engine}")
        assert printed(session, sql) == want
        assert session.statement_warnings == []
    session.execute("SET hive.execution.engine=arrow")
    with pytest.raises(errors.SemanticException, match="Window Spec nope is not defined"):
        session.execute("SELECT sum(v) OVER nope FROM win_t WINDOW w AS (PARTITION BY g)")


def test_sum_of_decimal_widens_by_ten_digits_in_both_engines(session):
    """GenericUDAFSumHiveDecimal: sum over decimal(p, s) is decimal(p + 10, s), NULL when the total
    does not fit; windowed sums and CTAS columns carry the same type."""
    session.execute("CREATE TABLE dsum_t (d DECIMAL(5,2), g INT)")
    session.execute("INSERT INTO dsum_t VALUES (999.99, 1), (0.01, 1), (1.5, 2)")
    for engine in ("arrow", "mr"):
        session.execute(f"SET hive.execution.engine={engine}")
        r = session.execute("SELECT g, sum(d) FROM dsum_t GROUP BY g ORDER BY g")
        assert r.columns[1][1] == "decimal(15,2)"
        assert printed(session, "SELECT g, sum(d) FROM dsum_t GROUP BY g ORDER BY g") == ["1\t1000.00", "2\t1.50"]
    session.execute("SET hive.execution.engine=arrow")
    r = session.execute("SELECT g, sum(d) OVER (PARTITION BY g) FROM dsum_t")
    assert r.columns[1][1] == "decimal(15,2)"
    session.execute("CREATE TABLE dsum_ctas AS SELECT sum(d) AS total FROM dsum_t")
    assert [c.strip() for c in printed(session, "DESCRIBE dsum_ctas")[0].split("\t")[:2]] == ["total", "decimal(15,2)"]
    # beyond 38 digits the result stays decimal(38, s)
    session.execute("CREATE TABLE dsum_wide (d DECIMAL(30,2))")
    session.execute("INSERT INTO dsum_wide VALUES (1.25)")
    assert session.execute("SELECT sum(d) FROM dsum_wide").columns[0][1] == "decimal(38,2)"


@pytest.mark.parametrize("call, expected", [
    ("get_json_object('{\"a\":[1,2]}', '$.a[1]')", "2"),
    ("get_json_object('not json', '$.a')", "NULL"),  # invalid JSON is NULL, not an error
    ("get_json_object(concat('{\"a\":\"b', chr(10), 'c\"}'), '$.a')", "b\nc"),  # raw newline in a string
    ("get_json_object('{\"a\":{\"b\":1}}', '$.a')", '{"b":1}'),
])
def test_get_json_object_is_lenient_like_jackson(session, call, expected):
    assert one(session, f"SELECT {call}") == expected


def test_json_tuple_reads_raw_control_characters(session):
    rows = printed(session, "SELECT j.a, j.b FROM (SELECT concat('{\"a\":\"x', chr(9), 'y\",\"b\":2}') AS s) t "
                            "LATERAL VIEW json_tuple(t.s, 'a', 'b') j AS a, b")
    assert rows == ["x\ty\t2"]


def test_year_month_intervals_print_as_years_and_months(session):
    """DuckDB has one INTERVAL type; a YEAR TO MONTH result column must still print as Hive's `y-m`."""
    for engine in ("arrow", "mr"):
        session.execute(f"SET hive.execution.engine={engine}")
        r = session.execute("SELECT INTERVAL '10-11' YEAR TO MONTH, INTERVAL '49' MONTH, "
                            "interval_year_month('1-2') + INTERVAL '1' YEAR, INTERVAL '10' DAY FROM dec_t LIMIT 1")
        assert [t for _, t in r.columns] == ["interval_year_month"] * 3 + ["interval_day_time"]
    session.execute("SET hive.execution.engine=arrow")
    assert one(session, "SELECT INTERVAL '10-11' YEAR TO MONTH, INTERVAL '49' MONTH, "
                        "interval_year_month('1-2') + INTERVAL '1' YEAR, INTERVAL '10' DAY") == \
        "10-11\t4-1\t2-2\t10 00:00:00.000000000"


def test_percentile_approx_accepts_integers_and_arrays(session):
    """percentile_approx over an INT column is a DOUBLE; an array of percentages gives array<double>."""
    r = session.execute("SELECT percentile_approx(k, 0.5), percentile_approx(k, array(0.0, 1.0), 100) FROM dec_t")
    assert [t for _, t in r.columns] == ["double", "array<double>"]
    assert one(session, "SELECT percentile_approx(k, 0.5), percentile_approx(k, array(0.0, 1.0), 100) FROM dec_t") \
        == "2.0\t[1.0,2.0]"


def test_constant_calls_are_folded_at_planning_unless_they_read_the_session(session):
    """Hive folds constant expressions at compile time; so does hiveish (one evaluation, not one per
    row): EXPLAIN EXTENDED's SQL holds the value. Calls that read the session's time zone or clock
    (unix_timestamp with a format converts in the session zone) are left to run time."""
    sql = ("SELECT k FROM dec_t WHERE add_months(to_date('2020-01-31'), 1) = '2020-02-29' "
           "AND unix_timestamp('2009-03-20', 'yyyy-MM-dd') = 1237532400")
    text = "\n".join(printed(session, "EXPLAIN EXTENDED " + sql))
    assert "'2020-02-29' AS DATE" in text and "HIVE_ADD_MONTHS" not in text.upper()
    assert "HIVE_UNIX_TS(" in text.upper()
    assert sorted(printed(session, sql)) == ["1", "1", "2", "2", "2"]


@pytest.mark.parametrize("sql, expected", [
    ("SELECT count(*) FROM (SELECT explode(split(space(3), ' ')) AS a) x", ["4"]),
    ("SELECT pos, val FROM (SELECT posexplode(array('p', upper('q'))) AS (pos, val)) x ORDER BY pos", ["0\tp", "1\tQ"]),
    ("SELECT k FROM (SELECT explode(map('a', concat('b', 'c'))) AS (k, v)) x", ["a"]),
])
def test_constant_table_generating_calls_are_not_folded(session, sql, expected):
    """Folding evaluates single values only: explode/posexplode over constants still make their rows."""
    assert printed(session, sql) == expected


def test_date_compared_with_a_string_expression_compares_as_strings(session):
    """Hive converts the DATE side to STRING (implicitConvertible DATE -> STRING), so a computed
    string compares with a date as text: '2020-3-1' is not '2020-03-01', and add_months' string
    result compares with to_date's date (this used to fail to bind)."""
    session.execute("CREATE TABLE date_str (s string, d date)")
    session.execute("INSERT INTO date_str VALUES ('2020-02-29', '2020-02-29'), ('2020-3-1', '2020-03-01')")
    for engine in ("arrow", "mr"):
        session.execute(f"SET hive.execution.engine={engine}")
        assert printed(session, "SELECT s, s = d, s > d, d > '2020-02-01' FROM date_str ORDER BY s") == [
            "2020-02-29\ttrue\tfalse\ttrue", "2020-3-1\tfalse\ttrue\ttrue"]
        assert printed(session, "SELECT count(*) FROM date_str WHERE add_months(d, 1) > to_date('2020-03-31')") == ["1"]
    session.execute("SET hive.execution.engine=arrow")
