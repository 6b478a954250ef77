"""Multi-insert under the MapReduce engine: the source is read once for every branch.

`FROM src INSERT ... SELECT ... WHERE w1 INSERT ... SELECT ... WHERE w2` plans
one map-only job (the shared scan) reading `src` once: the columns any branch
reads, filtered by `w1 OR w2` when every branch has a pushable WHERE, with
partition pruning when every branch prunes. Each branch is then planned as if
its FROM were a stand-in table holding exactly those rows (its own WHERE is
applied again, so it still sees only its rows); its jobs read the shared job's
output files. Staging and the all-or-nothing commit stay in `dml.run_insert`.

Anything not covered (a join or LATERAL VIEW in the shared FROM, a CTE or view
as source, a branch the MapReduce engine does not run, ...) returns None from
`plan_shared`, and the statement runs branch by branch as before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from sqlglot import exp

from catalog.formats.base import FileScan
from catalog.model import Column, Table

if TYPE_CHECKING:
    from hiveish.session import Session

SHARED_STAGE = "Stage-1"
# functions whose value differs per call: a WHERE using one cannot be evaluated twice (scan, then branch)
_VOLATILE = {"rand", "random", "uuid", "reflect", "java_method", "in_file", "current_timestamp"}


@dataclass
class SharedScan:
    source: str  # db.table read once
    scan_plan: object  # MRQueryPlan of the shared scan (its only job is `job`)
    queries: list[exp.Expression]  # each branch's query over the stand-in table
    plans: list[object] = field(default_factory=list)  # each branch's MRQueryPlan, reading the shared stage

    @property
    def job(self):
        return self.scan_plan.mr.jobs[0]  # type: ignore[attr-defined]


class _StandInView:
    """The session's catalog, plus one stand-in table (no partitions, no files: its reads are re-pointed)."""

    def __init__(self, base, table: Table) -> None:
        self.base = base
        self.table = table

    def get_table(self, db, name):
        if db.lower() == self.table.db and name.lower() == self.table.name:
            return self.table
        return self.base.get_table(db, name)

    def partitions(self, table):
        return [] if table is self.table else self.base.partitions(table)

    def file_scan(self, table, sd, columns, constants):
        if table is self.table:
            return FileScan(format="parquet", files=[], columns=columns, table_columns=list(columns),
                            constants=constants, local=True)
        return self.base.file_scan(table, sd, columns, constants)


def _volatile(e: exp.Expression) -> bool:
    for node in e.find_all(exp.Func):
        if isinstance(node, exp.Rand):
            return True
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if name in _VOLATILE:
            return True
    return e.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window) is not None


def _unqualified(e: exp.Expression) -> str:
    e = e.copy()
    for col in e.find_all(exp.Column):
        col.set("table", None)
    return e.sql("hive").lower()


def _bind(s: "Session", view, tree: exp.Expression, text: str, reason: str):
    from planner.binder import Binder
    from planner.mapreduce import plan_for_mr

    with s.metastore.snapshot():
        plan = Binder(view, s.current_db, s.settings.get, s.executor.evaluate, s.parse).plan_query(tree, text)
    return plan_for_mr(plan, s.settings.get, reason)


def plan_shared(s: "Session", tree: exp.MultitableInserts, text: str,
                insert_query: Callable) -> SharedScan | None:
    """The shared-scan plan of a multi-insert, or None when it runs branch by branch."""
    try:
        return _plan_shared(s, tree, text, insert_query)
    except Exception:  # noqa: BLE001 - any doubt: the branches run as they always did (errors surface there)
        return None


