"""The local runner: task attempts in a pool of worker processes, or in-process for debugging.

Workers are spawned (not forked: the session process holds DuckDB threads)
once and reused across queries; a worker that dies breaks the pool, which is
replaced, and the attempts it was running are retried like any failure.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor

from executors.mapreduce.job import MRPlan, TaskSpec
from executors.mapreduce.runner import MRRunner
from executors.mapreduce.tasks import run_task

_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            _POOLS[workers] = pool
        return pool


def _drop_pool(workers: int, only: ProcessPoolExecutor | None = None) -> None:
    with _LOCK:
        if only is not None and _POOLS.get(workers) is not only:
            return
        pool = _POOLS.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pools() -> None:
    for n in list(_POOLS):
        _drop_pool(n)


class LocalRunner(MRRunner):
    """`hiveish.mapreduce.inprocess=true` runs every attempt in the calling thread (real tracebacks)."""

    def __init__(self, plan: MRPlan) -> None:
        super().__init__(plan)
        self.inprocess = (self.settings.get("hiveish.mapreduce.inprocess") or "").lower() == "true"
        if multiprocessing.current_process().daemon:  # a daemonic process cannot start workers
            self.inprocess = True
        try:
            n = int(self.settings.get("hiveish.mapreduce.workers") or 0)
        except ValueError:
            n = 0
        self.workers = n if n > 0 else (os.cpu_count() or 1)
        # one DuckDB thread per task when tasks run side by side; all cores in-process
        self.threads = 0 if self.inprocess else 1
        self._pools: dict[Future, ProcessPoolExecutor] = {}

    def submit(self, spec: TaskSpec) -> Future:
        if self.inprocess:
            fut: Future = Future()
            try:
                fut.set_result(run_task(spec))
            except Exception as e:  # noqa: BLE001 - delivered like a pool failure, with the real exception
                fut.set_exception(e)
            return fut
        pool = _pool(self.workers)
        fut = pool.submit(run_task, spec)
        self._pools[fut] = pool
        return fut

    def on_broken(self, fut: Future) -> None:
        _drop_pool(self.workers, self._pools.get(fut))


def run_plan(plan: MRPlan) -> LocalRunner:
    """Run every job of `plan`; the returned runner streams the result (`batches()`) and holds counters."""
    runner = LocalRunner(plan)
    runner.run()
    return runner
