"""Which runner executes a query's MapReduce jobs (`hiveish.mapreduce.runner`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from executors.mapreduce.job import MRPlan
from executors.mapreduce.runner import MRRunner
from hiveish import errors

# settings only the choice of runner needs: read from the session when the plan's snapshot lacks them
RUNNER_SETTINGS = ("hiveish.mapreduce.runner", "hiveish.dask.scheduler", "hiveish.dask.timeout")
RUNNERS = ("local", "dask")


class _Settings(Protocol):
    def get(self, key: str, default: str | None = None) -> str | None: ...


def runner_for(plan: MRPlan, settings: _Settings | None = None) -> MRRunner:
    """The runner named by `hiveish.mapreduce.runner`: `local` (default, a process pool) or `dask`.

    `settings` (the session's) fills in the runner keys the plan's settings
    snapshot does not carry.
    """
    snapshot = dict(plan.settings)
    if settings is not None:
        for key in RUNNER_SETTINGS:
            value = settings.get(key)
            if not snapshot.get(key) and value:
                snapshot[key] = value
        plan = replace(plan, settings=snapshot)
    name = (snapshot.get("hiveish.mapreduce.runner") or "local").strip().lower()
    if name == "local":
        from executors.mapreduce.local import LocalRunner

        return LocalRunner(plan)
    if name == "dask":
        from executors.mapreduce.dask_runner import DaskRunner

        return DaskRunner(plan)
    raise errors.ExecutionError(f"Unknown hiveish.mapreduce.runner '{name}': use one of {', '.join(RUNNERS)}")
