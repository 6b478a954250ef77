"""Lowering a bound query to MapReduce jobs, cut at each shuffle.

The input is the Arrow engine's `QueryPlan`: its DuckDB SQL already carries
every Hive rewrite from `planner.translate`, so the lowering never re-derives
semantics. It parses that SQL (DuckDB dialect) and splits the one SELECT
block structurally into fragments, each still DuckDB SQL:

- map work: scan -> filter -> project, or a partial (hash) aggregate;
- reduce work: the final aggregate (mergepartial) and HAVING, a tagged join,
  or the sort of a total-order ORDER BY;
- a later job reads an earlier job's intermediate files (`from_stage`).

Shapes handled: scan-filter-project(-limit); GROUP BY / DISTINCT with
sum/count/min/max/avg (avg as sum+count); ORDER BY with a sampled range
partitioner; one two-table equi-join, reduce-side with tagged inputs or
map-side when one side is small. Anything else returns a reason and the
session runs the Arrow engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import sqlglot
from sqlglot import exp

from planner.mr.jobs import INPUT, Broadcast, MapInput, MRJob, MRPlan, Shuffle, SortKey
from planner.plan import QueryPlan, ScanNode

DUCK = "duckdb"
Setting = Callable[[str], "str | None"]

SUPPORTED_AGGS = (exp.Sum, exp.Count, exp.Min, exp.Max, exp.Avg)
NONDETERMINISTIC = (exp.Rand,)


class Unsupported(Exception):
    """The query's shape is not lowered (yet); the message says why."""


def _sql(e: exp.Expression) -> str:
    return e.sql(DUCK)


def _col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _conjuncts(e: exp.Expression | None) -> list[exp.Expression]:
    if e is None:
        return []
    if isinstance(e, exp.Paren):
        return _conjuncts(e.this)
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    return [e]


def _tables_of(e: exp.Expression) -> set[str]:
    return {c.table.lower() for c in e.find_all(exp.Column) if c.table}


def _setting_int(setting: Setting, key: str, default: int) -> int:
    try:
        return int(setting(key) or default)
    except ValueError:
        return default


def _scan_bytes(scan: ScanNode) -> int | None:
    """Total size of a scan's files, or None if some are not local."""
    total = 0
    for src in scan.sources:
        if not src.local:
            return None
        for f in src.files:
            try:
                total += os.path.getsize(f)
            except OSError:
                return None
    return total


@dataclass
class _Source:
    """A table of the SELECT: its scan and its alias in the SQL."""

    scan: ScanNode
    alias: str
    node: exp.Table


@dataclass
class _Agg:
    partials: list[tuple[str, exp.Expression, str]]  # (column, partial expression, merge function)
    final: exp.Expression


