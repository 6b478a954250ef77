"""Lowering a bound query to MapReduce jobs, cut at each shuffle.

The input is the Arrow engine's `QueryPlan`: its DuckDB SQL already carries
every Hive rewrite from `planner.translate`, so the lowering never re-derives
semantics. It parses that SQL and lowers it recursively: every SELECT block,
set operation, derived table and CTE becomes a sub-DAG whose rows are either
still streaming (fused into the consumer's map work) or an earlier job's
output files that later jobs read (`from_stage`).

A SELECT block: its FROM clause becomes one streaming source (joins: map-side
when a side is small, else reduce-side jobs, see `joins.py`); then
- no aggregate, window or DISTINCT: map work only;
- decomposable aggregates (sum/count/min/max/avg): map partial aggregate,
  combiner, reduce merge (`partial.py`);
- anything else (COUNT DISTINCT, percentiles, collect_*, GROUPING SETS,
  windows, DISTINCT): the map shuffles whole rows by the keys every group /
  window partition / distinct row shares, and the reducer runs the block's
  own SQL over its partition (one reducer when no key is shared);
- ORDER BY: a total-order sort job (sampled range partitioner), LIMIT pushed
  into the map tasks.
Uncorrelated subqueries in expressions run as earlier jobs whose output every
task loads (a broadcast); correlated ones load the tables they read whole.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from typing import Callable

import sqlglot
from sqlglot import exp

from planner.mr.decorrelate import PER_SPLIT_GROUPING, conjuncts, rewrite
from planner.mr.jobs import Broadcast, MapInput, MRJob, MRPlan, Shuffle, SortKey
from planner.mr.joins import NONDETERMINISTIC, JoinMixin, plain, tables_of
from planner.mr.partial import NotDecomposable, combiner_sql, decomposable, merge_rewrite, partial_aggregates
from planner.mr.sources import IN, Rel, Src, Unsupported, conj, q, rs_ops, scan_ops, short, sql, stage_ops
from planner.plan import QueryPlan, ScanNode

__all__ = ["Unsupported", "lower"]

DUCK = "duckdb"
Setting = Callable[[str], "str | None"]
SETTINGS_SNAPSHOT = (
    "hive.local.time.zone", "mapreduce.input.fileinputformat.split.maxsize", "mapreduce.task.io.sort.mb",
    "mapreduce.map.maxattempts", "mapreduce.reduce.maxattempts", "hive.exec.reducers.bytes.per.reducer",
    "hive.exec.reducers.max", "hiveish.mapreduce.fail.attempts", "hiveish.mapreduce.inprocess",
    "hiveish.mapreduce.workers", "hiveish.mapreduce.local.dir", "hiveish.mapreduce.sample.rows",
    "hiveish.mapreduce.sample.splits", "hiveish.mapreduce.kill.attempts", "hiveish.mapreduce.task.delay.ms",
    "mapreduce.map.memory.mb", "hive.mapjoin.smalltable.filesize",
    "mapreduce.reduce.memory.mb", "hiveish.mapreduce.cancel.grace.ms", "hiveish.mapreduce.runner",
    "hiveish.dask.scheduler", "hiveish.dask.timeout")


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


def _walk(e: exp.Expression | None, root: bool = True):
    """`e` and its sub-expressions, not descending into nested queries (yielded, not entered)."""
    if e is None:
        return
    yield e
    if not root and isinstance(e, (exp.Query, exp.Subquery)):
        return
    for child in e.iter_expressions():
        yield from _walk(child, False)


def _scope(sel: exp.Select):
    """Nodes of one SELECT block's own expressions (not its FROM items, CTEs or nested queries)."""
    for key, val in sel.args.items():
        if key in ("from_", "from", "with_", "with") or val is None:
            continue
        if key == "joins":
            for j in val:
                yield from _walk(j.args.get("on"), False) if j.args.get("on") is not None else ()
            continue
        for v in val if isinstance(val, list) else [val]:
            if isinstance(v, exp.Expression):
                yield from _walk(v, False)


def _in_window(node: exp.Expression) -> bool:
    p = node.parent
    while p is not None:
        if isinstance(p, exp.Window):
            return True
        if isinstance(p, (exp.Select, exp.Subquery)):
            return False
        p = p.parent
    return False


def _literal_int(e: exp.Expression | None, what: str) -> int | None:
    if e is None:
        return None
    if isinstance(e, (exp.Limit, exp.Offset)):
        e = e.expression if e.expression is not None else e.this
    if not isinstance(e, exp.Literal) or e.is_string:
        raise Unsupported(f"non-literal {what}")
    return int(e.this)


def _broadcast_refs(c: exp.Expression, by_name: dict[str, Broadcast]) -> list[str] | None:
    """The broadcast subquery results `c` reads (`IN (SELECT * FROM "__sqN")`), or None when `c` cannot move
    into one input's map work (another subquery, an aggregate, a window, a random function)."""
    if c.find(exp.AggFunc, exp.Window, *NONDETERMINISTIC) is not None:
        return None
    refs = []
    for node in c.find_all(exp.Query, exp.Subquery):
        query = node.this if isinstance(node, exp.Subquery) else node
        tables = list(query.find_all(exp.Table)) if isinstance(query, exp.Select) else []
        if len(tables) != 1 or tables[0].name not in by_name:
            return None
        refs.append(tables[0].name)
    return list(dict.fromkeys(refs))


