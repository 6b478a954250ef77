"""Hive's built-in functions: one registry of name -> usage text and DuckDB form.

Each entry says how a Hive call becomes DuckDB SQL: a `rewrite` over the
sqlglot AST, a DuckDB macro (`MACROS`, installed on a connection when its SQL first calls it), or
sqlglot's own Hive -> DuckDB translation (`native`). `SHOW FUNCTIONS` and
`DESCRIBE FUNCTION` read this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sqlglot import exp

Rewrite = Callable[[list[exp.Expression], exp.Expression], exp.Expression]


@dataclass(frozen=True)
class PythonUdf:
    """A function DuckDB lacks, evaluated by a vectorized Python function over Arrow arrays.

    Declared here as data; an executor connection registers it under `name` when a statement's
    SQL first calls it (see `executors.engine_functions`), so both engines call the same implementation.
    """
    name: str  # the DuckDB function name rewrites call
    impl: str  # "module:function" taking pyarrow arrays, returning one array
    params: tuple[str, ...]  # DuckDB parameter types
    returns: str  # DuckDB result type

    def load(self) -> Callable:
        import importlib

        module, _, attr = self.impl.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Function:
    name: str
    usage: str
    extended: str = ""
    rewrite: Rewrite | None = None
    kind: str = "scalar"  # scalar | aggregate | table | window
    returns: str | None = None  # DuckDB type of the rewrite's result, when fixed
    typed: bool = False  # the rewrite runs after type annotation and may read `arg.type`
    udfs: tuple[PythonUdf, ...] = ()  # Python UDFs the rewrite calls (kind "python" functions)


REGISTRY: dict[str, Function] = {}
UDFS: dict[str, PythonUdf] = {}  # by DuckDB name: what each executor connection registers


def register(name: str, usage: str, extended: str = "", kind: str = "scalar",
             rewrite: Rewrite | None = None, returns: str | None = None, typed: bool = False,
             udfs: tuple[PythonUdf, ...] = ()) -> None:
    REGISTRY[name] = Function(name, usage, extended, rewrite, kind, returns, typed, udfs)
    for u in udfs:
        UDFS[u.name] = u


def call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def native(name: str, *args: exp.Expression) -> exp.Expression:
    """A call of DuckDB's own function `name`, never rewritten again even if Hive has one of that name."""
    node = exp.Anonymous(this=name, expressions=list(args))
    node.meta["hive_native"] = True
    return node


def native_cast(e: exp.Expression, to: str) -> exp.Expression:
    """DuckDB's own CAST, left alone by Hive's cast rewrites (e.g. a double's shortest digits as text)."""
    node = exp.Cast(this=e, to=exp.DataType.build(to, dialect="duckdb"))
    node.meta["hive_native"] = True
    return node


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
    # java.util.TimeZone.getTimeZone: an unknown id is GMT
    "CREATE OR REPLACE MACRO hive_tz(tz) AS CASE WHEN tz IS NULL THEN NULL WHEN regexp_full_match(tz, '[A-Za-z][A-Za-z0-9_/+:-]*') THEN tz"
    " ELSE 'UTC' END",
    "CREATE OR REPLACE MACRO hive_from_utc(ts, tz) AS timezone(hive_tz(tz), timezone('UTC', ts))",
    "CREATE OR REPLACE MACRO hive_to_utc(ts, tz) AS timezone('UTC', timezone(hive_tz(tz), ts))",
    "CREATE OR REPLACE MACRO hive_str_to_map(s, d1, d2) AS map_from_entries(list_transform("
    "string_split_regex(s, d1), lambda kv: {'key': regexp_replace(kv, '(' || d2 || ').*$', ''),"
    " 'value': CASE WHEN regexp_matches(kv, d2) THEN regexp_replace(kv, '^.*?(' || d2 || ')', '') END}))",
    "CREATE OR REPLACE MACRO hive_unix_ts(s, fmt) AS "
    "CAST(epoch(CAST(try_strptime(CAST(s AS VARCHAR), fmt) AS TIMESTAMPTZ)) AS BIGINT)",
    # TimestampWritable.getSeconds: whole seconds, floored (epoch() is fractional, a cast would round)
    "CREATE OR REPLACE MACRO hive_unix_ts_of(t) AS CAST(floor(epoch_us(CAST(t AS TIMESTAMPTZ)) / 1000000.0) AS BIGINT)",
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
             ("HH", "%H"), ("hh", "%I"), ("h", "%-I"), ("mm", "%M"), ("ss", "%S"), ("SSS", "%g"), ("EEEE", "%A"),
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
        return call("hive_unix_ts", args[0], lit("%Y-%m-%d %H:%M:%S"))
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
    """Strings and arrays of strings, NULLs skipped, joined by the separator."""
    parts = []
    for a in args[1:]:
        t = getattr(a, "type", None)
        if isinstance(a, exp.Array) or (t is not None and t.this == exp.DataType.Type.ARRAY):
            parts.append(a)
        elif t is not None and t.this not in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
            parts.append(template("CASE WHEN __x IS NULL THEN []::VARCHAR[] ELSE [CAST(__x AS VARCHAR)] END", a))
        else:
            parts.append(exp.Anonymous(this="hive_as_list", expressions=[a]))
    return call("hive_concat_ws", args[0], exp.func("flatten", exp.Array(expressions=parts)))


_MACRO_LIST = ("CREATE OR REPLACE MACRO hive_as_list(x) AS CASE WHEN x IS NULL THEN []::VARCHAR[] "
               "ELSE CAST(x AS VARCHAR[]) END")


def _cast_to(type_name: str) -> Rewrite:
    def build(args, _e):
        return exp.Cast(this=args[0], to=exp.DataType.build(type_name, dialect="hive"))
    return build


def _time_part(unit: str) -> Rewrite:
    def build(args, _e):
        a = args[0]
        t = type_of(a)
        if t in TIMESTAMPS or t == exp.DataType.Type.INTERVAL:
            return exp.func(unit, a)
        if t == exp.DataType.Type.DATE:
            return exp.func(unit, exp.Cast(this=a, to=exp.DataType.build("TIMESTAMP")))
        return exp.func(unit, call("hive_time_of", exp.Cast(this=a, to=exp.DataType.build("VARCHAR"))))
    return build


def _register_all() -> None:
    r = register
    for type_name in ("tinyint", "smallint", "int", "bigint", "float", "double", "string", "boolean",
                      "date", "timestamp", "binary", "decimal"):
        r(type_name, f"{type_name}(x) - converts x to {type_name.upper()}", rewrite=_cast_to(type_name))
    for unit in ("hour", "minute", "second"):
        r(unit, f"{unit}(param) - Returns the {unit} component of the string/timestamp/interval",
          rewrite=_time_part(unit), returns="INTEGER", typed=True)
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
      rewrite=lambda args, _e: call("hive_from_utc", as_timestamp_arg(args[0]), args[1]), returns="TIMESTAMP",
      typed=True)
    r("to_utc_timestamp", "to_utc_timestamp(timestamp, string timezone) - "
      "Assumes given timestamp is in given timezone and converts to UTC (as of Hive 0.8.0)",
      rewrite=lambda args, _e: call("hive_to_utc", as_timestamp_arg(args[0]), args[1]), returns="TIMESTAMP",
      typed=True)
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
      rewrite=lambda args, _e: exp.Coalesce(this=args[0], expressions=args[1:]))
    r("split", "split(str, regex) - Splits str around occurances that match regex", rewrite=_rename("hive_split"), returns="VARCHAR[]")
    r("concat_ws", "concat_ws(separator, [string | array(string)]+) - returns the concatenation of the strings separated by the separator.",
      rewrite=_concat_ws, returns="VARCHAR", typed=True)
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


# -- typed helpers: rewrites that run after type annotation ---------------------------

_T = exp.DataType.Type
_STRINGS = {_T.VARCHAR, _T.TEXT, _T.CHAR, _T.NCHAR, _T.NVARCHAR}
_SMALL_INTS = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.UTINYINT, _T.USMALLINT}
_INTS = _SMALL_INTS | {_T.BIGINT, _T.UINT}
TIMESTAMPS = {_T.TIMESTAMP, _T.DATETIME, _T.TIMESTAMPNTZ}  # DuckDB's TIMESTAMP annotates as TIMESTAMPNTZ


def type_of(e: exp.Expression) -> exp.DataType.Type | None:
    """The annotated type of an argument, or None when unknown."""
    if isinstance(e, exp.Null):
        return None
    if isinstance(e, exp.Boolean):
        return _T.BOOLEAN
    if isinstance(e, exp.Literal):
        return _T.VARCHAR if e.is_string else (_T.INT if e.this.lstrip("-").isdigit() else _T.DOUBLE)
    t = getattr(e, "type", None)
    if t is None or t.this in (_T.UNKNOWN, _T.NULL):
        return None
    return t.this


