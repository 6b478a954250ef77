"""Hive semantics over DuckDB: rewrites of a bound HiveQL query AST into DuckDB SQL.

This is the one place Hive's meaning of a query is encoded: lateral views,
grouping sets and GROUPING__ID, SORT/CLUSTER/DISTRIBUTE BY, casts that
truncate, NULL on division by zero, string/number comparisons, and the
function registry's rewrites. Both engines run what it produces.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from hiveish.errors import SemanticException
from planner import decimals
from planner.fold import fold_constants
from planner.functions import REGISTRY, TIMESTAMPS, as_date, call, hive_order_key, hive_string, native, native_cast
from planner.plan import ReducerSort

DUCK = "duckdb"

STRING_TYPES = {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT, exp.DataType.Type.CHAR,
                exp.DataType.Type.NCHAR, exp.DataType.Type.NVARCHAR}
FLOAT_TYPES = {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL}
INTEGRAL_TARGETS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                    exp.DataType.Type.BIGINT}
TEMPORAL_TYPES = TIMESTAMPS | {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMPTZ}


def _typeof(e: exp.Expression) -> exp.DataType.Type | None:
    t = getattr(e, "type", None)
    if t is None or t.this == exp.DataType.Type.UNKNOWN:
        return None
    return t.this


def _is_string(e: exp.Expression) -> bool:
    if isinstance(e, exp.Literal):
        return e.is_string
    return _typeof(e) in STRING_TYPES


def _is_numeric(e: exp.Expression) -> bool:
    if isinstance(e, exp.Literal):
        return not e.is_string
    t = _typeof(e)
    return t is not None and t in exp.DataType.NUMERIC_TYPES


def _parse(sql_text: str) -> exp.Expression:
    return sqlglot.parse_one(sql_text, read=DUCK)


# -- structural rewrites (before typing) --------------------------------------------------


def name_outputs(select: exp.Select) -> None:
    """Hive names an unaliased computed column `_c<position>`."""
    new = []
    for i, e in enumerate(select.expressions):
        if isinstance(e, (exp.Alias, exp.Aliases, exp.Column, exp.Star)) or (isinstance(e, exp.Dot) and isinstance(e.expression, exp.Star)):
            new.append(e)
        else:
            new.append(exp.alias_(e, f"_c{i}", quoted=True))
    select.set("expressions", new)


def rewrite_grouping(select: exp.Select) -> None:
    group = select.args.get("group")
    if not group:
        return
    cols = list(group.expressions)
    rollup = group.args.get("rollup")
    cube = group.args.get("cube")
    sets = group.args.get("grouping_sets")
    if rollup and not any(r.expressions for r in rollup):
        group.set("rollup", [exp.Rollup(expressions=[c.copy() for c in cols])])
        group.set("expressions", [])
    elif cube and not any(c.expressions for c in cube):
        group.set("cube", [exp.Cube(expressions=[c.copy() for c in cols])])
        group.set("expressions", [])
    elif sets:
        fixed = []
        seen: set[frozenset[str]] = set()
        for gs in sets:
            items = []
            for item in gs.expressions:
                if isinstance(item, exp.Paren):
                    item = exp.Tuple(expressions=[item.this])
                # Hive identifies a grouping set by the columns it holds: a repeated set adds no rows
                members = frozenset(m.sql(DUCK) for m in (item.expressions if isinstance(item, exp.Tuple) else [item]))
                if members in seen:
                    continue
                seen.add(members)
                items.append(item)
            fixed.append(exp.GroupingSets(expressions=items))
        group.set("grouping_sets", fixed)
        group.set("expressions", [])
    has_sets = bool(group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets"))
    # GROUP BY columns that no grouping set contains are NULL in every row and never set their bit
    absent: set[str] = set()
    if sets:
        present = {m.sql(DUCK) for gs in group.args["grouping_sets"] for m in gs.find_all(exp.Column)}
        absent = {c.sql(DUCK) for c in cols if isinstance(c, exp.Column) and c.sql(DUCK) not in present}
    sources = [select.args["from_"].this] if select.args.get("from_") else []
    sources += [j.this for j in select.args.get("joins") or []]
    derived = any(not isinstance(src, exp.Table) for src in sources)

    def gid(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name.lower() == "grouping__id" and not node.table:
            if not has_sets and derived:
                return node  # a derived table's GROUPING__ID column
            if not has_sets or not cols:
                return exp.Literal.number(0)
            terms = [f"((1 - GROUPING({c.sql(DUCK)})) << {i})" for i, c in enumerate(cols)
                     if c.sql(DUCK) not in absent]
            return _parse("(" + " | ".join(terms) + ")") if terms else exp.Literal.number(0)
        return node

    def null_absent(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.sql(DUCK) in absent and node.find_ancestor(exp.AggFunc) is None:
            return exp.Null()
        return node

    new = []
    for e in select.expressions:
        if isinstance(e, exp.Column) and e.name.lower() == "grouping__id":
            e = exp.alias_(e, "grouping__id", quoted=True)
        elif isinstance(e, exp.Column) and e.sql(DUCK) in absent:
            e = exp.alias_(e, e.name, quoted=True)
        new.append(e.transform(gid).transform(null_absent))
    select.set("expressions", new)
    for key in ("having", "order"):
        if select.args.get(key):
            select.set(key, select.args[key].transform(gid))


def reducer_sort(tree: exp.Expression) -> ReducerSort | None:
    """The top-level SELECT's SORT BY / DISTRIBUTE BY / CLUSTER BY as plan data (before the rewrite below
    turns them into one ORDER BY). DISTRIBUTE BY keys must be output columns (by name, position-free), else
    None: the MapReduce engine then orders globally, as the Arrow engine does."""
    if not isinstance(tree, exp.Select):
        return None
    sort, cluster, dist = tree.args.get("sort"), tree.args.get("cluster"), tree.args.get("distribute")
    if not (sort or cluster or dist) or tree.args.get("order") or any(e.find(exp.Star) for e in tree.expressions):
        return None
    outs = [(e.alias_or_name.lower(), (e.this if isinstance(e, exp.Alias) else e).sql(DUCK)) for e in tree.expressions]
    keys = (cluster or dist).expressions if (cluster or dist) else []
    positions = []
    for k in keys:
        k = k.this if isinstance(k, exp.Ordered) else k
        found = [i for i, (name, text) in enumerate(outs)
                 if (isinstance(k, exp.Column) and not k.table and k.name.lower() == name) or k.sql(DUCK) == text]
        if not found:
            return None
        positions.append(found[0])
    return ReducerSort(distribute=positions, sorted=bool(sort or cluster))


def rewrite_sort_clauses(select: exp.Select) -> None:
    """One reducer: SORT BY and CLUSTER BY order globally; DISTRIBUTE BY alone changes nothing."""
    sort = select.args.get("sort")
    cluster = select.args.get("cluster")
    if select.args.get("distribute"):
        select.set("distribute", None)
    if cluster:
        select.set("cluster", None)
        select.set("order", exp.Order(expressions=[exp.Ordered(this=e.copy(), nulls_first=True)
                                                   for e in cluster.expressions]))
    if sort:
        select.set("sort", None)
        if not select.args.get("order"):
            select.set("order", exp.Order(expressions=sort.expressions))


def _udtf_select(fn: exp.Expression, names: list[str]) -> exp.Select:
    """The single-source SELECT producing a table function's rows with the given column names."""
    name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
    args = list(fn.expressions) if isinstance(fn, exp.Anonymous) else [a for a in fn.args.values() if isinstance(a, exp.Expression)]
    if isinstance(fn, exp.Explode):
        args = [fn.this]
        name = "explode"
    if isinstance(fn, exp.Posexplode):
        args = [fn.this]
        name = "posexplode"
    if isinstance(fn, exp.Inline):
        args = [fn.this]
        name = "inline"

    def q(n: str) -> str:
        return '"' + n.replace('"', '""') + '"'

    ph = "__udtf_arg"
    if name in ("explode", "explode_outer"):
        if len(names) >= 2:
            text = f"SELECT unnest(map_keys({ph}0)) AS {q(names[0])}, unnest(map_values({ph}0)) AS {q(names[1])}"
        else:
            text = f"SELECT unnest({ph}0) AS {q(names[0] if names else 'col')}"
    elif name in ("posexplode", "posexplode_outer"):
        n0, n1 = (names + ["pos", "val"])[:2] if len(names) < 2 else names[:2]
        text = f"SELECT unnest(range(len({ph}0))) AS {q(n0)}, unnest({ph}0) AS {q(n1)}"
    elif name == "inline":
        text = f"SELECT unnest({ph}0, recursive := true)"
    elif name == "stack":
        n = int(args[0].this)
        rest = args[1:]
        k = max(1, (len(rest) + n - 1) // n)
        cols = []
        for j in range(k):
            items = [f"{ph}{1 + i * k + j}" if 1 + i * k + j <= len(rest) else "NULL" for i in range(n)]
            cols.append(f"unnest([{', '.join(items)}]) AS {q(names[j] if j < len(names) else f'col{j}')}")
        text = "SELECT " + ", ".join(cols)
    elif name == "json_tuple":
        cols = []
        for j in range(1, len(args)):
            nm = names[j - 1] if j - 1 < len(names) else f"c{j - 1}"
            doc = f"hive_json_text({ph}0)"
            cols.append(f"CASE WHEN json_valid({doc}) THEN json_extract_string({doc}, '$.' || {ph}{j}) END AS {q(nm)}")
        text = "SELECT " + ", ".join(cols)
    elif name == "parse_url_tuple":
        cols = []
        for j in range(1, len(args)):
            nm = names[j - 1] if j - 1 < len(names) else f"c{j - 1}"
            cols.append(f"hive_parse_url_tuple_part({ph}0, {ph}{j}) AS {q(nm)}")
        text = "SELECT " + ", ".join(cols)
    else:
        raise SqlglotError(f"Unsupported table function {name}")
    sel = _parse(text)

    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.name.startswith(ph) and not node.table:
            return args[int(node.name[len(ph):])].copy()
        return node

    sel = sel.transform(fill)
    if name == "inline" and names:
        # name the struct fields positionally through a wrapping select
        sel = _inline_positional(sel.subquery("__inl"), names)
    return sel


def _inline_positional(inner: exp.Subquery, names: list[str]) -> exp.Select:
    cols = ", ".join(f'#{i + 1} AS "{n}"' for i, n in enumerate(names))
    sel = _parse(f"SELECT {cols} FROM (SELECT 1) AS __inl")
    sel.set("from_", exp.From(this=inner))
    return sel


def rewrite_laterals(select: exp.Select) -> None:
    """LATERAL VIEW [OUTER] udtf(...) t AS c1, c2  ->  [LEFT] JOIN LATERAL (SELECT ...) t ON TRUE."""
    laterals = select.args.get("laterals") or []
    if not laterals:
        return
    joins = list(select.args.get("joins") or [])
    for lat in laterals:
        alias = lat.args.get("alias")
        tname = alias.name if alias else "__lv"
        names = [c.name for c in (alias.columns if alias else [])]
        sub = _udtf_select(lat.this, names).subquery(exp.to_identifier(tname, quoted=True))
        if lat.args.get("outer"):
            joins.append(exp.Join(this=sub, side="LEFT", on=exp.true()))
        else:
            joins.append(exp.Join(this=sub, kind="CROSS"))
    select.set("laterals", None)
    select.set("joins", joins)


def rewrite_select_udtf(select: exp.Select) -> None:
    """`SELECT explode(m) AS (k, v) FROM t` -> the UDTF's columns from t."""
    if len(select.expressions) != 1:
        return
    e = select.expressions[0]
    names: list[str] = []
    fn = e
    if isinstance(e, exp.Alias):
        fn = e.this
        auto = e.args["alias"].quoted and e.alias == "_c0"  # named by name_outputs, not by the query
        names = [] if auto else [e.alias]
    elif isinstance(e, exp.Aliases):
        fn = e.this
        names = [a.name for a in e.expressions]
    if not (isinstance(fn, (exp.Explode, exp.Posexplode, exp.Inline)) or
            (isinstance(fn, exp.Anonymous) and fn.name.lower() in ("stack", "json_tuple", "parse_url_tuple", "inline"))):
        return
    if isinstance(fn, exp.Explode) and not names:
        names = ["col"]
    if isinstance(fn, exp.Posexplode) and not names:
        names = ["pos", "val"]
    if isinstance(fn, exp.Anonymous) and fn.name.lower() == "json_tuple" and not names:
        names = [f"c{i}" for i in range(len(fn.expressions) - 1)]
    if isinstance(fn, exp.Anonymous) and fn.name.lower() == "stack" and not names:
        n = int(fn.expressions[0].this)
        k = max(1, (len(fn.expressions) - 1 + n - 1) // n)
        names = [f"col{j}" for j in range(k)]
    udtf = _udtf_select(fn, names)
    if not select.args.get("from_"):
        select.set("expressions", udtf.expressions)
        if udtf.args.get("from_"):
            select.set("from_", udtf.args["from_"])
        return
    # keep the FROM; join the udtf laterally and project its columns
    sub = udtf.subquery(exp.to_identifier("__udtf", quoted=True))
    joins = list(select.args.get("joins") or [])
    joins.append(exp.Join(this=sub, kind="CROSS"))
    select.set("joins", joins)
    select.set("expressions", [exp.column(n, table="__udtf", quoted=True) for n in names] if names
               else [exp.Star()])


# -- expression rewrites (after typing) ------------------------------------------------------


def _trunc_to(e: exp.Expression, to: exp.DataType) -> exp.Expression:
    return exp.TryCast(this=exp.func("trunc", e), to=to)


_INT_BITS = {exp.DataType.Type.TINYINT: 8, exp.DataType.Type.SMALLINT: 16, exp.DataType.Type.INT: 32,
             exp.DataType.Type.BIGINT: 64}


def _wrap_to(e: exp.Expression, to: exp.DataType) -> exp.Expression:
    """An integral value narrowed as Java narrows it: its low bits, two's complement."""
    bits = _INT_BITS[to.this]
    mask, half = f"CAST({(1 << bits) - 1} AS HUGEINT)", f"CAST({1 << (bits - 1)} AS HUGEINT)"
    out = sqlglot.parse_one(f"CAST((((CAST(__x AS HUGEINT) & {mask}) + {half}) & {mask}) - {half} AS "
                            f"{to.sql(DUCK)})", read=DUCK)
    out.meta["hive_native"] = True
    return out.transform(lambda n: e if isinstance(n, exp.Column) and n.name == "__x" else n)


def _java_narrowing(src: exp.Expression, st: exp.DataType.Type | None, to: exp.DataType) -> exp.Expression | None:
    """CAST of a number to a narrower integral type as Hive 2's UDFToByte/Short/Integer/Long do it
    (Java casts): a decimal keeps the low bits of its integer part; a double goes through Java's
    saturating (int) or (long) conversion (NaN is 0) and then keeps the low bits; None otherwise."""
    if st == exp.DataType.Type.DECIMAL:
        return _wrap_to(exp.Cast(this=exp.func("trunc", src), to=exp.DataType.build("HUGEINT")), to)
    if st in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        lo, hi = (-(1 << 63), (1 << 63) - 1) if to.this == exp.DataType.Type.BIGINT else (-(1 << 31), (1 << 31) - 1)
        java = sqlglot.parse_one(f"CASE WHEN isnan(__x) THEN 0 WHEN __x >= {hi} THEN {hi} WHEN __x <= {lo} THEN {lo}"
                                 " ELSE CAST(trunc(__x) AS HUGEINT) END", read=DUCK)
        java = java.transform(lambda n: src.copy() if isinstance(n, exp.Column) and n.name == "__x" else n)
        return _wrap_to(java, to)
    if st in _INT_BITS and _INT_BITS[st] > _INT_BITS[to.this]:
        return _wrap_to(src, to)
    return None


def rewrite_cast(node: exp.Cast) -> exp.Expression:
    to = node.to
    src = node.this
    st = _typeof(src)
    if to.this in INTEGRAL_TARGETS:
        if (narrowed := _java_narrowing(src, st, to)) is not None:
            return narrowed
        if st in FLOAT_TYPES or (isinstance(src, exp.Literal) and not src.is_string and "." in src.this):
            return _trunc_to(src, to)
        if st in STRING_TYPES or (isinstance(src, exp.Literal) and src.is_string):
            # DuckDB's own regexp_extract: sqlglot drops a group index of 1, DuckDB's default is 0
            digits = native("regexp_extract", src, exp.Literal.string(r"^\s*([+-]?[0-9]+)(\.[0-9]*)?\s*$"),
                            exp.Literal.number(1))
            return exp.TryCast(this=digits, to=to)
        if st in TEMPORAL_TYPES:
            return exp.TryCast(this=call("hive_unix_ts_of", src), to=to)
    src_is_string = st in STRING_TYPES or (isinstance(src, exp.Literal) and src.is_string)
    if st in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT) and to.this == exp.DataType.Type.DECIMAL:
        # HiveDecimal.create(double): the decimal Double.toString spells (a FLOAT as its double value)
        text = native_cast(native_cast(src, "DOUBLE"), "VARCHAR")
        return exp.TryCast(this=text, to=to)
    if st in TIMESTAMPS and to.this in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return exp.Cast(this=call("hive_ts_double", src), to=to)  # TimestampWritable.getDouble
    if st in TIMESTAMPS and to.this == exp.DataType.Type.DECIMAL:  # seconds since the epoch, exact
        micros = native_cast(native("epoch_us", exp.Cast(this=src, to=exp.DataType.build("TIMESTAMPTZ"))),
                             "DECIMAL(38,0)")
        return exp.TryCast(this=exp.Mul(this=micros, expression=native_cast(exp.Literal.string("0.000001"),
                                                                               "DECIMAL(38,6)")), to=to)
    if to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME) and src_is_string:
        return call("hive_str_to_ts", src)
    if to.this == exp.DataType.Type.DATE and src_is_string:
        return call("hive_str_to_date", src)
    if to.this in (exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY, exp.DataType.Type.BLOB) and src_is_string:
        return native("encode", src)  # the string's UTF-8 bytes (DuckDB's cast reads \x escapes, fails on others)
    if to.this == exp.DataType.Type.BOOLEAN and st in TIMESTAMPS:
        # TimestampWritable: seconds or nanos not zero
        return exp.NEQ(this=_instant_us(src), expression=exp.Literal.number(0))
    if to.this == exp.DataType.Type.BOOLEAN and (st in STRING_TYPES or (isinstance(src, exp.Literal) and src.is_string)):
        return _parse("CASE WHEN __x IS NULL THEN NULL ELSE length(__x) <> 0 END").transform(
                lambda n: src.copy() if isinstance(n, exp.Column) and n.name == "__x" else n)
    if to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME) and st in exp.DataType.NUMERIC_TYPES:
        return _parse("CAST(timezone(current_setting('TimeZone'), to_timestamp(CAST(__x AS DOUBLE))) AS TIMESTAMP)").transform(
            lambda n: src.copy() if isinstance(n, exp.Column) and n.name == "__x" else n)
    if to.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR) and to.expressions:
        n = to.expressions[0].this if isinstance(to.expressions[0], exp.DataTypeParam) else to.expressions[0]
        text = exp.func("left", hive_string(src), n.copy())
        if to.this == exp.DataType.Type.CHAR:
            text = exp.func("rpad", text, n.copy(), exp.Literal.string(" "))
        return exp.Cast(this=text, to=to)
    if to.this in STRING_TYPES and not to.expressions and st in (exp.DataType.Type.BOOLEAN, exp.DataType.Type.DOUBLE,
                                                                  exp.DataType.Type.FLOAT, exp.DataType.Type.DECIMAL):
        return hive_string(src)
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
        return exp.TryCast(this=src, to=to)
    return node


