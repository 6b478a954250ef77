"""The job history archive: every MapReduce job of every session, kept beside the metastore.

A SQLite file `<metastore>.history` (its own database: the metastore's schema is untouched)
holds one row per job (query text, user, host and process, stage, status, times, task counts,
counters, per-task counters, failed attempts, run-time decisions) and one row per task
attempt (kind, task, attempt, status, host, worker, start and end, error, counters). A job is
registered when it starts (so other processes see it RUNNING) and written whole when it ends.

Job ids are handed out here, like a ResourceManager's: `job_<archive creation ms>_<sequence>`,
so they are unique across every process sharing the metastore. Jobs older than
`hiveish.jobhistory.retention` days are dropped when a job ends. Several processes may write
at once (WAL, busy timeout), as with the metastore.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ArchivedJob", "JobArchive", "archive_path", "retention_days"]

DEFAULT_RETENTION_DAYS = 7.0  # as Hadoop's mapreduce.jobhistory.max-age-ms (one week)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    query_id TEXT NOT NULL DEFAULT '',
    query TEXT NOT NULL DEFAULT '',
    user TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL DEFAULT '',
    pid INTEGER NOT NULL DEFAULT 0,
    runner TEXT NOT NULL DEFAULT '',
    stage TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'RUNNING',
    submitted REAL NOT NULL DEFAULT 0,
    finished REAL NOT NULL DEFAULT 0,
    elapsed REAL NOT NULL DEFAULT 0,
    maps INTEGER NOT NULL DEFAULT 0,
    reduces INTEGER NOT NULL DEFAULT 0,
    maps_done INTEGER NOT NULL DEFAULT 0,
    reduces_done INTEGER NOT NULL DEFAULT 0,
    counters TEXT NOT NULL DEFAULT '{}',
    task_counters TEXT NOT NULL DEFAULT '{}',
    failures TEXT NOT NULL DEFAULT '[]',
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS jobs_submitted ON jobs (submitted);
CREATE TABLE IF NOT EXISTS attempts (
    job_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    task INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    worker TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL DEFAULT 0,
    finished REAL NOT NULL DEFAULT 0,
    error TEXT NOT NULL DEFAULT '',
    counters TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (job_id, attempt_id)
);
"""

_STATUS = {"SUCCESS": "SUCCEEDED"}  # the runner's summary word -> Hive's job status


def archive_path(metastore: str) -> str | None:
    """`<metastore>.history`; None for an in-memory metastore (nothing to keep beside)."""
    if not metastore or metastore == ":memory:":
        return None
    return os.path.abspath(metastore) + ".history"


def retention_days(value: str | None) -> float:
    """`hiveish.jobhistory.retention`: days a finished job is kept (0: no archive)."""
    try:
        days = float(value) if value not in (None, "") else DEFAULT_RETENTION_DAYS
    except ValueError:
        days = DEFAULT_RETENTION_DAYS
    return max(0.0, days)


@dataclass
class ArchivedJob:
    """A job as read back from the archive (what SHOW JOBS, DESCRIBE JOB and the history page show)."""

    job_id: str
    query_id: str
    query: str
    user: str
    host: str
    pid: int
    runner: str
    stage: str
    status: str
    submitted: float
    finished: float
    elapsed: float
    maps: int
    reduces: int
    maps_done: int
    reduces_done: int
    counters: dict[str, int] = field(default_factory=dict)
    task_counters: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # filled by `JobArchive.job`