def is_string_typed(e: exp.Expression) -> bool:
    return type_of(e) in _STRINGS


def hive_string(e: exp.Expression) -> exp.Expression:
    """`e` converted to a string the way Hive converts it (booleans print TRUE/FALSE, doubles as Java does)."""
    t = type_of(e)
    if t in _STRINGS:
        return e
    if t == _T.BOOLEAN:
        return sql("CASE WHEN __x THEN 'TRUE' WHEN NOT __x THEN 'FALSE' END").transform(_fill(e))
    if t in (_T.DOUBLE, _T.FLOAT):
        return call("hive_double_str", e)
    if t == _T.DECIMAL:  # HiveDecimal.toString: the value without trailing zeros
        return call("hive_decimal_str", native_cast(e, "VARCHAR"))
    return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))


MACROS.extend([
    # Java's Double.toString / Float.toString layout over DuckDB's shortest digits:
    # plain in [1e-3, 1e7), otherwise d.dddE[-]n
    "CREATE OR REPLACE MACRO hive_sci(s) AS CASE WHEN contains(s, 'e') THEN"
    " (CASE WHEN contains(split_part(s, 'e', 1), '.') THEN split_part(s, 'e', 1) ELSE split_part(s, 'e', 1) || '.0' END)"
    " || 'E' || CAST(CAST(split_part(s, 'e', 2) AS INTEGER) AS VARCHAR)"
    " WHEN split_part(s, '.', 1) <> '0' THEN hive_sci_digits(rtrim(split_part(s, '.', 1) || split_part(s, '.', 2), '0'))"
    " || 'E' || CAST(length(split_part(s, '.', 1)) - 1 AS VARCHAR)"
    " ELSE hive_sci_digits(trim(split_part(s, '.', 2), '0')) || 'E' || CAST(-(length(split_part(s, '.', 2))"
    " - length(ltrim(split_part(s, '.', 2), '0')) + 1) AS VARCHAR) END",
    "CREATE OR REPLACE MACRO hive_decimal_str(s) AS CASE WHEN contains(s, '.') THEN rtrim(rtrim(s, '0'), '.') ELSE s END",
    "CREATE OR REPLACE MACRO hive_sci_digits(d) AS left(d, 1) || '.' || CASE WHEN length(d) > 1 THEN substr(d, 2) ELSE '0' END",
    "CREATE OR REPLACE MACRO hive_double_str(x) AS CASE WHEN x IS NULL THEN NULL WHEN isnan(x) THEN 'NaN'"
    " WHEN isinf(x) THEN CASE WHEN x > 0 THEN 'Infinity' ELSE '-Infinity' END"
    " WHEN x = 0 THEN CASE WHEN starts_with(CAST(x AS VARCHAR), '-') THEN '-0.0' ELSE '0.0' END"
    " WHEN abs(x) >= 0.001 AND abs(x) < 10000000 THEN CAST(x AS VARCHAR)"
    " ELSE CASE WHEN x < 0 THEN '-' ELSE '' END || hive_sci(CAST(abs(x) AS VARCHAR)) END",
])


def _fill(*args: exp.Expression) -> Callable[[exp.Expression], exp.Expression]:
    """Substitute `__x`, `__y`, `__z` placeholders of a template with the arguments."""
    names = ("__x", "__y", "__z", "__w")

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in names[:len(args)]:
            return args[names.index(node.name)].copy()
        return node
    return fill


def template(text: str, *args: exp.Expression) -> exp.Expression:
    return sql(text).transform(_fill(*args))


def as_date(e: exp.Expression) -> exp.Expression:
    """A DATE from a date, timestamp or string, parsed as Hive's lenient yyyy-MM-dd."""
    t = type_of(e)
    if t == _T.DATE:
        return e
    if t in TIMESTAMPS or t == _T.TIMESTAMPTZ:
        return exp.Cast(this=e, to=exp.DataType.build("DATE"))
    return call("hive_lenient_date", exp.Cast(this=e, to=exp.DataType.build("VARCHAR")))


def as_timestamp_arg(e: exp.Expression) -> exp.Expression:
    """A TIMESTAMP from a timestamp, date, number (seconds) or string (as CAST(string AS TIMESTAMP))."""
    t = type_of(e)
    if t in TIMESTAMPS:
        return e
    if t is None or t in _STRINGS:
        return call("hive_str_to_ts", exp.Cast(this=e, to=exp.DataType.build("VARCHAR")))
    return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))


def as_timestamp(e: exp.Expression) -> exp.Expression:
    """A TIMESTAMP from a date, timestamp or string ('yyyy-MM-dd HH:mm:ss[.f]', else the date)."""
    t = type_of(e)
    if t in TIMESTAMPS:
        return e
    if t in (_T.DATE, _T.TIMESTAMPTZ):
        return exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))
    return call("hive_lenient_ts_or_date", exp.Cast(this=e, to=exp.DataType.build("VARCHAR")))