def _as_double(e: exp.Expression) -> exp.Expression:
    return exp.TryCast(this=e, to=exp.DataType.build("DOUBLE"))


_CHARS = {exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR}
_DATETIMES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP}


def rewrite_comparison(node: exp.Binary) -> exp.Expression:
    a, b = node.this, node.expression
    if _typeof(a) in _CHARS or _typeof(b) in _CHARS:
        # CHAR values compare without their trailing spaces, with CHARs of any length and with strings
        for key, side in (("this", a), ("expression", b)):
            if _typeof(side) in _CHARS:
                node.set(key, native("rtrim", side, exp.Literal.string(" ")))
        return node
    if (_is_string(a) and _is_numeric(b)) or (_is_numeric(a) and _is_string(b)):
        node.set("this", _as_double(a))
        node.set("expression", _as_double(b))
        return node
    for key, side, other in (("this", a, b), ("expression", b, a)):
        if _typeof(side) in _DATETIMES and _is_string(other) and not isinstance(other, exp.Literal):
            # Hive compares a date/timestamp with a string as strings (the date converts implicitly to
            # STRING, not the other way round); a string literal DuckDB casts itself, to the same order
            node.set(key, hive_string(side))
    return node


_YEAR_MONTH_UNITS = {"YEAR", "YEARS", "MONTH", "MONTHS"}


