"""MapReduce job history: `SHOW JOBS`, `DESCRIBE JOB <id>`, progress text, EXPLAIN ANALYZE.

Every MR job (one stage of one query) a session runs is recorded with the
statement that ran it, twice: in the session (`JobHistory`, the live `JobReport`,
so a running job shows its current state) and in the archive beside the metastore
(`hiveish/history/archive.py`), which every session and process sharing the metastore
reads, so `SHOW JOBS` in a new process lists the jobs of earlier ones. `SHOW JOBS`
lists the last `hiveish.jobs.history.size` jobs; the archive keeps them
`hiveish.jobhistory.retention` days. Status words are Hive's: RUNNING, SUCCEEDED,
FAILED, KILLED.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hiveish import errors
from hiveish.history.archive import ArchivedJob, JobArchive, archive_path, retention_days

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
    query_id: str = ""
    runner: str = ""


class JobHistory:
    """The session's last `limit` MR jobs, oldest first, and its handle on the archive.

    Safe to read while a job runs. The archive is opened at the first job; when it cannot be
    (a read-only directory, an in-memory metastore) or `hiveish.jobhistory.retention` is 0, the
    session's own jobs are all `SHOW JOBS` knows, and the first statement that hits this says so.
    """

    def __init__(self, limit: int = DEFAULT_HISTORY, metastore: str = "") -> None:
        self.limit = limit
        self.metastore = metastore
        self.retention = retention_days(None)
        self._entries: OrderedDict[str, JobEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._archive: JobArchive | None = None
        self._archive_error: str | None = None
        self.warning: str | None = None  # set once when the archive fails; the session shows it

    def configure(self, settings: Any) -> None:
        self.limit = settings.get_int("hiveish.jobs.history.size", DEFAULT_HISTORY)
        self.retention = retention_days(settings.get("hiveish.jobhistory.retention"))

    @property
    def archive(self) -> JobArchive | None:
        if self._archive is None and self._archive_error is None:
            path = archive_path(self.metastore)
            if path is None:
                self._archive_error = "the metastore is in memory"
            else:
                try:
                    self._archive = JobArchive(path)
                except Exception as e:  # noqa: BLE001 - sqlite3/OS errors: history stays in the session
                    self._fail(f"{path}: {e}")
        return self._archive

    def _fail(self, why: str) -> None:
        self._archive_error = why
        if self._archive is not None:
            try:
                self._archive.close()
            except Exception:  # noqa: BLE001
                pass
        self._archive = None
        self.warning = (f"WARNING: the job history archive is unavailable ({why}); SHOW JOBS and DESCRIBE JOB "
                        "know only this session's jobs")

    def add(self, report: "JobReport", query: str, query_id: str = "", runner: str = "") -> JobEntry:
        """A job starts: registered in the archive, which gives it its id (`report.job_id`)."""
        if self.retention > 0 and self.archive is not None:
            try:
                report.job_id = self.archive.register(report, query, query_id, runner)
            except Exception as e:  # noqa: BLE001
                self._fail(str(e))
        entry = JobEntry(report.job_id, query, report, time.time(), query_id, runner)
        with self._lock:
            self._entries[report.job_id] = entry
            while len(self._entries) > max(1, self.limit):
                self._entries.popitem(last=False)
        return entry

    def end(self, report: "JobReport") -> None:
        """A job ended: written whole to the archive (its attempts included)."""
        if self.retention > 0 and self._archive is not None:
            try:
                self._archive.finish(report, self.retention)
            except Exception as e:  # noqa: BLE001
                self._fail(str(e))

    def get(self, job_id: str) -> JobEntry | None:
        with self._lock:
            return self._entries.get(job_id)

    def entries(self) -> list[JobEntry]:
        with self._lock:
            return list(self._entries.values())

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    # -- what SHOW JOBS / DESCRIBE JOB read --------------------------------------------------------------
    def recent(self) -> list[ArchivedJob]:
        """The last `limit` jobs, oldest first: the archive's, with this session's running ones live."""
        archive = self.archive if self.retention > 0 else None
        if archive is None:
            return [from_entry(e) for e in self.entries()][-max(1, self.limit):]
        jobs = archive.jobs(max(1, self.limit))
        return [from_entry(self.get(j.job_id)) if self._live(j.job_id) else j for j in jobs]  # type: ignore[arg-type]

    def find(self, job_id: str) -> ArchivedJob | None:
        archive = self.archive if self.retention > 0 else None
        found = archive.job(job_id) if archive is not None else None
        if found is None or self._live(job_id):
            entry = self.get(job_id)
            return from_entry(entry) if entry is not None else found
        return found

    def _live(self, job_id: str) -> bool:
        entry = self.get(job_id)
        return entry is not None and not entry.report.finished


def new_query_id() -> str:
    return uuid.uuid4().hex[:16]


def from_entry(e: JobEntry) -> ArchivedJob:
    """A session's job (possibly running) in the archive's shape."""
    import os
    import socket

    from hiveish.history.archive import _user

    r = e.report
    return ArchivedJob(
        e.job_id, e.query_id, e.query, _user(), socket.gethostname(), os.getpid(), e.runner, r.stage, job_status(r),
        r.started, r.started + r.elapsed if r.finished else 0.0, r.elapsed, r.maps, r.reduces, r.maps_done,
        r.reduces_done, dict(r.counters), {k: dict(v) for k, v in r.task_counters.items()}, list(r.failures),
        list(r.notes), sorted((a.as_dict() for a in list(r.attempts)), key=lambda a: (a["started"], a["attempt_id"])))


def _one_line(query: str, width: int = 80) -> str:
    text = " ".join(query.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


def show_jobs(s: "Session") -> "Result":
    """`SHOW JOBS`: one row per job, oldest first, from every session sharing the metastore."""
    from hiveish.session import Result

    rows = [(j.job_id, _one_line(j.query), j.stage, j.status, str(j.maps), str(j.reduces), f"{j.elapsed:.3f}",
             j.user, _when(j.submitted)) for j in s.jobs.recent()]
    _warn(s)
    return Result.rows(["job_id", "query", "stage", "status", "maps", "reduces", "elapsed_s", "user", "submitted"],
                       rows, ["string"] * 9)


def _warn(s: "Session") -> None:
    if s.jobs.warning:
        s.statement_warnings.append(s.jobs.warning)
        s.jobs.warning = None


def describe_job(s: "Session", job_id: str) -> "Result":
    """`DESCRIBE JOB <id>`: the job's state, counters, per-task counters, attempts and failed attempts."""
    from hiveish.session import Result

    j = s.jobs.find(job_id)
    _warn(s)
    if j is None:
        raise errors.SemanticException(f"Job not found: {job_id} (SHOW JOBS lists the jobs kept)")
    return Result.rows(["job"], [(line,) for line in describe_lines(j)])