MACROS.extend([
    # SimpleDateFormat("yyyy-MM-dd"), lenient: the prefix is parsed, out-of-range fields roll over
    "CREATE OR REPLACE MACRO hive_lenient_date(s) AS CASE WHEN regexp_matches(s, '^[0-9]+-[0-9]+-[0-9]+') THEN"
    " CAST(make_date(TRY_CAST(regexp_extract(s, '^([0-9]+)-', 1) AS INTEGER), 1, 1)"
    " + to_months(TRY_CAST(regexp_extract(s, '^[0-9]+-([0-9]+)-', 1) AS INTEGER) - 1)"
    " + to_days(TRY_CAST(regexp_extract(s, '^[0-9]+-[0-9]+-([0-9]+)', 1) AS INTEGER) - 1) AS DATE) END",
    # java.sql.Timestamp.valueOf: 'yyyy-[M]M-[d]d [H]H:[m]m:[s]s[.f]', fields roll over
    "CREATE OR REPLACE MACRO hive_lenient_ts(s) AS CASE WHEN regexp_matches(s,"
    " '^\\s*[0-9]{4}-[0-9]{1,2}-[0-9]{1,2} [0-9]+:[0-9]+:[0-9]+(\\.[0-9]{1,9})?\\s*$')"
    " AND TRY_CAST(regexp_extract(s, '^\\s*[0-9]+-([0-9]+)', 1) AS INTEGER) BETWEEN 1 AND 12"
    " AND TRY_CAST(regexp_extract(s, '^\\s*[0-9]+-[0-9]+-([0-9]+)', 1) AS INTEGER) BETWEEN 1 AND 31 THEN"
    " CAST(hive_lenient_date(trim(s)) AS TIMESTAMP)"
    " + to_hours(TRY_CAST(regexp_extract(s, ' ([0-9]+):', 1) AS BIGINT))"
    " + to_minutes(TRY_CAST(regexp_extract(s, ' [0-9]+:([0-9]+):', 1) AS BIGINT))"
    " + to_microseconds(CAST(TRY_CAST(regexp_extract(s, ' [0-9]+:[0-9]+:([0-9.]+)', 1) AS DECIMAL(38, 9))"
    " * 1000000 AS BIGINT)) END",
    # CAST(string AS TIMESTAMP): trimmed, ' 00:00:00' added to a bare date, then Timestamp.valueOf
    "CREATE OR REPLACE MACRO hive_str_to_ts(s) AS CASE WHEN s IS NULL THEN NULL"
    " WHEN regexp_full_match(trim(s), '[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?)?')"
    " THEN coalesce(TRY_CAST(trim(s) AS TIMESTAMP), hive_lenient_ts(CASE WHEN contains(trim(s), ' ') THEN trim(s)"
    " ELSE trim(s) || ' 00:00:00' END))"
    " ELSE hive_lenient_ts(CASE WHEN contains(trim(s), ' ') THEN trim(s) ELSE trim(s) || ' 00:00:00' END) END",
    # CAST(string AS DATE): java.sql.Date.valueOf, else the date of the timestamp
    "CREATE OR REPLACE MACRO hive_str_to_date(s) AS CASE WHEN s IS NULL THEN NULL"
    " WHEN regexp_full_match(trim(s), '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}')"
    " AND TRY_CAST(regexp_extract(trim(s), '^[0-9]+-([0-9]+)', 1) AS INTEGER) BETWEEN 1 AND 12"
    " AND TRY_CAST(regexp_extract(trim(s), '^[0-9]+-[0-9]+-([0-9]+)', 1) AS INTEGER) BETWEEN 1 AND 31"
    " THEN hive_lenient_date(trim(s)) ELSE CAST(hive_str_to_ts(s) AS DATE) END",
    # hour()/minute()/second() of a string: 'yyyy-MM-dd HH:mm:ss' or 'HH:mm:ss' (lenient prefixes)
    "CREATE OR REPLACE MACRO hive_time_of(s) AS CASE"
    " WHEN regexp_matches(s, '^[0-9]+-[0-9]+-[0-9]+ [0-9]+:[0-9]+:[0-9]+') THEN"
    " hive_lenient_ts(regexp_extract(s, '^([0-9]+-[0-9]+-[0-9]+ [0-9]+:[0-9]+:[0-9]+)', 1))"
    " WHEN regexp_matches(s, '^[0-9]+:[0-9]+:[0-9]+') THEN TIMESTAMP '1970-01-01 00:00:00'"
    " + to_hours(CAST(regexp_extract(s, '^([0-9]+)', 1) AS BIGINT))"
    " + to_minutes(CAST(regexp_extract(s, '^[0-9]+:([0-9]+)', 1) AS BIGINT))"
    " + to_seconds(CAST(regexp_extract(s, '^[0-9]+:[0-9]+:([0-9]+)', 1) AS BIGINT)) END",
    "CREATE OR REPLACE MACRO hive_lenient_ts_or_date(s) AS"
    " coalesce(hive_lenient_ts(s), CAST(hive_lenient_date(s) AS TIMESTAMP))",
    "CREATE OR REPLACE MACRO hive_months_between(a, b) AS CASE"
    " WHEN a IS NULL OR b IS NULL THEN NULL"
    " WHEN day(a) = day(b) OR (day(a) = day(last_day(a)) AND day(b) = day(last_day(b)))"
    " THEN CAST((year(a) - year(b)) * 12 + month(a) - month(b) AS DOUBLE)"
    " ELSE CAST(round(CAST((year(a) - year(b)) * 12 + month(a) - month(b) AS DECIMAL(38, 18))"
    " + CAST(CAST((day(a) * 86400 + hour(a) * 3600 + minute(a) * 60 + second(a))"
    " - (day(b) * 86400 + hour(b) * 3600 + minute(b) * 60 + second(b)) AS DOUBLE) / 2678400.0"
    " AS DECIMAL(38, 18)), 8) AS DOUBLE) END",
    "CREATE OR REPLACE MACRO hive_add_months(d, n) AS CASE WHEN d = last_day(d)"
    " THEN last_day(CAST(d + to_months(CAST(n AS INTEGER)) AS DATE)) ELSE CAST(d + to_months(CAST(n AS INTEGER)) AS DATE) END",
    "CREATE OR REPLACE MACRO hive_trunc_date(d, fmt) AS CASE"
    " WHEN upper(fmt) IN ('MONTH', 'MON', 'MM') THEN CAST(date_trunc('month', d) AS DATE)"
    " WHEN upper(fmt) IN ('YEAR', 'YYYY', 'YY') THEN CAST(date_trunc('year', d) AS DATE) END",
    "CREATE OR REPLACE MACRO hive_dow_index(s) AS CASE"
    " WHEN upper(s) IN ('MO', 'MON', 'MONDAY') THEN 1 WHEN upper(s) IN ('TU', 'TUE', 'TUESDAY') THEN 2"
    " WHEN upper(s) IN ('WE', 'WED', 'WEDNESDAY') THEN 3 WHEN upper(s) IN ('TH', 'THU', 'THURSDAY') THEN 4"
    " WHEN upper(s) IN ('FR', 'FRI', 'FRIDAY') THEN 5 WHEN upper(s) IN ('SA', 'SAT', 'SATURDAY') THEN 6"
    " WHEN upper(s) IN ('SU', 'SUN', 'SUNDAY') THEN 7 END",
    "CREATE OR REPLACE MACRO hive_next_day(d, dow) AS d + CAST(((hive_dow_index(dow) - isodow(d) + 6) % 7) + 1 AS INTEGER)",
    # the bytes of a blob, unsigned
    "CREATE OR REPLACE MACRO hive_bytes(b) AS list_transform(range(octet_length(b)),"
    " lambda i: CAST('0x' || substr(hex(b), 2 * i + 1, 2) AS INTEGER))",
    "CREATE OR REPLACE MACRO hive_crc32(b) AS CASE WHEN b IS NULL THEN NULL ELSE xor(list_reduce(hive_bytes(b),"
    " lambda c, x: list_reduce(range(8), lambda r, k: CASE WHEN r & 1 = 1 THEN xor(r >> 1, 3988292384)"
    " ELSE r >> 1 END, xor(c, x)), CAST(4294967295 AS BIGINT)), CAST(4294967295 AS BIGINT)) END",
    # 32-bit two's complement wrap of a BIGINT (x used once: a macro's argument is substituted,
    # so nested calls such as hash() of many columns would grow exponentially)
    "CREATE OR REPLACE MACRO hive_wrap32(x) AS CAST((((x & 4294967295) + 2147483648) & 4294967295)"
    " - 2147483648 AS INTEGER)",
    "CREATE OR REPLACE MACRO hive_wrap64(x) AS CAST(CASE WHEN (x & CAST(18446744073709551615 AS HUGEINT))"
    " >= CAST(9223372036854775808 AS HUGEINT) THEN (x & CAST(18446744073709551615 AS HUGEINT))"
    " - CAST(18446744073709551616 AS HUGEINT) ELSE x & CAST(18446744073709551615 AS HUGEINT) END AS BIGINT)",
    # Java String.hashCode over UTF-8 bytes (signed), as Hive hashes strings
    "CREATE OR REPLACE MACRO hive_hash_bytes(b) AS list_reduce(hive_bytes(b), lambda r, x:"
    " hive_wrap32(CAST(r AS BIGINT) * 31 + CASE WHEN x > 127 THEN x - 256 ELSE x END), 0)",
    "CREATE OR REPLACE MACRO hive_hash_long(v) AS hive_wrap32(xor(CAST(v AS HUGEINT) & CAST(18446744073709551615 AS HUGEINT),"
    " (CAST(v AS HUGEINT) & CAST(18446744073709551615 AS HUGEINT)) >> 32))",
    "CREATE OR REPLACE MACRO hive_soundex_codes(c) AS string_split(left(translate(left(c, 1), 'HW', '00'), 1)"
    " || translate(translate(substr(c, 2), 'HW', ''), 'ABCDEFGIJKLMNOPQRSTUVXYZ', '012301202245501262301202'), '')",
    "CREATE OR REPLACE MACRO hive_soundex_clean(s) AS upper(regexp_replace(s, '[^A-Za-z]', '', 'g'))",
    "CREATE OR REPLACE MACRO hive_soundex(s) AS CASE WHEN s IS NULL THEN NULL WHEN hive_soundex_clean(s) = '' THEN ''"
    " ELSE left(hive_soundex_clean(s), 1) || rpad(left(replace(array_to_string(list_filter("
    "hive_soundex_codes(hive_soundex_clean(s)), lambda x, i: i > 1 AND x <> hive_soundex_codes(hive_soundex_clean(s))[i - 1]),"
    " ''), '0', ''), 3), 3, '0') END",
    "CREATE OR REPLACE MACRO hive_substring_index(s, d, n) AS CASE WHEN s IS NULL OR d IS NULL OR n IS NULL THEN NULL"
    " WHEN n = 0 OR d = '' THEN '' WHEN n > 0 THEN array_to_string(string_split(s, d)[1:n], d)"
    " ELSE array_to_string(string_split(s, d)[greatest(1, len(string_split(s, d)) + n + 1):], d) END",
    "CREATE OR REPLACE MACRO hive_elt_index(n) AS TRY_CAST(n AS INTEGER)",
])


def _e(args, _e):
    return sql("exp(1)")


def _shift(kind: str) -> Rewrite:
    def build(args, _node):
        a, b = args
        wide = type_of(a) in (_T.BIGINT, _T.INT128, _T.UBIGINT)
        if wide:
            s = template("(CAST(__x AS BIGINT) & 63)", b)
            if kind == "left":
                return template("hive_wrap64((CAST(__x AS HUGEINT) & CAST(18446744073709551615 AS HUGEINT)) << __y)", a, s)
            if kind == "right":
                return template("CAST(CAST(__x AS BIGINT) >> __y AS BIGINT)", a, s)
            return template("hive_wrap64((CAST(__x AS HUGEINT) & CAST(18446744073709551615 AS HUGEINT)) >> __y)", a, s)
        s = template("(CAST(__x AS BIGINT) & 31)", b)
        if kind == "left":
            return template("hive_wrap32((CAST(__x AS BIGINT) & 4294967295) << __y)", a, s)
        if kind == "right":
            return template("CAST(CAST(__x AS INTEGER) >> __y AS INTEGER)", a, s)
        return template("hive_wrap32((CAST(__x AS BIGINT) & 4294967295) >> __y)", a, s)
    return build