def _year_month_interval(e: exp.Expression) -> bool:
    """Whether an INTERVAL-typed expression is Hive's INTERVAL YEAR TO MONTH (DuckDB has one interval type)."""
    while isinstance(e, (exp.Paren, exp.Neg)) or (isinstance(e, (exp.Cast, exp.TryCast))
                                                   and e.to.this == exp.DataType.Type.INTERVAL):
        e = e.this
    if isinstance(e, exp.Anonymous):
        return e.name.lower() == "hive_interval_ym"
    if isinstance(e, exp.Interval):
        unit = e.args.get("unit")
        return unit is not None and not isinstance(unit, exp.IntervalSpan) and unit.name.upper() in _YEAR_MONTH_UNITS
    if isinstance(e, (exp.Add, exp.Sub)):
        return _year_month_interval(e.this) and _year_month_interval(e.expression)
    return False


def _instant_us(e: exp.Expression) -> exp.Expression:
    """Microseconds since the epoch of a date or timestamp read in the session's time zone (Java's getTime())."""
    return native("epoch_us", exp.Cast(this=e, to=exp.DataType.build("TIMESTAMPTZ")))


def rewrite_datetime_arith(node: exp.Add | exp.Sub) -> exp.Expression | None:
    """Hive 2's date/timestamp arithmetic (DateTimeMath), or None when `node` is not such:
    - date/timestamp minus date/timestamp: the INTERVAL DAY TO SECOND between the two instants
      (a date is its local midnight, so a span over a daylight-saving change is 23 or 25 hours);
    - plus/minus a day-time interval: a TIMESTAMP, the instant moved by the interval's length;
    - plus/minus a year-month interval: calendar months, a DATE stays a DATE."""
    a, b = node.this, node.expression
    ta, tb = _typeof(a), _typeof(b)
    if isinstance(node, exp.Sub) and ta in TEMPORAL_TYPES and tb in TEMPORAL_TYPES:
        return native("to_microseconds", exp.Sub(this=_instant_us(a), expression=_instant_us(b)))
    interval = exp.DataType.Type.INTERVAL
    if ta in TEMPORAL_TYPES and tb == interval:
        when, span = a, b
    elif isinstance(node, exp.Add) and tb in TEMPORAL_TYPES and ta == interval:
        when, span = b, a
    else:
        return None
    if _year_month_interval(span):
        if _typeof(when) == exp.DataType.Type.DATE and not node.meta.get("hive_datetime"):
            node.meta["hive_datetime"] = True
            return exp.Cast(this=node, to=exp.DataType.build("DATE"))
        return None
    moved = native("to_microseconds", native("epoch_us", span))
    instant = exp.Cast(this=when, to=exp.DataType.build("TIMESTAMPTZ"))
    shifted = exp.Add(this=instant, expression=moved) if isinstance(node, exp.Add) \
        else exp.Sub(this=instant, expression=moved)
    return exp.Cast(this=exp.Paren(this=shifted), to=exp.DataType.build("TIMESTAMP"))


