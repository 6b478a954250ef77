"""Decomposable aggregation: map-side partial aggregates, a combiner, and the reduce-side merge.

sum/count/min/max/avg split into partials (avg as sum + count) that the map
computes per group over its split (Hive's Group By Operator, mode hash), the
combiner re-aggregates per spill, and the reducer merges (mode mergepartial)
and evaluates the rest of the SELECT block over the merged values.
Everything else aggregates whole in the reducer (see `lower.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from planner.mr.jobs import INPUT

DUCK = "duckdb"
SUPPORTED_AGGS = (exp.Sum, exp.Count, exp.Min, exp.Max, exp.Avg)


class NotDecomposable(Exception):
    pass


def _sql(e: exp.Expression) -> str:
    return e.sql(DUCK)


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


@dataclass
class Agg:
    partials: list[tuple[str, exp.Expression, str]]  # (column, partial expression, merge function)
    final: exp.Expression


def decomposable(aggs: list[exp.AggFunc]) -> bool:
    return all(isinstance(a, SUPPORTED_AGGS) and a.find(exp.Distinct) is None for a in aggs)


def partial_aggregates(exprs: list[exp.Expression]) -> dict[str, Agg]:
    """Each distinct aggregate call in `exprs`, split into its partials and its final merge."""
    found: dict[str, Agg] = {}
    for e in exprs:
        for agg in e.find_all(exp.AggFunc):
            key = _sql(agg)
            if key in found:
                continue
            col = f"__a{len(found)}"
            if isinstance(agg, exp.Count):
                final = exp.Cast(this=exp.func("coalesce", exp.func("sum", _col(col)), exp.Literal.number(0)),
                                 to=exp.DataType.build("BIGINT"))
                found[key] = Agg([(col, agg.copy(), "count")], final)
            elif isinstance(agg, exp.Avg):
                s, c = f"{col}s", f"{col}c"
                total = exp.Cast(this=exp.func("sum", _col(s)), to=exp.DataType.build("DOUBLE"))
                final = exp.Div(this=total, expression=exp.func("nullif", exp.func("sum", _col(c)),
                                                                exp.Literal.number(0)))
                found[key] = Agg([(s, exp.func("sum", agg.this.copy()), "sum"),
                                  (c, exp.Count(this=agg.this.copy()), "count")], exp.paren(final))
            else:
                fn = {exp.Sum: "sum", exp.Min: "min", exp.Max: "max"}[type(agg)]
                found[key] = Agg([(col, agg.copy(), fn)], exp.func(fn, _col(col)))
    return found


def combiner_sql(g_cols: list[str], a_cols: list[tuple[str, str]]) -> str:
    items = [f'"{c}"' for c in g_cols]
    for c, merge in a_cols:
        fn = "sum" if merge in ("sum", "count") else merge
        item = f'{fn}("{c}")'
        if merge == "count":
            item = f"CAST({item} AS BIGINT)"
        items.append(f'{item} AS "{c}"')
    group = f" GROUP BY {', '.join(chr(34) + c + chr(34) for c in g_cols)}" if g_cols else ""
    return f"SELECT {', '.join(items)} FROM {INPUT}{group}"


def merge_rewrite(e: exp.Expression, aggs: dict[str, Agg], by_sql: dict[str, str]) -> exp.Expression:
    """`e` over the merged partials: aggregates become merges, group expressions their key columns."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.AggFunc):
            return aggs[_sql(node)].final.copy()
        key = _sql(node)
        if key in by_sql and not isinstance(node, exp.Literal):
            return _col(by_sql[key])
        return node

    out = e.copy().transform(fix)
    for c in out.find_all(exp.Column):
        if c.table or not c.name.startswith("__"):
            raise NotDecomposable(f"{_sql(e)} is neither grouped nor aggregated")
    return out
