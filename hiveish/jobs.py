"""MapReduce job history of a session: `SHOW JOBS`, `DESCRIBE JOB <id>`, progress text, EXPLAIN ANALYZE.

Every MR job (one stage of one query) the session runs is recorded with the
statement that ran it. The history keeps the last `hiveish.jobs.history.size`
jobs; entries hold the runner's live `JobReport`, so a running job shows its
current state. Status words are Hive's: RUNNING, SUCCEEDED, FAILED, KILLED.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hiveish import errors

if TYPE_CHECKING:
    from executors.mapreduce.runner import JobReport
    from hiveish.session import Result, Session

DEFAULT_HISTORY = 100
_STATUS = {"SUCCESS": "SUCCEEDED", "FAILED": "FAILED", "KILLED": "KILLED", "RUNNING": "RUNNING"}


def job_status(report: "JobReport") -> str:
    """Hive's word for a job's state (the summary line says SUCCESS, job status SUCCEEDED)."""
    return _STATUS.get(report.status, report.status)


@dataclass
class JobEntry:
    job_id: str
    query: str
    report: "JobReport"
    submitted: float


class JobHistory:
    """The session's last `limit` MR jobs, oldest first; safe to read while a job runs."""

    def __init__(self, limit: int = DEFAULT_HISTORY) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, JobEntry] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, report: "JobReport", query: str) -> JobEntry:
        entry = JobEntry(report.job_id, query, report, time.time())
        with self._lock:
            self._entries[report.job_id] = entry
            while len(self._entries) > max(1, self.limit):
                self._entries.popitem(last=False)
        return entry

    def get(self, job_id: str) -> JobEntry | None:
        with self._lock:
            return self._entries.get(job_id)

    def entries(self) -> list[JobEntry]:
        with self._lock:
            return list(self._entries.values())


