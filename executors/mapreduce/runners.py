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


def prestart(settings: _Settings) -> None:
    """Start the workers a MapReduce query would use, in the background, when the session runs MR.

    Called when a session opens and when one of these settings changes: with
    `hive.execution.engine=mr`, the local runner's pool (or the process's local Dask cluster)
    starts now, so the first query does not wait for its workers' imports. Nothing starts for
    `auto`/`arrow`, in-process debugging, or a remote scheduler (its workers run already).
    """
    if (settings.get("hive.execution.engine") or "").strip().lower() != "mr":
        return
    if (settings.get("hiveish.mapreduce.inprocess") or "").strip().lower() == "true":
        return
    from executors.mapreduce.local import pool_size

    name = (settings.get("hiveish.mapreduce.runner") or "local").strip().lower()
    if name == "local":
        from executors.mapreduce.local import prestart as start

        start(pool_size(settings))
    elif name == "dask" and not (settings.get("hiveish.dask.scheduler") or "").strip():
        from executors.mapreduce.dask_runner import prestart_local_cluster

        prestart_local_cluster(pool_size(settings))