@dataclass
class _Lowering:
    plan: QueryPlan
    setting: Setting
    tree: exp.Select = field(init=False)
    sources: list[_Source] = field(default_factory=list)
    jobs: list[MRJob] = field(default_factory=list)

    # -- checks ------------------------------------------------------------------------------
    def parse(self) -> None:
        try:
            tree = sqlglot.parse_one(self.plan.sql, read=DUCK)
        except Exception as e:  # noqa: BLE001 - anything we cannot re-read is not lowered
            raise Unsupported(f"cannot re-read the plan SQL ({type(e).__name__})") from e
        if not isinstance(tree, exp.Select):
            raise Unsupported(f"only a single SELECT block is lowered, not {type(tree).__name__}")
        if tree.args.get("with_") or tree.args.get("with"):
            raise Unsupported("WITH (CTEs) not lowered yet")
        for key, what in (("qualify", "QUALIFY"), ("laterals", "LATERAL VIEW"), ("windows", "WINDOW clause")):
            if tree.args.get(key):
                raise Unsupported(f"{what} not lowered yet")
        for node in tree.find_all(exp.Subquery, exp.Select, exp.Window, exp.Unnest, exp.Lateral,
                                  exp.GroupingSets, exp.Rollup, exp.Cube, exp.TableSample):
            if node is tree:
                continue
            name = type(node).__name__
            raise Unsupported(f"{'subqueries' if name in ('Subquery', 'Select') else name} not lowered yet")
        if any(s.sample for s in self.plan.scans):
            raise Unsupported("TABLESAMPLE not lowered yet")
        distinct = tree.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise Unsupported("DISTINCT ON not lowered")
        for agg in tree.find_all(exp.AggFunc):
            if not isinstance(agg, SUPPORTED_AGGS):
                raise Unsupported(f"aggregate {agg.sql_name()} not decomposed yet")
            if agg.find(exp.Distinct) is not None:
                raise Unsupported("aggregates over DISTINCT not decomposed yet")
        if tree.args.get("offset"):
            raise Unsupported("OFFSET not lowered")
        self.tree = tree
        scans = {s.name: s for s in self.plan.scans}
        frm = tree.args.get("from_")
        if frm is None:
            raise Unsupported("a query without FROM runs on the vectorized engine")
        nodes = [frm.this] + [j.this for j in tree.args.get("joins") or []]
        for n in nodes:
            if not isinstance(n, exp.Table) or n.name not in scans:
                raise Unsupported("only table scans are lowered as sources")
            self.sources.append(_Source(scans[n.name], (n.alias_or_name).lower(), n))
        if len(self.sources) > 2:
            raise Unsupported("joins of more than two tables not lowered yet")
        if len({s.alias for s in self.sources}) != len(self.sources):
            raise Unsupported("self-join without distinct aliases")

    # -- helpers -----------------------------------------------------------------------------------
    def outputs(self) -> list[tuple[str, exp.Expression]]:
        out = []
        for e in self.tree.expressions:
            if isinstance(e, exp.Alias):
                out.append((e.alias, e.this))
            elif isinstance(e, exp.Column):
                out.append((e.name, e))
            else:
                raise Unsupported(f"select item {type(e).__name__} not lowered")
        return out

    def resolve_alias(self, e: exp.Expression) -> exp.Expression:
        """An unqualified column naming a select alias stands for that select expression."""
        by_name = {n.lower(): x for n, x in self.outputs()}

        def fix(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table and node.name.lower() in by_name:
                return by_name[node.name.lower()].copy()
            return node

        return e.copy().transform(fix)

    def reducers(self) -> int:
        n = _setting_int(self.setting, "mapreduce.job.reduces", -1)
        return n if n > 0 else -1

    def sort_keys(self) -> list[tuple[exp.Expression, bool, bool]]:
        order = self.tree.args.get("order")
        keys = []
        for o in order.expressions if order else []:
            desc = bool(o.args.get("desc"))
            # the plan runs with nulls_first_on_asc_last_on_desc; only an explicit NULLS FIRST changes DESC
            nulls_first = True if not desc else bool(o.args.get("nulls_first"))
            keys.append((o.this, desc, nulls_first))
        return keys

    def limit(self) -> int | None:
        lim = self.tree.args.get("limit")
        if lim is None:
            return None
        e = lim.expression if lim.expression is not None else lim.this
        if not isinstance(e, exp.Literal) or e.is_string:
            raise Unsupported("non-literal LIMIT")
        return int(e.this)

    # -- the lowering -----------------------------------------------------------------------------------
    def lower(self) -> MRPlan:
        self.parse()
        tree = self.tree
        outs = self.outputs()
        n_out = len(outs)
        out_cols = [f"__c{i}" for i in range(n_out)]
        distinct = tree.args.get("distinct") is not None
        group = tree.args.get("group")
        has_aggs = any(True for _ in tree.find_all(exp.AggFunc))
        if distinct and (has_aggs or group):
            raise Unsupported("DISTINCT with GROUP BY or aggregates not lowered yet")
        aggregating = bool(group) or has_aggs or distinct
        limit = self.limit()
        sort = self.sort_keys()

        # 1. the first fragment: over the sources, up to (not including) the first shuffle of the query
        body = tree.copy()
        for key in ("order", "limit", "distinct"):
            body.set(key, None)
        sort_cols: list[SortKey] = []
        if aggregating:
            group_exprs = self.group_exprs(distinct)
            aggs = self.aggregates()
            body.set("having", None)
            g_cols = [f"__g{i}" for i in range(len(group_exprs))]
            items = [exp.alias_(g.copy(), c, quoted=True) for g, c in zip(group_exprs, g_cols)]
            a_cols: list[tuple[str, str]] = []
            for agg in aggs.values():
                for col, partial, merge in agg.partials:
                    items.append(exp.alias_(partial, col, quoted=True))
                    a_cols.append((col, merge))
            body.set("expressions", items)
            body.set("group", exp.Group(expressions=[g.copy() for g in group_exprs]) if group_exprs else None)
            partial_ops = ["Group By Operator", f"  aggregations: {', '.join(aggs) or '(none)'}",
                           f"  keys: {', '.join(_sql(g) for g in group_exprs) or '(none)'}", "  mode: hash"]
            final_sql, final_ops, sort_cols = self.final_fragment(outs, group_exprs, g_cols, aggs, sort, limit)
            combiner = self.combiner_sql(g_cols, a_cols)
        else:
            items = [exp.alias_(x.copy(), c, quoted=True) for (_, x), c in zip(outs, out_cols)]
            for i, (key, desc, nf) in enumerate(sort):
                col = self.output_ref(key, outs, out_cols)
                if col is None:
                    col = f"__s{i}"
                    items.append(exp.alias_(key.copy(), col, quoted=True))
                sort_cols.append(SortKey(col, desc, nf))
            body.set("expressions", items)
            if limit is not None and not sort:
                body.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
            partial_ops = []

        filter_ops = ["Filter Operator", f"  predicate: {_sql(tree.args['where'].this)}"] if tree.args.get("where") else []
        select_ops = ["Select Operator", f"  expressions: {', '.join(_sql(x) for _, x in outs)}"]

        # 2. the source: one table, a map join, or a reduce-side join (its own job)
        first_stage_ops = filter_ops + (partial_ops if aggregating else select_ops)
        if len(self.sources) == 1:
            src = self.sources[0]
            map_sql = self.with_relations(body, {src.scan.name: INPUT})
            first = MRJob(stage="Stage-1", inputs=[MapInput(0, src.alias, map_sql, scan=src.scan,
                                                            operators=_scan_ops(src) + first_stage_ops)])
        else:
            first = self.join_job(body, first_stage_ops)
        self.jobs.append(first)

        # 3. shuffles after the source stage
        current = first

        def next_job(map_sql: str, ops: list[str]) -> MRJob:
            nonlocal current
            prev = current
            prev_out = "intermediate"
            job = MRJob(stage=f"Stage-{len(self.jobs) + 1}", depends_on=[prev.stage],
                        inputs=[MapInput(0, prev.stage, map_sql, from_stage=prev.stage,
                                         operators=["TableScan", f"  alias: {prev.stage} ({prev_out})"] + ops)])
            self.jobs.append(job)
            current = job
            return job

        def attach(job: MRJob, shuffle: Shuffle, reduce_sql: str, ops: list[str]) -> None:
            job.shuffle = shuffle
            job.reduce_sql = reduce_sql
            job.reduce_operators = ops
            job.num_reducers = 1 if shuffle.partitioner == "single" else self.reducers()

        identity = f"SELECT * FROM {INPUT}"
        if aggregating:
            part = "hash" if g_cols else "single"
            shuffle = Shuffle(part, list(g_cols), [SortKey(c) for c in g_cols], combiner)
            if current.shuffle is not None:  # the join job's reducer made the partials
                next_job(identity, [])
            current.inputs[0].operators.append(_rs_ops(shuffle, [c for c, _ in a_cols]))
            attach(current, shuffle, final_sql, final_ops)
        if sort:
            body_cols = out_cols + [k.column for k in sort_cols if k.column not in out_cols]
            if current.shuffle is not None or (aggregating and current.reduce_sql):
                next_job(identity, [])
            shuffle = Shuffle("range", [k.column for k in sort_cols], sort_cols)
            current.inputs[0].operators.append(_rs_ops(shuffle, body_cols))
            order = ", ".join(k.sql() for k in sort_cols)
            sel = ", ".join(f'"{c}"' for c in out_cols)
            lim = f" LIMIT {limit}" if limit is not None else ""
            attach(current, shuffle, f"SELECT {sel} FROM {INPUT} ORDER BY {order}{lim}",
                   ["Select Operator", f"  expressions: {sel}"] + (["Limit", f"  Number of rows: {limit}"] if lim else []))
        current.final = True
        for j in self.jobs:
            if j.map_only:
                for m in j.inputs:
                    m.operators.append("File Output Operator")
            else:
                j.reduce_operators.append("File Output Operator" + ("" if j.final else " (intermediate)"))
        settings = {k: self.setting(k) or "" for k in (
            "hive.local.time.zone", "mapreduce.input.fileinputformat.split.maxsize", "mapreduce.task.io.sort.mb",
            "mapreduce.map.maxattempts", "mapreduce.reduce.maxattempts", "hive.exec.reducers.bytes.per.reducer",
            "hive.exec.reducers.max", "hiveish.mapreduce.fail.attempts", "hiveish.mapreduce.inprocess",
            "hiveish.mapreduce.workers", "hiveish.mapreduce.local.dir", "hiveish.mapreduce.sample.rows",
            "hiveish.mapreduce.sample.splits", "hiveish.mapreduce.kill.attempts")}
        return MRPlan(jobs=self.jobs, output_columns=out_cols, column_names=list(self.plan.column_names),
                      fetch_limit=limit, settings=settings)

    # -- aggregation -------------------------------------------------------------------------------------
    def group_exprs(self, distinct: bool) -> list[exp.Expression]:
        if distinct:
            return [x for _, x in self.outputs()]
        group = self.tree.args.get("group")
        out = []
        for g in group.expressions if group else []:
            if isinstance(g, exp.Literal):
                raise Unsupported("GROUP BY position not lowered")
            out.append(self.resolve_alias(g))
        return out

    def aggregates(self) -> dict[str, _Agg]:
        found: dict[str, _Agg] = {}
        exprs = [x for _, x in self.outputs()]
        if self.tree.args.get("having"):
            exprs.append(self.resolve_alias(self.tree.args["having"].this))
        exprs.extend(self.resolve_alias(k) for k, _, _ in self.sort_keys())
        for e in exprs:
            for agg in e.find_all(exp.AggFunc):
                key = _sql(agg)
                if key in found:
                    continue
                k = len(found)
                col = f"__a{k}"
                if isinstance(agg, exp.Count):
                    final = exp.Cast(this=exp.func("coalesce", exp.func("sum", _col(col)), exp.Literal.number(0)),
                                     to=exp.DataType.build("BIGINT"))
                    found[key] = _Agg([(col, agg.copy(), "count")], final)
                elif isinstance(agg, exp.Avg):
                    s, c = f"{col}s", f"{col}c"
                    total = exp.Cast(this=exp.func("sum", _col(s)), to=exp.DataType.build("DOUBLE"))
                    final = exp.Div(this=total, expression=exp.func("nullif", exp.func("sum", _col(c)),
                                                                    exp.Literal.number(0)))
                    found[key] = _Agg([(s, exp.func("sum", agg.this.copy()), "sum"),
                                       (c, exp.Count(this=agg.this.copy()), "count")], exp.paren(final))
                else:
                    fn = {exp.Sum: "sum", exp.Min: "min", exp.Max: "max"}[type(agg)]
                    found[key] = _Agg([(col, agg.copy(), fn)], exp.func(fn, _col(col)))
        return found

    def combiner_sql(self, g_cols: list[str], a_cols: list[tuple[str, str]]) -> str:
        items = [f'"{c}"' for c in g_cols]
        for c, merge in a_cols:
            fn = "sum" if merge in ("sum", "count") else merge
            item = f'{fn}("{c}")'
            if merge == "count":
                item = f"CAST({item} AS BIGINT)"
            items.append(f'{item} AS "{c}"')
        group = f" GROUP BY {', '.join(repr_cols(g_cols))}" if g_cols else ""
        return f"SELECT {', '.join(items)} FROM {INPUT}{group}"

    def final_fragment(self, outs, group_exprs, g_cols, aggs: dict[str, _Agg], sort, limit):
        by_sql = {_sql(g): c for g, c in zip(group_exprs, g_cols)}

        def rewrite(e: exp.Expression) -> exp.Expression:
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
                    raise Unsupported(f"{_sql(e)} is neither grouped nor aggregated")
            return out

        items = [exp.alias_(rewrite(x), f"__c{i}", quoted=True) for i, (_, x) in enumerate(outs)]
        out_cols = [f"__c{i}" for i in range(len(outs))]
        sort_cols = []
        for i, (key, desc, nf) in enumerate(sort):
            col = self.output_ref(key, outs, out_cols)
            if col is None:
                col = f"__s{i}"
                items.append(exp.alias_(rewrite(self.resolve_alias(key)), col, quoted=True))
            sort_cols.append(SortKey(col, desc, nf))
        sel = exp.select(*items).from_(INPUT)
        if g_cols:
            sel = sel.group_by(*[_col(c) for c in g_cols])
        having = self.tree.args.get("having")
        ops = ["Group By Operator", f"  aggregations: {', '.join(_sql(a.final) for a in aggs.values()) or '(none)'}",
               f"  keys: {', '.join(g_cols) or '(none)'}", "  mode: mergepartial"]
        if having is not None:
            cond = rewrite(self.resolve_alias(having.this))
            sel = sel.having(cond)
            ops += ["Filter Operator", f"  predicate: {_sql(cond)}"]
        ops += ["Select Operator", f"  expressions: {', '.join(_sql(i.this) for i in items)}"]
        if limit is not None and not sort:
            sel = sel.limit(limit)
            ops += ["Limit", f"  Number of rows: {limit}"]
        return _sql(sel), ops, sort_cols

    def output_ref(self, key: exp.Expression, outs, out_cols) -> str | None:
        if isinstance(key, exp.Column) and not key.table:
            for (name, _), c in zip(outs, out_cols):
                if name.lower() == key.name.lower():
                    return c
        ks = _sql(key)
        for (_, x), c in zip(outs, out_cols):
            if _sql(x) == ks:
                return c
        return None

    # -- joins ------------------------------------------------------------------------------------------
    def with_relations(self, body: exp.Select, names: dict[str, str]) -> str:
        sel = body.copy()
        for t in sel.find_all(exp.Table):
            if t.name in names:
                t.set("this", exp.to_identifier(names[t.name], quoted=True))
        return _sql(sel)

    def join_job(self, body: exp.Select, first_ops: list[str]) -> MRJob:
        join = self.tree.args["joins"][0]
        kind = (join.args.get("kind") or "").upper()
        side = (join.args.get("side") or "").upper()
        if kind in ("CROSS", "SEMI", "ANTI", "ASOF") or join.args.get("using") or join.args.get("method"):
            raise Unsupported(f"{kind or side or 'this'} join not lowered yet")
        left, right = self.sources
        keys: list[tuple[exp.Expression, exp.Expression]] = []
        for c in _conjuncts(join.args.get("on")):
            if isinstance(c, exp.EQ):
                a, b = c.this, c.expression
                ta, tb = _tables_of(a), _tables_of(b)
                if ta == {left.alias} and tb == {right.alias}:
                    keys.append((a, b))
                elif ta == {right.alias} and tb == {left.alias}:
                    keys.append((b, a))
        if not keys:
            raise Unsupported("join without an equality between the two tables")
        null_supplying = {"LEFT": {right.alias}, "RIGHT": {left.alias}, "FULL": {left.alias, right.alias}}.get(side, set())
        on_sql = _sql(join.args["on"])
        join_ops = ["  condition map:", f"       {side.title() + ' Outer' if side else 'Inner'} Join 0 to 1",
                    "  keys:", f"    0 {', '.join(_sql(a) for a, _ in keys)}", f"    1 {', '.join(_sql(b) for _, b in keys)}"]

        # map join: broadcast a small side that is not the preserved side of an outer join
        small_limit = _setting_int(self.setting, "hive.mapjoin.smalltable.filesize", 25_000_000)
        auto = (self.setting("hive.auto.convert.join") or "true").lower() == "true"
        hinted = {h.lower() for h in self._mapjoin_hints()}
        for big, small in ((left, right), (right, left)):
            if side == "FULL" or (side and small.alias not in null_supplying):
                continue
            size = _scan_bytes(small.scan)
            if small.alias in hinted or (auto and size is not None and size <= small_limit):
                map_sql = self.with_relations(body, {big.scan.name: INPUT, small.scan.name: "__small0"})
                ops = (_scan_ops(big) + ["Map Join Operator"] + join_ops + [f"  small table: {small.alias} "
                       f"({size if size is not None else '?'} bytes <= hive.mapjoin.smalltable.filesize)"] + first_ops)
                return MRJob(stage="Stage-1", inputs=[MapInput(0, big.alias, map_sql, scan=big.scan, operators=ops)],
                             broadcasts=[Broadcast("__small0", small.alias, small.scan)])

        # reduce-side join: each side projects its columns and keys, tagged by input
        where = self.tree.args.get("where")
        inputs = []
        k_cols = [f"__k{i}" for i in range(len(keys))]
        for tag, src in enumerate(self.sources):
            cols = sorted({c.name for c in self.tree.find_all(exp.Column) if c.table.lower() == src.alias},
                          key=str.lower)
            items = [_col(c, src.alias) for c in cols]
            items += [exp.alias_(k[tag].copy(), kc, quoted=True) for k, kc in zip(keys, k_cols)]
            sel = exp.select(*items).from_(exp.Table(this=exp.to_identifier(INPUT, quoted=True),
                                                     alias=exp.TableAlias(this=exp.to_identifier(src.alias))))
            pushed = []
            if src.alias not in null_supplying:
                for c in _conjuncts(where.this if where else None):
                    if _tables_of(c) == {src.alias} and c.find(*NONDETERMINISTIC) is None:
                        pushed.append(c.copy())
            if pushed:
                sel = sel.where(exp.and_(*pushed))
            shuffle = Shuffle("hash", list(k_cols), [SortKey(c) for c in k_cols])
            ops = _scan_ops(src)
            if pushed:
                ops += ["Filter Operator", f"  predicate: {' AND '.join(_sql(p) for p in pushed)}"]
            ops += [_rs_ops(shuffle, cols, tag)]
            inputs.append(MapInput(tag, src.alias, _sql(sel), scan=src.scan, operators=ops))
        reduce_sql = self.with_relations(body, {left.scan.name: f"{INPUT}0", right.scan.name: f"{INPUT}1"})
        job = MRJob(stage="Stage-1", inputs=inputs, shuffle=Shuffle("hash", k_cols, [SortKey(c) for c in k_cols]),
                    reduce_sql=reduce_sql, num_reducers=self.reducers(),
                    reduce_operators=["Join Operator"] + join_ops + [f"  on: {on_sql}"] + first_ops)
        return job

    def _mapjoin_hints(self) -> list[str]:
        text = self.plan.hive_sql or ""
        import re

        out = []
        for m in re.finditer(r"(?is)/\*\+\s*MAPJOIN\s*\(([^)]*)\)", text):
            out.extend(x.strip() for x in m.group(1).split(",") if x.strip())
        return out


def repr_cols(cols: list[str]) -> list[str]:
    return [f'"{c}"' for c in cols]


def _scan_ops(src: _Source) -> list[str]:
    return ["TableScan", f"  alias: {src.alias}", f"  table: {src.scan.table}",
            f"  columns: {', '.join(c for c, _ in src.scan.columns) or '(none)'}"]


def _rs_ops(shuffle: Shuffle, values: list[str], tag: int | None = None) -> str:
    lines = ["Reduce Output Operator",
             f"  key expressions: {', '.join(k.column for k in shuffle.sort_keys) or '(none)'}",
             f"  sort order: {''.join('-' if k.descending else '+' for k in shuffle.sort_keys)}",
             f"  Map-reduce partition columns: {', '.join(shuffle.partition_columns) or '(none)'}"
             f" ({shuffle.partitioner})",
             f"  value expressions: {', '.join(values) or '(none)'}"]
    if tag is not None:
        lines.append(f"  tag: {tag}")
    return "\n".join(lines)


def lower(plan: QueryPlan, setting: Setting) -> MRPlan:
    """The MapReduce jobs for `plan`; raises `Unsupported` with the reason when not lowered."""
    return _Lowering(plan, setting).lower()