def describe_lines(j: ArchivedJob) -> list[str]:
    from executors.mapreduce.runner import COUNTER_ORDER

    lines = [f"Job: {j.job_id}", f"Query: {_one_line(j.query, 200)}", f"Stage: {j.stage}",
             f"Status: {j.status}", f"User: {j.user}", f"Submitted: {_when(j.submitted)}",
             f"Elapsed: {j.elapsed:.3f} s",
             f"Map tasks: {j.maps_done}/{j.maps}  Reduce tasks: {j.reduces_done}/{j.reduces}",
             "Counters:"]
    counters = dict(j.counters)
    keys = [k for k in COUNTER_ORDER if k in counters] + sorted(k for k in counters if k not in COUNTER_ORDER)
    lines += [f"  {k}={counters[k]}" for k in keys]
    if j.task_counters:
        lines.append("Task counters:")
        for task, tc in sorted(j.task_counters.items()):
            order = [k for k in COUNTER_ORDER if k in tc] + sorted(k for k in tc if k not in COUNTER_ORDER)
            lines.append(f"  {task}: " + ", ".join(f"{k}={tc[k]}" for k in order))
    if j.attempts:
        lines.append("Attempts:")
        lines += [f"  {a['kind']} {a['attempt_id']} {a['status']} {max(0.0, a['finished'] - a['started']):.3f} s "
                  f"on {a['worker'] or 'a lost worker'}" for a in j.attempts]
    lines.append(f"Failed attempts: {len(j.failures)}")
    lines += [f"  {f}" for f in j.failures]
    lines += j.notes  # decisions taken while running (a join run as a map join, ...)
    return lines


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