def _bround(args, _node):
    x = args[0]
    d = args[1] if len(args) > 1 else exp.Literal.number(0)
    t = type_of(x)
    if t in _INTS:
        return exp.Cast(this=template("round_even(__x, __y)", x, d),
                        to=exp.DataType.build("BIGINT" if t == _T.BIGINT else "INTEGER"))
    if t == _T.DECIMAL:
        return template("round_even(__x, __y)", x, d)
    return template("round_even(CAST(__x AS DOUBLE), __y)", x, d)


def _crc32(args, _node):
    a = args[0]
    if type_of(a) in (_T.BINARY, _T.VARBINARY, _T.BLOB):
        return call("hive_crc32", a)
    return call("hive_crc32", template("encode(CAST(__x AS VARCHAR))", a))


def _elt(args, _node):
    n = args[0]
    case = exp.Case()
    for i, a in enumerate(args[1:], start=1):
        case = case.when(exp.EQ(this=call("hive_elt_index", n.copy()), expression=exp.Literal.number(i)),
                         hive_string(a))
    return exp.Cast(this=case, to=exp.DataType.build("VARCHAR"))


def _comparable(a: exp.Expression, b: exp.Expression) -> bool:
    ta, tb = type_of(a), type_of(b)
    if ta is None or tb is None:
        return False
    if ta in _STRINGS or tb in _STRINGS:
        return ta in _STRINGS and tb in _STRINGS
    return (ta in exp.DataType.NUMERIC_TYPES) == (tb in exp.DataType.NUMERIC_TYPES) or ta == tb


def _field(args, _node):
    """field(val, v1, v2, ...): the 1-based index of the first vi equal to val (same type family), else 0."""
    val = args[0]
    if type_of(val) is None:
        return exp.Literal.number(0)
    case = exp.Case()
    for i, a in enumerate(args[1:], start=1):
        if _comparable(val, a):
            case = case.when(exp.EQ(this=val.copy(), expression=a), exp.Literal.number(i))
    if not case.args.get("ifs"):
        return exp.Literal.number(0)
    return case.else_(exp.Literal.number(0))


def _date_fn(macro: str, cast_result: str | None = None) -> Rewrite:
    def build(args, _node):
        out = call(macro, as_date(args[0]), *args[1:])
        return exp.Cast(this=out, to=exp.DataType.build(cast_result)) if cast_result else out
    return build


def _last_day(args, _node):
    return exp.Cast(this=exp.func("last_day", as_date(args[0])), to=exp.DataType.build("VARCHAR"))


def _quarter(args, _node):
    return exp.Cast(this=exp.func("quarter", as_date(args[0])), to=exp.DataType.build("INTEGER"))


def _months_between(args, _node):
    return call("hive_months_between", as_timestamp(args[0]), as_timestamp(args[1]))


def _mask_char_arg(args: list[exp.Expression], i: int, default: int) -> int:
    """The code point a mask function uses for argument i (-1 keeps the original)."""
    if i >= len(args):
        return default
    a = args[i]
    if isinstance(a, exp.Neg) and isinstance(a.this, exp.Literal):
        return -int(a.this.this) if a.this.this.isdigit() else default
    if isinstance(a, exp.Literal):
        if a.is_string:
            return ord(a.this[0]) if a.this else default
        return int(a.this) if a.this.isdigit() else default
    return default


def _mask_int_arg(args: list[exp.Expression], i: int, default: int) -> int:
    if i >= len(args):
        return default
    a = args[i]
    if isinstance(a, exp.Neg) and isinstance(a.this, exp.Literal):
        return -int(a.this.this)
    if isinstance(a, exp.Literal):
        try:
            return int(a.this)
        except ValueError:
            return default
    return default


def _mask_string(s: exp.Expression, upper: int, lower: int, digit: int, other: int) -> exp.Expression:
    """Replace each character by its class's code point; a class whose code is -1 keeps its characters."""
    def rep(code: int) -> str:
        return "c" if code == -1 else "'" + chr(code).replace("'", "''") + "'"
    return template("array_to_string(list_transform(string_split(__x, ''), lambda c: CASE"
                    f" WHEN regexp_matches(c, '\\p{{Lu}}') THEN {rep(upper)}"
                    f" WHEN regexp_matches(c, '\\p{{Ll}}') THEN {rep(lower)}"
                    f" WHEN regexp_matches(c, '\\p{{Nd}}') THEN {rep(digit)} ELSE {rep(other)} END), '')", s)


def _mask_number(x: exp.Expression, t: exp.DataType.Type, number: int) -> exp.Expression:
    """Every digit of an integer becomes `number`, keeping the sign, in the type's width (Java overflow)."""
    digits = template("length(CAST(abs(CAST(__x AS HUGEINT)) AS VARCHAR))", x)
    rep = template(f"CAST(repeat('{number}', CAST(__y AS INTEGER)) AS HUGEINT) * sign(CAST(__x AS HUGEINT))", x, digits)
    rep = template(f"CASE WHEN __x = 0 THEN {number} ELSE __y END", x, rep)
    bits = {_T.TINYINT: 8, _T.SMALLINT: 16, _T.INT: 32}.get(t, 64)
    duck = {_T.TINYINT: "TINYINT", _T.SMALLINT: "SMALLINT", _T.INT: "INTEGER"}.get(t, "BIGINT")
    mod = 1 << bits
    half = 1 << (bits - 1)
    return template(f"CAST(CASE WHEN ((__x % {mod}) + {mod}) % {mod} >= {half} THEN ((__x % {mod}) + {mod}) % {mod} - {mod}"
                    f" ELSE ((__x % {mod}) + {mod}) % {mod} END AS {duck})", rep)


def _mask_date(x: exp.Expression, day: int, month: int, year: int) -> exp.Expression:
    if day != -1 and not 1 <= day <= 31:
        day = 1
    if month != -1 and not 0 <= month <= 11:
        month = 0
    y = "year(__x)" if year == -1 else str(year + 1900)
    m = "month(__x)" if month == -1 else str(month + 1)
    d = "day(__x)" if day == -1 else str(day)
    return template(f"CAST(make_date({y}, 1, 1) + to_months({m} - 1) + to_days({d} - 1) AS DATE)", x)


def _mask_value(x: exp.Expression, args: list[exp.Expression], first: int,
                string_fn: Callable[[exp.Expression, int, int, int, int], exp.Expression]) -> exp.Expression:
    upper = _mask_char_arg(args, first, ord("X"))
    lower = _mask_char_arg(args, first + 1, ord("x"))
    digit = _mask_char_arg(args, first + 2, ord("n"))
    other = _mask_char_arg(args, first + 3, -1)
    number = _mask_int_arg(args, first + 4, 1)
    if not 0 <= number <= 9:
        number = 1
    t = type_of(x)
    if t in (_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT):
        return _mask_number(x, t, number)
    if t == _T.DATE:
        return _mask_date(x, _mask_int_arg(args, first + 5, 1), _mask_int_arg(args, first + 6, 0),
                          _mask_int_arg(args, first + 7, 0))
    out = string_fn(exp.Cast(this=x, to=exp.DataType.build("VARCHAR")), upper, lower, digit, other)
    if t == _T.CHAR:
        out = exp.func("rpad", out, exp.Literal.number(255), lit(" "))
    return out


def _mask(args, _node):
    return _mask_value(args[0], args, 1, _mask_string)


