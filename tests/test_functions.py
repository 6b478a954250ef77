"""Hive's built-in functions and coercions as hiveish evaluates them: one focused check per semantic rule."""

from __future__ import annotations

import pytest

from hiveish.session import Session
from planner.functions import REGISTRY
from tests.helpers import new_session, printed


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    base = tmp_path_factory.mktemp("functions")
    s = new_session(base, **{"hive.local.time.zone": "US/Pacific"})
    yield s
    s.close()


def one(s: Session, sql: str) -> str:
    rows = printed(s, sql)
    assert len(rows) == 1, rows
    return rows[0]


# -- the registry ---------------------------------------------------------------------------------


def test_every_registered_function_has_usage_text():
    missing = [name for name, f in REGISTRY.items() if not f.usage.strip()]
    assert missing == []


def test_show_functions_lists_new_functions(session):
    names = set(printed(session, "SHOW FUNCTIONS"))
    for name in ("elt", "field", "months_between", "add_months", "shiftleft", "mask", "soundex", "crc32"):
        assert name in names


def _sql_texts() -> str:
    """Every string constant of the tests' Python files, and the conformance corpus where it is present."""
    import ast
    import glob
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    texts = []
    for path in glob.glob(os.path.join(here, "*.py")):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        texts.extend(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str))
    corpus = os.path.join(os.path.dirname(os.path.dirname(here)), "shared", "conformance", "cases")
    for path in glob.glob(os.path.join(corpus, "*.test")):
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    return "\n".join(texts)


def test_every_listed_function_has_usage_and_a_test(session):
    import re

    listed = printed(session, "SHOW FUNCTIONS")
    assert listed and set(listed) == set(REGISTRY)
    sql = _sql_texts()
    untested = [n for n in listed if not re.search(r"(?i)(?<![\w.])" + re.escape(n) + r"\s*\(", sql)]
    assert untested == [], f"functions no test calls: {untested}"
    no_usage = [n for n in listed if not printed(session, f"DESCRIBE FUNCTION {n}")[0].strip()
                or "does not exist" in printed(session, f"DESCRIBE FUNCTION {n}")[0]]
    assert no_usage == []


@pytest.mark.parametrize("sql, expected", [
    # values from Hive's function documentation
    ("SELECT datediff('2009-03-01', '2009-02-27'), to_date('1970-01-01 00:00:00')", "2\t1970-01-01"),
    ("SELECT datediff(current_date(), to_date(current_timestamp()))", "0"),
    ("SELECT floor(-0.1), pow(2, 3), tinyint('12')", "-1\t8.0\t12"),
    ("SELECT ceil(-0.1), ceiling(1.2), ceil(5), floor(CAST(-1.5 AS DECIMAL(5,2))), lower('AbC'), string(1.5)",
     "0\t2\t5\t-2\tabc\t1.5"),
    ("SELECT get_json_object('{\"a\":{\"b\":1}}', '$.a.b')", "1"),
    ("SELECT isnull(NULL), isnotnull(1), size(array(1, 2)), size(map(1, 'a'))", "true\ttrue\t2\t1"),
    ("SELECT locate('bar', 'foobarbar', 5), substring('Facebook', 5), substring('Facebook', 5, 1)", "7\tbook\tb"),
    ("SELECT ltrim('  a '), rtrim(' a  '), trim('  a  '), rpad('hi', 5, '??')", "a \t a\ta\thi???"),
    ("SELECT next_day('2015-01-14', 'TU'), to_utc_timestamp('1970-01-01 00:00:00', 'PST')",
     "2015-01-20\t1970-01-01 08:00:00"),
    ("SELECT regexp_extract('foothebar', 'foo(.*?)(bar)', 2), regexp_replace('foobar', 'oo|ar', '')", "bar\tfb"),
    ("SELECT str_to_map('a:1,b:2'), unix_timestamp('2009-03-20', 'yyyy-MM-dd')", '{"a":"1","b":"2"}\t1237532400'),
    ("SELECT var_pop(x), var_samp(x), variance(x) FROM (SELECT explode(array(1, 2, 3, 4)) AS x) t",
     "1.25\t1.6666666666666667\t1.25"),
    ("SELECT stddev_pop(x), stddev_samp(x), stddev(x), std(x) FROM (SELECT explode(array(1, 2, 3, 4)) AS x) t",
     "1.118033988749895\t1.2909944487358056\t1.118033988749895\t1.118033988749895"),
])
def test_documented_values(session, sql, expected):
    assert one(session, sql) == expected


