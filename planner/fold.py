"""Constant folding of Hive-function macros, for both engines (Hive folds constants at compile time too).

Hive's date/string rules are DuckDB macros (`planner.functions.MACROS`), and
DuckDB does not fold a macro call over constants: TPC-H's
`o_orderdate < HIVE_STR_TO_DATE(... HIVE_ADD_MONTHS(HIVE_STR_TO_DATE('1993-07-01'), 3) ...)`
runs its regular expressions once per row (2 s over SF1 orders against 0.02 s
for a date literal), in every map task and again wherever the filter is
re-applied. Each constant sub-expression that calls a macro is evaluated
once here (innermost first), by DuckDB with the same macros, and replaced by a typed
literal `CAST('<text>' AS <type>)` (types whose text form round-trips exactly).
Macros that read the session's time zone are never folded.
"""

from __future__ import annotations

import re
import threading

from sqlglot import exp

_LOCK = threading.Lock()
_STATE: dict[str, object] = {}
_TYPES = re.compile(r"(DATE|TIMESTAMP|VARCHAR|BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|FLOAT|DOUBLE"
                    r"|DECIMAL\(\d+,\s*\d+\))")
# what reads the session (time zone, clock) or chance: a TIMESTAMPTZ cast converts in the session's zone
_VOLATILE = re.compile(r"current_setting|timezone|time\s+zone|timestamptz|random|uuid|now\(|current_", re.I)
_ZONED = {exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ}
_UNSAFE_NODES = (exp.Column, exp.Query, exp.Subquery, exp.AggFunc, exp.Window, exp.Rand, exp.Randn, exp.Uuid,
                 exp.Star, exp.Placeholder, exp.Parameter, exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime,
                 exp.CurrentDatetime, exp.CurrentUser, exp.CurrentSchema, exp.Unnest, exp.Explode, exp.UDTF,
                 exp.GenerateSeries)


def _macros() -> tuple[object, set[str]]:
    """A DuckDB connection with the macros installed, and the names of the macros safe to fold."""
    if "con" not in _STATE:
        import duckdb

        from planner.functions import MACROS

        con = duckdb.connect()
        bodies: dict[str, str] = {}
        for m in MACROS:
            con.execute(m)
            found = re.match(r"\s*CREATE OR REPLACE MACRO\s+(\w+)", m, re.I)
            if found:
                bodies[found.group(1).lower()] = m
        unsafe = {n for n, b in bodies.items() if _VOLATILE.search(b.split(" AS ", 1)[-1])}
        changed = True
        while changed:  # macros calling an unsafe macro are unsafe
            changed = False
            for n, b in bodies.items():
                if n not in unsafe and any(re.search(rf"\b{u}\s*\(", b.split(" AS ", 1)[-1], re.I) for u in unsafe):
                    unsafe.add(n)
                    changed = True
        _STATE["con"] = con
        _STATE["safe"] = set(bodies) - unsafe
    return _STATE["con"], _STATE["safe"]  # type: ignore[return-value]


def _calls(e: exp.Expression) -> list[str]:
    return [str(a.this).lower() for a in e.find_all(exp.Anonymous)]


def _foldable(e: exp.Expression, safe: set[str]) -> bool:
    if e.find(*_UNSAFE_NODES) is not None or e.find(exp.AtTimeZone) is not None:
        return False
    if any(t.this in _ZONED for t in e.find_all(exp.DataType)):
        return False
    names = _calls(e)
    return bool(names) and all(n in safe for n in names)


def _literal(con, e: exp.Expression) -> exp.Expression | None:
    text = e.sql("duckdb")
    try:
        got = con.execute(f"SELECT CAST(({text}) AS VARCHAR), typeof(({text}))").fetchmany(2)
    except Exception:  # noqa: BLE001 - an error at run time stays a run-time error: not folded
        return None
    if len(got) != 1:  # a set-returning call (explode's unnest) is not one value
        return None
    value, kind = got[0]
    if not _TYPES.fullmatch(kind):
        return None
    to = exp.DataType.build(kind, dialect="duckdb")
    if value is None:
        return exp.Cast(this=exp.null(), to=to)
    return exp.Cast(this=exp.Literal.string(value), to=to)


def fold_constants(tree: exp.Expression) -> exp.Expression:
    """`tree` with constant macro calls replaced by literals (in place; returned)."""
    if tree.find(exp.Anonymous) is None:  # no macro call: skip starting the folding connection
        return tree
    with _LOCK:
        con, safe = _macros()
        cache: dict[str, exp.Expression | None] = {}

        def visit(node: exp.Expression) -> None:
            # innermost calls first: a macro nested in a macro's argument expands once per use of that
            # argument, so evaluating the whole nest at once takes DuckDB seconds to bind
            for child in list(node.iter_expressions()):
                visit(child)
                if isinstance(child, (exp.Func, exp.Binary, exp.Unary)) and _foldable(child, safe):
                    key = child.sql("duckdb")
                    if key not in cache:
                        cache[key] = _literal(con, child)
                    if cache[key] is not None:
                        child.replace(cache[key].copy())

        visit(tree)
    return tree
