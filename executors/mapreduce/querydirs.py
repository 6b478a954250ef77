"""A query's shuffle directory under `hiveish.mapreduce.local.dir`, and the clean-up of dead drivers' ones.

A driver holds an flock on `<query dir>/_driver.lock` for as long as the query runs.
A driver that dies without cleaning up (SIGKILL, OOM, power cut) leaves its
directory behind, map outputs and spills included, possibly gigabytes; the next
driver to start under the same root finds the lock free and removes the
directory. A directory without a lock file (another driver between creating it
and locking it) is left alone unless it is older than `STALE_SECONDS`.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time

from executors.mapreduce.splits import remove_tree

LOCK = "_driver.lock"
STALE_SECONDS = 24 * 3600


def claim(root: str) -> tuple[str, int]:
    """A new query directory under `root`, locked by this process: (path, lock fd)."""
    os.makedirs(root, exist_ok=True)
    path = tempfile.mkdtemp(prefix="query-", dir=root)
    fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return path, fd


def release(fd: int) -> None:
    try:
        os.close(fd)  # closing drops the flock
    except OSError:
        pass


def sweep(root: str, keep: str) -> list[str]:
    """Remove the query directories under `root` whose driver is gone; returns their paths."""
    removed: list[str] = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(root, name)
        if not name.startswith("query-") or path == keep or not os.path.isdir(path):
            continue
        if _driver_gone(path):
            remove_tree(path)
            removed.append(path)
    return removed


def _driver_gone(path: str) -> bool:
    try:
        fd = os.open(os.path.join(path, LOCK), os.O_RDWR)
    except FileNotFoundError:
        try:
            return time.time() - os.path.getmtime(path) > STALE_SECONDS
        except OSError:
            return False
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