def test_window_functions_and_inline(session):
    assert printed(session, "SELECT x, row_number() OVER (ORDER BY x), lead(x) OVER (ORDER BY x),"
                            " first_value(x) OVER (ORDER BY x), last_value(x) OVER (ORDER BY x ROWS BETWEEN"
                            " UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM (SELECT explode(array(3, 1, 2)) AS x) t"
                            " ORDER BY x") == ["1\t1\t2\t1\t3", "2\t2\t3\t1\t3", "3\t3\tNULL\t1\t3"]
    assert printed(session, "SELECT inline(array(struct('a', 1), struct('b', 2)))") == ["a\t1", "b\t2"]


# -- strings --------------------------------------------------------------------------------------


def test_elt_converts_its_choice_to_string(session):
    assert one(session, "SELECT elt(2, 'a', CAST(16.0 AS DOUBLE)), elt('1', 'x', 'y'), elt(3, 'a', 'b')") == \
        "16.0\tx\tNULL"


def test_field_matches_only_the_same_type_family(session):
    assert one(session, "SELECT field('b', 'a', 'b'), field('66', 66), field(2, 1, 2), field(NULL, 'a')") == \
        "2\t0\t2\t0"


def test_instr_and_split_take_any_primitive_as_string(session):
    assert one(session, "SELECT instr(123, 23), split(50401020, 0)") == '2\t["5","4","1","2",""]'


def test_soundex(session):
    assert one(session, "SELECT soundex('Miller'), soundex('Pittersen'), soundex('m'), soundex('')") == \
        "M460\tP362\tM000\t"


def test_substring_index(session):
    assert one(session, "SELECT substring_index('www.apache.org', '.', 2), substring_index('www.apache.org', '.', -2),"
                        " substring_index('a.b', '.', 0)") == "www.apache\tapache.org\t"


def test_mask_keeps_classes_given_minus_one_and_wraps_numbers(session):
    assert one(session, "SELECT mask('Ab-1', 'X', 'x', '0', ':'), mask(CAST(123 AS TINYINT), -1, -1, -1, -1, '5'),"
                        " mask(CAST('2016-04-20' AS DATE), -1, -1, -1, -1, -1, -1, 0, -1)") == \
        "Xx:0\t43\t2016-01-20"


def test_mask_n_variants(session):
    assert one(session, "SELECT mask_first_n('abcdef', 2), mask_last_n('abcdef', 2), mask_show_first_n('abcdef', 2),"
                        " mask_show_last_n('abcdef', 2)") == "xxcdef\tabcdxx\tabxxxx\txxxxef"


# -- numbers and bits ------------------------------------------------------------------------------


def test_e_is_a_double(session):
    assert one(session, "SELECT e()") == "2.718281828459045"


def test_shifts_follow_java_int_and_long_overflow(session):
    assert one(session, "SELECT shiftleft(4, 29), shiftleft(CAST(4 AS BIGINT), 61), shiftleft(4, 33),"
                        " shiftright(-128, 31), shiftrightunsigned(-128, 1), shiftrightunsigned(CAST(-1 AS BIGINT), 1)") \
        == "-2147483648\t-9223372036854775808\t8\t-1\t2147483584\t9223372036854775807"


def test_bround_rounds_half_to_even(session):
    assert one(session, "SELECT bround(2.5), bround(3.5), bround(-1.25, 1), bround(45.0, -1)") == \
        "2.0\t4.0\t-1.2\t40.0"


def test_crc32_of_string_and_binary(session):
    assert one(session, "SELECT crc32('ABC'), crc32(binary('ABC')), crc32('')") == "2743272264\t2743272264\t0"