def _mask_n(which: str) -> Rewrite:
    """mask_first_n / mask_last_n / mask_show_first_n / mask_show_last_n."""
    def build(args, _node):
        n = args[1] if len(args) > 1 else exp.Literal.number(4)
        t = type_of(args[0])

        def string_fn(s, upper, lower, digit, other):
            masked = _mask_string(s, upper, lower, digit, other)
            k = template("greatest(CAST(__x AS INTEGER), 0)", n)
            if which == "first":
                return template("left(__x, __z) || substr(__y, __z + 1)", masked, s, k)
            if which == "last":
                return template("left(__y, greatest(length(__y) - __z, 0)) || right(__x, least(__z, length(__y)))",
                                masked, s, k)
            if which == "show_first":
                return template("left(__y, __z) || substr(__x, __z + 1)", masked, s, k)
            return template("left(__x, greatest(length(__y) - __z, 0)) || right(__y, least(__z, length(__y)))",
                            masked, s, k)
        if t in (_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT):
            # numbers are masked as their decimal strings, then converted back (Java overflow)
            number = _mask_int_arg(args, 6, 1)
            if not 0 <= number <= 9:
                number = 1
            s = template("CAST(abs(CAST(__x AS HUGEINT)) AS VARCHAR)", args[0])
            masked = string_fn(s, -1, -1, ord(str(number)), -1)
            value = template("TRY_CAST(__y AS HUGEINT) * sign(CAST(__x AS HUGEINT))", args[0], masked)
            bits = {_T.TINYINT: 8, _T.SMALLINT: 16, _T.INT: 32}.get(t, 64)
            duck = {_T.TINYINT: "TINYINT", _T.SMALLINT: "SMALLINT", _T.INT: "INTEGER"}.get(t, "BIGINT")
            mod, half = 1 << bits, 1 << (bits - 1)
            return template(f"CAST(CASE WHEN ((__x % {mod}) + {mod}) % {mod} >= {half} THEN ((__x % {mod}) + {mod}) % {mod}"
                            f" - {mod} ELSE ((__x % {mod}) + {mod}) % {mod} END AS {duck})", value)
        return _mask_value(args[0], args, 2, string_fn)
    return build


def _hash_one(a: exp.Expression) -> exp.Expression:
    """Hive's ObjectInspectorUtils.hashCode of one value (Java hashCode semantics)."""
    t = type_of(a)
    if t in (_T.TINYINT, _T.SMALLINT, _T.INT):
        body = template("CAST(__x AS INTEGER)", a)
    elif t == _T.BIGINT:
        body = call("hive_hash_long", a)
    elif t == _T.BOOLEAN:
        body = template("CASE WHEN __x THEN 1 ELSE 0 END", a)
    elif t == _T.FLOAT:
        body = call("hive_float_bits", a)
    elif t == _T.DOUBLE:
        body = call("hive_hash_long", call("hive_double_bits", a))
    elif t == _T.DATE:
        body = template("CAST(__x - DATE '1970-01-01' AS INTEGER)", a)
    elif t in TIMESTAMPS:
        body = call("hive_hash_timestamp", a)
    elif t == _T.DECIMAL:
        body = call("hive_hash_decimal", template("CAST(__x AS VARCHAR)", a))
    elif t in (_T.BINARY, _T.VARBINARY, _T.BLOB):
        body = call("hive_hash_writable_bytes", a)
    elif t in (_T.CHAR, _T.NCHAR):  # HiveCharWritable: the Text of the value without its pad
        body = call("hive_hash_writable_bytes", template("encode(rtrim(CAST(__x AS VARCHAR), ' '))", a))
    else:
        body = call("hive_hash_bytes", template("encode(CAST(__x AS VARCHAR))", a))
    return template("coalesce(__y, 0)", a, body)


def bucket_hash_sql(column_sql: str, duck_type: str) -> str:
    """DuckDB SQL of Hive's bucketing hash of a column (ObjectInspectorUtils.hashCode, as hash() computes it),
    for TABLESAMPLE(BUCKET x OUT OF y ON col): the row is in bucket (hash & MAX_INT) % y."""
    import sqlglot

    col = sqlglot.parse_one(column_sql, read="duckdb")
    col.type = exp.DataType.build(duck_type, dialect="duckdb")
    return _hash_one(col).sql("duckdb")


def _hash(args, _node):
    out: exp.Expression = exp.Literal.number(0)
    if len(args) == 1:
        return _hash_one(args[0])
    for a in args:
        out = call("hive_wrap32", template("CAST(__x AS BIGINT) * 31 + __y", out, _hash_one(a)))
    return out


MACROS.extend([
    # IEEE-754 bit patterns (Float.floatToIntBits / Double.doubleToLongBits for non-NaN values)
    "CREATE OR REPLACE MACRO hive_float_bits(f) AS CASE WHEN f = 0 THEN CASE WHEN CAST(f AS VARCHAR) LIKE '-%' THEN -2147483648 ELSE 0 END"
    " WHEN isnan(f) THEN 2143289344 ELSE hive_wrap32("
    "(CASE WHEN f < 0 THEN 2147483648 ELSE 0 END)"
    " + (CASE WHEN abs(f) < 1.1754943508222875e-38 THEN 0 ELSE CAST(floor(log2(abs(f))) + 127 AS BIGINT) END << 23)"
    " + CAST(CASE WHEN abs(f) < 1.1754943508222875e-38 THEN abs(CAST(f AS DOUBLE)) * 2 ^ 149"
    " ELSE (abs(CAST(f AS DOUBLE)) / 2 ^ floor(log2(abs(CAST(f AS DOUBLE)))) - 1) * 8388608 END AS BIGINT)) END",
    "CREATE OR REPLACE MACRO hive_double_bits(f) AS CASE WHEN f = 0 THEN 0"
    " WHEN isnan(f) THEN 9221120237041090560 ELSE hive_wrap64("
    "(CASE WHEN f < 0 THEN CAST(9223372036854775808 AS HUGEINT) ELSE 0 END)"
    " + (CAST(CASE WHEN abs(f) < 2.2250738585072014e-308 THEN 0 ELSE floor(log2(abs(f))) + 1023 END AS HUGEINT) << 52)"
    " + CAST(CASE WHEN abs(f) < 2.2250738585072014e-308 THEN abs(f) * 2 ^ 1074"
    " ELSE (abs(f) / 2 ^ floor(log2(abs(f))) - 1) * 4503599627370496 END AS HUGEINT)) END",
])


def _to_unix_timestamp(args, node):
    return _unix_timestamp(args, node)


def _instr(args, _node):
    return call("hive_instr", hive_string(args[0]), hive_string(args[1]))


def _split(args, _node):
    return call("hive_split", hive_string(args[0]), hive_string(args[1]))


def _round(args, _node):
    """round(x[, d]) keeps x's type; doubles round HALF_UP on their shortest decimal form (as BigDecimal)."""
    x = args[0]
    d = args[1] if len(args) > 1 else exp.Literal.number(0)
    t = type_of(x)
    if t in _STRINGS:
        x, t = exp.Cast(this=x, to=exp.DataType.build("DOUBLE")), _T.DOUBLE
    if t in (_T.DOUBLE, _T.FLOAT) and int_literal(d) is not None:
        out = template(f"CASE WHEN isnan(__x) OR isinf(__x) OR abs(__x) >= 1e15 THEN round(__x, {int_literal(d)})"
                       f" ELSE CAST(round(CAST(CAST(__x AS VARCHAR) AS DECIMAL(38, 20)), {int_literal(d)}) AS DOUBLE) + 0.0 END",
                       x)
        return exp.Cast(this=out, to=exp.DataType.build("FLOAT" if t == _T.FLOAT else "DOUBLE"))
    if t in _INTS and int_literal(d) is not None and int_literal(d) >= 0:
        return x
    return exp.func("round", x, d)


def int_literal(e: exp.Expression) -> int | None:
    """The value of an integer literal (signed, maybe parenthesized), else None."""
    if isinstance(e, exp.Paren):
        return int_literal(e.this)
    if isinstance(e, exp.Neg):
        v = int_literal(e.this)
        return None if v is None else -v
    if isinstance(e, exp.Literal) and not e.is_string and e.this.isdigit():
        return int(e.this)
    return None


def _percentile_approx(args, _node):
    """percentile_approx(x, p [, B]) is a DOUBLE (or array<double>) for any numeric x; the accuracy B is
    DuckDB's to choose (t-digest), so only the value type and NULL rules follow Hive's histogram."""
    if len(args) < 2:
        from hiveish.errors import SemanticException

        raise SemanticException("Invalid number of arguments: percentile_approx(expr, pc, [nb])")
    x = exp.Cast(this=args[0], to=exp.DataType.build("DOUBLE"))
    pc = args[1]
    if isinstance(pc, (exp.Array, exp.Anonymous)) and (isinstance(pc, exp.Array) or pc.name.lower() == "array"):
        pc = exp.Array(expressions=[exp.Cast(this=e, to=exp.DataType.build("FLOAT")) for e in pc.expressions])
    else:
        pc = exp.Cast(this=pc, to=exp.DataType.build("FLOAT"))
    return native("approx_quantile", x, pc)