class _Lowering(JoinMixin):
    def __init__(self, plan: QueryPlan, setting: Setting) -> None:
        self.plan = plan
        self.setting = setting
        self.scans = {s.name: s for s in plan.scans}
        self.jobs: list[MRJob] = []
        self.counter = 0
        self.ctes: dict[str, exp.Expression] = {}
        self.small_limit = _setting_int(setting, "hive.mapjoin.smalltable.filesize", 25_000_000)
        self.hints = {h.lower() for h in self._mapjoin_hints()}
        self.root: exp.Expression | None = None
        self.top_names: list[str] = []
        self.cte_uses: dict[str, int] = {}  # CTE name -> how many FROM items read it
        self.cte_rels: dict[int, Rel] = {}  # CTEs read more than once: lowered once, a stage every reader reads
        self.applied: dict[int, set[str]] = {}  # id(SELECT) -> WHERE conjuncts its FROM clause already applies
        # id() of conditions and join keys a join input's map work evaluates on its own rows: columns only
        # they read are not carried past that map work (`needed`)
        self.consumed: set[int] = set()
        self.origin: dict[int, exp.Expression] = {}  # id(copied node) -> the node it copies (see `copy_block`)
        self.copies: list[exp.Expression] = []  # keeps copied trees alive, so their ids stay theirs

    # -- plumbing ---------------------------------------------------------------------------------
    def new_name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def reducers(self) -> int:
        n = _setting_int(self.setting, "mapreduce.job.reduces", -1)
        return n if n > 0 else -1

    def add_job(self, job: MRJob) -> MRJob:
        job.stage = f"Stage-{len(self.jobs) + 1}"
        seen: dict[str, Broadcast] = {}
        for b in job.broadcasts:
            seen.setdefault(b.name, b)
        job.broadcasts = list(seen.values())
        deps = list(job.depends_on) + [b.from_stage for b in job.broadcasts if b.from_stage]
        job.depends_on = list(dict.fromkeys(d for d in deps if d))
        if job.shuffle is not None and job.shuffle.partitioner == "single":
            job.num_reducers = 1
        self.jobs.append(job)
        return job

    def _mapjoin_hints(self) -> list[str]:
        out = []
        for m in re.finditer(r"(?is)/\*\+\s*MAPJOIN\s*\(([^)]*)\)", self.plan.hive_sql or ""):
            out.extend(x.strip() for x in m.group(1).split(",") if x.strip())
        return out

    def needed(self, alias: str, cols: list[str]) -> list[str]:
        """The columns of `alias` the query reads anywhere (all of them for `alias.*`)."""
        refs: set[str] = set()
        assert self.root is not None
        for node in self.root.find_all(exp.Column, exp.Star):
            if isinstance(node, exp.Star) and isinstance(node.parent, exp.Select):
                return list(cols)  # a bare SELECT * reads every column of its FROM
            if isinstance(node, exp.Column):
                if node.table.lower() == alias:
                    if isinstance(node.this, exp.Star):
                        return list(cols)
                    if not self.is_consumed(node):
                        refs.add(node.name.lower())
                elif len(node.parts) > 2 and alias in (p.name.lower() for p in node.parts[:-2]):
                    # alias.col.field[.field]: sqlglot spells the column as a db or table part
                    refs.update(p.name.lower() for p in node.parts)
        return [c for c in cols if c.lower() in refs]

    def copy_block(self, sel: exp.Select) -> exp.Select:
        """A copy of `sel` to rewrite, remembering which node each copied node stands for, so that a
        condition the lowering consumes in the copy is known consumed in the query tree `needed` reads."""
        out = sel.copy()
        for a, b in zip(sel.walk(), out.walk()):
            self.origin[id(b)] = a
        self.copies.append(out)
        return out

    def consume(self, e: exp.Expression) -> None:
        """`e` (a join key or a filter) is evaluated by a join input's map work on that input's rows."""
        seen: exp.Expression | None = e
        while seen is not None and id(seen) not in self.consumed:
            self.consumed.add(id(seen))
            seen = self.origin.get(id(seen))

    def is_consumed(self, node: exp.Expression) -> bool:
        p: exp.Expression | None = node
        while p is not None:
            if id(p) in self.consumed:
                return True
            p = p.parent
        return False

    def pack(self, src: Src) -> tuple[list[str], dict[str, list[str]]]:
        items, aliases = [], {}
        for alias, cols in src.aliases.items():
            need = self.needed(alias, cols)
            if not need:
                continue
            fields = ", ".join(f"{q(c)} := {q(alias)}.{q(c)}" for c in need)
            items.append(f"struct_pack({fields}) AS {q(alias)}")
            aliases[alias] = need
        return items or ["TRUE AS __none"], aliases

    def materialize(self, rel: Rel) -> Src:
        """A stage holding `rel`'s rows (a map-only job unless it already is one)."""
        if rel.select_sql is None:
            return rel.src
        src = rel.src
        ops = src.ops + ["Select Operator", f"  expressions: {short(', '.join(rel.columns))}", "File Output Operator"]
        job = self.add_job(MRJob(stage="", inputs=[MapInput(0, src.label, rel.select_sql, scan=src.scan,
                                                            from_stage=src.stage, operators=ops)],
                                 broadcasts=list(src.broadcasts), depends_on=list(src.deps)))
        return Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage, ops=stage_ops(job.stage, job.stage))

    # -- entry ----------------------------------------------------------------------------------------
    def lower(self) -> MRPlan:
        try:
            tree = sqlglot.parse_one(self.plan.sql, read=DUCK)
        except Exception as e:  # noqa: BLE001 - anything we cannot re-read is not lowered
            raise Unsupported(f"cannot re-read the plan SQL ({type(e).__name__})") from e
        if not self.plan.scans:
            raise Unsupported("a query that reads no table runs on the vectorized engine")
        def small(name: str) -> bool:
            size = _scan_bytes(self.scans[name]) if name in self.scans else None
            return size is not None and size <= self.small_limit

        tree = rewrite(tree, small)
        self.root = tree
        self.cte_uses = {}
        for t in tree.find_all(exp.Table):
            if not t.args.get("db") and t.name not in self.scans:
                self.cte_uses[t.name.lower()] = self.cte_uses.get(t.name.lower(), 0) + 1
        rel, order, limit, offset, names = self.query(tree, top=True)
        fetch = limit
        per_reducer = self.plan.reducer_sort
        if per_reducer is not None and isinstance(tree, exp.Select) and limit is None and offset is None \
                and (order or per_reducer.distribute) and all(i < len(names) for i in per_reducer.distribute):
            rel = self.reducer_sort(rel, order, [names[i] for i in per_reducer.distribute], names)
        elif order:
            rel = self.sort(rel, order, limit, offset, names, top=True)
        elif offset is not None:
            raise Unsupported("OFFSET without ORDER BY")
        final_src = self.materialize(rel) if rel.select_sql is not None else rel.src
        if not self.jobs or final_src.stage != self.jobs[-1].stage:
            raise Unsupported("the query has no MapReduce work")
        last = self.jobs[-1]
        last.final = True
        for j in self.jobs:
            if j.map_only:
                for m in j.inputs:
                    if not m.operators or m.operators[-1] != "File Output Operator":
                        m.operators.append("File Output Operator")
            else:
                j.reduce_operators.append("File Output Operator" + ("" if j.final else " (intermediate)"))
        settings = {k: self.setting(k) or "" for k in SETTINGS_SNAPSHOT}
        shown = list(self.plan.column_names)
        if len(shown) != len(names):  # the binder could not tell (SELECT * over a subquery): the SQL's aliases
            shown = list(self.top_names)
        return MRPlan(jobs=self.jobs, output_columns=names, column_names=shown,
                      fetch_limit=fetch, settings=settings)

    # -- queries ---------------------------------------------------------------------------------------
    def query(self, node: exp.Expression, top: bool):
        """(rel, pending ORDER BY, LIMIT, OFFSET, visible columns) of a query expression.

        ORDER BY/LIMIT are returned for the caller to apply (a top-level sort is total-order
        over several reducers; a nested one with LIMIT uses one reducer)."""
        for cte in (node.args.get("with_") or node.args.get("with") or exp.With()).expressions:
            self.ctes[cte.alias_or_name.lower()] = cte.this
        if isinstance(node, exp.Subquery):
            return self.query(node.this, top)
        if isinstance(node, exp.Select):
            return self.block(node, top)
        if isinstance(node, exp.SetOperation):
            return self.setop(node, top)
        raise Unsupported(f"{type(node).__name__} not lowered")

    def nested(self, node: exp.Expression) -> Rel:
        """A nested query's rows (ORDER BY without LIMIT is dropped: it orders nothing)."""
        rel, order, limit, offset, names = self.query(node, top=False)
        if limit is not None or offset is not None:
            if order:
                return self.sort(rel, order, limit, offset, names, top=False)
            if offset is not None:
                raise Unsupported("OFFSET without ORDER BY")
            return self.limit_job(rel, limit, names)
        if len(names) != len(rel.columns):
            rel = Rel(rel.src, names, f"SELECT {', '.join(q(c) for c in names)} FROM ({rel.map_sql()}) AS __v")
        return rel

    def setop(self, node: exp.SetOperation, top: bool):
        kind = type(node).__name__.upper()  # UNION | INTERSECT | EXCEPT
        distinct = node.args.get("distinct") is not False
        branches: list[exp.Expression] = []

        def flatten(n: exp.Expression) -> None:
            if isinstance(n, exp.Union) and kind == "UNION" and (n.args.get("distinct") is not False) == distinct \
                    and not n.args.get("order") and not n.args.get("limit"):
                flatten(n.this)
                flatten(n.expression)
            else:
                branches.append(n)

        flatten(node.this)
        flatten(node.expression)
        rels = [self.nested(b) for b in branches]
        width = len(rels[0].columns)
        if any(len(r.columns) != width for r in rels):
            raise Unsupported("set operation branches of different widths")
        names = [f"__c{i}" for i in range(width)] if top else list(rels[0].columns)
        if top:
            self.top_names = list(rels[0].columns)
        shuffle = Shuffle("hash", list(names), [SortKey(c) for c in names])
        inputs, bcasts, deps = [], [], []
        for tag, r in enumerate(rels):
            sel = ", ".join(f"{q(c)} AS {q(n)}" for c, n in zip(r.columns, names))
            inputs.append(MapInput(tag, r.src.label or f"branch {tag}", f"SELECT {sel} FROM ({r.map_sql()}) AS __u",
                                   scan=r.src.scan, from_stage=r.src.stage,
                                   operators=r.src.ops + ["Select Operator", f"  expressions: {sel}",
                                                          "Union", rs_ops(shuffle, [], tag)]))
            bcasts += r.src.broadcasts
            deps += r.src.deps
        op = f"{kind}{'' if distinct else ' ALL'}"
        reduce_sql = f" {op} ".join(f'SELECT * FROM "__input{t}"' for t in range(len(rels)))
        job = self.add_job(MRJob(stage="", inputs=inputs, shuffle=shuffle, reduce_sql=reduce_sql,
                                 broadcasts=bcasts, depends_on=deps, num_reducers=self.reducers(),
                                 reduce_operators=["Union" if kind == "UNION" else kind.title(),
                                                   f"  mode: {op}"]))
        src = Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage, ops=stage_ops(job.stage, job.stage))
        rel = Rel(src, names)
        order = self.order_of(node, [(n, exp.column(c, quoted=True)) for n, c in zip(rels[0].columns, names)], names)
        return (rel, order, _literal_int(node.args.get("limit"), "LIMIT"),
                _literal_int(node.args.get("offset"), "OFFSET"), names)

    # -- ORDER BY / LIMIT -----------------------------------------------------------------------------
    def order_of(self, node, outs: list[tuple[str, exp.Expression]], names: list[str]):
        """ORDER BY keys as (output column, desc, nulls_first); non-output keys -> Unsupported."""
        order = node.args.get("order")
        keys = []
        for o in order.expressions if order else []:
            desc = bool(o.args.get("desc"))
            nulls_first = True if not desc else bool(o.args.get("nulls_first"))
            col = self.output_ref(o.this, outs, names)
            if col is None:
                raise Unsupported("ORDER BY on an expression that is not an output column")
            keys.append(SortKey(col, desc, nulls_first))
        return keys

    @staticmethod
    def output_ref(key: exp.Expression, outs, names) -> str | None:
        if isinstance(key, exp.Literal) and not key.is_string:
            i = int(key.this)
            return names[i - 1] if 0 < i <= len(names) else None
        if isinstance(key, exp.Column) and not key.table:
            for (name, _), c in zip(outs, names):
                if name.lower() == key.name.lower():
                    return c
        ks = sql(key)
        for (_, x), c in zip(outs, names):
            if sql(x) == ks:
                return c
        return None

    def sort(self, rel: Rel, keys: list[SortKey], limit: int | None, offset: int | None, names: list[str],
             top: bool) -> Rel:
        order = ", ".join(k.sql() for k in keys)
        total = limit + (offset or 0) if limit is not None else None
        base = rel.map_sql()
        map_sql = f"SELECT * FROM ({base}) AS __m ORDER BY {order} LIMIT {total}" if total is not None else base
        single = not top or offset is not None
        shuffle = Shuffle("single" if single else "range", [k.column for k in keys], keys)
        sel = ", ".join(q(c) for c in names)
        tail = (f" LIMIT {limit}" if limit is not None else (" LIMIT -1" if offset else "")) + \
            (f" OFFSET {offset}" if offset else "")
        ops = rel.src.ops + (["Limit (top-n per map task)", f"  Number of rows: {total}"] if total is not None else [])
        job = self.add_job(MRJob(
            stage="", inputs=[MapInput(0, rel.src.label, map_sql, scan=rel.src.scan, from_stage=rel.src.stage,
                                       operators=ops + [rs_ops(shuffle, rel.columns)])],
            shuffle=shuffle, reduce_sql=f"SELECT {sel} FROM {IN} ORDER BY {order}{tail}",
            broadcasts=list(rel.src.broadcasts), depends_on=list(rel.src.deps),
            num_reducers=1 if single else self.reducers(),
            reduce_operators=["Select Operator", f"  expressions: {sel}"]
            + (["Limit", f"  Number of rows: {limit}"] if limit is not None else [])))
        return Rel(Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage,
                       ops=stage_ops(job.stage, job.stage)), list(names))

    def reducer_sort(self, rel: Rel, keys: list[SortKey], distribute: list[str], names: list[str]) -> Rel:
        """SORT BY / DISTRIBUTE BY / CLUSTER BY: rows hash-partitioned by the DISTRIBUTE BY columns (by the
        SORT BY keys when none), each reducer's rows sorted by the SORT BY keys (secondary sort); one
        reducer gives a total order."""
        shuffle = Shuffle("hash", list(distribute or [k.column for k in keys]), keys)
        sel = ", ".join(q(c) for c in names)
        order = f" ORDER BY {', '.join(k.sql() for k in keys)}" if keys else ""
        job = self.add_job(MRJob(
            stage="", inputs=[MapInput(0, rel.src.label, rel.map_sql(), scan=rel.src.scan, from_stage=rel.src.stage,
                                       operators=rel.src.ops + [rs_ops(shuffle, rel.columns)])],
            shuffle=shuffle, reduce_sql=f"SELECT {sel} FROM {IN}{order}", broadcasts=list(rel.src.broadcasts),
            depends_on=list(rel.src.deps), num_reducers=self.reducers(),
            reduce_operators=["Select Operator", f"  expressions: {sel}"]
            + (["Extract (sorted per reducer)"] if keys else [])))
        return Rel(Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage,
                       ops=stage_ops(job.stage, job.stage)), list(names))

    def limit_job(self, rel: Rel, limit: int | None, names: list[str]) -> Rel:
        sel = ", ".join(q(c) for c in names)
        shuffle = Shuffle("single", [], [])
        job = self.add_job(MRJob(
            stage="", inputs=[MapInput(0, rel.src.label, f"SELECT {sel} FROM ({rel.map_sql()}) AS __m LIMIT {limit}",
                                       scan=rel.src.scan, from_stage=rel.src.stage,
                                       operators=rel.src.ops + ["Limit", f"  Number of rows: {limit}",
                                                                rs_ops(shuffle, names)])],
            shuffle=shuffle, reduce_sql=f"SELECT * FROM {IN} LIMIT {limit}", broadcasts=list(rel.src.broadcasts),
            depends_on=list(rel.src.deps), reduce_operators=["Limit", f"  Number of rows: {limit}"]))
        return Rel(Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage,
                       ops=stage_ops(job.stage, job.stage)), list(names))

    # -- FROM ------------------------------------------------------------------------------------------
    def item(self, node: exp.Expression) -> Src:
        alias = node.alias_or_name.lower()
        if isinstance(node, exp.Table):
            scan = self.scans.get(node.name)
            if scan is not None and not node.args.get("db"):
                scan = self.pruned(alias, scan)
                t = node.copy()
                t.set("this", exp.to_identifier("__input", quoted=True))
                t.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
                sampled = t.args.get("sample") is not None
                return Src(sql(t), {alias: [c for c, _ in scan.columns]}, scan=scan, label=alias,
                           size=None if sampled else _scan_bytes(scan), ops=scan_ops(alias, scan))
            cte = self.ctes.get(node.name.lower())
            if cte is None:
                raise Unsupported(f"unknown relation {node.name}")
            rel = self.cte_rel(node.name.lower(), cte)
        elif isinstance(node, exp.Subquery):
            rel = self.nested(node.this)
        else:
            raise Unsupported(f"FROM item {type(node).__name__} not lowered")
        src = rel.src.copy()
        src.from_sql = f"({rel.select_sql}) AS {q(alias)}" if rel.select_sql is not None else f"{IN} AS {q(alias)}"
        src.aliases = {alias: list(rel.columns)}
        src.label = alias
        return src

    def pruned(self, alias: str, scan: ScanNode) -> ScanNode:
        """`scan` reading only the data columns the (rewritten) query uses: the binder kept every column
        a decorrelated `EXISTS (SELECT * ...)` listed."""
        need = {c.lower() for c in self.needed(alias, [c for c, _ in scan.columns])}
        assert self.root is not None
        need |= {c.name.lower() for c in self.root.find_all(exp.Column) if not c.table}  # unqualified: any alias
        # col.field[.field] without an alias: the column is the first part
        need |= {c.parts[0].name.lower() for c in self.root.find_all(exp.Column) if len(c.parts) > 1}
        if scan.sample and scan.sample[2]:
            need.add(scan.sample[2].lower())  # TABLESAMPLE(BUCKET … ON col) hashes it in the map task
        parts = {n for src in scan.sources for n, _, _ in src.constants}
        data = [c for c in scan.columns if c[0] not in parts]
        keep = [c for c in data if c[0].lower() in need]
        if not keep or len(keep) == len(data):
            return scan
        names = {c for c, _ in keep}
        sources = [replace(src, columns=[c for c in src.columns if c[0] in names]) for src in scan.sources]
        return replace(scan, columns=keep + [c for c in scan.columns if c[0] in parts], sources=sources)

    def cte_rel(self, name: str, cte: exp.Expression) -> Rel:
        """A CTE's rows; one read more than once is lowered once into a stage its readers share."""
        if self.cte_uses.get(name, 0) < 2:
            return self.nested(cte)
        key = id(cte)  # not the name: a view's own WITH may reuse it
        if key not in self.cte_rels:
            rel = self.nested(cte)
            self.cte_rels[key] = Rel(self.materialize(rel), list(rel.columns))
        rel = self.cte_rels[key]
        return Rel(rel.src.copy(), list(rel.columns))

    @staticmethod
    def is_lateral(node: exp.Expression) -> bool:
        return isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select) \
            and node.this.args.get("from_") is None

    def from_clause(self, sel: exp.Select, extra: list[Broadcast]) -> Src:
        frm = sel.args["from_"]
        joins = list(sel.args.get("joins") or [])
        for j in joins:
            if j.args.get("using") or j.args.get("method") or (j.args.get("kind") or "").upper() == "ASOF":
                raise Unsupported("JOIN USING / ASOF not lowered")
        kinds = [((j.args.get("kind") or "").upper(), (j.args.get("side") or "").upper()) for j in joins]
        laterals = [self.is_lateral(j.this) for j in joins]
        where = conjuncts(sel.args["where"].this) if sel.args.get("where") else []
        applied = self.applied.setdefault(id(sel), set())
        if self.is_lateral(frm.this):
            raise Unsupported("FROM starts with a lateral subquery")
        inner = [not lat and s == "" and k in ("", "INNER", "CROSS") for (k, s), lat in zip(kinds, laterals)]
        # trailing SEMI/ANTI joins (decorrelated [NOT] EXISTS / IN) filter an inner-join chain's rows
        n_semi = 0
        while n_semi < len(joins) and not laterals[-1 - n_semi] and kinds[-1 - n_semi][0] in ("SEMI", "ANTI"):
            n_semi += 1
        head = len(joins) - n_semi
        items = [self.item(frm.this)] + [None if lat else self.item(j.this) for j, lat in zip(joins, laterals)]
        if head and all(inner[:head]):
            acc = self.inner_joins(sel, items[:head + 1], joins[:head], where, extra)
            for j, it, (kind, side) in zip(joins[head:], items[head + 1:], kinds[head:]):
                assert it is not None
                acc = self.join(acc, it, kind, side, conjuncts(j.args.get("on")), extra)
            return acc
        # written order; push WHERE filters into items that no outer join can null
        null_side: set[int] = set()
        for i, (k, s) in enumerate(kinds, 1):
            if s in ("LEFT", "FULL"):
                null_side.add(i)
            if s in ("RIGHT", "FULL"):
                null_side.update(range(i))
        for i, it in enumerate(items):
            if it is not None and i not in null_side:
                for c in where:
                    if plain(c) and tables_of(c) and tables_of(c) <= set(it.aliases):
                        it.where.append(sql(c))
                        applied.add(sql(c))
                        self.consume(c)
        acc = items[0]
        assert acc is not None
        for j, it, (kind, side) in zip(joins, items[1:], kinds):
            if it is None:  # a lateral view: runs in the map work beside its left side
                sub = j.this
                acc = acc.copy()
                on = j.args.get("on")
                kw = f"{side} JOIN" if side else ("JOIN" if on is not None else "CROSS JOIN")
                acc.from_sql += f" {kw} {sql(sub)}" + (f" ON {sql(on)}" if on is not None else "")
                acc.aliases[sub.alias_or_name.lower()] = [e.alias_or_name for e in sub.this.expressions]
                acc.ops += ["Lateral View Forward", f"  {short(sql(sub))}"]
                continue
            conds = conjuncts(j.args.get("on"))
            if j.args.get("on") is None and kind in ("", "INNER", "CROSS"):
                la, ra = set(acc.aliases), set(it.aliases)
                conds = [c for c in where if isinstance(c, exp.EQ) and plain(c) and tables_of(c) <= la | ra
                         and tables_of(c) & la and tables_of(c) & ra]
                applied.update(sql(c) for c in conds)
            acc = self.join(acc, it, kind, side, conds, extra)
        return acc

    def inner_joins(self, sel, items: list[Src | None], joins, where, extra) -> Src:
        """Inner/comma joins, reordered: start from the biggest input, add connected inputs, small ones first."""
        pool = list(where)
        for j in joins:
            pool += conjuncts(j.args.get("on"))
        applied = self.applied.setdefault(id(sel), set())
        srcs = [s for s in items if s is not None]
        by_name = {b.name: b for b in extra}
        for s in srcs:  # push single-input filters into the input
            for c in pool + self.implied_in(pool, by_name):
                refs = _broadcast_refs(c, by_name)
                if refs is not None and tables_of(c) and tables_of(c) <= set(s.aliases):
                    s.where.append(sql(c))
                    s.broadcasts += [by_name[r] for r in refs]
                    applied.add(sql(c))
                    self.consume(c)

        def size(s: Src) -> int:
            return s.size if s.size is not None else self.small_limit + 1

        start = max(range(len(srcs)), key=lambda i: (size(srcs[i]), -i))
        acc = srcs.pop(start)
        position = {a: 0 for a in acc.aliases}
        used: set[int] = set()
        while srcs:
            def links(s: Src) -> list[int]:
                out = []
                for n, c in enumerate(pool):
                    if n in used or not isinstance(c, exp.EQ) or not plain(c):
                        continue
                    ta, tb = tables_of(c.this), tables_of(c.expression)
                    both = set(acc.aliases) | set(s.aliases)
                    if ta and tb and (ta | tb) <= both and not (ta | tb) <= set(acc.aliases) \
                            and not (ta | tb) <= set(s.aliases):
                        out.append(n)
                return out

            def depth(s: Src) -> int:
                """How early the inputs it joins with entered the chain (breadth-first from the biggest:
                a small table that only shares a non-key column with a late input must not multiply rows)."""
                return min(position.get(t, 0) for n in links(s) for t in tables_of(pool[n]) if t in position)

            def links_to(s: Src, other: Src) -> bool:
                both = set(other.aliases) | set(s.aliases)
                return any(n not in used and isinstance(c, exp.EQ) and plain(c) and tables_of(c) <= both
                           and tables_of(c) & set(s.aliases) and tables_of(c) & set(other.aliases)
                           for n, c in enumerate(pool))

            def waits_for_big(s: Src) -> bool:
                """It also joins a big input still to come: joined now, it could only meet the chain on
                its other, non-key columns (Q5: customer on c_nationkey before orders on c_custkey
                would give every lineitem row thousands of customers)."""
                return any(o is not s and not self.broadcastable(o) and links_to(s, o) for o in srcs)

            connected = [i for i, s in enumerate(srcs) if links(s)]
            if connected:
                # map joins first (small tables filter rows before any shuffle), then breadth-first
                pick = min(connected, key=lambda i: (0 if self.broadcastable(srcs[i]) and not waits_for_big(srcs[i])
                                                     else 1, depth(srcs[i]), size(srcs[i]), i))
            else:
                pick = 0
            it = srcs.pop(pick)

            def between(a: Src, b: Src) -> list[exp.Expression]:
                both = set(a.aliases) | set(b.aliases)
                out = []
                for n, c in enumerate(pool):
                    t = tables_of(c)
                    if n not in used and plain(c) and t and t <= both and t & set(a.aliases) and t & set(b.aliases):
                        out.append(c)
                        used.add(n)
                        applied.add(sql(c))
                return out

            if not self.broadcastable(it):
                # small tables that only join this input are map-joined into its map work before the shuffle
                # (Q3: customer filters orders before orders meets lineitem)
                while True:
                    only_it = [i for i, s in enumerate(srcs) if self.broadcastable(s) and links_to(s, it)
                               and not links_to(s, acc)]
                    if not only_it:
                        break
                    small = srcs.pop(only_it[0])
                    it = self.join(it, small, "", "", between(it, small), extra)
            for a in it.aliases:
                position[a] = len(position)
            acc = self.join(acc, it, "", "", between(acc, it), extra)
        if any(j.args.get("on") is not None for j in joins):  # ON conditions now hold in WHERE
            ons = [c for j in joins for c in conjuncts(j.args.get("on"))]
            w = sel.args.get("where")
            sel.set("where", exp.Where(this=exp.and_(*([w.this] if w else []), *[c.copy() for c in ons])))
        return acc

    @staticmethod
    def implied_in(pool: list[exp.Expression], by_name: dict[str, Broadcast]) -> list[exp.Expression]:
        """`b.y IN (S)` for each `a.x IN (S)` (S an earlier job's rows) and join key `a.x = b.y`: the other
        side of an inner join is filtered in its map task too (Q18: lineitem by the big orders' keys)."""
        out = []
        for c in pool:
            if not isinstance(c, exp.In) or not isinstance(c.this, exp.Column) or not _broadcast_refs(c, by_name):
                continue
            for e in pool:
                if isinstance(e, exp.EQ) and isinstance(e.this, exp.Column) and isinstance(e.expression, exp.Column):
                    for a, b in ((e.this, e.expression), (e.expression, e.this)):
                        if sql(a) == sql(c.this) and a.table.lower() != b.table.lower():
                            new = c.copy()
                            new.set("this", b.copy())
                            out.append(new)
        return out

    # -- expression subqueries ---------------------------------------------------------------------------
    def subqueries(self, sel: exp.Select) -> list[Broadcast]:
        """Replace the block's expression subqueries by relations every task loads whole."""
        out: list[Broadcast] = []
        found = [n for n in _scope(sel) if isinstance(n, (exp.Query, exp.Subquery))]
        for node in found:
            query = node.this if isinstance(node, exp.Subquery) else node
            if self.correlated(query):
                out += self.broadcast_tables(query)
                continue
            src = self.materialize(self.nested(query))
            b = Broadcast(self.new_name("__sq"), "subquery", from_stage=src.stage, purpose="subquery")
            out.append(b)
            query.replace(sqlglot.parse_one(f"SELECT * FROM {q(b.name)}", read=DUCK))
        return out

    def correlated(self, query: exp.Expression) -> bool:
        defined = {t.alias_or_name.lower() for t in query.find_all(exp.Table)}
        defined |= {s.alias.lower() for s in query.find_all(exp.Subquery) if s.alias}
        return any(c.table and c.table.lower() not in defined for c in query.find_all(exp.Column))

    def broadcast_tables(self, query: exp.Expression) -> list[Broadcast]:
        out = []
        for t in list(query.find_all(exp.Table)):
            scan = self.scans.get(t.name)
            if scan is None:
                raise Unsupported("a correlated subquery over a CTE or view output")
            b = Broadcast(self.new_name("__bt"), t.alias_or_name, scan=scan, purpose="correlated subquery")
            t.set("this", exp.to_identifier(b.name, quoted=True))
            out.append(b)
        return out

    # -- one SELECT block --------------------------------------------------------------------------------
    def block(self, sel: exp.Select, top: bool):
        sel = self.copy_block(sel)
        if sel.args.get("windows"):
            raise Unsupported("WINDOW clause not lowered")
        distinct = sel.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            raise Unsupported("DISTINCT ON not lowered")
        if sel.args.get("from_") is None:
            raise Unsupported("a subquery without FROM")
        extra = self.subqueries(sel)
        src = self.from_clause(sel, extra)
        src.broadcasts += extra
        outs = []
        for e in sel.expressions:
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
                if e.args.get("except") or e.args.get("replace") or e.args.get("rename"):
                    raise Unsupported("SELECT * EXCLUDE/REPLACE not lowered")
                only = e.table.lower() if isinstance(e, exp.Column) else None
                for alias, cols in src.aliases.items():
                    if only is None or alias == only:
                        outs += [(c, exp.column(c, table=alias, quoted=True)) for c in cols]
                continue
            outs.append((e.alias_or_name, e.this if isinstance(e, exp.Alias) else e))
        names = [f"__c{i}" for i in range(len(outs))] if top else [n for n, _ in outs]
        if top:
            self.top_names = [n for n, _ in outs]
        if len({n.lower() for n in names}) != len(names):
            raise Unsupported("a derived table with duplicate column names")
        limit = _literal_int(sel.args.get("limit"), "LIMIT")
        offset = _literal_int(sel.args.get("offset"), "OFFSET")
        order = sel.args.get("order")
        sorted_out = order is not None and (top or limit is not None or offset is not None)
        scope = list(_scope(sel))
        windows = [n for n in scope if isinstance(n, exp.Window)]
        aggs = [n for n in scope if isinstance(n, exp.AggFunc) and not _in_window(n)]
        group = sel.args.get("group")
        done = self.applied.pop(id(sel), set())  # filters the FROM clause's inputs and joins already applied
        where = [sql(c) for c in conjuncts(sel.args["where"].this) if sql(c) not in done] \
            if sel.args.get("where") else []
        if sel.args.get("qualify"):
            windows = windows or [exp.Window()]

        # ORDER BY keys that are not outputs become hidden columns
        sort_keys: list[SortKey] = []
        hidden: list[tuple[str, exp.Expression]] = []
        for i, o in enumerate(order.expressions if sorted_out else []):
            desc = bool(o.args.get("desc"))
            nulls_first = True if not desc else bool(o.args.get("nulls_first"))
            col = self.output_ref(o.this, outs, names)
            if col is None:
                if distinct is not None:
                    raise Unsupported("ORDER BY a non-selected expression with DISTINCT")
                col = f"__s{i}"
                hidden.append((col, self.resolve_alias(o.this, outs)))
            sort_keys.append(SortKey(col, desc, nulls_first))
        all_names = names + [c for c, _ in hidden]
        all_exprs = [x for _, x in outs] + [x for _, x in hidden]

        per_split = bool(sel.meta.get(PER_SPLIT_GROUPING)) and group is not None and not windows \
            and distinct is None and not sel.args.get("having") and limit is None and not order
        if per_split or not (group or aggs or windows or distinct is not None):
            items = ", ".join(f"{sql(x)} AS {q(n)}" for x, n in zip(all_exprs, all_names))
            lim = f" LIMIT {limit}" if limit is not None and not order and not offset else ""
            grouped = f" GROUP BY {', '.join(sql(g) for g in group.expressions)}" if per_split else ""
            text = f"SELECT {items} FROM {src.from_sql}{src.where_sql(where)}{grouped}{lim}"
            out = src.copy()
            out.where = []
            out.shrink = src.shrink * 0.5 ** (len(src.where) + len(where))
            if where or src.where:
                out.ops = out.ops + ["Filter Operator", f"  predicate: {short(conj(src.where + where))}"]
            if per_split:  # Hive's map-side Group By (mode: hash) with no reduce-side merge: the consumer needs none
                out.ops = out.ops + ["Group By Operator", f"  aggregations: {short(', '.join(sql(a) for a in aggs))}"
                                     f"{'' if aggs else '(none)'}", f"  keys: {short(sql(group))}",
                                     "  mode: hash (per map task)"]
            out.ops = out.ops + ["Select Operator", f"  expressions: {short(', '.join(sql(x) for x in all_exprs))}"]
            rel = Rel(out, all_names, text)
        else:
            rel = None
            grouping_sets = group is not None and any(isinstance(g, (exp.Rollup, exp.Cube, exp.GroupingSets))
                                                      for g in group.expressions) or bool(
                group and (group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")))
            if not windows and distinct is None and not grouping_sets and decomposable(aggs) \
                    and not any(isinstance(n, (exp.Query, exp.Subquery)) and n.find_ancestor(exp.Where) is None
                                for n in scope):  # a WHERE subquery filters in the map work: partials are fine
                try:
                    rel = self.partial_job(sel, src, where, outs, all_names, all_exprs, limit if not order else None)
                except NotDecomposable:
                    rel = None
            if rel is None:
                rel = self.whole_job(sel, src, where, outs, all_names, all_exprs, windows, aggs,
                                     limit if not order else None)
        if not sorted_out:
            return rel, [], limit, offset, names
        return rel, sort_keys, limit, offset, names

    def resolve_alias(self, e: exp.Expression, outs) -> exp.Expression:
        """An unqualified column naming a select alias stands for that select expression."""
        by_name = {n.lower(): x for n, x in outs}

        def fix(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table and node.name.lower() in by_name:
                return by_name[node.name.lower()].copy()
            return node

        return e.copy().transform(fix)

    def group_exprs(self, sel: exp.Select, outs) -> list[exp.Expression]:
        group = sel.args.get("group")
        out = []
        for g in group.expressions if group else []:
            if isinstance(g, exp.Literal) and not g.is_string:
                i = int(g.this)
                if not 0 < i <= len(outs):
                    raise Unsupported("GROUP BY position out of range")
                out.append(outs[i - 1][1].copy())
            else:
                out.append(self.resolve_alias(g, outs))
        return out

    def partial_job(self, sel, src: Src, where, outs, names, exprs, limit) -> Rel:
        group_exprs = self.group_exprs(sel, outs)
        having = sel.args.get("having")
        agg_exprs = list(exprs) + ([self.resolve_alias(having.this, outs)] if having else [])
        aggs = partial_aggregates(agg_exprs)
        g_cols = [f"__g{i}" for i in range(len(group_exprs))]
        by_sql = {sql(g): c for g, c in zip(group_exprs, g_cols)}
        items = [f"{sql(g)} AS {q(c)}" for g, c in zip(group_exprs, g_cols)]
        a_cols: list[tuple[str, str]] = []
        for a in aggs.values():
            for col, partial, merge in a.partials:
                items.append(f"{sql(partial)} AS {q(col)}")
                a_cols.append((col, merge))
        final_items = [merge_rewrite(x, aggs, by_sql) for x in exprs]
        cond = merge_rewrite(self.resolve_alias(having.this, outs), aggs, by_sql) if having else None
        group_sql = f" GROUP BY {', '.join(sql(g) for g in group_exprs)}" if group_exprs else ""
        map_sql = f"SELECT {', '.join(items)} FROM {src.from_sql}{src.where_sql(where)}{group_sql}"
        shuffle = Shuffle("hash" if g_cols else "single", list(g_cols), [SortKey(c) for c in g_cols],
                          combiner_sql(g_cols, a_cols))
        red = f"SELECT {', '.join(f'{sql(x)} AS {q(n)}' for x, n in zip(final_items, names))} FROM {IN}"
        red += f" GROUP BY {', '.join(q(c) for c in g_cols)}" if g_cols else ""
        red += f" HAVING {sql(cond)}" if cond is not None else ""
        red += f" LIMIT {limit}" if limit is not None else ""
        ops = list(src.ops)
        if where or src.where:
            ops += ["Filter Operator", f"  predicate: {short(conj(src.where + where))}"]
        ops += ["Group By Operator", f"  aggregations: {short(', '.join(aggs)) or '(none)'}",
                f"  keys: {short(', '.join(sql(g) for g in group_exprs)) or '(none)'}", "  mode: hash",
                rs_ops(shuffle, [c for c, _ in a_cols])]
        rops = ["Group By Operator", f"  aggregations: {short(', '.join(sql(a.final) for a in aggs.values()))}",
                f"  keys: {', '.join(g_cols) or '(none)'}", "  mode: mergepartial"]
        if cond is not None:
            rops += ["Filter Operator", f"  predicate: {short(sql(cond))}"]
        rops += ["Select Operator", f"  expressions: {short(', '.join(sql(x) for x in final_items))}"]
        if limit is not None:
            rops += ["Limit", f"  Number of rows: {limit}"]
        job = self.add_job(MRJob(stage="", inputs=[MapInput(0, src.label, map_sql, scan=src.scan,
                                                            from_stage=src.stage, operators=ops)],
                                 shuffle=shuffle, reduce_sql=red, reduce_operators=rops,
                                 broadcasts=list(src.broadcasts), depends_on=list(src.deps),
                                 num_reducers=self.reducers()))
        return Rel(Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage,
                       ops=stage_ops(job.stage, job.stage)), list(names))

    def partition_exprs(self, sel, outs, windows, aggs) -> list[exp.Expression]:
        """Expressions every group, window partition and distinct row shares: the shuffle keys."""
        cands: dict[str, exp.Expression] | None = None

        def meet(exprs: list[exp.Expression]) -> None:
            nonlocal cands
            keyed = {sql(e): e for e in exprs}
            cands = keyed if cands is None else {k: v for k, v in cands.items() if k in keyed}

        group = sel.args.get("group")
        if group is not None:
            common: list[exp.Expression] = []
            sets: list[list[exp.Expression]] | None = None
            for g in list(group.expressions) + list(group.args.get("grouping_sets") or []):
                if isinstance(g, (exp.Rollup, exp.Cube)):
                    sets = (sets or []) + [[]]
                elif isinstance(g, exp.GroupingSets):
                    for s in g.expressions:
                        inner = s.expressions if isinstance(s, exp.Tuple) else [s.this if isinstance(s, exp.Paren)
                                                                                 else s]
                        sets = (sets or []) + [[self.resolve_alias(x, outs) for x in inner]]
                elif isinstance(g, exp.Literal) and not g.is_string:
                    common += self.group_exprs(sel, outs)[list(group.expressions).index(g):][:1]
                else:
                    common.append(self.resolve_alias(g, outs))
            if group.args.get("rollup") or group.args.get("cube"):
                sets = (sets or []) + [[]]
            if sets is not None:
                shared = {sql(e) for e in sets[0]}
                for s in sets[1:]:
                    shared &= {sql(e) for e in s}
                common += [e for e in sets[0] if sql(e) in shared]
            meet(common)
        elif aggs:
            meet([])
        for w in windows:
            meet([self.resolve_alias(e, outs) for e in (w.args.get("partition_by") or [])])
        if sel.args.get("distinct") is not None:
            meet([x for _, x in outs])
        return [e for e in (cands or {}).values() if plain(e) and not isinstance(e, exp.Literal)
                and tables_of(e)]

    def whole_job(self, sel, src: Src, where, outs, names, exprs, windows, aggs, limit) -> Rel:
        """Shuffle whole rows by the shared keys; the reducer runs the block's SQL over its partition."""
        parts = self.partition_exprs(sel, outs, windows, aggs)
        p_cols = [f"__p{i}" for i in range(len(parts))]
        items, aliases = self.pack(src)
        items += [f"{sql(e)} AS {q(c)}" for e, c in zip(parts, p_cols)]
        map_sql = f"SELECT {', '.join(items)} FROM {src.from_sql}{src.where_sql(where)}"
        shuffle = Shuffle("hash" if parts else "single", list(p_cols), [SortKey(c) for c in p_cols])
        jname = self.new_name("__r")
        body = sel.copy()
        for key in ("joins", "where", "order", "limit", "offset", "with_"):
            body.set(key, None)
        body.set("from_", exp.From(this=exp.Table(this=exp.to_identifier("__input", quoted=True),
                                                  alias=exp.TableAlias(this=exp.to_identifier(jname, quoted=True)))))
        body.set("expressions", [exp.alias_(x.copy(), n, quoted=True) for x, n in zip(exprs, names)])
        if limit is not None:
            body.set("limit", exp.Limit(expression=exp.Literal.number(limit)))
        ops = list(src.ops)
        if where or src.where:
            ops += ["Filter Operator", f"  predicate: {short(conj(src.where + where))}"]
        ops += ["Select Operator", f"  expressions: {', '.join(aliases) or '(none)'}", rs_ops(shuffle, list(aliases))]
        rops = []
        if aggs or sel.args.get("group"):
            group = sel.args.get("group")
            rops += ["Group By Operator", f"  aggregations: {short(', '.join(sql(a) for a in aggs)) or '(none)'}",
                     f"  keys: {short(sql(group)) if group else '(none)'}", "  mode: complete"]
        if sel.args.get("having"):
            rops += ["Filter Operator", f"  predicate: {short(sql(sel.args['having'].this))}"]
        if windows:
            rops += ["PTF Operator", *[f"  window: {short(sql(w))}" for w in windows if w.this is not None]]
        if sel.args.get("distinct") is not None:
            rops += ["Group By Operator", "  keys: (all output columns)", "  mode: complete (DISTINCT)"]
        rops += ["Select Operator", f"  expressions: {short(', '.join(sql(x) for x in exprs))}"]
        if limit is not None:
            rops += ["Limit", f"  Number of rows: {limit}"]
        job = self.add_job(MRJob(stage="", inputs=[MapInput(0, src.label, map_sql, scan=src.scan,
                                                            from_stage=src.stage, operators=ops)],
                                 shuffle=shuffle, reduce_sql=sql(body), reduce_operators=rops,
                                 broadcasts=list(src.broadcasts), depends_on=list(src.deps),
                                 num_reducers=self.reducers()))
        return Rel(Src(IN, {}, stage=job.stage, deps=[job.stage], label=job.stage,
                       ops=stage_ops(job.stage, job.stage)), list(names))


def lower(plan: QueryPlan, setting: Setting) -> MRPlan:
    """The MapReduce jobs for `plan`; raises `Unsupported` with the reason when not lowered."""
    return _Lowering(plan, setting).lower()
