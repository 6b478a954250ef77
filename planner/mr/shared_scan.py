"""A multi-insert's shared scan: one map-only job reads the source once, every branch reads its output.

Hive runs `FROM src INSERT ... SELECT ... INSERT ... SELECT ...` with ONE
TableScan feeding every insert's operator tree. Here the branches keep their
own job DAGs (planned as if they read a table holding only the shared rows);
this module turns such DAGs into one statement-wide DAG:
- `shared_job` makes the scan job's output columns the source's column names;
- `attach` points every input of a branch that "scans" the stand-in table at
  the shared job's output instead (`from_stage`);
- `renumber` gives every job of the statement its own stage name (Stage-1 is
  the shared scan, the branches' jobs follow), as Hive numbers one plan;
- `explain_lines` prints the whole DAG once.
Pure data manipulation: nothing here runs anything.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from planner.mr.jobs import MRJob, MRPlan
from planner.mr.sources import q


class NotShareable(Exception):
    """The plans do not have the shape the shared scan needs (the statement runs branch by branch)."""


def shared_job(plan: MRPlan, columns: list[str], branches: int) -> MRJob:
    """The scan job of `plan` (a map-only scan + filter + projection) writing `columns` by name."""
    if len(plan.jobs) != 1:
        raise NotShareable(f"the scan lowered to {len(plan.jobs)} jobs")
    job = plan.jobs[0]
    if not job.map_only or len(job.inputs) != 1 or job.inputs[0].scan is None or job.broadcasts:
        raise NotShareable("the scan is not one map-only table scan")
    if len(plan.output_columns) != len(columns):
        raise NotShareable("the scan's columns differ from the shared columns")
    inp = job.inputs[0]
    renamed = ", ".join(f"{q(o)} AS {q(c)}" for o, c in zip(plan.output_columns, columns))
    inp.map_sql = f"SELECT {renamed} FROM ({inp.map_sql}) AS __shared"
    ops = [op for op in inp.operators if op != "File Output Operator"]
    inp.operators = ops + [f"File Output Operator (intermediate: read by the {branches} inserts)"]
    job.final = False
    return job


_STAGE = re.compile(r"\bStage-\d+\b")


def _replace_strings(obj: Any, mapping: dict[str, str], seen: set[int], text: bool = False) -> Any:
    """`obj` with every string equal to a key of `mapping` replaced, through dataclasses, lists and dicts.

    With `text` (EXPLAIN operator lines) stage names inside a string are replaced too."""
    if isinstance(obj, str):
        if text:
            return _STAGE.sub(lambda m: mapping.get(m.group(0), m.group(0)), obj)
        return mapping.get(obj, obj)
    if id(obj) in seen:
        return obj
    if isinstance(obj, list):
        seen.add(id(obj))
        obj[:] = [_replace_strings(x, mapping, seen, text) for x in obj]
        return obj
    if isinstance(obj, dict):
        seen.add(id(obj))
        items = [(_replace_strings(k, mapping, seen), _replace_strings(v, mapping, seen)) for k, v in obj.items()]
        obj.clear()
        obj.update(items)
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        seen.add(id(obj))
        for f in dataclasses.fields(obj):
            if f.name in ("scan", "file_scan", "map_sql", "reduce_sql", "combiner_sql"):
                continue  # table data and SQL never name a stage
            setattr(obj, f.name, _replace_strings(getattr(obj, f.name), mapping, seen,
                                                  f.name in ("operators", "reduce_operators")))
        return obj
    return obj


def renumber(plan: MRPlan, first: int) -> dict[str, str]:
    """Rename the plan's stages Stage-<first>, Stage-<first+1>, ... in job order; returns old -> new."""
    mapping = {job.stage: f"Stage-{first + i}" for i, job in enumerate(plan.jobs)}
    for job in plan.jobs:
        _replace_strings(job, mapping, set())
    return mapping


def attach(plan: MRPlan, stand_in: str, stage: str, source: str) -> int:
    """Make every read of the stand-in table `stand_in` (db.name) read the output of `stage` instead.

    Returns how many inputs and broadcasts were re-pointed."""
    count = 0
    for job in plan.jobs:
        for inp in job.inputs:
            if inp.scan is not None and inp.scan.table == stand_in:
                inp.scan = None
                inp.from_stage = stage
                rest = inp.operators[4:] if inp.operators[:1] == ["TableScan"] else inp.operators
                inp.operators = ["TableScan", f"  alias: {inp.alias} (rows of {source} from {stage})"] + rest
                count += 1
        for b in job.broadcasts:
            if b.scan is not None and b.scan.table == stand_in:
                b.scan = None
                b.from_stage = stage
                count += 1
        if count and stage not in job.depends_on and _reads(job, stage):
            job.depends_on.insert(0, stage)
    for job in plan.jobs:
        if any(i.scan is not None and i.scan.table == stand_in for i in job.inputs) or \
                any(b.scan is not None and b.scan.table == stand_in for b in job.broadcasts):
            raise NotShareable("a read of the stand-in table was left")
    return count


def _reads(job: MRJob, stage: str) -> bool:
    return any(i.from_stage == stage for i in job.inputs) or any(b.from_stage == stage for b in job.broadcasts)


def explain_lines(shared: MRJob, source: str, branches: list[tuple[str, MRPlan]], extended: bool) -> list[str]:
    """Hive-shaped STAGE DEPENDENCIES / STAGE PLANS of the whole statement: the scan, then each insert."""
    from planner.mr.explain import _job_lines

    jobs = [shared] + [j for _, p in branches for j in p.jobs]
    lines = [f"Multi-insert: {source} is scanned once ({shared.stage}) for {len(branches)} inserts",
             "STAGE DEPENDENCIES:"]
    for job in jobs:
        if job.depends_on:
            lines.append(f"  {job.stage} depends on stages: {', '.join(job.depends_on)}")
        else:
            lines.append(f"  {job.stage} is a root stage")
    lines += ["", "STAGE PLANS:"]
    lines += _job_lines(shared, extended)
    for title, plan in branches:
        lines.append(f"  -- {title}: stages {', '.join(j.stage for j in plan.jobs)}")
        for job in plan.jobs:
            lines += _job_lines(job, extended)
    return lines