def _plan_shared(s: "Session", tree: exp.MultitableInserts, text: str, insert_query: Callable) -> SharedScan | None:
    from planner.mr.shared_scan import attach, renumber, shared_job

    if (s.settings.get("hive.execution.engine") or "auto").lower() not in ("mr", "mapreduce", "auto"):
        return None  # the vectorized engine reads the source per branch, from memory-mapped files
    source = tree.args.get("source")
    inserts = list(tree.expressions)
    with_ = tree.args.get("with_")
    if len(inserts) < 2 or not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
        return None
    if source.args.get("joins") or source.args.get("laterals") or source.args.get("sample") \
            or source.args.get("pivots"):
        return None
    if not source.db and with_ is not None and source.name.lower() in {c.alias.lower() for c in with_.expressions}:
        return None  # the source is a CTE
    table = s.metastore.get_table((source.db or s.current_db).lower(), source.name.lower())
    if table is None or table.is_view:
        return None
    alias = source.alias or table.name
    # 1. each branch as it would run today: all on MapReduce, each reading the source once in its FROM
    real = []
    for ins in inserts:
        q = ins.expression
        if not isinstance(q, exp.Select) or q.args.get("from_") is not None:
            return None  # a branch with its own FROM (or a VALUES) does not read the shared source
        plan = s.plan(insert_query(ins, source, with_), text)
        if getattr(plan, "mr", None) is None:
            return None
        scans = [sc for sc in plan.scans if sc.table == table.qualified_name]
        if len(scans) != 1 or scans[0].sample is not None:
            return None
        real.append((plan, scans[0]))
    all_cols = [c for c in table.columns] + [k for k in table.partition_keys]
    needed = {c.lower() for _, sc in real for c, _ in sc.columns}
    if not needed <= {c.name.lower() for c in all_cols}:
        return None  # a virtual column (INPUT__FILE__NAME, ...) the stand-in table cannot carry
    cols = [c for c in all_cols if c.name.lower() in needed] or all_cols[:1]
    # 2. the shared scan: those columns, rows any branch may keep, partitions any branch reads
    conds: list[exp.Expression] = []
    wheres = [ins.expression.args.get("where") for ins in inserts]
    if all(w is not None and not _volatile(w.this) for w in wheres):
        conds.append(exp.or_(*[exp.Paren(this=w.this.copy()) for w in wheres]))
    filters = [sc.partition_filter for _, sc in real]
    if table.is_partitioned and all(filters):
        pruning = exp.or_(*[exp.Paren(this=s.parse(f"SELECT {f}").expressions[0]) for f in filters])
        if not conds or _unqualified(pruning) != _unqualified(conds[0]):  # else the row filter is the pruning
            conds.append(pruning)
    scan_query = exp.select(*[exp.column(c.name, quoted=True) for c in cols]).from_(source.copy())
    if conds:
        scan_query = scan_query.where(exp.and_(*conds))
    scan_plan = _bind(s, s.catalog_view(), scan_query, text, real[0][0].engine_reason)
    if scan_plan.mr is None:
        return None
    renumber(scan_plan.mr, 1)
    shared_job(scan_plan.mr, [c.name for c in cols], len(inserts))
    # 3. each branch over the stand-in table, its reads re-pointed at the shared job's output
    stand_in = Table(db=table.db, name=f"__multi_insert_{uuid.uuid4().hex[:12]}", table_type="MANAGED_TABLE",
                     columns=[Column(c.name, c.type) for c in cols], sd=table.sd.copy(location=""))
    view = _StandInView(s.catalog_view(), stand_in)
    stand_in_ref = exp.Table(this=exp.to_identifier(stand_in.name), db=exp.to_identifier(stand_in.db),
                             alias=exp.TableAlias(this=exp.to_identifier(alias)))
    shared = SharedScan(table.qualified_name, scan_plan, [])
    next_stage = 2
    for ins, (real_plan, _) in zip(inserts, real):
        query = insert_query(ins, stand_in_ref, with_)
        plan = _bind(s, view, query, text, real_plan.engine_reason)
        if plan.mr is None:
            return None
        next_stage += len(renumber(plan.mr, next_stage))  # first: the branch's own Stage-1 is not the scan
        if attach(plan.mr, stand_in.qualified_name, SHARED_STAGE, table.qualified_name) == 0:
            return None
        shared.queries.append(query)
        shared.plans.append(plan)
    return shared


class SharedRun:
    """Runs the shared scan job, then gives each branch a `run_plan` reading its output; `close` cleans up."""

    def __init__(self, s: "Session", shared: SharedScan) -> None:
        self.s = s
        self.shared = shared
        self.runner = None

    def start(self) -> None:
        from executors.mapreduce.runners import runner_for

        s = self.s
        self.runner = s.mapreduce_last = runner_for(self.shared.scan_plan.mr, s.settings)
        self.runner.on_event = s._job_event
        self.runner.run(log=s.mapreduce_log)

    def run_plan(self, plan, wrap: Callable[[str], str] | None = None):
        """`Session.run_plan` for a branch plan: its runner also sees the shared stage's files."""
        from executors.mapreduce.runners import runner_for
        from hiveish.session import _MRResult

        s = self.s
        assert self.runner is not None
        runner = s.mapreduce_last = runner_for(plan.mr, s.settings)
        runner.outputs[SHARED_STAGE] = list(self.runner.outputs[SHARED_STAGE])
        runner.on_event = s._job_event
        runner.run(log=s.mapreduce_log)
        if wrap is None:
            return _MRResult(runner)
        return s._wrapped(runner, wrap, s.settings.get_int("hiveish.result.batch.size", 65536))

    def close(self) -> None:
        if self.runner is not None:
            self.runner.cleanup()


def explain(s: "Session", tree: exp.MultitableInserts, text: str, extended: bool,
            insert_query: Callable) -> list[str] | None:
    """EXPLAIN of a multi-insert sharing one scan (None: the branches are explained one by one)."""
    from planner.mr.shared_scan import explain_lines

    shared = plan_shared(s, tree, text, insert_query)
    if shared is None:
        return None
    titles = [f"Insert into {ins.this.sql('hive')} ({'OVERWRITE' if ins.args.get('overwrite') else 'INTO'})"
              for ins in tree.expressions]
    plan = shared.scan_plan
    lines = [f"Engine: {plan.engine} ({shared.plans[0].engine_reason})"]  # type: ignore[attr-defined]
    return lines + explain_lines(shared.job, shared.source, [(t, p.mr) for t, p in zip(titles, shared.plans)],
                                 extended)