def _percentile(args, _node):
    """Exact percentile(s) of an integral column, interpolated linearly, as DOUBLE."""
    x = exp.Cast(this=args[0], to=exp.DataType.build("DOUBLE"))
    p = args[1]
    if isinstance(p, exp.Array):
        if not p.expressions:
            return template("CASE WHEN count(__x) = 0 THEN NULL ELSE []::DOUBLE[] END", x)
        p = exp.Array(expressions=[exp.Cast(this=e, to=exp.DataType.build("DOUBLE")) for e in p.expressions])
        return exp.Cast(this=exp.func("quantile_cont", x, p), to=exp.DataType.build("DOUBLE[]"))
    return exp.Cast(this=exp.func("quantile_cont", x, p), to=exp.DataType.build("DOUBLE"))


MACROS.extend([
    # TimestampWritable.getDouble: whole seconds plus the fraction, each exact before the one addition
    "CREATE OR REPLACE MACRO hive_ts_seconds(t) AS CAST(floor(epoch_us(CAST(t AS TIMESTAMPTZ)) / 1000000.0) AS BIGINT)",
    "CREATE OR REPLACE MACRO hive_ts_double(t) AS CAST(hive_ts_seconds(t) AS DOUBLE)"
    " + CAST(epoch_us(CAST(t AS TIMESTAMPTZ)) - hive_ts_seconds(t) * 1000000 AS DOUBLE) / 1000000.0",
    # HiveIntervalYearMonth.valueOf: [+|-]y-m
    "CREATE OR REPLACE MACRO hive_interval_ym(s) AS CASE WHEN regexp_full_match(trim(s), '[+-]?[0-9]+-[0-9]+') THEN"
    " to_months(CAST(CASE WHEN starts_with(trim(s), '-') THEN -1 ELSE 1 END * ("
    "CAST(regexp_extract(trim(s), '([0-9]+)-', 1) AS BIGINT) * 12"
    " + CAST(regexp_extract(trim(s), '-([0-9]+)$', 1) AS BIGINT)) AS INTEGER)) END",
    # HiveIntervalDayTime.valueOf: [+|-]d h:m:s[.f]
    "CREATE OR REPLACE MACRO hive_interval_dt(s) AS CASE"
    " WHEN regexp_full_match(trim(s), '[+-]?[0-9]+ [0-9]+:[0-9]+:[0-9]+(\\.[0-9]*)?') THEN"
    " (to_days(CAST(regexp_extract(trim(s), '^[+-]?([0-9]+) ', 1) AS INTEGER))"
    " + to_microseconds(CAST(round((CAST(regexp_extract(trim(s), ' ([0-9]+):', 1) AS DECIMAL(38, 9)) * 3600"
    " + CAST(regexp_extract(trim(s), ':([0-9]+):', 1) AS DECIMAL(38, 9)) * 60"
    " + CAST(regexp_extract(trim(s), ':([0-9.]+)$', 1) AS DECIMAL(38, 9))) * 1000000) AS BIGINT)))"
    " * CASE WHEN starts_with(trim(s), '-') THEN -1 ELSE 1 END END",
])


MACROS.extend([
    # Writable hash codes hash() uses. BytesWritable/Text: Hadoop's hashBytes (starting at 1).
    "CREATE OR REPLACE MACRO hive_hash_writable_bytes(b) AS list_reduce(hive_bytes(b), lambda r, x:"
    " hive_wrap32(CAST(r AS BIGINT) * 31 + CASE WHEN x > 127 THEN x - 256 ELSE x END), 1)",
    # TimestampWritable: (seconds << 30 | nanos) folded as Long.hashCode
    "CREATE OR REPLACE MACRO hive_hash_timestamp(t) AS hive_hash_long(hive_ts_seconds(t) * 1073741824"
    " + (epoch_us(CAST(t AS TIMESTAMPTZ)) - hive_ts_seconds(t) * 1000000) * 1000)",
    # HiveDecimal: BigDecimal.hashCode (31 * unscaled.hashCode() + scale) of the value without
    # trailing zeros; BigInteger.hashCode folds the magnitude's 32-bit words by 31, times the sign
    "CREATE OR REPLACE MACRO hive_hash_magnitude(u) AS ((u >> 96) & 4294967295) * 29791"
    " + ((u >> 64) & 4294967295) * 961 + ((u >> 32) & 4294967295) * 31 + (u & 4294967295)",
    "CREATE OR REPLACE MACRO hive_hash_decimal_norm(t) AS hive_wrap32(31 * CAST(hive_wrap32("
    "hive_hash_magnitude(CAST(replace(ltrim(t, '-'), '.', '') AS HUGEINT))) AS BIGINT)"
    " * CASE WHEN starts_with(t, '-') THEN -1 ELSE 1 END"
    " + CASE WHEN contains(t, '.') THEN length(split_part(t, '.', 2)) ELSE 0 END)",
    "CREATE OR REPLACE MACRO hive_hash_decimal(s) AS hive_hash_decimal_norm(CASE WHEN contains(s, '.')"
    " THEN rtrim(rtrim(s, '0'), '.') ELSE s END)",
])


def _register_more() -> None:
    r = register
    # a NULL map has no keys and no values: an empty array, not NULL
    r("map_keys", "map_keys(map) - Returns an unordered array containing the keys of the input map.",
      rewrite=lambda args, _e: exp.func("coalesce", native("map_keys", args[0]), sql("[]")))
    r("map_values", "map_values(map) - Returns an unordered array containing the values of the input map.",
      rewrite=lambda args, _e: exp.func("coalesce", native("map_values", args[0]), sql("[]")))
    # java.lang.Math (JDK 8) evaluation order, which differs in the last bit from DuckDB's
    r("radians", "radians(x) - Converts degrees to radians", returns="DOUBLE",
      rewrite=lambda args, _e: template("CAST(__x AS DOUBLE) / 180.0 * pi()", args[0]))
    r("degrees", "degrees(x) - Converts radians to degrees", returns="DOUBLE",
      rewrite=lambda args, _e: template("CAST(__x AS DOUBLE) * 180.0 / pi()", args[0]))
    r("interval_year_month", "interval_year_month(str) - converts str to an INTERVAL YEAR TO MONTH",
      rewrite=lambda args, _e: call("hive_interval_ym", exp.Cast(this=args[0], to=exp.DataType.build("VARCHAR"))),
      returns="INTERVAL")
    r("interval_day_time", "interval_day_time(str) - converts str to an INTERVAL DAY TO SECOND",
      rewrite=lambda args, _e: call("hive_interval_dt", exp.Cast(this=args[0], to=exp.DataType.build("VARCHAR"))),
      returns="INTERVAL")
    r("percentile", "percentile(expr, pc) - Returns the percentile(s) of expr at pc (range: [0,1]).pc can be a "
      "double or double array", kind="aggregate", rewrite=_percentile)
    r("percentile_approx", "percentile_approx(expr, pc, [nb]) - For very large data, computes an approximate "
      "percentile value from a histogram, using the optional argument [nb] as the number of histogram bins to use. "
      "A higher value of nb results in a more accurate approximation, at the cost of higher memory usage.",
      kind="aggregate", rewrite=_percentile_approx)
    r("round", "round(x[, d]) - round x to d decimal places", rewrite=_round, typed=True)
    r("e", "e() - returns E", rewrite=_e, returns="DOUBLE")
    r("pi", "pi() - returns pi")
    r("shiftleft", "shiftleft(a, b) - Bitwise left shift", rewrite=_shift("left"), typed=True)
    r("shiftright", "shiftright(a, b) - Bitwise right shift", rewrite=_shift("right"), typed=True)
    r("shiftrightunsigned", "shiftrightunsigned(a, b) - Bitwise unsigned right shift",
      rewrite=_shift("unsigned"), typed=True)
    r("bround", "bround(x[, d]) - round x to d decimal places using HALF_EVEN rounding mode.",
      rewrite=_bround, typed=True)
    r("crc32", "crc32(str or bin) - Computes a cyclic redundancy check value for string or binary argument and "
      "returns bigint value.", rewrite=_crc32, typed=True, returns="BIGINT")
    r("elt", "elt(n, str1, str2, ...) - returns the n-th string", rewrite=_elt, typed=True, returns="VARCHAR")
    r("field", "field(str, str1, str2, ...) - returns the index of str in the str1,str2,... list or 0 if not found",
      rewrite=_field, typed=True, returns="INTEGER")
    r("months_between", "months_between(date1, date2) - returns number of months between dates date1 and date2",
      rewrite=_months_between, typed=True, returns="DOUBLE")
    r("add_months", "add_months(start_date, num_months) - Returns the date that is num_months after start_date.",
      rewrite=_date_fn("hive_add_months", "VARCHAR"), typed=True, returns="VARCHAR")
    r("last_day", "last_day(date) - Returns the last day of the month which the date belongs to.",
      rewrite=_last_day, typed=True, returns="VARCHAR")
    r("next_day", "next_day(start_date, day_of_week) - Returns the first date which is later than start_date "
      "and named as indicated.", rewrite=_date_fn("hive_next_day", "VARCHAR"), typed=True, returns="VARCHAR")
    r("trunc", "trunc(date, fmt) - Returns returns date with the time portion of the day truncated to the unit "
      "specified by the format model fmt. If you omit fmt, then date is truncated to the nearest day. It now only "
      "supports 'MONTH'/'MON'/'MM' and 'YEAR'/'YYYY'/'YY' as format.",
      rewrite=_date_fn("hive_trunc_date", "VARCHAR"), typed=True, returns="VARCHAR")
    r("quarter", "quarter(date/timestamp/string) - Returns the quarter of the year for date, in the range 1 to 4.",
      rewrite=_quarter, typed=True, returns="INTEGER")
    r("soundex", "soundex(string) - Returns soundex code of the string.", rewrite=_rename("hive_soundex"),
      returns="VARCHAR")
    r("substring_index", "substring_index(str, delim, count) - Returns the substring from string str before "
      "count occurrences of the delimiter delim.", rewrite=_rename("hive_substring_index"), returns="VARCHAR")
    r("hash", "hash(a1, a2, ...) - Returns a hash value of the arguments", rewrite=_hash, typed=True,
      returns="INTEGER")
    r("to_unix_timestamp", "to_unix_timestamp(date[, pattern]) - Returns the UNIX timestamp",
      rewrite=_to_unix_timestamp, returns="BIGINT")
    r("mask", "mask(value, upperChar, lowerChar, digitChar, otherChar, numberChar, dayValue, monthValue, "
      "yearValue) - masks the given value", rewrite=_mask, typed=True)
    r("mask_first_n", "mask_first_n(value, charCount, upperChar, lowerChar, digitChar, otherChar, numberChar) - "
      "masks the first n characters of the value", rewrite=_mask_n("first"), typed=True)
    r("mask_last_n", "mask_last_n(value, charCount, upperChar, lowerChar, digitChar, otherChar, numberChar) - "
      "masks the last n characters of the value", rewrite=_mask_n("last"), typed=True)
    r("mask_show_first_n", "mask_show_first_n(value, charCount, upperChar, lowerChar, digitChar, otherChar, "
      "numberChar) - masks all but first n characters of the value", rewrite=_mask_n("show_first"), typed=True)
    r("mask_show_last_n", "mask_show_last_n(value, charCount, upperChar, lowerChar, digitChar, otherChar, "
      "numberChar) - masks all but last n characters of the value", rewrite=_mask_n("show_last"), typed=True)
    r("instr", "instr(str, substr) - Returns the index of the first occurance of substr in str",
      rewrite=_instr, typed=True, returns="INTEGER")
    r("split", "split(str, regex) - Splits str around occurances that match regex", rewrite=_split, typed=True,
      returns="VARCHAR[]")