def rewrite_arith(node: exp.Binary) -> exp.Expression:
    if isinstance(node, (exp.Add, exp.Sub)) and (dt := rewrite_datetime_arith(node)) is not None:
        return dt
    if not node.meta.get("hive_decimal"):
        folded = decimals.fold_constant(node)
        if folded is not None:
            return folded
        ps = decimals.result_type(node)
        if ps is not None:
            node.meta["hive_decimal"] = True
            return decimals.rewrite(node, ps)
    for key in ("this", "expression"):
        side = node.args[key]
        if _is_string(side):
            node.set(key, _as_double(side))
    if isinstance(node, exp.Mod):
        node.set("expression", exp.func("nullif", node.expression, exp.Literal.number(0)))
    if isinstance(node, exp.Div):
        node.set("expression", exp.func("nullif", node.expression, exp.Literal.number(0)))
        node.set("safe", False)
        if _is_numeric(node.this) and _typeof(node.this) != exp.DataType.Type.DECIMAL:
            node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE")))
    return node


def rewrite_function(node: exp.Anonymous) -> exp.Expression:
    """Untyped registry rewrites; a typed one waits for `_typed`, wrapped in its result type."""
    f = REGISTRY.get(node.name.lower())
    if f is not None and f.rewrite is not None and not node.meta.get("hive_native"):
        if f.typed:
            if f.returns and not node.meta.get("hive_typed"):
                node.meta["hive_typed"] = True
                return exp.Cast(this=node, to=exp.DataType.build(f.returns, dialect=DUCK))
            node.meta["hive_typed"] = True
            return node
        out = f.rewrite(list(node.expressions), node)
        if f.returns:
            out = exp.Cast(this=out, to=exp.DataType.build(f.returns, dialect=DUCK))
        return out
    return node


def rewrite_typed_function(node: exp.Anonymous) -> exp.Expression:
    """Registry rewrites that look at their arguments' types (annotated by `_typed`)."""
    f = REGISTRY.get(node.name.lower())
    if f is None or f.rewrite is None or not f.typed or node.meta.get("hive_native"):
        return node
    return f.rewrite(list(node.expressions), node)


def _numeric_arg(e: exp.Expression) -> exp.Expression:
    """Hive sums and averages strings as doubles, timestamps as seconds since the epoch (a double)."""
    if _is_string(e):
        return _as_double(e)
    if _typeof(e) in TIMESTAMPS:
        return call("hive_ts_double", e)
    return e


