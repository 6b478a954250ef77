"""Query rewrites before the MapReduce lowering: decorrelated subqueries and factored OR filters.

The Arrow engine hands one DuckDB statement to DuckDB, whose optimizer
decorrelates subqueries itself. The MR lowering cuts that statement into
jobs, and a correlated subquery left in an expression means every task loads
the tables it reads whole. So, on the parsed plan SQL, per SELECT block:

- a WHERE conjunct `[NOT] EXISTS (SELECT ... WHERE <inner> = <outer> AND ...)` becomes a
  `SEMI`/`ANTI JOIN` with a derived table of the subquery's key (and residual) columns, ON the
  correlation equalities plus the other correlated conjuncts (the residual, e.g. Q21's
  `l2.l_suppkey <> l1.l_suppkey`), so it is a hash join on the keys;
- `x IN (SELECT e ... correlated)` becomes a `SEMI JOIN` on `x = e` plus the correlation;
  `x NOT IN (...)` an `ANTI JOIN` only when neither side can be NULL for the rows that matter
  (SQL's NOT IN is never true when the subquery yields a NULL); otherwise it is left alone;
- `a <op> (SELECT agg ... WHERE <inner> = <outer> ...)` (a scalar aggregate, correlated by
  equalities only) becomes an inner JOIN with the aggregate grouped by the inner keys, when the
  aggregate expression is NULL over an empty group (sum/min/max/avg under NULL-propagating
  operators, never count): a missing group then compares NULL, which the conjunct drops, as
  the join does;
- an OR whose branches all contain the same conjunct (Q19's `p_partkey = l_partkey`) has it
  pulled out, so it becomes a join key; and for each table every branch filters, the OR of
  those filters is added as a filter that the lowering pushes into that table's scan.

Shapes not matched are left as they are (the lowering's broadcast path handles them).
"""

from __future__ import annotations

from typing import Callable

from sqlglot import exp

from planner.mr.joins import plain, tables_of

PER_SPLIT_GROUPING = "mr_per_split_grouping"  # Select.meta flag read by the lowering
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
NULL_ON_EMPTY_AGGS = (exp.Sum, exp.Min, exp.Max, exp.Avg)
STRICT = (exp.Cast, exp.TryCast, exp.Paren, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod,
          exp.Try)
STRICT_FUNCTIONS = {"hive_decimal_divide"}  # row-wise UDFs: NULL when any argument is NULL


def conjuncts(e: exp.Expression | None) -> list[exp.Expression]:
    if e is None:
        return []
    if isinstance(e, exp.Paren):
        return conjuncts(e.this)
    if isinstance(e, exp.And):
        return conjuncts(e.this) + conjuncts(e.expression)
    return [e]


def _disjuncts(e: exp.Expression) -> list[exp.Expression]:
    if isinstance(e, exp.Paren):
        return _disjuncts(e.this)
    if isinstance(e, exp.Or):
        return _disjuncts(e.this) + _disjuncts(e.expression)
    return [e]


def _and(items: list[exp.Expression]) -> exp.Expression:
    return exp.and_(*[exp.paren(i.copy()) for i in items]) if len(items) > 1 else items[0].copy()


def _sql(e: exp.Expression) -> str:
    return e.sql("duckdb")


def _defined(query: exp.Expression) -> set[str]:
    """Aliases a query defines (its tables and derived tables, at any depth)."""
    out = {t.alias_or_name.lower() for t in query.find_all(exp.Table)}
    return out | {s.alias.lower() for s in query.find_all(exp.Subquery) if s.alias}


def _outer_refs(e: exp.Expression, defined: set[str]) -> set[str]:
    return {c.table.lower() for c in e.find_all(exp.Column) if c.table and c.table.lower() not in defined}


def _own_aliases(sel: exp.Select) -> set[str]:
    items = [sel.args["from_"].this] + [j.this for j in sel.args.get("joins") or []]
    return {i.alias_or_name.lower() for i in items}


def _null_on_empty(e: exp.Expression) -> bool:
    """`e` (a scalar subquery's select expression) is NULL when its aggregates see no rows."""
    if isinstance(e, NULL_ON_EMPTY_AGGS):
        return True
    if isinstance(e, exp.Null):
        return True
    strict = isinstance(e, STRICT) or (isinstance(e, exp.Anonymous) and str(e.this).lower() in STRICT_FUNCTIONS)
    if not strict:
        return False
    return any(_null_on_empty(c) for c in e.iter_expressions() if not isinstance(c, exp.DataType))