def test_hash_is_java_hashcode(session):
    assert one(session, "SELECT hash(3), hash(CAST('123456789012' AS BIGINT)), hash(CAST(1.25 AS FLOAT)),"
                        " hash(CAST(16.0 AS DOUBLE)), hash('400'), hash(TRUE), hash(1, 2, 3)") == \
        "3\t-1097262584\t1067450368\t1076887552\t51508\t1\t1026"


def test_sha2_256(session):
    assert one(session, "SELECT sha2('ABC', 256), sha2('ABC', 200)") == \
        "b5d4045c3f466fa91fe2cc6abe79232a1a57cdf104f7a26e716e0a1e2789df78\tNULL"


# -- dates -----------------------------------------------------------------------------------------


def test_date_strings_are_parsed_leniently(session):
    # SimpleDateFormat("yyyy-MM-dd") rolls day 32 over into the next month and ignores trailing text
    assert one(session, "SELECT last_day('2014-01-32'), quarter('2016-03-35'), trunc('2014-01-34 10:30:45', 'MM'),"
                        " add_months('01/14/2014', 1)") == "2014-02-28\t2\t2014-02-01\tNULL"


def test_add_months_keeps_month_ends(session):
    assert one(session, "SELECT add_months('2014-02-28', 2), add_months('2016-02-29', -12), add_months('2014-01-14', 1)") \
        == "2014-04-30\t2015-02-28\t2014-02-14"


def test_months_between_uses_31_day_months_and_time_of_day(session):
    assert one(session, "SELECT months_between('1995-02-02', '1995-01-01'), months_between('2002-03-31', '2002-02-28'),"
                        " months_between('1976-01-01 00:00:00', '1975-12-31 23:59:59'), months_between('2012-03', '2012-02-24')") \
        == "1.03225806\t1.0\t3.7E-7\tNULL"


def test_cast_string_to_timestamp_rolls_days_over(session):
    assert one(session, "SELECT CAST('2002-02-31 00:00:00' AS TIMESTAMP), CAST('2012-02-31' AS DATE),"
                        " CAST('2014-01-01' AS TIMESTAMP), CAST('junk' AS DATE)") == \
        "2002-03-03 00:00:00\t2012-03-02\t2014-01-01 00:00:00\tNULL"


def test_second_of_a_time_string(session):
    assert one(session, "SELECT second('2009-08-07 13:14:15'), second('13:14:15'), second('2009-08-07')") == \
        "15\t15\tNULL"


def test_unix_timestamp_pattern_with_12_hour_clock(session):
    assert one(session, "SELECT to_unix_timestamp('2009 Mar 20 11:30:01 am', 'yyyy MMM dd h:mm:ss a')") == "1237573801"


def test_nested_rewrites_apply_inside_rewritten_casts(session):
    # the operand of a rewritten cast still gets Hive's arithmetic (string / int is a double)
    assert one(session, "SELECT CAST('7' / 2 AS INT), CAST(concat_ws('-', 'a', 'b') AS STRING)") == "3\ta-b"


# -- types and coercions ---------------------------------------------------------------------------


def test_fractional_literals_are_doubles(session):
    assert one(session, "SELECT 2.5, 1.5 * 2, round(125.315), round(-125.315, -3), round(125.315, 2)") == \
        "2.5\t3.0\t125.0\t0.0\t125.32"


def test_bd_literals_stay_decimal(session):
    assert one(session, "SELECT round(-1809242.3151111344BD, 9)") == "-1809242.315111134"


def test_round_of_strings_is_double(session):
    assert one(session, "SELECT round('1.25', 1), round(7)") == "1.3\t7"


def test_percentile_interpolates_as_double(session):
    assert one(session, "SELECT percentile(x, 0.5), percentile(x, array(0.0, 1.0))"
                        " FROM (SELECT 4 AS x UNION ALL SELECT 5 AS x) t") == "4.5\t[4.0,5.0]"


def test_mixed_string_and_number_branches_become_strings(session):
    assert one(session, "SELECT IF(FALSE, 1, 'ABC'), coalesce(CAST(NULL AS INT), 'EMPTY'), nvl(NULL, 2),"
                        " map(1, 2, 'a', 'b')") == 'ABC\tEMPTY\t2\t{"1":"2","a":"b"}'