# -- functions evaluated by Python UDFs (planner/udfs.py) -------------------------------------

_BINARY = {_T.BINARY, _T.VARBINARY, _T.BLOB}
MACROS.append(
    # JSON text as Jackson (ALLOW_UNQUOTED_CONTROL_CHARS) reads it: raw control characters escaped
    "CREATE OR REPLACE MACRO hive_json_text(s) AS CASE WHEN json_valid(s) THEN s ELSE"
    " replace(replace(replace(s, chr(10), '\\n'), chr(13), '\\r'), chr(9), '\\t') END")
MACROS.append(
    # a string's UTF-8 bytes, or a binary as it is (for arguments typed only at run time)
    "CREATE OR REPLACE MACRO hive_blob(x) AS CASE WHEN typeof(x) = 'BLOB' THEN CAST(x AS BLOB)"
    " ELSE encode(CAST(x AS VARCHAR)) END")


def _udf(name: str, impl: str, params: tuple[str, ...], returns: str) -> PythonUdf:
    return PythonUdf(name, f"planner.udfs:{impl}", params, returns)


def _udf_arg(e: exp.Expression, param: str) -> exp.Expression:
    """An argument converted to a UDF parameter type as Hive converts it (strings to bytes as UTF-8)."""
    t = type_of(e)
    if param == "BLOB":
        if t in _BINARY:
            return e
        if t in _STRINGS:
            return native("encode", e)
        return call("hive_blob", e)
    if param == "VARCHAR":
        return hive_string(e)
    return exp.Cast(this=e, to=exp.DataType.build(param, dialect="duckdb"))


def _calls(udf: PythonUdf, usage: str) -> Rewrite:
    def build(args, _node):
        if len(args) != len(udf.params):
            from hiveish.errors import SemanticException

            raise SemanticException(f"Invalid number of arguments: {usage}")
        return call(udf.name, *[_udf_arg(a, p) for a, p in zip(args, udf.params)])
    return build


def _python(name: str, usage: str, udf: PythonUdf) -> None:
    register(name, usage, rewrite=_calls(udf, usage), typed=True, returns=udf.returns, udfs=(udf,))


_FORMAT_NUMBER = (_udf("hive_format_number", "format_number", ("VARCHAR", "BOOLEAN", "INTEGER"), "VARCHAR"),
                  _udf("hive_format_number_pattern", "format_number_pattern", ("VARCHAR", "BOOLEAN", "VARCHAR"),
                       "VARCHAR"))


def _format_number(args, _node):
    """format_number(x, d | pattern): doubles by their shortest digits, decimals and integers exactly."""
    if len(args) != 2:
        from hiveish.errors import SemanticException

        raise SemanticException("The function FORMAT_NUMBER(X, D or F) needs two arguments.")
    x, d = args
    tx = type_of(x)
    if tx in _STRINGS or tx is None and not isinstance(x, exp.Null):
        x, tx = exp.Cast(this=x, to=exp.DataType.build("DOUBLE")), _T.DOUBLE
    is_double = tx in (_T.DOUBLE, _T.FLOAT)
    text = native_cast(native_cast(x, "DOUBLE") if is_double else x, "VARCHAR")
    flag = exp.true() if is_double else exp.false()
    if type_of(d) in _STRINGS:
        return call(_FORMAT_NUMBER[1].name, text, flag, d)
    return call(_FORMAT_NUMBER[0].name, text, flag, exp.Cast(this=d, to=exp.DataType.build("INTEGER")))


def _sha2_udf(args, _node):
    return call("hive_sha2", _udf_arg(args[0], "BLOB"), exp.Cast(this=args[1], to=exp.DataType.build("INTEGER")))


def _register_python() -> None:
    # exact DECIMAL division (DuckDB divides decimals as DOUBLE), called by planner/decimals.py
    UDFS["hive_decimal_divide"] = _udf("hive_decimal_divide", "decimal_divide", ("VARCHAR", "VARCHAR", "INTEGER"),
                                       "VARCHAR")
    for name, impl, returns, usage in [
        ("xpath", "xpath", "VARCHAR[]", "xpath(xml, xpath) - Returns a string array of values within xml nodes "
         "that match the xpath expression"),
        ("xpath_string", "xpath_string", "VARCHAR", "xpath_string(xml, xpath) - Returns the text contents of the "
         "first xml node that matches the xpath expression"),
        ("xpath_boolean", "xpath_boolean", "BOOLEAN", "xpath_boolean(xml, xpath) - Evaluates a boolean xpath "
         "expression"),
        ("xpath_number", "xpath_double", "DOUBLE", "xpath_number(xml, xpath) - Returns a double value that matches "
         "the xpath expression"),
        ("xpath_double", "xpath_double", "DOUBLE", "xpath_double(xml, xpath) - Returns a double value that matches "
         "the xpath expression"),
        ("xpath_float", "xpath_float", "FLOAT", "xpath_float(xml, xpath) - Returns a float value that matches the "
         "xpath expression"),
        ("xpath_int", "xpath_int", "INTEGER", "xpath_int(xml, xpath) - Returns an integer value that matches the "
         "xpath expression"),
        ("xpath_long", "xpath_long", "BIGINT", "xpath_long(xml, xpath) - Returns a long value that matches the "
         "xpath expression"),
        ("xpath_short", "xpath_short", "SMALLINT", "xpath_short(xml, xpath) - Returns a short value that matches "
         "the xpath expression"),
    ]:
        _python(name, usage, _udf(f"hive_{impl}", impl, ("VARCHAR", "VARCHAR"), returns))
    _python("aes_encrypt", "aes_encrypt(input string/binary, key string/binary) - Encrypt input using AES.",
            _udf("hive_aes_encrypt", "aes_encrypt", ("BLOB", "BLOB"), "BLOB"))
    _python("aes_decrypt", "aes_decrypt(input binary, key string/binary) - Decrypt input using AES.",
            _udf("hive_aes_decrypt", "aes_decrypt", ("BLOB", "BLOB"), "BLOB"))
    register("format_number", "format_number(X, D or F) - Formats the number X to a format like '#,###,###.##', "
             "rounded to D decimal places, Or Uses the format specified F to format, and returns the result as a "
             "string. If D is 0, the result has no decimal point or fractional part. This is supposed to function "
             "like MySQL's FORMAT", rewrite=_format_number, typed=True, returns="VARCHAR", udfs=_FORMAT_NUMBER)
    register("sha2", "sha2(string/binary, len) - Calculates the SHA-2 family of hash functions (SHA-224, SHA-256, "
             "SHA-384, and SHA-512).", rewrite=_sha2_udf, typed=True, returns="VARCHAR",
             udfs=(_udf("hive_sha2", "sha2", ("BLOB", "INTEGER"), "VARCHAR"),))


