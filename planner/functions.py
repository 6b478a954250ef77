"""Hive's built-in functions: one registry of name -> usage text and DuckDB form.

Each entry says how a Hive call becomes DuckDB SQL: a `rewrite` over the
sqlglot AST, a DuckDB macro (`MACROS`, installed once per connection), or
sqlglot's own Hive -> DuckDB translation (`native`). `SHOW FUNCTIONS` and
`DESCRIBE FUNCTION` read this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from sqlglot import exp

Rewrite = Callable[[list[exp.Expression], exp.Expression], exp.Expression]


@dataclass(frozen=True)
class Function:
    name: str
    usage: str
    extended: str = ""
    rewrite: Rewrite | None = None
    kind: str = "scalar"  # scalar | aggregate | table | window
    returns: str | None = None  # DuckDB type of the rewrite's result, when fixed


REGISTRY: dict[str, Function] = {}


def register(name: str, usage: str, extended: str = "", kind: str = "scalar",
             rewrite: Rewrite | None = None, returns: str | None = None) -> None:
    REGISTRY[name] = Function(name, usage, extended, rewrite, kind, returns)


def call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def sql(text: str) -> exp.Expression:
    import sqlglot

    return sqlglot.parse_one(text, read="duckdb")


def lit(s: str) -> exp.Expression:
    return exp.Literal.string(s)


# -- DuckDB macros for functions DuckDB lacks or defines differently ----------------
MACROS: list[str] = [
    "CREATE OR REPLACE MACRO hive_pmod(a, b) AS ((a % NULLIF(b, 0)) + b) % NULLIF(b, 0)",
    "CREATE OR REPLACE MACRO hive_to_date(x) AS TRY_CAST(TRY_CAST(x AS TIMESTAMP) AS DATE)",
    "CREATE OR REPLACE MACRO hive_to_ts(x) AS TRY_CAST(x AS TIMESTAMP)",
    "CREATE OR REPLACE MACRO hive_datediff(a, b) AS "
    "date_diff('day', hive_to_date(b), hive_to_date(a))",
    "CREATE OR REPLACE MACRO hive_date_add(d, n) AS hive_to_date(d) + CAST(n AS INTEGER)",
    "CREATE OR REPLACE MACRO hive_date_sub(d, n) AS hive_to_date(d) - CAST(n AS INTEGER)",
    "CREATE OR REPLACE MACRO hive_from_utc(ts, tz) AS timezone(tz, timezone('UTC', hive_to_ts(ts)))",
    "CREATE OR REPLACE MACRO hive_to_utc(ts, tz) AS timezone('UTC', timezone(tz, hive_to_ts(ts)))",
    "CREATE OR REPLACE MACRO hive_str_to_map(s, d1, d2) AS map_from_entries(list_transform("
    "string_split_regex(s, d1), lambda kv: {'key': regexp_replace(kv, '(' || d2 || ').*$', ''),"
    " 'value': CASE WHEN regexp_matches(kv, d2) THEN regexp_replace(kv, '^.*?(' || d2 || ')', '') END}))",
    "CREATE OR REPLACE MACRO hive_unix_ts(s, fmt) AS "
    "CAST(epoch(CAST(try_strptime(CAST(s AS VARCHAR), fmt) AS TIMESTAMPTZ)) AS BIGINT)",
    "CREATE OR REPLACE MACRO hive_unix_ts_of(t) AS CAST(epoch(CAST(t AS TIMESTAMPTZ)) AS BIGINT)",
    "CREATE OR REPLACE MACRO hive_from_unixtime(n, fmt) AS "
    "strftime(timezone(current_setting('TimeZone'), to_timestamp(CAST(n AS BIGINT))), fmt)",
    "CREATE OR REPLACE MACRO hive_parse_url(u, part) AS CASE upper(part)"
    " WHEN 'HOST' THEN NULLIF(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^:/?#]*)', 1), '')"
    " WHEN 'PATH' THEN regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1)"
    " WHEN 'QUERY' THEN NULLIF(regexp_extract(u, '\\?([^#]*)', 1), '')"
    " WHEN 'REF' THEN NULLIF(regexp_extract(u, '#(.*)$', 1), '')"
    " WHEN 'PROTOCOL' THEN NULLIF(regexp_extract(u, '^([A-Za-z][A-Za-z0-9+.-]*):', 1), '')"
    " WHEN 'FILE' THEN regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^#]*)', 1)"
    " WHEN 'AUTHORITY' THEN NULLIF(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)', 1), '')"
    " WHEN 'USERINFO' THEN NULLIF(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://([^@/?#]*)@', 1), '')"
    " END",
    "CREATE OR REPLACE MACRO hive_parse_url_key(u, part, k) AS CASE WHEN upper(part) = 'QUERY' THEN"
    " NULLIF(regexp_extract(u, '[?&]' || k || '=([^&#]*)', 1), '') END",
    "CREATE OR REPLACE MACRO hive_size(x) AS coalesce(len(x), -1)",
    "CREATE OR REPLACE MACRO hive_nvl(a, b) AS coalesce(a, b)",
    "CREATE OR REPLACE MACRO hive_instr(s, sub) AS CASE WHEN s IS NULL OR sub IS NULL THEN NULL"
    " ELSE strpos(s, sub) END",
    "CREATE OR REPLACE MACRO hive_locate(sub, s, pos) AS CASE WHEN pos < 1 THEN 0 WHEN strpos(substr(s, pos), sub) = 0"
    " THEN 0 ELSE strpos(substr(s, pos), sub) + pos - 1 END",
    "CREATE OR REPLACE MACRO hive_substr(s, pos, len) AS CASE"
    " WHEN pos > 0 THEN substr(CAST(s AS VARCHAR), pos, greatest(len, 0))"
    " WHEN pos < 0 AND -pos <= length(CAST(s AS VARCHAR)) THEN substr(CAST(s AS VARCHAR), length(CAST(s AS VARCHAR)) + pos + 1, greatest(len, 0))"
    " WHEN pos = 0 THEN substr(CAST(s AS VARCHAR), 1, greatest(len, 0))"
    " ELSE '' END",
    "CREATE OR REPLACE MACRO hive_concat_ws(sep, parts) AS array_to_string(parts, sep)",
    "CREATE OR REPLACE MACRO hive_split(s, pattern) AS CASE WHEN s IS NULL THEN NULL ELSE"
    " string_split_regex(s, pattern) END",
    "CREATE OR REPLACE MACRO hive_round(x, d) AS round(x, d)",
]


# -- Java SimpleDateFormat -> strftime ------------------------------------------------
_JAVA_FMT = [("yyyy", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("dd", "%d"),
             ("HH", "%H"), ("hh", "%I"), ("mm", "%M"), ("ss", "%S"), ("SSS", "%g"), ("EEEE", "%A"),
             ("EEE", "%a"), ("a", "%p"), ("M", "%-m"), ("d", "%-d"), ("H", "%-H"), ("m", "%-M"),
             ("s", "%-S"), ("u", "%u"), ("D", "%j"), ("Z", "%z"), ("z", "%Z")]


def java_date_format(fmt: str) -> str:
    """Translate a Java SimpleDateFormat pattern into strftime."""
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "'":
            j = fmt.find("'", i + 1)
            j = len(fmt) if j < 0 else j
            out.append(fmt[i + 1:j].replace("%", "%%") or "'")
            i = j + 1
            continue
        for pat, rep in _JAVA_FMT:
            if fmt.startswith(pat, i):
                out.append(rep)
                i += len(pat)
                break
        else:
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return "".join(out)


def _fmt_arg(e: exp.Expression, default: str) -> exp.Expression:
    if e is None:
        return lit(java_date_format(default))
    if isinstance(e, exp.Literal) and e.is_string:
        return lit(java_date_format(e.this))
    return e


def _unix_timestamp(args, _e):
    if not args:
        return sql("CAST(epoch(current_timestamp) AS BIGINT)")
    if len(args) == 1:
        return exp.func("coalesce", call("hive_unix_ts", args[0], lit("%Y-%m-%d %H:%M:%S")),
                        exp.Anonymous(this="hive_unix_ts_cast", expressions=[args[0]]))
    return call("hive_unix_ts", args[0], _fmt_arg(args[1], "yyyy-MM-dd HH:mm:ss"))


def _from_unixtime(args, _e):
    return call("hive_from_unixtime", args[0], _fmt_arg(args[1] if len(args) > 1 else None, "yyyy-MM-dd HH:mm:ss"))


def _collect(distinct: bool) -> Rewrite:
    def build(args, _e):
        x = args[0]
        inner = exp.Distinct(expressions=[x.copy()]) if distinct else x.copy()
        agg = exp.Filter(this=exp.Anonymous(this="list", expressions=[inner]),
                         expression=exp.Where(this=exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null()))))
        return exp.func("coalesce", agg, sql("[]"))
    return build


def _rename(name: str) -> Rewrite:
    return lambda args, _e: call(name, *args)


def _substr(args, _e):
    length = args[2] if len(args) > 2 else exp.Literal.number(2147483647)
    return call("hive_substr", args[0], args[1], length)


def _locate(args, _e):
    return call("hive_locate", args[0], args[1], args[2] if len(args) > 2 else exp.Literal.number(1))


def _str_to_map(args, _e):
    d1 = args[1] if len(args) > 1 else lit(",")
    d2 = args[2] if len(args) > 2 else lit(":")
    return call("hive_str_to_map", args[0], d1, d2)


def _parse_url(args, _e):
    if len(args) > 2:
        return call("hive_parse_url_key", *args[:3])
    return call("hive_parse_url", *args[:2])


def _concat_ws(args, _e):
    parts = []
    for a in args[1:]:
        parts.append(a)
    flat = exp.func("flatten", exp.Array(expressions=[
        a if isinstance(a, exp.Array) else exp.Anonymous(this="hive_as_list", expressions=[a]) for a in parts]))
    return call("hive_concat_ws", args[0], flat)


_MACRO_LIST = ("CREATE OR REPLACE MACRO hive_as_list(x) AS CASE WHEN x IS NULL THEN []::VARCHAR[] "
               "ELSE CAST(x AS VARCHAR[]) END")


def _cast_to(type_name: str) -> Rewrite:
    def build(args, _e):
        return exp.Cast(this=args[0], to=exp.DataType.build(type_name, dialect="hive"))
    return build


def _time_part(unit: str) -> Rewrite:
    return lambda args, _e: exp.func(unit, call("hive_to_ts", args[0]))


def _register_all() -> None:
    r = register
    for type_name in ("tinyint", "smallint", "int", "bigint", "float", "double", "string", "boolean",
                      "date", "timestamp", "binary", "decimal"):
        r(type_name, f"{type_name}(x) - converts x to {type_name.upper()}", rewrite=_cast_to(type_name))
    for unit in ("hour", "minute", "second"):
        r(unit, f"{unit}(param) - Returns the {unit} component of the string/timestamp/interval",
          rewrite=_time_part(unit), returns="BIGINT")
    r("pmod", "pmod(a, b) - Returns the positive value of a mod b", rewrite=_rename("hive_pmod"))
    r("to_date", "to_date(expr) - Extracts the date part of the date or datetime expression expr",
      rewrite=_rename("hive_to_date"), returns="DATE")
    r("datediff", "datediff(date1, date2) - Returns the number of days between date1 and date2",
      rewrite=_rename("hive_datediff"), returns="INTEGER")
    r("date_add", "date_add(start_date, num_days) - Returns the date that is num_days after start_date.",
      rewrite=_rename("hive_date_add"), returns="DATE")
    r("date_sub", "date_sub(start_date, num_days) - Returns the date that is num_days before start_date.",
      rewrite=_rename("hive_date_sub"), returns="DATE")
    r("from_utc_timestamp", "from_utc_timestamp(timestamp, string timezone) - "
      "Assumes given timestamp is UTC and converts to given timezone (as of Hive 0.8.0)",
      rewrite=_rename("hive_from_utc"), returns="TIMESTAMP")
    r("to_utc_timestamp", "to_utc_timestamp(timestamp, string timezone) - "
      "Assumes given timestamp is in given timezone and converts to UTC (as of Hive 0.8.0)",
      rewrite=_rename("hive_to_utc"), returns="TIMESTAMP")
    r("str_to_map", "str_to_map(text, delimiter1, delimiter2) - Creates a map by parsing text ",
      rewrite=_str_to_map, returns="MAP(VARCHAR, VARCHAR)")
    r("parse_url", "parse_url(url, partToExtract[, key]) - extracts a part from a URL", rewrite=_parse_url, returns="VARCHAR")
    r("unix_timestamp", "unix_timestamp(date[, pattern]) - Converts the time to a number",
      rewrite=_unix_timestamp, returns="BIGINT")
    r("from_unixtime", "from_unixtime(unix_time, format) - returns unix_time in the specified format",
      rewrite=_from_unixtime, returns="VARCHAR")
    r("collect_list", "collect_list(x) - Returns a list of objects with duplicates", kind="aggregate",
      rewrite=_collect(False))
    r("collect_set", "collect_set(x) - Returns a set of objects with duplicate elements eliminated",
      kind="aggregate", rewrite=_collect(True))
    r("variance", "variance(x) - Returns the variance of a set of numbers", kind="aggregate",
      rewrite=_rename("var_pop"))
    r("var_pop", "var_pop(x) - Returns the variance of a set of numbers", kind="aggregate",
      rewrite=_rename("var_pop"))
    r("var_samp", "var_samp(x) - Returns the sample variance of a set of numbers", kind="aggregate",
      rewrite=_rename("var_samp"))
    r("stddev", "stddev(x) - Returns the standard deviation of a set of numbers", kind="aggregate",
      rewrite=_rename("stddev_pop"))
    r("std", "std(x) - Returns the standard deviation of a set of numbers", kind="aggregate",
      rewrite=_rename("stddev_pop"))
    r("stddev_pop", "stddev_pop(x) - Returns the standard deviation of a set of numbers", kind="aggregate",
      rewrite=_rename("stddev_pop"))
    r("stddev_samp", "stddev_samp(x) - Returns the sample standard deviation of a set of numbers",
      kind="aggregate", rewrite=_rename("stddev_samp"))
    r("substr", "substr(str, pos[, len]) - returns the substring of str that starts at pos and is of length len",
      rewrite=_substr, returns="VARCHAR")
    r("substring", "substring(str, pos[, len]) - returns the substring of str that starts at pos and is of length len",
      rewrite=_substr, returns="VARCHAR")
    r("instr", "instr(str, substr) - Returns the index of the first occurance of substr in str",
      rewrite=_rename("hive_instr"), returns="INTEGER")
    r("locate", "locate(substr, str[, pos]) - Returns the position of the first occurance of substr in str after position pos",
      rewrite=_locate, returns="INTEGER")
    r("nvl", "nvl(value,default_value) - Returns default value if value is null else returns value",
      rewrite=_rename("hive_nvl"))
    r("split", "split(str, regex) - Splits str around occurances that match regex", rewrite=_rename("hive_split"), returns="VARCHAR[]")
    r("concat_ws", "concat_ws(separator, [string | array(string)]+) - returns the concatenation of the strings separated by the separator.",
      rewrite=_concat_ws, returns="VARCHAR")
    for name, usage in [
        ("concat", "concat(str1, str2, ... strN) - returns the concatenation of str1, str2, ... strN"),
        ("upper", "upper(str) - Returns str with all characters changed to uppercase"),
        ("lower", "lower(str) - Returns str with all characters changed to lowercase"),
        ("length", "length(str | binary) - Returns the length of str or number of bytes in binary data"),
        ("trim", "trim(str) - Removes the leading and trailing space characters from str "),
        ("ltrim", "ltrim(str) - Removes the leading space characters from str "),
        ("rtrim", "rtrim(str) - Removes the trailing space characters from str "),
        ("lpad", "lpad(str, len, pad) - Returns str, left-padded with pad to a length of len"),
        ("rpad", "rpad(str, len, pad) - Returns str, right-padded with pad to a length of len"),
        ("reverse", "reverse(str) - reverse str"),
        ("repeat", "repeat(str, n) - repeat str n times "),
        ("regexp_replace", "regexp_replace(str, regexp, rep) - replace all substrings of str that match regexp with rep"),
        ("regexp_extract", "regexp_extract(str, regexp[, idx]) - extracts a group that matches regexp"),
        ("abs", "abs(x) - returns the absolute value of x"),
        ("round", "round(x[, d]) - round x to d decimal places"),
        ("floor", "floor(x) - Find the largest integer not greater than x"),
        ("ceil", "ceil(x) - Find the smallest integer not smaller than x"),
        ("sqrt", "sqrt(x) - returns the square root of x"),
        ("exp", "exp(x) - Returns e to the power of x"),
        ("ln", "ln(x) - Returns the natural logarithm of x"),
        ("power", "power(x1, x2) - raise x1 to the power of x2"),
        ("pow", "pow(x1, x2) - raise x1 to the power of x2"),
        ("coalesce", "coalesce(a1, a2, ...) - Returns the first non-null argument"),
        ("if", "IF(expr1,expr2,expr3) - If expr1 is TRUE (expr1 <> 0 and expr1 <> NULL) then IF() returns expr2; otherwise it returns expr3. IF() returns a numeric or string value, depending on the context in which it is used."),
        ("isnull", "isnull a - Returns true if a is NULL and false otherwise"),
        ("isnotnull", "isnotnull a - Returns true if a is not NULL and false otherwise"),
        ("year", "year(param) - Returns the year component of the date/timestamp/interval"),
        ("month", "month(param) - Returns the month component of the date/timestamp/interval"),
        ("day", "day(param) - Returns the day of the month of date/timestamp, or day component of interval"),
        ("size", "size(a) - Returns the size of a"),
        ("array", "array(n0, n1...) - Creates an array with the given elements "),
        ("map", "map(key0, value0, key1, value1...) - Creates a map with the given key/value pairs "),
        ("named_struct", "named_struct(name1, val1, name2, val2, ...) - Creates a struct with the given field names and values"),
        ("struct", "struct(col1, col2, col3, ...) - Creates a struct with the given field values"),
        ("array_contains", "array_contains(array, value) - Returns TRUE if the array contains value."),
        ("sort_array", "sort_array(array(obj1, obj2,...)) - Sorts the input array in ascending order according to the natural ordering of the array elements."),
        ("map_keys", "map_keys(map) - Returns an unordered array containing the keys of the input map."),
        ("map_values", "map_values(map) - Returns an unordered array containing the values of the input map."),
        ("explode", "explode(a) - separates the elements of array a into multiple rows, or the elements of a map into multiple rows and columns "),
        ("posexplode", "posexplode(a) - behaves like explode for arrays, but includes the position of items in the original array"),
        ("inline", "inline( ARRAY( STRUCT()[,STRUCT()] - explodes and array and struct into a table"),
        ("stack", "stack(n, cols...) - turns k columns into n rows of size k/n each"),
        ("json_tuple", "json_tuple(jsonStr, p1, p2, ..., pn) - like get_json_object, but it takes multiple names and return a tuple. All the input parameters and output column types are string."),
        ("get_json_object", "get_json_object(json_txt, path) - Extract a json object from path "),
        ("count", "count(*) - Returns the total number of retrieved rows, including rows containing NULL values.\ncount(expr) - Returns the number of rows for which the supplied expression is non-NULL.\ncount(DISTINCT expr[, expr...]) - Returns the number of rows for which the supplied expression(s) are unique and non-NULL."),
        ("sum", "sum(x) - Returns the sum of a set of numbers"),
        ("avg", "avg(x) - Returns the mean of a set of numbers"),
        ("min", "min(expr) - Returns the minimum value of expr"),
        ("max", "max(expr) - Returns the maximum value of expr"),
        ("row_number", "row_number() - The ROW_NUMBER function assigns a unique number to each row in a partition"),
        ("rank", "rank(x)"),
        ("dense_rank", "dense_rank(x) The difference between RANK and DENSE_RANK is that DENSE_RANK leaves no gaps in ranking sequence when there are ties."),
        ("lead", "LEAD (scalar_expression [,offset] [,default]) OVER ([query_partition_clause] order_by_clause); The LEAD function is used to return data from the next row. "),
        ("lag", "LAG  (scalar_expression [,offset] [,default]) OVER ([query_partition_clause] order_by_clause); The LAG function is used to access data from a previous row."),
        ("first_value", "first_value(x)"),
        ("last_value", "last_value(x)"),
        ("current_date", "current_date() - Returns the current date at the start of query evaluation. All calls of current_date within the same query return the same value."),
        ("current_timestamp", "current_timestamp() - Returns the current timestamp at the start of query evaluation. All calls of current_timestamp within the same query return the same value."),
    ]:
        r(name, usage)
    for name in ("count", "sum", "avg", "min", "max"):
        REGISTRY[name] = Function(name, REGISTRY[name].usage, kind="aggregate")


_register_all()
MACROS.append(_MACRO_LIST)
MACROS.append("CREATE OR REPLACE MACRO hive_unix_ts_cast(t) AS NULL")


def describe(name: str, extended: bool = False) -> list[str]:
    """DESCRIBE FUNCTION output lines."""
    f = REGISTRY.get(name.lower())
    if f is None:
        return [f"Function '{name}' does not exist."]
    lines = [f.usage]
    if extended:
        if f.extended:
            lines.extend(f.extended.splitlines())
        if f.name in SYNONYMS:
            lines.append(f"Synonyms: {', '.join(SYNONYMS[f.name])}")
    return lines


SYNONYMS: dict[str, list[str]] = {"substr": ["substring"], "substring": ["substr"], "pow": ["power"],
                                  "power": ["pow"], "stddev_pop": ["std", "stddev"], "var_pop": ["variance"]}


def is_identifier_like(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name))
