"""Which runner executes a query's MapReduce jobs (`hiveish.mapreduce.runner`)."""

from __future__ import annotations

from executors.mapreduce.job import MRPlan
from executors.mapreduce.runner import MRRunner


def runner_for(plan: MRPlan) -> MRRunner:
    """The runner named by the plan's settings snapshot: `local` (default)."""
    from executors.mapreduce.local import LocalRunner

    return LocalRunner(plan)