_NESTED = {exp.DataType.Type.STRUCT, exp.DataType.Type.ARRAY, exp.DataType.Type.MAP}


def _complex_extreme(node: exp.Max | exp.Min) -> exp.Expression:
    """max/min of structs, arrays and maps in Hive's order, not DuckDB's: a NULL inside never wins
    (GenericUDAFMax compares it as the least value, GenericUDAFMin as the greatest)."""
    x = node.this
    key = hive_order_key(x.copy(), x.type, nulls_first=isinstance(node, exp.Max))
    key = exp.If(this=exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null())), true=key)
    return exp.Anonymous(this="arg_max" if isinstance(node, exp.Max) else "arg_min", expressions=[x, key])


def _string_sum(sum_node: exp.Sum, window: exp.Window | None) -> exp.Expression:
    """sum over strings: each parsed as a double; one that does not parse adds nothing, yet the sum of
    non-NULL strings is never NULL (GenericUDAFSumDouble skips NumberFormatExceptions after marking
    the group non-empty)."""
    def over(agg: exp.Expression) -> exp.Expression:
        if window is None:
            return agg
        w = window.copy()
        w.set("this", agg)
        return w
    arg = sum_node.this
    inner = arg.expressions[0] if isinstance(arg, exp.Distinct) and arg.expressions else arg
    summed = exp.Sum(this=arg.copy())
    summed.meta["hive_string_sum"] = True
    present = exp.GT(this=over(exp.Count(this=inner.copy())), expression=exp.Literal.number(0))
    return exp.func("coalesce", over(summed), exp.If(this=present, true=exp.Literal.number("0.0")))


def _string_sum_arg(node: exp.Expression) -> bool:
    if not isinstance(node, exp.Sum) or node.meta.get("hive_string_sum"):
        return False
    arg = node.this
    inner = arg.expressions[0] if isinstance(arg, exp.Distinct) and arg.expressions else arg
    return _is_string(inner)


def _lenient_json(node: exp.JSONExtractScalar) -> exp.Expression:
    """get_json_object: invalid JSON gives NULL, and raw control characters inside strings are
    accepted (Hive's Jackson parser allows them; DuckDB's does not)."""
    text = call("hive_json_text", node.this)
    node.set("this", text)
    node.meta["hive_json"] = True
    return exp.If(this=exp.func("json_valid", text.copy()), true=node)


def _hive_sum_type(node: exp.Expression) -> exp.DataType | None:
    """Hive's result type of a sum DuckDB types differently, else None.

    Over TINYINT..BIGINT DuckDB gives HUGEINT, Hive's GenericUDAFSumLong BIGINT; over
    decimal(p, s) DuckDB gives decimal(38, s), Hive decimal(p + 10, s) (NULL when it overflows)."""
    agg = node.this if isinstance(node, exp.Window) else node
    if not isinstance(agg, exp.Sum) or agg.meta.get("hive_typed_sum"):
        return None
    if isinstance(node, exp.Sum) and isinstance(node.parent, exp.Window):
        return None  # the window around it is cast instead
    arg = agg.this
    inner = arg.expressions[0] if isinstance(arg, exp.Distinct) and arg.expressions else arg
    if _typeof(inner) in INTEGRAL_TARGETS:
        return exp.DataType.build("BIGINT")
    params = decimals.type_params(getattr(inner, "type", None))
    if params is not None and params[0] + 10 < decimals.MAX_PRECISION:
        return exp.DataType.build(f"DECIMAL({params[0] + 10}, {params[1]})")
    return None


def _typed_sum(node: exp.Expression, to: exp.DataType) -> exp.Expression:
    agg = node.this if isinstance(node, exp.Window) else node
    agg.meta["hive_typed_sum"] = True
    if to.this == exp.DataType.Type.DECIMAL:
        return exp.TryCast(this=node, to=to)
    return exp.Cast(this=node, to=to)


_FRAME_FREE = (exp.FirstValue, exp.LastValue)


def _seconds_range_order(node: exp.Window) -> None:
    """A RANGE frame ordered by one TIMESTAMP key finds its peers and offsets by whole seconds
    (Hive's LongValueBoundaryScanner reads a timestamp as its seconds), so aggregates over it order
    by the seconds."""
    spec = node.args.get("spec")
    order = node.args.get("order")
    if (not isinstance(node.this, exp.AggFunc) or isinstance(node.this, _FRAME_FREE) or order is None
            or len(order.expressions) != 1 or (spec is not None and (spec.args.get("kind") or "").upper() != "RANGE")):
        return
    key = order.expressions[0]
    if _typeof(key.this) in TIMESTAMPS:
        key.set("this", call("hive_ts_seconds", key.this))
    elif _is_string(key.this) and spec is not None:
        # StringValueBoundaryScanner ignores the amount: `n PRECEDING/FOLLOWING` reaches the current row's peers
        for bound in ("start", "end"):
            if isinstance(spec.args.get(bound), exp.Literal) and not spec.args[bound].is_string:
                spec.set(bound, "CURRENT ROW")
                spec.set(f"{bound}_side", None)


def _avg_decimal_type(node: exp.Avg) -> exp.DataType | None:
    """avg(decimal(p, s)) is decimal(p + 4, s + 4) in Hive (DuckDB averages decimals as DOUBLE)."""
    arg = node.this
    inner = arg.expressions[0] if isinstance(arg, exp.Distinct) and arg.expressions else arg
    t = getattr(inner, "type", None)
    if t is None or t.this != exp.DataType.Type.DECIMAL or len(t.expressions) != 2:
        return None
    p, sc = (int(x.this.this) if isinstance(x, exp.DataTypeParam) else int(x.this) for x in t.expressions)
    return exp.DataType.build(f"DECIMAL({min(38, p + 4)}, {min(38, sc + 4)})")


def _decimal_avg(avg: exp.Avg, window: exp.Window | None) -> exp.Expression:
    """avg(decimal(p, s)): the exact sum over the count, rounded HALF_UP to decimal(p + 4, s + 4)."""
    to = _avg_decimal_type(avg)
    assert to is not None
    parts = []
    for agg in (exp.Sum(this=avg.this.copy()), exp.Count(this=avg.this.copy())):
        if window is not None:
            w = window.copy()
            w.set("this", agg)
            agg = w
        parts.append(native_cast(agg, "VARCHAR"))
    scale = decimals.type_params(to)[1]
    return exp.TryCast(this=call("hive_decimal_divide", *parts, exp.Literal.number(scale)), to=to)


def rewrite_aggregate_args(node: exp.Expression) -> exp.Expression:
    arg = node.this
    if isinstance(arg, exp.Distinct):
        arg.set("expressions", [_numeric_arg(e) for e in arg.expressions])
    else:
        node.set("this", _numeric_arg(arg))
    return node


