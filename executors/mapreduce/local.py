"""The local runner: task attempts in a pool of worker processes, or in-process for debugging.

Workers are spawned (not forked: the session process holds DuckDB threads)
once and reused across queries; a worker that dies breaks the pool, which is
replaced, and the attempts it was running are retried like any failure. They
are started without the user's `__main__` (`spawn.worker_context`), so a script
needs no `if __name__ == "__main__":` guard, and in the background as soon as a
session is set to `engine=mr` (`prestart`), so their imports overlap the driver's.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, wait

from executors.mapreduce.attempts import run_attempt
from executors.mapreduce.job import MRPlan, TaskSpec
from executors.mapreduce.runner import MRRunner
from executors.mapreduce.spawn import worker_context
from executors.mapreduce.tasks import remove_worker_tmp, warm_up

_POOLS: dict[int, ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ProcessPoolExecutor(workers, mp_context=worker_context(),
                                       initializer=_exit_with_parent, initargs=(os.getpid(),))
            _POOLS[workers] = pool
            # start every worker now (the pool would start them one by one as tasks queue up), each
            # importing the task code and opening its DuckDB while the driver plans and splits
            for _ in range(workers):
                pool.submit(warm_up)
        return pool


def pool_size(settings) -> int:
    """`hiveish.mapreduce.workers`, or one worker per core when unset (0) or not a number."""
    try:
        n = int(settings.get("hiveish.mapreduce.workers") or 0)
    except ValueError:
        n = 0
    return n if n > 0 else (os.cpu_count() or 1)


def prestart(workers: int) -> None:
    """Start the pool of `workers` processes in a background thread (no-op when it runs already)."""
    if multiprocessing.current_process().daemon:
        return
    with _LOCK:
        if workers in _POOLS:
            return
    threading.Thread(target=_start_quietly, args=(workers,), daemon=True, name="hiveish-pool-start").start()


def _start_quietly(workers: int) -> None:
    try:
        _pool(workers)
    except Exception:  # noqa: BLE001 - e.g. the interpreter exits meanwhile; a query starts the pool itself
        pass


def _exit_with_parent(parent: int) -> None:
    """Worker start: exit once the session process is gone (SIGKILL, OOM) instead of idling forever.

    Workers ignore SIGINT: a terminal's Ctrl-C reaches the whole foreground process group, and
    the session cancels its tasks itself (cancel marker, then terminate), so a worker dying of
    KeyboardInterrupt would only turn a KILLED job into a FAILED one.

    The watcher stops at a normal exit: a thread still running while the interpreter finalizes
    keeps DuckDB's bindings alive past their module and nanobind prints "leaked instances" noise."""
    import atexit
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop = threading.Event()

    def watch() -> None:
        while os.getppid() == parent and not stop.wait(1):
            pass
        if not stop.is_set():
            remove_worker_tmp()
            os._exit(1)

    watcher = threading.Thread(target=watch, daemon=True, name="exit-with-parent")
    watcher.start()

    def end() -> None:
        stop.set()
        watcher.join(2)

    atexit.register(end)


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
        self.workers = pool_size(self.settings)
        self.slots = 1 if self.inprocess else self.workers
        # one DuckDB thread per task when tasks run side by side; all cores in-process
        self.threads = 0 if self.inprocess else 1
        self._pools: dict[Future, ProcessPoolExecutor] = {}

    def task_threads(self, tasks: int) -> int:
        """A wave of fewer tasks than workers shares the idle workers' cores: each of its tasks gets
        workers // tasks DuckDB threads (one task alone, e.g. a single reducer, gets them all)."""
        if self.inprocess:
            return self.threads
        return max(1, self.workers // max(1, tasks))

    def submit(self, spec: TaskSpec) -> Future:
        if self.inprocess:
            fut: Future = Future()
            try:
                fut.set_result(run_attempt(spec))
            except Exception as e:  # noqa: BLE001 - delivered like a pool failure, with the real exception
                fut.set_exception(e)
            return fut
        pool = _pool(self.workers)
        fut = pool.submit(run_attempt, spec)
        self._pools[fut] = pool
        return fut

    def on_broken(self, fut: Future) -> None:
        _drop_pool(self.workers, self._pools.get(fut))

    def abort(self, running: list[Future]) -> None:
        """Give running attempts `hiveish.mapreduce.cancel.grace.ms` to notice the cancel marker, then
        terminate their workers (a task may sit in one long DuckDB call); the pool is replaced."""
        try:
            grace = int(self.settings.get("hiveish.mapreduce.cancel.grace.ms") or 1000) / 1000
        except ValueError:
            grace = 1.0
        _, still = wait(running, timeout=max(0.0, grace))
        for pool in {self._pools[f] for f in still if f in self._pools}:
            terminate_pool(self.workers, pool)


def terminate_pool(workers: int, pool: ProcessPoolExecutor) -> None:
    """Kill the worker processes of `pool` and forget it; the next query starts a fresh pool."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    _drop_pool(workers, pool)
    for p in procs:
        try:
            p.terminate()
        except Exception:  # noqa: BLE001 - already gone
            pass
    for p in procs:
        try:
            p.join(timeout=2)
        except Exception:  # noqa: BLE001
            pass


def run_plan(plan: MRPlan) -> LocalRunner:
    """Run every job of `plan`; the returned runner streams the result (`batches()`) and holds counters."""
    runner = LocalRunner(plan)
    runner.run()
    return runner