# -- collections: struct names, map order, ordering of complex values ---------------------------------

def _struct(args, _node):
    """struct(a, b, ...) names its fields col1, col2, ... whatever the arguments are called."""
    return exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(f"col{i}"), expression=a)
                                   for i, a in enumerate(args, start=1)])


def _java_int(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _writable_hash(key: exp.Expression, as_text: bool) -> int | None:
    """hashCode of a constant map key as Hive holds it (Text, IntWritable, LongWritable); None if unknown."""
    if isinstance(key, exp.Neg):
        inner = _writable_hash(key.this, as_text)
        if inner is None or as_text:
            return None
        return _writable_hash(exp.Literal.number(-int(key.this.this)), False)
    if not isinstance(key, exp.Literal):
        return None
    if as_text:
        h = 1  # WritableComparator.hashBytes over the UTF-8 bytes, signed
        for b in key.this.encode("utf-8"):
            h = _java_int(31 * h + (b - 256 if b > 127 else b))
        return h
    if not key.this.lstrip("-").isdigit():
        return None
    v = int(key.this)
    if -2 ** 31 <= v < 2 ** 31:
        return v
    v &= 0xFFFFFFFFFFFFFFFF
    return _java_int(v ^ (v >> 32))


def java_hashmap_order(hashes: list[int]) -> list[int]:
    """Iteration order (indexes) of a java.util.HashMap filled with keys of these hash codes, in order."""
    cap = 16
    while len(hashes) > cap * 3 // 4:
        cap *= 2

    def bucket(h: int) -> int:
        h &= 0xFFFFFFFF
        return (h ^ (h >> 16)) & (cap - 1)
    return sorted(range(len(hashes)), key=lambda i: (bucket(hashes[i]), i))


def _map(args, _node):
    """map(k1, v1, ...): a HashMap in Hive, so constant keys come out in Java's hash order."""
    if len(args) % 2:
        from hiveish.errors import SemanticException

        raise SemanticException("Arguments must be in key/value pairs")
    keys, values = args[0::2], args[1::2]
    pairs: dict[str, int] = {}
    order_keys, order_values = [], []
    for k, v in zip(keys, values):  # a repeated key keeps its first place and takes the last value
        ident = k.sql("duckdb")
        if ident in pairs:
            order_values[pairs[ident]] = v
            continue
        pairs[ident] = len(order_keys)
        order_keys.append(k)
        order_values.append(v)
    as_text = any(isinstance(k, exp.Literal) and k.is_string for k in order_keys)
    hashes = [_writable_hash(k, as_text) for k in order_keys]
    if order_keys and all(h is not None for h in hashes):
        idx = java_hashmap_order([h for h in hashes if h is not None])
        order_keys = [order_keys[i] for i in idx]
        order_values = [order_values[i] for i in idx]
    return exp.VarMap(keys=exp.Array(expressions=order_keys), values=exp.Array(expressions=order_values))


def hive_order_key(e: exp.Expression, t: exp.DataType | None, nulls_first: bool = True) -> exp.Expression:
    """A value DuckDB orders as Hive orders `e` (ObjectInspectorUtils.compare): inside structs and arrays a
    NULL sorts before any value (after any, with `nulls_first` False, as min() compares), and maps
    compare by size, then by their entries in key order."""
    kind = t.this if t is not None else None
    if kind == _T.STRUCT:
        fields = []
        for i, f in enumerate(t.expressions):
            name = f.name if isinstance(f, exp.ColumnDef) else f"col{i + 1}"
            ftype = f.args.get("kind") if isinstance(f, exp.ColumnDef) else None
            fields.append(exp.PropertyEQ(this=exp.to_identifier(f"f{i}"),
                                         expression=hive_order_key(template(f"struct_extract(__x, '{name}')", e),
                                                                   ftype, nulls_first)))
        value: exp.Expression = exp.Struct(expressions=fields)
    elif kind == _T.ARRAY and t.expressions:
        elem = t.expressions[0]
        inner = hive_order_key(exp.column("__e"), elem, nulls_first)
        value = template("list_transform(__x, lambda __e: __y)", e, inner)
    elif kind == _T.MAP:
        value = template("{'n': cardinality(__x), 'e': list_sort(map_entries(__x))}", e)
    else:
        value = e
    if nulls_first:
        return template("{'present': __x IS NOT NULL, 'v': __y}", e, value)
    return template("{'absent': __x IS NULL, 'v': __y}", e, value)


def _element_type(e: exp.Expression) -> exp.DataType | None:
    t = getattr(e, "type", None)
    if t is None or t.this != _T.ARRAY or not t.expressions:
        return None
    return t.expressions[0]


def _sort_array(args, _node):
    """sort_array: ascending, NULLs first, complex elements in Hive's order."""
    a = args[0]
    elem = _element_type(a)
    if elem is None or elem.this not in (_T.STRUCT, _T.ARRAY, _T.MAP):
        return template("list_sort(__x, 'ASC', 'NULLS FIRST')", a)
    key = hive_order_key(exp.column("__e"), elem)
    return template("list_transform(list_sort(list_transform(__x, lambda __e: {'k': __y, 'e': __e}), 'ASC', "
                    "'NULLS FIRST'), lambda __p: __p.e)", a, key)


def _floor_ceil(fn: str) -> Rewrite:
    """floor/ceil: a BIGINT, or for decimal(p, s) a decimal(p - s + 1, 0) (GenericUDFFloor/Ceil)."""
    def build(args, _node):
        x = args[0]
        t = getattr(x, "type", None)
        if t is not None and t.this == _T.DECIMAL and len(t.expressions) == 2:
            p, sc = (int((e.this if isinstance(e, exp.DataTypeParam) else e).this) for e in t.expressions)
            return exp.Cast(this=native(fn, x), to=exp.DataType.build(f"DECIMAL({min(38, p - sc + 1)}, 0)"))
        if type_of(x) in _INTS:
            return exp.Cast(this=x, to=exp.DataType.build("BIGINT"))
        return exp.Cast(this=native(fn, exp.Cast(this=x, to=exp.DataType.build("DOUBLE"))),
                        to=exp.DataType.build("BIGINT"))
    return build


def _register_collections() -> None:
    register("floor", "floor(x) - Find the largest integer not greater than x", rewrite=_floor_ceil("floor"),
             typed=True)
    register("ceil", "ceil(x) - Find the smallest integer not smaller than x", rewrite=_floor_ceil("ceil"),
             typed=True)
    register("ceiling", "ceiling(x) - Find the smallest integer not smaller than x", rewrite=_floor_ceil("ceil"),
             typed=True)
    register("isnull", "isnull a - Returns true if a is NULL and false otherwise",
             rewrite=lambda args, _e: exp.Is(this=args[0], expression=exp.Null()))
    register("isnotnull", "isnotnull a - Returns true if a is not NULL and false otherwise",
             rewrite=lambda args, _e: exp.Not(this=exp.Is(this=args[0], expression=exp.Null())))
    register("struct", "struct(col1, col2, col3, ...) - Creates a struct with the given field values",
             rewrite=_struct)
    register("map", "map(key0, value0, key1, value1...) - Creates a map with the given key/value pairs ",
             rewrite=_map)
    register("sort_array", "sort_array(array(obj1, obj2,...)) - Sorts the input array in ascending order "
             "according to the natural ordering of the array elements.", rewrite=_sort_array, typed=True)


_register_all()
_register_more()
_register_collections()
_register_python()
MACROS.append(_MACRO_LIST)


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
                                  "ceil": ["ceiling"], "ceiling": ["ceil"],
                                  "power": ["pow"], "stddev_pop": ["std", "stddev"], "var_pop": ["variance"]}
