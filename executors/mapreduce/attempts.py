"""Where and when each task attempt ran: the records behind the job history's timeline.

`run_attempt` wraps `tasks.run_task` in whatever process runs the attempt (a pool worker, a
Dask worker, the driver in-process): it stamps the result with the host, the worker (`host:pid`,
or the Dask worker's address) and the worker's clock at start and end. A failing attempt's
exception carries the same facts as an attribute (`hiveish_attempt`), which pickling keeps
(`BaseException.__reduce__` carries the instance dict), so the driver knows where it failed.
`record` turns either into an `Attempt` on the job's report; an attempt whose worker died
(nothing came back) is recorded with the driver's times and no worker.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from executors.mapreduce.job import TaskResult, TaskSpec
from executors.mapreduce.tasks import run_task

if TYPE_CHECKING:
    from executors.mapreduce.runner import JobReport

__all__ = ["Attempt", "record", "run_attempt", "where"]

KINDS = {"map": "MAP", "reduce": "REDUCE", "sample": "SAMPLE"}


@dataclass
class Attempt:
    """One task attempt as the job history keeps it."""

    attempt_id: str
    kind: str  # MAP | REDUCE | SAMPLE
    task: int
    attempt: int
    status: str  # SUCCEEDED | FAILED | KILLED
    host: str = ""
    worker: str = ""  # the lane of the timeline: host:pid, or a Dask worker's address
    started: float = 0.0  # epoch seconds
    finished: float = 0.0
    error: str = ""
    counters: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def where() -> tuple[str, str]:
    """(host, worker) of the running process: a Dask worker's address, else `host:pid`."""
    host = socket.gethostname()
    if "distributed" in sys.modules:
        try:
            from distributed import get_worker

            return host, get_worker().address
        except (ImportError, ValueError):  # not inside a Dask task
            pass
    return host, f"{host}:{os.getpid()}"


def run_attempt(spec: TaskSpec) -> TaskResult:
    """Run one attempt (`tasks.run_task`), stamped with where and when it ran."""
    host, worker = where()
    started = time.time()
    try:
        result = run_task(spec)
    except BaseException as e:
        try:
            e.hiveish_attempt = {"host": host, "worker": worker, "started": started,  # type: ignore[attr-defined]
                                 "finished": time.time()}
        except AttributeError:  # an exception type without an instance dict
            pass
        raise
    result.host, result.worker, result.started, result.finished = host, worker, started, time.time()
    return result


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def record(report: "JobReport", spec: TaskSpec, submitted: float, result: TaskResult | None = None,
           error: BaseException | None = None, status: str | None = None) -> Attempt:
    """Add the attempt of `spec` to `report.attempts`: from its result, its error, or (killed or lost
    with no word from its worker) from the driver's own times."""
    a = Attempt(spec.attempt_id, KINDS.get(spec.kind, spec.kind.upper()), spec.index, spec.attempt,
                status or ("SUCCEEDED" if result is not None else "FAILED"))
    if result is not None:
        a.host, a.worker, a.started, a.finished = result.host, result.worker, result.started, result.finished
        a.counters = dict(result.counters)
    info = getattr(error, "hiveish_attempt", None) if error is not None else None
    if isinstance(info, dict):
        a.host, a.worker = str(info.get("host", "")), str(info.get("worker", ""))
        a.started, a.finished = float(info.get("started", 0.0)), float(info.get("finished", 0.0))
    if not a.started:
        a.started, a.finished = submitted, time.time()
    if error is not None:
        a.error = _first_line(error)
    report.attempts.append(a)
    return a