DATE_PARTS = (exp.Year, exp.Month, exp.Day, exp.Quarter, exp.WeekOfYear, exp.DayOfMonth, exp.DayOfWeek,
              exp.DayOfYear)


def rewrite_date_part(node: exp.Expression) -> exp.Expression:
    """Hive's date functions accept strings (parsed leniently as yyyy-MM-dd), timestamps and intervals."""
    arg = node.this
    if isinstance(arg, exp.TsOrDsToDate):  # how sqlglot's Hive parser wraps the argument
        arg = arg.this
    t = _typeof(arg)
    if _is_string(arg):
        node.set("this", as_date(arg))
    elif t in TEMPORAL_TYPES or t == exp.DataType.Type.INTERVAL:
        node.set("this", arg)
    return node


_NUMERIC_NOT_EXACT = {exp.DataType.Type.DOUBLE, exp.DataType.Type.DECIMAL}


def _hive_implicit(src: exp.DataType.Type, dst: exp.DataType.Type) -> bool:
    """FunctionRegistry.implicitConvertible, for the string/number/date crossings DuckDB treats differently."""
    if src in STRING_TYPES:
        return dst in _NUMERIC_NOT_EXACT
    if dst in STRING_TYPES:
        return src in exp.DataType.NUMERIC_TYPES or src in TEMPORAL_TYPES
    return False


def _hive_common(a: exp.DataType.Type | None, b: exp.DataType.Type | None) -> exp.DataType.Type | None:
    """FunctionRegistry.getCommonClass; None where DuckDB's own rules agree with Hive's."""
    if a is None or a == exp.DataType.Type.NULL:
        return b
    if b is None or b == exp.DataType.Type.NULL or a == b:
        return a
    if a in STRING_TYPES and b in STRING_TYPES:
        return exp.DataType.Type.VARCHAR
    if _hive_implicit(a, b):
        return b
    if _hive_implicit(b, a):
        return a
    return None


def unify_branches(values: list[exp.Expression]) -> list[exp.Expression]:
    """Convert the values of IF/CASE/COALESCE/array/map to Hive's common type where they mix strings."""
    types = [None if isinstance(v, exp.Null) else _typeof(v) for v in values]
    if not any(t in STRING_TYPES for t in types) or all(t in STRING_TYPES or t is None for t in types):
        return values
    common: exp.DataType.Type | None = None
    for t in types:
        if t is None or t == exp.DataType.Type.UNKNOWN:
            continue
        common = _hive_common(common, t) if common is not None else t
        if common is None:
            return values
    out = []
    for v, t in zip(values, types):
        if t is None or t == common:
            out.append(v)
        elif common in STRING_TYPES:
            out.append(hive_string(v))
        elif common == exp.DataType.Type.DOUBLE:
            out.append(_as_double(v))
        else:
            out.append(v)
    return out


def _leaf_selects(node: exp.Expression) -> list[exp.Select]:
    while isinstance(node, (exp.Subquery, exp.Paren)):
        node = node.this
    if isinstance(node, exp.SetOperation):
        return _leaf_selects(node.this) + _leaf_selects(node.expression)
    return [node] if isinstance(node, exp.Select) else []


def _branch_types(node: exp.Expression) -> list[exp.DataType.Type | None] | None:
    while isinstance(node, (exp.Subquery, exp.Paren)):
        node = node.this
    if isinstance(node, exp.SetOperation):
        return node.meta.get("hive_types")
    if isinstance(node, exp.Select):
        return [_typeof(e) for e in node.expressions]
    return None


def _convert_column(select: exp.Select, i: int, to: exp.DataType.Type) -> None:
    e = select.expressions[i]
    name = e.alias_or_name
    inner = e.this if isinstance(e, exp.Alias) else e
    value = hive_string(inner.copy()) if to in STRING_TYPES else _as_double(inner.copy())
    select.expressions[i].replace(exp.alias_(value, name, quoted=True))


def unify_set_operations(tree: exp.Expression) -> None:
    """UNION column types as Hive's getCommonClassForUnionAll gives them where strings meet other
    types (DuckDB would make every such column VARCHAR): a string column of the left branch and a
    DOUBLE of the right one are DOUBLE; a number on the left and a string on the right are STRING."""
    for setop in reversed(list(tree.find_all(exp.SetOperation))):
        left, right = _branch_types(setop.this), _branch_types(setop.expression)
        if left is None or right is None or len(left) != len(right):
            continue
        common_types: list[exp.DataType.Type | None] = []
        for i, (a, b) in enumerate(zip(left, right)):
            common = None if a is None or b is None else _hive_common(a, b)
            if common is not None and ((a in STRING_TYPES) != (b in STRING_TYPES)) \
                    and (common in STRING_TYPES or common == exp.DataType.Type.DOUBLE):
                for side, t in ((setop.this, a), (setop.expression, b)):
                    if t != common and not (t in STRING_TYPES and common in STRING_TYPES):
                        for sel in _leaf_selects(side):
                            _convert_column(sel, i, common)
            common_types.append(common if common is not None else a)
        setop.meta["hive_types"] = common_types


def rewrite_branches(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.If):
        a, b = unify_branches([node.args["true"], node.args.get("false") or exp.Null()])
        node.set("true", a)
        if node.args.get("false") is not None:
            node.set("false", b)
    elif isinstance(node, exp.Case):
        ifs = node.args.get("ifs") or []
        vals = unify_branches([i.args["true"] for i in ifs] + [node.args.get("default") or exp.Null()])
        for i, v in zip(ifs, vals):
            i.set("true", v)
        if node.args.get("default") is not None:
            node.set("default", vals[-1])
    elif isinstance(node, exp.Coalesce):
        vals = unify_branches([node.this] + list(node.expressions))
        node.set("this", vals[0])
        node.set("expressions", vals[1:])
    elif isinstance(node, exp.Array):
        node.set("expressions", unify_branches(list(node.expressions)))
    elif isinstance(node, exp.VarMap):
        for key in ("keys", "values"):
            arr = node.args.get(key)
            if isinstance(arr, exp.Array):
                arr.set("expressions", unify_branches(list(arr.expressions)))
    return node