class JobArchive:
    """One process's handle on an archive file (thread-safe; opened lazily by the session)."""

    def __init__(self, path: str) -> None:
        self.path = path
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA busy_timeout = 60000")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('created_ms', ?)", (str(int(time.time() * 1000)),))
            self.epoch = self._conn.execute("SELECT value FROM meta WHERE key = 'created_ms'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writing ---------------------------------------------------------------------------------------
    def register(self, report: Any, query: str, query_id: str, runner: str) -> str:
        """Record a starting job and return its id (`job_<archive epoch>_<sequence>`)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                cur = self._conn.execute(
                    "INSERT INTO jobs (job_id, query_id, query, user, host, pid, runner, stage, status, submitted, "
                    "maps, reduces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?)",
                    (f"pending-{os.getpid()}-{time.monotonic_ns()}", query_id, query, _user(), socket.gethostname(),
                     os.getpid(), runner, report.stage, report.started, report.maps, report.reduces))
                job_id = f"job_{self.epoch}_{cur.lastrowid:04d}"
                self._conn.execute("UPDATE jobs SET job_id = ? WHERE seq = ?", (job_id, cur.lastrowid))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return job_id

    def finish(self, report: Any, retention: float) -> None:
        """Write the ended job whole (status, counters, attempts), then drop jobs past `retention` days."""
        attempts = [a.as_dict() for a in report.attempts]
        now = time.time()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "UPDATE jobs SET status = ?, finished = ?, elapsed = ?, maps = ?, reduces = ?, maps_done = ?, "
                    "reduces_done = ?, counters = ?, task_counters = ?, failures = ?, notes = ? WHERE job_id = ?",
                    (_STATUS.get(report.status, report.status), report.started + report.seconds, report.seconds,
                     report.maps, report.reduces, report.maps_done, report.reduces_done, json.dumps(report.counters),
                     json.dumps(report.task_counters), json.dumps(report.failures), json.dumps(report.notes),
                     report.job_id))
                self._conn.executemany(
                    "INSERT OR REPLACE INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(report.job_id, a["attempt_id"], a["kind"], a["task"], a["attempt"], a["status"], a["host"],
                      a["worker"], a["started"], a["finished"], a["error"], json.dumps(a["counters"]))
                     for a in attempts])
                cutoff = now - retention * 86400
                # finished jobs past retention, and jobs as old whose driver died before they ended
                old = [r[0] for r in self._conn.execute(
                    "SELECT job_id, status, host, pid FROM jobs WHERE (status != 'RUNNING' AND finished < ?) OR "
                    "(status = 'RUNNING' AND submitted < ?)", (cutoff, cutoff)).fetchall()
                    if r[1] != "RUNNING" or r[2] != socket.gethostname() or not _alive(r[3])]
                for i in range(0, len(old), 500):
                    chunk = old[i:i + 500]
                    marks = ", ".join("?" * len(chunk))
                    self._conn.execute(f"DELETE FROM attempts WHERE job_id IN ({marks})", chunk)
                    self._conn.execute(f"DELETE FROM jobs WHERE job_id IN ({marks})", chunk)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    # -- reading ---------------------------------------------------------------------------------------
    def jobs(self, limit: int = 100, newest_first: bool = False) -> list[ArchivedJob]:
        """The last `limit` jobs (oldest first unless asked otherwise), without their attempts."""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM jobs ORDER BY seq DESC LIMIT ?",
                                      (max(0, limit),)).fetchall()
        out = [_job(r) for r in rows]
        return out if newest_first else out[::-1]

    def job(self, job_id: str) -> ArchivedJob | None:
        """One job with its attempts (in start order)."""
        with self._lock:
            row = self._conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            attempts = self._conn.execute(
                "SELECT attempt_id, kind, task, attempt, status, host, worker, started, finished, error, counters "
                "FROM attempts WHERE job_id = ? ORDER BY started, attempt_id", (job_id,)).fetchall()
        job = _job(row)
        keys = ("attempt_id", "kind", "task", "attempt", "status", "host", "worker", "started", "finished", "error")
        job.attempts = [{**dict(zip(keys, a[:10])), "counters": json.loads(a[10] or "{}")} for a in attempts]
        return job

    def query_jobs(self, query_id: str) -> list[ArchivedJob]:
        """Every job (stage) of one statement, in order."""
        if not query_id:
            return []
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE query_id = ? ORDER BY seq",
                                      (query_id,)).fetchall()
        return [_job(r) for r in rows]


_COLUMNS = ("job_id, query_id, query, user, host, pid, runner, stage, status, submitted, finished, elapsed, maps, "
            "reduces, maps_done, reduces_done, counters, task_counters, failures, notes")


def _job(row: tuple) -> ArchivedJob:
    job = ArchivedJob(*row[:16], counters=json.loads(row[16] or "{}"), task_counters=json.loads(row[17] or "{}"),
                      failures=json.loads(row[18] or "[]"), notes=json.loads(row[19] or "[]"))
    if job.status == "RUNNING" and job.host == socket.gethostname() and not _alive(job.pid):
        job.status = "KILLED"  # its driver process is gone: the job will never end
    return job


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