def test_boolean_and_double_to_string_as_java(session):
    assert one(session, "SELECT CAST(TRUE AS STRING), CAST(1e7 AS STRING), CAST(0.0001 AS STRING),"
                        " CAST(123.5 AS STRING)") == "TRUE\t1.0E7\t1.0E-4\t123.5"


def test_like_escapes_wildcards_with_backslash(session):
    assert one(session, r"SELECT '_%_' LIKE '%\_\%\_%', '__' LIKE '%\_\%\_%', 'ab' NOT LIKE 'a%'") == "true\tfalse\tfalse"


def test_interval_literals_and_parts(session):
    assert one(session, "SELECT interval '2-0' year to month = interval '24' month, year(interval '1-2' year to month),"
                        " hour(interval '3 4:5:6.789' day to second), interval_day_time('2 1:2:3') ="
                        " interval '2 1:2:3' day to second") == "true\t1\t4\ttrue"


def test_date_parts_of_strings_are_lenient(session):
    assert one(session, "SELECT year('2014-01-32'), month('2014-01-32 10:00:00'), dayofmonth('2014-02-30')") == \
        "2014\t2\t2"


def test_char_and_varchar_casts_pad_and_truncate(session):
    assert one(session, "SELECT cast('abcdef' AS varchar(3)), cast('ab' AS char(4)), cast(12345 AS varchar(2))") == \
        "abc\tab  \t12"


def test_mask_of_char_pads_to_255(session):
    row = one(session, "SELECT mask(cast('Ab' AS char(4)), 'X', 'x', '0', ':')")
    assert row == "Xx::" + " " * 251


def test_grouping_id_of_a_derived_table_is_its_column(session):
    assert printed(session, "SELECT GROUPING__ID, count(*) FROM (SELECT a, GROUPING__ID FROM"
                            " (SELECT 1 AS a UNION ALL SELECT 2 AS a) s GROUP BY a WITH ROLLUP) t"
                            " GROUP BY GROUPING__ID ORDER BY GROUPING__ID") == ["0\t1", "1\t2"]


def test_group_by_column_in_no_grouping_set_is_null(session):
    assert printed(session, "SELECT a, b, GROUPING__ID FROM (SELECT 1 AS a, 2 AS b) t"
                            " GROUP BY a, b GROUPING SETS ((), (a)) ORDER BY GROUPING__ID") == \
        ["NULL\tNULL\t0", "1\tNULL\t1"]


def test_stack_without_from(session):
    assert printed(session, "SELECT stack(2, 'a', 1, 'b', 2)") == ["a\t1", "b\t2"]


def test_from_utc_timestamp_unknown_zone_is_gmt(session):
    assert one(session, "SELECT from_utc_timestamp('2012-02-11 04:30:00', 'PST'),"
                        " from_utc_timestamp('2012-02-11 04:30:00', ''),"
                        " from_utc_timestamp('2012-02-11-04:30:00', 'UTC')") == \
        "2012-02-10 20:30:00\t2012-02-11 04:30:00\tNULL"


def test_radians_in_java_evaluation_order(session):
    assert one(session, "SELECT radians(57.2958)") == "1.000000357564167"


def test_timestamp_to_boolean_is_nonzero_epoch(session):
    assert one(session, "SELECT CAST(CAST('2011-05-06 07:08:09' AS TIMESTAMP) AS BOOLEAN),"
                        " CAST(CAST(0 AS TIMESTAMP) AS BOOLEAN)") == "true\tfalse"


def test_avg_of_decimal_widens_scale_and_timestamps_average_as_seconds(session):
    session.execute("CREATE TABLE IF NOT EXISTS avg_t (d DECIMAL(4,2), ts TIMESTAMP)")
    session.execute("INSERT OVERWRITE TABLE avg_t SELECT CAST(1.5 AS DECIMAL(4,2)), CAST(1 AS TIMESTAMP)")
    assert one(session, "SELECT avg(d), avg(ts), sum(ts) FROM avg_t") == "1.500000\t1.0\t1.0"


def test_map_keys_of_null_map_is_empty(session):
    assert one(session, "SELECT map_keys(CAST(NULL AS MAP<INT,STRING>)), map_values(map(1, 'a'))") == '[]\t["a"]'