def rewrite_expression(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        return rewrite_typed_function(node)
    if isinstance(node, (exp.If, exp.Case, exp.Coalesce, exp.Array, exp.VarMap)):
        return rewrite_branches(node)
    if isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
        # Hive's LIKE escapes `_` and `%` with a backslash
        return exp.Escape(this=node, expression=exp.Literal.string("\\"))
    if isinstance(node, (exp.Cast, exp.TryCast)) and not node.meta.get("hive_native"):
        return rewrite_cast(node)
    if isinstance(node, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)):
        return rewrite_comparison(node)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
        return rewrite_arith(node)
    if isinstance(node, (exp.Max, exp.Min)) and _typeof(node.this) in _NESTED:
        return _complex_extreme(node)
    if isinstance(node, exp.Window) and _string_sum_arg(node.this):
        return _string_sum(node.this, node)
    if _string_sum_arg(node) and not isinstance(node.parent, exp.Window):
        return _string_sum(node, None)
    if isinstance(node, exp.Window):
        _seconds_range_order(node)
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Avg) and _avg_decimal_type(node.this) is not None:
        return _decimal_avg(node.this, node)
    if isinstance(node, exp.Avg) and not isinstance(node.parent, exp.Window):
        if _avg_decimal_type(node) is not None:
            return _decimal_avg(node, None)
    if isinstance(node, exp.JSONExtractScalar) and not node.meta.get("hive_json"):
        return _lenient_json(node)
    if (sum_type := _hive_sum_type(node)) is not None:
        return _typed_sum(node, sum_type)
    if isinstance(node, (exp.Sum, exp.Avg)):
        return rewrite_aggregate_args(node)
    if isinstance(node, DATE_PARTS):
        return rewrite_date_part(node)
    if isinstance(node, exp.ArraySize):
        if _typeof(node.this) == exp.DataType.Type.MAP:
            return exp.func("coalesce", exp.func("cardinality", node.this), exp.Literal.number(-1))
        return call("hive_size", node.this)
    return node


def type_literals(tree: exp.Expression) -> exp.Expression:
    """Hive types a numeric literal with a fraction or exponent (no BD suffix) as DOUBLE."""
    def visit(node: exp.Expression) -> exp.Expression:
        if (isinstance(node, exp.Literal) and not node.is_string and not node.this.lstrip("-").isdigit()
                and not isinstance(node.parent, (exp.Limit, exp.Offset, exp.TableSample, exp.DataTypeParam,
                                                 exp.Fetch))):
            return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
        return node
    return tree.transform(visit, copy=False)


def rewrite_interval(node: exp.Interval) -> exp.Expression:
    """Hive's `INTERVAL 'y-m' YEAR TO MONTH` and `INTERVAL 'd h:m:s.f' DAY TO SECOND` literals."""
    unit = node.args.get("unit")
    if not isinstance(unit, exp.IntervalSpan):
        return node
    span = (unit.this.name.upper(), unit.expression.name.upper())
    interval = exp.DataType.build("INTERVAL")
    if span == ("YEAR", "MONTH"):
        return exp.Cast(this=call("hive_interval_ym", node.this), to=interval)
    if span == ("DAY", "SECOND"):
        return exp.Cast(this=call("hive_interval_dt", node.this), to=interval)
    return node


def inline_named_windows(select: exp.Select) -> None:
    """`OVER w … WINDOW w AS (…)` becomes the spelled-out `OVER (…)`, so each window stands alone
    (the MapReduce lowering cuts jobs by a window's own PARTITION BY). A definition may build on an
    earlier one (`w2 AS (w ORDER BY x)`), a use may add its frame (`OVER (w ROWS …)`)."""
    named = select.args.get("windows")
    if not named:
        return
    specs: dict[str, exp.Window] = {}

    def resolved(w: exp.Window) -> exp.Window:
        base_name = w.args.get("alias")
        base = specs.get(base_name.name.lower()) if isinstance(base_name, exp.Identifier) else None
        out = base.copy() if base is not None else exp.Window()
        for key in ("partition_by", "order", "spec"):
            if w.args.get(key):
                out.set(key, w.args[key].copy() if isinstance(w.args[key], exp.Expression)
                        else [e.copy() for e in w.args[key]])
        return out

    for definition in named:
        specs[definition.this.name.lower()] = resolved(definition)
    for use in list(select.find_all(exp.Window)):
        if use in named or not isinstance(use.args.get("alias"), exp.Identifier):
            continue
        name = use.args["alias"].name.lower()
        if name not in specs:
            raise SemanticException(f"Window Spec {use.args['alias'].name} is not defined")
        spec = resolved(use)
        for key in ("partition_by", "order", "spec"):
            use.set(key, spec.args.get(key))
        use.set("alias", None)
    select.set("windows", None)


def structural_rewrites(tree: exp.Expression) -> None:
    for select in list(tree.find_all(exp.Select)):
        inline_named_windows(select)
        rewrite_select_udtf(select)
        rewrite_laterals(select)
        rewrite_grouping(select)
        rewrite_sort_clauses(select)


def _typed(tree: exp.Expression, schema: "dict[str, dict[str, str | exp.DataType]]") -> exp.Expression:
    """Qualify columns and annotate types where sqlglot can; the tree is unchanged if it cannot."""
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify

    schema = {name: cols for name, cols in schema.items() if cols}  # scans needing no column
    try:
        _qualify_table_function_args(tree, schema)
        typed = qualify(tree.copy(), schema=schema, dialect=DUCK, validate_qualify_columns=False,
                        quote_identifiers=True, identify=False, expand_stars=True)
        annotate_types(typed, schema=schema, dialect=DUCK)
        return typed
    except Exception:  # typing is best effort; untyped nodes keep DuckDB's rules
        return tree


def _lateral_shaped(node: exp.Expression) -> bool:
    """A joined subquery without FROM: a table function's rows for each row of its left side."""
    return isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) \
        and node.this.args.get("from_") is None


def _qualify_table_function_args(tree: exp.Expression, schema: dict) -> None:
    """Qualify, in place, the columns a joined table function (LATERAL VIEW, a SELECT-list UDTF)
    reads with the input they come from. DuckDB would resolve `value` in
    `explode(array(key, value)) AS (value)` to the function's own output where Hive reads the
    input's column, and sqlglot types only qualified columns there. Resolved by qualifying a copy
    in which each such subquery is a LATERAL one, without expanding output names used as columns."""
    from sqlglot.optimizer.qualify import qualify

    targets = [j.this for j in tree.find_all(exp.Join) if _lateral_shaped(j.this)]
    if not targets:
        return
    work = tree.copy()
    for sub in [j.this for j in work.find_all(exp.Join) if _lateral_shaped(j.this)]:
        alias = sub.args.get("alias")
        sub.replace(exp.Lateral(this=exp.Subquery(this=sub.this),
                                alias=exp.TableAlias(this=alias) if isinstance(alias, exp.Identifier) else alias))
    work = qualify(work, schema=schema, dialect=DUCK, validate_qualify_columns=False, expand_alias_refs=False,
                   quote_identifiers=False, identify=False, expand_stars=True)
    done = [lat.this.this for lat in work.find_all(exp.Lateral) if isinstance(lat.this, exp.Subquery)]
    if len(done) != len(targets):
        return
    for sub, sel in zip(targets, done):
        before, after = list(sub.this.find_all(exp.Column)), list(sel.find_all(exp.Column))
        if [c.name for c in before] != [c.name for c in after]:
            continue
        for b, a in zip(before, after):
            if not b.table and a.table:
                b.set("table", a.args["table"].copy())