def _one_line(query: str, width: int = 80) -> str:
    text = " ".join(query.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def show_jobs(s: "Session") -> "Result":
    """`SHOW JOBS`: one row per job, oldest first."""
    from hiveish.session import Result

    rows = []
    for e in s.jobs.entries():
        r = e.report
        rows.append((e.job_id, _one_line(e.query), r.stage, job_status(r), str(r.maps), str(r.reduces),
                     f"{r.elapsed:.3f}"))
    return Result.rows(["job_id", "query", "stage", "status", "maps", "reduces", "elapsed_s"], rows,
                       ["string", "string", "string", "string", "string", "string", "string"])


def describe_job(s: "Session", job_id: str) -> "Result":
    """`DESCRIBE JOB <id>`: the job's state, counters, per-task counters and failed attempts."""
    from executors.mapreduce.runner import COUNTER_ORDER
    from hiveish.session import Result

    e = s.jobs.get(job_id)
    if e is None:
        raise errors.SemanticException(f"Job not found: {job_id} (SHOW JOBS lists this session's jobs)")
    r = e.report
    lines = [f"Job: {e.job_id}", f"Query: {_one_line(e.query, 200)}", f"Stage: {r.stage}",
             f"Status: {job_status(r)}", f"Submitted: {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(e.submitted))}",
             f"Elapsed: {r.elapsed:.3f} s",
             f"Map tasks: {r.maps_done}/{r.maps}  Reduce tasks: {r.reduces_done}/{r.reduces}",
             "Counters:"]
    counters = dict(r.counters)
    keys = [k for k in COUNTER_ORDER if k in counters] + sorted(k for k in counters if k not in COUNTER_ORDER)
    lines += [f"  {k}={counters[k]}" for k in keys]
    if r.task_counters:
        lines.append("Task counters:")
        for task, tc in sorted(r.task_counters.items()):
            order = [k for k in COUNTER_ORDER if k in tc] + sorted(k for k in tc if k not in COUNTER_ORDER)
            lines.append(f"  {task}: " + ", ".join(f"{k}={tc[k]}" for k in order))
    lines.append(f"Failed attempts: {len(r.failures)}")
    lines += [f"  {f}" for f in r.failures]
    lines += r.notes  # decisions taken while running (a join run as a map join, ...)
    return Result.rows(["job"], [(line,) for line in lines])


def cmd_jobs(s: "Session", text: str) -> "Result | None":
    """`SHOW JOBS` / `DESCRIBE JOB <id>`, or None when `text` is neither."""
    if re.fullmatch(r"(?is)\s*show\s+jobs\s*", text):
        return show_jobs(s)
    m = re.fullmatch(r"(?is)\s*(?:describe|desc)\s+job\s+`?([\w.-]+)`?\s*", text)
    if m:
        return describe_job(s, m.group(1))
    return None


# -- progress text ----------------------------------------------------------------------------------------


def _bar(pct: int, width: int) -> str:
    full = (pct * width) // 100
    return "[" + "#" * full + " " * (width - full) + "]"


def progress_text(p: dict, bars: bool = False) -> str:
    """`Stage-1: map 45%  reduce 0%` (with bars when asked), from `JobReport.progress()`."""
    if bars:
        return (f"{p['stage']}: map {p['map']:3d}% {_bar(p['map'], 20)}  "
                f"reduce {p['reduce']:3d}% {_bar(p['reduce'], 20)}  {p['elapsed']:.1f} s")
    return f"{p['stage']}: map {p['map']}%  reduce {p['reduce']}%"


def cpu_text(ms: int) -> str:
    """Hive's `2 seconds 500 msec`."""
    sec, msec = divmod(int(ms), 1000)
    return f"{sec} seconds {msec} msec"


# -- EXPLAIN ANALYZE ------------------------------------------------------------------------------------------


_MAP_KEYS = ("MAP_INPUT_RECORDS", "MAP_OUTPUT_RECORDS", "COMBINE_INPUT_RECORDS", "COMBINE_OUTPUT_RECORDS",
             "SPILLED_RECORDS")
_REDUCE_KEYS = ("REDUCE_INPUT_GROUPS", "REDUCE_INPUT_RECORDS", "REDUCE_OUTPUT_RECORDS")


def _actual(counters: dict[str, int], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={counters[k]}" for k in keys if k in counters)


def annotate_explain(lines: list[str], reports: list["JobReport"], rows: int, seconds: float) -> list[str]:
    """The MR plan with each stage's actual row counts (from its counters) after its operator trees."""
    by_stage = {r.stage: r for r in reports}
    out: list[str] = []
    stage = None
    for line in lines:
        m = re.match(r"\s*Stage: (Stage-\d+)\s*$", line)
        if m:
            stage = m.group(1)
        r = by_stage.get(stage or "")
        if r is not None and line.strip() == "Map Operator Tree:":
            line += f"  (actual: {r.maps} map task(s); {_actual(r.counters, _MAP_KEYS)})"
        elif r is not None and line.strip().startswith("Reduce Operator Tree:"):
            line += f"  (actual: {r.reduces} reduce task(s); {_actual(r.counters, _REDUCE_KEYS)})"
        elif r is not None and line.strip() == "Map Reduce":
            line += f"  (job {r.job_id}: {job_status(r)} in {r.seconds:.3f} s)"
        out.append(line)
    out += ["", f"Actual: {rows} row(s) fetched in {seconds:.3f} s"]
    for r in reports:
        out.append(f"  {r.stage} ({r.job_id}): " + ", ".join(
            f"{k}={v}" for k, v in r.counters.items() if k not in ("CPU_MILLISECONDS",)))
    return out


def explain_analyze(s: "Session", tree, text: str) -> list[str]:
    """`EXPLAIN ANALYZE <query>`: run the query on its engine, then its plan with actual row counts."""
    plan = s.plan(tree, text)
    started = time.monotonic()
    before = len(s.statement_jobs)
    running = s.run_plan(plan)
    rows = 0
    for b in running.batches():
        rows += b.num_rows
    seconds = time.monotonic() - started
    lines = plan.explain(False)
    if getattr(plan, "mr", None) is None:
        return lines + ["", f"Actual: {rows} row(s) fetched in {seconds:.3f} s"]
    return annotate_explain(lines, s.statement_jobs[before:], rows, seconds)
