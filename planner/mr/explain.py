"""EXPLAIN for MapReduce plans, in Hive's STAGE DEPENDENCIES / STAGE PLANS shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.mr.jobs import MRJob, MRPlan


def _tree(ops: list[str], indent: str) -> list[str]:
    out = []
    for op in ops:
        for line in op.split("\n"):
            out.append(indent + line)
    return out


def _job_lines(job: "MRJob", extended: bool) -> list[str]:
    lines = [f"  Stage: {job.stage}"]
    if job.broadcasts:
        lines.append("    Map Reduce Local Work")
        for b in job.broadcasts:
            what = f"table: {b.scan.table}" if b.scan is not None else f"output of {b.from_stage}"
            lines += [f"      Alias -> Map Local Tables: {b.alias} ({b.purpose})",
                      f"        {what} (loaded whole by each task)"]
    lines.append("    Map Reduce")
    lines.append("      Map Operator Tree:")
    for m in job.inputs:
        lines += _tree(m.operators, "          ")
        if extended:
            lines.append(f"          map SQL: {m.map_sql}")
    if job.shuffle is not None:
        if job.shuffle.combiner_sql and extended:
            lines.append(f"      Combiner: {job.shuffle.combiner_sql}")
        n = "auto" if job.num_reducers < 0 else str(job.num_reducers)
        lines.append(f"      Reduce Operator Tree: (reducers: {n})")
        lines += _tree(job.reduce_operators, "          ")
        if extended:
            lines.append(f"          reduce SQL: {job.reduce_sql}")
    if job.map_join_options:
        aliases = {m.tag: m.alias for m in job.inputs}
        lines.append("    Conditional Operator (decided when the small side's map tasks end)")
        for o in job.map_join_options:
            small = aliases.get(o.small_tag, o.small_tag)
            if o.mode == "filter":
                lines.append(f"      runtime key filter if the map output of {small} is within "
                             "hive.mapjoin.smalltable.filesize: the other side's map tasks keep only its join keys")
            else:
                lines.append(f"      map join if the map output of {small} is within hive.mapjoin.smalltable.filesize: "
                             "the other side's map tasks join it, no reduce phase")
    return lines


def explain_lines(plan: "MRPlan", extended: bool = False) -> list[str]:
    lines = ["STAGE DEPENDENCIES:"]
    for job in plan.jobs:
        if job.depends_on:
            lines.append(f"  {job.stage} depends on stages: {', '.join(job.depends_on)}")
        else:
            lines.append(f"  {job.stage} is a root stage")
    last = plan.jobs[-1].stage if plan.jobs else ""
    lines.append(f"  Stage-0 depends on stages: {last}")
    lines += ["", "STAGE PLANS:"]
    for job in plan.jobs:
        lines += _job_lines(job, extended)
    lines += ["  Stage: Stage-0", "    Fetch Operator",
              f"      limit: {plan.fetch_limit if plan.fetch_limit is not None else -1}",
              "      Processor Tree:", "        ListSink"]
    return lines