def _function_star(node: exp.Expression) -> bool:
    """`f(*)` for a function other than count: Hive passes it every column of the input row."""
    parent = node.parent
    return isinstance(node, exp.Star) and isinstance(parent, exp.Func) and not isinstance(parent, exp.Count) \
        and node.arg_key == "expressions" and len(parent.expressions) == 1


def expand_function_stars(tree: exp.Expression, schema: dict) -> None:
    """Replace, in place, the `*` of `f(*)` (e.g. `hash(*)`) by the columns of the FROM clause it reads,
    in order: those of `SELECT *` over the same FROM (innermost queries first)."""
    from sqlglot.optimizer.qualify import qualify

    for star in reversed([n for n in tree.find_all(exp.Star) if _function_star(n)]):
        select = star.find_ancestor(exp.Select)
        if select is None or select.args.get("from_") is None:
            continue
        probe = exp.Select(expressions=[exp.Star()], from_=select.args["from_"].copy(),
                           joins=[j.copy() for j in select.args.get("joins") or []])
        try:
            probe = qualify(probe, schema={k: v for k, v in schema.items() if v}, dialect=DUCK,
                            validate_qualify_columns=False, quote_identifiers=True, identify=False)
        except Exception:  # noqa: BLE001 - left as written: DuckDB reports the star
            continue
        cols = [e.unalias() for e in probe.expressions]
        if not cols or not all(isinstance(c, exp.Column) and not isinstance(c.this, exp.Star) for c in cols):
            continue
        star.parent.set("expressions", [c.copy() for c in cols])


def to_duckdb(tree: exp.Expression, schema: "dict[str, dict[str, str | exp.DataType]] | None" = None,
              output_types: "list[exp.DataType | None] | None" = None) -> str:
    """DuckDB SQL for a bound Hive query tree (tables already replaced by scan names).

    `output_types`, when given, receives the annotated type of each result column (where typing succeeded)."""
    structural_rewrites(tree)
    if schema is not None:
        expand_function_stars(tree, schema)
    tree = type_literals(tree)
    tree = tree.transform(lambda n: rewrite_interval(n) if isinstance(n, exp.Interval) else n, copy=False)
    tree = _transform_all(tree, lambda n: rewrite_function(n) if isinstance(n, exp.Anonymous) else n)
    if schema is not None:
        tree = _typed(tree, schema)
        _hive_arith_types(tree)
        unify_set_operations(tree)
        if output_types is not None and isinstance(tree, exp.Select):
            # only where the type is sure: a column, or a cast (sqlglot types e.g. sum(char) as char)
            output_types.extend(getattr(e, "type", None) if isinstance(e.unalias(), (exp.Column, exp.Cast)) else None
                                for e in tree.expressions)
    tree = _transform_all(tree, rewrite_expression)
    return fold_constants(tree).sql(DUCK)


def _hive_arith_types(tree: exp.Expression) -> None:
    """Correct sqlglot's annotations where Hive types arithmetic differently: a string operand
    makes the operation DOUBLE, and `/` on non-decimals is DOUBLE."""
    double = exp.DataType.build("DOUBLE")
    for node in reversed(list(tree.walk())):
        if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)):
            ps = decimals.result_type(node)
            if ps is not None:
                node.type = decimals.decimal_type(*ps)
            elif _is_string(node.this) or _is_string(node.expression):
                node.type = double
            elif isinstance(node, exp.Div) and _typeof(node) != exp.DataType.Type.DECIMAL:
                node.type = double
        elif isinstance(node, exp.Paren) and _typeof(node.this) is not None:
            node.type = node.this.type


def _transform_all(tree: exp.Expression, fn) -> exp.Expression:
    """Pre-order `transform` that also visits the children of a node `fn` replaced.

    sqlglot's `transform` does not descend into a replacement, so e.g. the operand of a
    rewritten cast would keep Hive's semantics unapplied.
    """
    def visit(node: exp.Expression) -> exp.Expression:
        new = fn(node)
        if new is not node:
            for child in list(new.iter_expressions()):
                replaced = child.transform(visit, copy=False)
                if replaced is not child:
                    child.replace(replaced)
        return new

    return tree.transform(visit, copy=False)


def hive_cast_sql(expr: str, src_duck_type: str, target_hive_type: str) -> str:
    """DuckDB SQL casting `expr` (of DuckDB type `src_duck_type`) to a Hive column type as INSERT does."""
    from catalog.types import parse_type

    t = parse_type(target_hive_type)
    src = src_duck_type.upper()
    duck = t.to_duckdb()
    is_str = src.startswith("VARCHAR")
    if (t.is_integral or t.name in ("decimal", "double", "float")) \
            and src.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT",
                                "HUGEINT", "TIMESTAMP")):
        # a number or timestamp converts as CAST does (Java narrowing, a double's decimal spelling, ...)
        node = exp.Cast(this=sqlglot.parse_one(expr, read=DUCK), to=exp.DataType.build(duck, dialect=DUCK))
        node.this.type = exp.DataType.build(src_duck_type, dialect=DUCK)
        return rewrite_cast(node).sql(DUCK)
    if t.is_integral:
        if src.startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
            return f"TRY_CAST(trunc({expr}) AS {duck})"
        if is_str:
            return f"TRY_CAST(regexp_extract({expr}, '^\\s*([+-]?[0-9]+)(\\.[0-9]*)?\\s*$', 1) AS {duck})"
        if src.startswith("BOOLEAN"):
            return f"CAST({expr} AS {duck})"
        if src.startswith("TIMESTAMP") or src == "DATE":
            return f"TRY_CAST(hive_unix_ts_of({expr}) AS {duck})"
    if t.name == "varchar":
        return f"left(CAST({expr} AS VARCHAR), {t.params[0]})"
    if t.name == "char":
        return f"rpad(left(CAST({expr} AS VARCHAR), {t.params[0]}), {t.params[0]}, ' ')"
    if t.name == "boolean" and is_str:
        return f"(CASE WHEN {expr} IS NULL THEN NULL ELSE length({expr}) <> 0 END)"
    if t.name == "void":
        return "NULL"
    if src == "\"NULL\"" or src == "NULL":
        return f"CAST(NULL AS {duck})"
    return f"TRY_CAST({expr} AS {duck})"