def _null_rejected(e: exp.Expression, conds: list[exp.Expression]) -> bool:
    """Some conjunct of `conds` is NULL (drops the row) when `e` is NULL."""
    key = _sql(e)
    for c in conds:
        if isinstance(c, exp.Not) and isinstance(c.this, exp.Is) and isinstance(c.this.expression, exp.Null) \
                and _sql(c.this.this) == key:
            return True
        if isinstance(c, COMPARISONS) and key in (_sql(c.this), _sql(c.expression)):
            return True
    return False


class _Rewriter:
    def __init__(self, small: Callable[[str], bool]) -> None:
        self.counter = 0
        self.small = small  # a scan (by relation name) a task may load whole
        self.others: list[exp.Expression] = []  # the other WHERE conjuncts of the block being rewritten

    def key_filter(self, sel: exp.Select, keys) -> exp.Join | None:
        """`SEMI JOIN (SELECT key FROM small_table WHERE its filters) ON inner_key = key` when an outer key
        column belongs to a small, filtered table of an inner-join FROM: the subquery side then only reads
        rows that can join (Q17: lineitem aggregated for the 0.1% of parts the outer query keeps, not all of
        them), the small table joined map-side in the same map tasks."""
        items = [sel.args["from_"].this] + [j.this for j in sel.args.get("joins") or []
                                            if not j.args.get("side") and j.args.get("kind") in (None, "", "CROSS",
                                                                                                 "INNER")]
        by_alias = {i.alias_or_name.lower(): i for i in items}
        for inner, outer in keys:
            if not isinstance(outer, exp.Column) or not outer.table:
                continue
            t = by_alias.get(outer.table.lower())
            if not isinstance(t, exp.Table) or t.args.get("db") or not self.small(t.name):
                continue
            local = [c for c in self.others if tables_of(c) == {outer.table.lower()} and not any(
                _outer_refs(q, _defined(q)) for q in c.find_all(exp.Select))]
            if local:
                alias = self.name()
                sub = exp.Select(expressions=[exp.alias_(outer.copy(), "__kf", quoted=True)],
                                 from_=exp.From(this=t.copy()), where=exp.Where(this=_and(local)))
                return exp.Join(this=exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(
                    alias, quoted=True))), kind="SEMI",
                    on=exp.EQ(this=inner.copy(), expression=exp.column("__kf", alias, quoted=True)))
        return None

    def name(self) -> str:
        self.counter += 1
        return f"__dq{self.counter}"

    # -- OR factoring -------------------------------------------------------------------------------------
    def factor_or(self, c: exp.Expression) -> list[exp.Expression]:
        branches = [conjuncts(b) for b in _disjuncts(c)]
        if len(branches) < 2 or not all(plain(x) for b in branches for x in b):
            return [c]
        common_keys = set.intersection(*[{_sql(x) for x in b} for b in branches])
        common = [x for x in branches[0] if _sql(x) in common_keys]
        rests = [[x for x in b if _sql(x) not in common_keys] for b in branches]
        out = [x.copy() for x in common]
        if any(not r for r in rests):  # one branch is just the common part: the OR is true
            return out
        out.append(exp.paren(exp.or_(*[exp.paren(_and(r)) for r in rests])) if common else c)
        tables = set().union(*[tables_of(x) for r in rests for x in r])
        for t in sorted(tables) if len(tables) > 1 else []:
            per = [[x for x in r if tables_of(x) == {t}] for r in rests]
            if all(per):
                out.append(exp.paren(exp.or_(*[exp.paren(_and(p)) for p in per])))
        return out

    # -- subqueries -----------------------------------------------------------------------------------------
    def split(self, sub: exp.Select, own: set[str]):
        """(local conjuncts, key pairs (inner, outer), residual conjuncts) of a correlated WHERE, or None."""
        defined = _defined(sub)
        local, keys, residual = [], [], []
        for c in conjuncts(sub.args["where"].this if sub.args.get("where") else None):
            outer = _outer_refs(c, defined)
            if not outer:
                local.append(c)
                continue
            if not outer <= own or not plain(c):
                return None
            if isinstance(c, exp.EQ):
                a, b = c.this, c.expression
                oa, ob = _outer_refs(a, defined), _outer_refs(b, defined)
                if tables_of(a) and not oa and ob and ob == tables_of(b):
                    keys.append((a, b))
                    continue
                if tables_of(b) and not ob and oa and oa == tables_of(a):
                    keys.append((b, a))
                    continue
            residual.append(c)
        rest = sub.copy()
        rest.set("where", exp.Where(this=_and(local)) if local else None)
        if _outer_refs(rest, defined):  # correlated elsewhere than in WHERE conjuncts
            return None
        return local, keys, residual

    @staticmethod
    def simple(sub: exp.Expression) -> bool:
        return isinstance(sub, exp.Select) and sub.args.get("from_") is not None and not any(
            sub.args.get(k) for k in ("group", "having", "limit", "offset", "windows", "qualify", "distinct", "with_"))

    def semi(self, sel: exp.Select, sub: exp.Select, anti: bool, value: exp.Expression | None) -> exp.Join | None:
        """SEMI/ANTI JOIN for `EXISTS (sub)` or `value IN (sub)`, or None when not decorrelated."""
        if not self.simple(sub) or any(e.find(exp.AggFunc, exp.Window) for e in sub.expressions):
            return None
        parts = self.split(sub, _own_aliases(sel))
        if parts is None:
            return None
        local, keys, residual = parts
        if value is not None:
            if len(sub.expressions) != 1 or isinstance(sub.expressions[0], exp.Star):
                return None
            inner = sub.expressions[0]
            inner = inner.this if isinstance(inner, exp.Alias) else inner
            if tables_of(value) - _own_aliases(sel) or not plain(value):
                return None
            keys = [(inner, value)] + keys
        if not keys:
            return None
        alias = self.name()
        defined = _defined(sub)
        items: list[exp.Expression] = [exp.alias_(k.copy(), f"__dk{i}", quoted=True) for i, (k, _) in enumerate(keys)]
        on: list[exp.Expression] = [exp.EQ(this=o.copy(), expression=exp.column(f"__dk{i}", alias, quoted=True))
                                    for i, (_, o) in enumerate(keys)]
        exposed: dict[str, str] = {}

        def expose(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.table and node.table.lower() in defined:
                key = _sql(node)
                if key not in exposed:
                    exposed[key] = f"__dr{len(exposed)}"
                    items.append(exp.alias_(node.copy(), exposed[key], quoted=True))
                return exp.column(exposed[key], alias, quoted=True)
            return node

        group = [k.copy() for k, _ in keys]
        neq = residual[0] if len(residual) == 1 and isinstance(residual[0], exp.NEQ) else None
        side = None
        if neq is not None:
            for a, b in ((neq.this, neq.expression), (neq.expression, neq.this)):
                if isinstance(a, exp.Column) and a.table.lower() in defined and not _outer_refs(a, defined) \
                        and tables_of(b) and _outer_refs(b, defined) == tables_of(b):
                    side = (a, b)
        if side is not None:
            # `exists a row with col <> v` is `min(col) <> v OR max(col) <> v` over any subset of the rows,
            # NULLs included (min/max skip them as <> does): a map task keeps one row per key of its split
            col, v = side
            items += [exp.alias_(exp.Min(this=col.copy()), "__dmn", quoted=True),
                      exp.alias_(exp.Max(this=col.copy()), "__dmx", quoted=True)]
            on += [exp.paren(exp.or_(
                exp.NEQ(this=exp.column("__dmn", alias, quoted=True), expression=v.copy()),
                exp.NEQ(this=exp.column("__dmx", alias, quoted=True), expression=v.copy())))]
        else:
            on += [r.copy().transform(expose) for r in residual]
            group += [i.this.copy() for i in items[len(keys):]]
        narrow = self.key_filter(sel, keys)
        derived = sub.copy()
        derived.set("expressions", items)
        derived.set("order", None)
        derived.set("where", exp.Where(this=_and(local)) if local else None)
        derived.set("group", exp.Group(expressions=group))
        if narrow is not None:
            derived.set("joins", list(derived.args.get("joins") or []) + [narrow])
        # any split-wise subset of the groups gives the same SEMI/ANTI result: the lowering groups in
        # each map task only (fewer rows shuffled), with no job of its own
        derived.meta[PER_SPLIT_GROUPING] = True
        return exp.Join(this=exp.Subquery(this=derived, alias=exp.TableAlias(this=exp.to_identifier(alias,
                                                                                                     quoted=True))),
                        kind="ANTI" if anti else "SEMI", on=_and(on))

    def scalar(self, sel: exp.Select, sub: exp.Select) -> tuple[exp.Join, exp.Column] | None:
        """An inner JOIN with `sub`'s aggregate grouped by its correlation keys, and the value column."""
        if not self.simple(sub) or len(sub.expressions) != 1:
            return None
        value = sub.expressions[0]
        value = value.this if isinstance(value, exp.Alias) else value
        if value.find(exp.Window, exp.Query, exp.Subquery) is not None or not _null_on_empty(value):
            return None
        if any(c.find_ancestor(exp.AggFunc) is None for c in value.find_all(exp.Column)):
            return None  # a column outside the aggregates: not one value per group
        parts = self.split(sub, _own_aliases(sel))
        if parts is None:
            return None
        local, keys, residual = parts
        if residual or not keys:
            return None
        alias = self.name()
        narrow = self.key_filter(sel, keys)
        derived = sub.copy()
        derived.set("expressions", [exp.alias_(k.copy(), f"__dk{i}", quoted=True) for i, (k, _) in enumerate(keys)]
                    + [exp.alias_(value.copy(), "__dv", quoted=True)])
        derived.set("order", None)
        derived.set("where", exp.Where(this=_and(local)) if local else None)
        derived.set("group", exp.Group(expressions=[k.copy() for k, _ in keys]))
        if narrow is not None:
            derived.set("joins", list(derived.args.get("joins") or []) + [narrow])
        on = _and([exp.EQ(this=o.copy(), expression=exp.column(f"__dk{i}", alias, quoted=True))
                   for i, (_, o) in enumerate(keys)])
        join = exp.Join(this=exp.Subquery(this=derived, alias=exp.TableAlias(this=exp.to_identifier(alias,
                                                                                                    quoted=True))),
                        on=on)
        return join, exp.column("__dv", alias, quoted=True)

    def conjunct(self, sel: exp.Select, c: exp.Expression, others: list[exp.Expression]):
        """(replacement conjunct or None, new join) for one WHERE conjunct, or None to keep it."""
        neg = isinstance(c, exp.Not)
        inner = c.this if neg else c
        if isinstance(inner, exp.Exists) and isinstance(inner.this, exp.Select):
            j = self.semi(sel, inner.this, neg, None)
            return (None, j) if j is not None else None
        if isinstance(inner, exp.In) and isinstance(inner.args.get("query"), exp.Subquery):
            sub = inner.args["query"].this
            if not isinstance(sub, exp.Select) or not _outer_refs(sub, _defined(sub)):
                return None  # uncorrelated: one earlier job, its rows broadcast
            if neg:
                col = sub.expressions[0] if len(sub.expressions) == 1 else None
                col = col.this if isinstance(col, exp.Alias) else col
                if col is None or not _null_rejected(inner.this, others) or not _null_rejected(
                        col, conjuncts(sub.args["where"].this if sub.args.get("where") else None)):
                    return None
            j = self.semi(sel, sub, neg, inner.this)
            return (None, j) if j is not None else None
        if isinstance(c, COMPARISONS):
            for side, other in (("expression", "this"), ("this", "expression")):
                s, o = c.args.get(side), c.args.get(other)
                if isinstance(s, exp.Subquery) and isinstance(s.this, exp.Select) and plain(o) \
                        and _outer_refs(s.this, _defined(s.this)):
                    found = self.scalar(sel, s.this)
                    if found is None:
                        return None
                    join, col = found
                    new = c.copy()
                    new.set(side, col)
                    return new, join
        return None

    def block(self, sel: exp.Select) -> None:
        where = sel.args.get("where")
        if where is None or sel.args.get("from_") is None:
            return
        conds = [x for c in conjuncts(where.this) for x in self.factor_or(c)]
        out: list[exp.Expression] = []
        joins: list[exp.Join] = []
        for i, c in enumerate(conds):
            self.others = conds[:i] + conds[i + 1:]
            done = self.conjunct(sel, c, self.others) if c.find(exp.Query, exp.Subquery) else None
            if done is None:
                out.append(c)
                continue
            new, join = done
            joins.append(join)
            if new is not None:
                out.append(new)
        if not joins and len(conds) == len(conjuncts(where.this)):
            return
        # appended after the written joins (valid for any FROM: WHERE filters the whole FROM's rows);
        # inner (scalar) ones before SEMI/ANTI ones, so an inner-join FROM stays one reorderable chain
        inner = [j for j in joins if not j.args.get("kind")]
        semis = [j for j in joins if j.args.get("kind")]
        sel.set("joins", list(sel.args.get("joins") or []) + inner + semis)
        sel.set("where", exp.Where(this=_and(out)) if out else None)


def rewrite(tree: exp.Expression, small: Callable[[str], bool] = lambda name: False) -> exp.Expression:
    """`tree` with subqueries decorrelated into joins and OR filters factored (in place; returned).

    Constant macro calls arrive folded: the plan's SQL comes from `translate.to_duckdb`."""
    r = _Rewriter(small)
    for sel in reversed(list(tree.find_all(exp.Select))):  # innermost blocks first
        r.block(sel)
    return tree
