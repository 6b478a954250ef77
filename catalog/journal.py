"""The commit journal: file moves bound to one metastore transaction, all or nothing across crashes.

A statement that changes files (INSERT, LOAD, CTAS, DROP, ALTER ... DROP PARTITION) does every
change as a rename inside the statement's metastore transaction, which holds SQLite's write lock
(BEGIN IMMEDIATE) from the first rename to COMMIT. Before each rename the journal appends the
move to a file next to the metastore (`<metastore>.hiveish-commits/commit-*.json`, flushed and
fsynced). The transaction's COMMIT also inserts the journal's id into `commit_log`; that row is
the commit point:

- killed before COMMIT: the next session start finds the journal without its `commit_log` row
  and renames every recorded move back (the metastore rolled back by itself), so the tables read
  as before;
- killed after COMMIT: the row is there, the moves stand, and only the temporary directories the
  journal names (staging directories, trash) are deleted, so the tables read as after.

Recovery takes the metastore's write lock first, so no live writer is between its first move and
its COMMIT then: every journal without its row belongs to a dead process.

Staging directories written before the commit (the new files of an INSERT) are registered per
session (`session-<id>.staging`); a session holds an flock on `session-<id>.lock` while it lives,
so a later session start can tell a dead session's leftovers and delete them. They are hidden
(`.hive-staging_*`), so queries never see them in between.

A staging directory (or trash) a statement gave up but could not delete (its store unreachable) is
a leftover: recorded in `leftover-staging.jsonl`, it is deleted by the next write into the same
directory (any session) or the next session start. The next write also removes staging
directories nobody owns any more (see `sweep_orphans`): a dead session's, or one registered
nowhere (another metastore's, or brought back by a late write) once older than a maximum age.
Never removed: a live session's registered staging, and anything a commit journal still names.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Callable

from catalog.fs.base import FileSystem

FsFor = Callable[[str], FileSystem]

STAGING_PREFIX = ".hive-staging_hiveish_"
LEFTOVERS = "leftover-staging.jsonl"


def journal_dir_for(metastore_path: str) -> str | None:
    if metastore_path == ":memory:" or not metastore_path:
        return None
    return os.path.abspath(metastore_path) + ".hiveish-commits"


def kill_point(name: str) -> None:
    """Test hook: `HIVEISH_KILL_AT=name[:n]` SIGKILLs this process the n-th time it reaches `name`.

    The crash suite (tests/test_crash.py, tests/stress.py) uses it to stop a writer inside
    its commit window, which random delays almost never hit.
    """
    want = os.environ.get("HIVEISH_KILL_AT")
    if not want:
        return
    point, _, nth = want.partition(":")
    if point != name:
        return
    count = _KILL_COUNTS.get(name, 0) + 1
    _KILL_COUNTS[name] = count
    if count >= int(nth or 1):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


_KILL_COUNTS: dict[str, int] = {}


class Journal:
    """The open transaction's file moves, plus this session's staging directories."""

    def __init__(self, directory: str | None, fs_for: FsFor) -> None:
        self.dir = directory
        self.fs_for = fs_for
        self.session_id = uuid.uuid4().hex[:16]
        self.moves: list[tuple[str, str]] = []
        self.after: list[str] = []  # temporary paths deleted once the transaction ended
        self.stranded: list[str] = []  # moves the last rollback could not undo
        self.commit_id: str | None = None
        self.staging: set[str] = set()  # staging directories this session registered
        self.leftovers: set[str] = set()  # given up but not deleted (kept on disk too, when there is a dir)
        self._file = None
        self._seq = 0
        self._lock_fd: int | None = None
        if directory is not None:
            os.makedirs(directory, exist_ok=True)
            fd = os.open(self._path("lock"), os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._lock_fd = fd

    def _path(self, kind: str, sid: str | None = None) -> str:
        assert self.dir is not None
        return os.path.join(self.dir, f"session-{sid or self.session_id}.{kind}")

    def close(self) -> None:
        if self._lock_fd is None:
            return
        for kind in ("staging", "lock"):
            try:
                os.unlink(self._path(kind))
            except FileNotFoundError:
                pass
        os.close(self._lock_fd)
        self._lock_fd = None

    # -- staging ------------------------------------------------------------------------------
    def register_staging(self, path: str) -> None:
        """Remember a staging directory so a later session deletes it if this one dies."""
        if self.dir is None:
            return
        self.staging.add(path.rstrip("/"))
        with open(self._path("staging"), "a", encoding="utf-8") as f:
            f.write(json.dumps(path) + "\n")

    def abandon(self, path: str) -> None:
        """A statement gave up `path` (its staging directory, or trash): delete it, or leave it to the next
        write into its directory or the next session start if the store cannot be reached now."""
        if not _delete(self.fs_for, path):
            self._remember_leftover(path)

    def _remember_leftover(self, path: str) -> None:
        path = path.rstrip("/")
        self.leftovers.add(path)
        if self.dir is None:
            return
        with self._leftover_file() as f:
            f.seek(0, os.SEEK_END)
            f.write(json.dumps(path) + "\n")

    @contextlib.contextmanager
    def _leftover_file(self) -> Iterator:
        """The shared leftover list, opened and flock-ed (every session of the metastore appends to it)."""
        assert self.dir is not None
        with open(os.path.join(self.dir, LEFTOVERS), "a+", encoding="utf-8") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            f.seek(0)
            yield f
            f.flush()

    def _all_leftovers(self) -> set[str]:
        out = set(self.leftovers)
        if self.dir is not None and os.path.exists(os.path.join(self.dir, LEFTOVERS)):
            with self._leftover_file() as f:
                for line in f:
                    with contextlib.suppress(ValueError):
                        out.add(json.loads(line))
        return out

    def sweep_leftovers(self, under: str | None = None) -> list[str]:
        """Delete recorded leftovers (those directly in directory `under`, or all); returns those removed.

        Stops at the first that cannot be deleted: its store is likely still unreachable.
        """
        want = [p for p in sorted(self._all_leftovers())
                if under is None or p.rsplit("/", 1)[0] == under.rstrip("/")]
        if not want:
            return []
        named = self.journaled_paths()
        removed = []
        for path in want:
            if _names(named, path):
                continue  # an unfinished commit's undo needs what it holds
            if not _delete(self.fs_for, path):
                break
            removed.append(path)
        if removed:
            self.leftovers -= set(removed)
            if self.dir is not None:
                with self._leftover_file() as f:
                    keep = [line for line in f if _loads(line) not in removed]
                    f.seek(0)
                    f.truncate()
                    f.writelines(keep)
        return removed

    def sweep_orphans(self, directory: str, max_age: float) -> list[str]:
        """Delete the staging directories in `directory` no live statement can own; returns those removed.

        Owner marker: the `session-<id>.staging` registration, alive while its session holds
        `session-<id>.lock`. Kept: this session's own (a statement of it may be running; its
        given-up ones are leftovers), a live session's, and anything a commit journal names.
        Removed: a dead session's; one registered nowhere (another metastore's, or one a late
        write brought back) once unchanged for `max_age` seconds.
        """
        fs = self.fs_for(directory)
        try:
            children = [c for c in fs.list(directory)
                        if c.is_dir and c.path.rstrip("/").rsplit("/", 1)[-1].startswith(STAGING_PREFIX)
                        and not (c.path.rstrip("/") in self.staging and c.path.rstrip("/") not in self.leftovers)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        if not children:
            return []  # the usual case: only this statement's own
        owners = self._registered_owners()
        named = self.journaled_paths()
        removed = []
        now = time.time()
        for c in children:
            path = c.path.rstrip("/")
            if _names(named, path):
                continue
            owner = owners.get(path)
            if owner is not None and owner != self.session_id:
                if not _lock_is_free(self._path("lock", owner)):
                    continue  # a live session's: its statement may still be writing
            elif owner is None and now - c.modification_time < max_age:
                continue
            if _delete(self.fs_for, path):
                removed.append(path)
        return removed

    def _registered_owners(self) -> dict[str, str]:
        """Staging path -> the session that registered it, for every session of this metastore."""
        out: dict[str, str] = {}
        if self.dir is None:
            return {p: self.session_id for p in self.staging}
        for name in os.listdir(self.dir):
            if not (name.startswith("session-") and name.endswith(".staging")):
                continue
            sid = name[len("session-"):-len(".staging")]
            with contextlib.suppress(FileNotFoundError):
                with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                    for line in f:
                        p = _loads(line)
                        if p:
                            out[p.rstrip("/")] = sid
        return out

    def journaled_paths(self) -> set[str]:
        """Every path an unfinished commit journal names (its moves and temporary paths)."""
        out: set[str] = {p for m in self.moves for p in m} | set(self.after)
        if self.dir is None:
            return out
        for name in os.listdir(self.dir):
            if name.startswith("commit-") and name.endswith(".json"):
                with contextlib.suppress(FileNotFoundError):
                    moves, after = _read_journal(os.path.join(self.dir, name))
                    out |= {p for m in moves for p in m} | set(after)
        return {p.rstrip("/") for p in out}

    # -- the open transaction --------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.commit_id is not None

    def _record(self, entry: dict) -> None:
        if self.commit_id is None:
            self.commit_id = f"{self.session_id}-{self._seq}"
            self._seq += 1
            if self.dir is not None:
                self._file = open(os.path.join(self.dir, f"commit-{self.commit_id}.json"), "a", encoding="utf-8")
        if self._file is not None:
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

    def move(self, src: str, dst: str) -> None:
        """Rename `src` to `dst` as part of the open transaction (journaled first)."""
        self._record({"move": [src, dst]})
        kill_point("move")
        self.fs_for(src).rename(src, dst)
        self.moves.append((src, dst))
        kill_point("moved")

    def delete_after(self, path: str) -> None:
        """Delete the temporary `path` when the transaction ends (either way)."""
        self._record({"after": path})
        self.after.append(path)

    def committed(self) -> None:
        """COMMIT went through: the moves stand; drop the temporary paths and the journal."""
        kill_point("after-commit")
        after = self.after
        self.after = []  # no longer named by a journal: a leftover now if it cannot be deleted
        for path in after:
            self.abandon(path)
        self._close_file(remove=True)
        self._reset()

    def rolled_back(self) -> list[str]:
        """The transaction failed: rename every move back. Returns the moves that could not be undone.

        The journal file stays when some could not (a remote store refusing), so the next
        session start tries again.
        """
        stranded = []
        for src, dst in reversed(self.moves):
            try:
                self.fs_for(dst).rename(dst, src)
            except Exception:
                stranded.append(dst)
        if not stranded:
            after = self.after
            self.after = []
            for path in after:
                self.abandon(path)
        self._close_file(remove=not stranded)
        self.stranded = stranded
        self._reset()
        return stranded

    def _close_file(self, remove: bool) -> None:
        if self._file is not None:
            name = self._file.name
            self._file.close()
            self._file = None
            if remove:
                try:
                    os.unlink(name)
                except FileNotFoundError:
                    pass

    def _reset(self) -> None:
        self.moves = []
        self.after = []
        self.commit_id = None

    # -- recovery at session start ------------------------------------------------------------------
    def pending(self) -> bool:
        """Anything left by an earlier process: a journal, or a session lock nobody holds."""
        if self.dir is None or not os.path.isdir(self.dir):
            return False
        for name in os.listdir(self.dir):
            if name.startswith("commit-") or name == LEFTOVERS and os.path.getsize(os.path.join(self.dir, name)):
                return True
            if name.startswith("session-") and name.endswith(".lock") and name != f"session-{self.session_id}.lock":
                if _lock_is_free(os.path.join(self.dir, name)):
                    return True
        return False

    def recover(self, is_committed: Callable[[str], bool]) -> list[str]:
        """Finish or undo the journals of dead writers; delete dead sessions' staging directories.

        Must run while holding the metastore's write lock. Returns one line per action, for logs.
        """
        done: list[str] = []
        if self.dir is None:
            return done
        for name in sorted(os.listdir(self.dir)):
            if not name.startswith("commit-") or not name.endswith(".json"):
                continue
            cid = name[len("commit-"):-len(".json")]
            try:
                moves, after = _read_journal(os.path.join(self.dir, name))
            except FileNotFoundError:
                continue  # a live writer finished its committed journal meanwhile

            if is_committed(cid):
                done.append(f"finished commit {cid}")
            else:
                for src, dst in reversed(moves):
                    fs = self.fs_for(dst)
                    try:
                        if fs.exists(dst) and not fs.exists(src):
                            fs.rename(dst, src)
                    except OSError:
                        return done  # storage unavailable: keep the journal, try again next start
                done.append(f"rolled back commit {cid} ({len(moves)} move(s))")
            for path in after:
                _delete(self.fs_for, path)
            # a committed journal may belong to a live writer cleaning up after its COMMIT: either may unlink it
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.dir, name))
        for name in sorted(os.listdir(self.dir)):
            if not (name.startswith("session-") and name.endswith(".lock")):
                continue
            sid = name[len("session-"):-len(".lock")]
            if sid == self.session_id:
                continue
            try:
                fd = os.open(os.path.join(self.dir, name), os.O_RDWR)
            except FileNotFoundError:
                continue  # its session closed meanwhile
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live session
                staging = self._path("staging", sid)
                with contextlib.suppress(FileNotFoundError):
                    with open(staging, encoding="utf-8") as f:
                        lines = f.readlines()
                    for line in lines:
                        try:
                            path = json.loads(line)
                        except ValueError:
                            continue  # torn last line: the directory was never created
                        _delete(self.fs_for, path)
                    os.unlink(staging)
                    done.append(f"removed staging of dead session {sid}")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.dir, name))
            finally:
                os.close(fd)
        removed = self.sweep_leftovers()
        if removed:
            done.append(f"removed {len(removed)} staging director{'y' if len(removed) == 1 else 'ies'} "
                        "left by failed statements")
        return done

    def live_commit_ids(self) -> set[str]:
        if self.dir is None:
            return set()
        return {n[len("commit-"):-len(".json")] for n in os.listdir(self.dir)
                if n.startswith("commit-") and n.endswith(".json")}


def _lock_is_free(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _read_journal(path: str) -> tuple[list[tuple[str, str]], list[str]]:
    moves: list[tuple[str, str]] = []
    after: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line: its rename never started
            if "move" in entry:
                moves.append((entry["move"][0], entry["move"][1]))
            elif "after" in entry:
                after.append(entry["after"])
    return moves, after


def _delete(fs_for: FsFor, path: str) -> bool:
    """Delete `path` recursively; True if it is gone (deleted, or was not there)."""
    try:
        fs_for(path).delete(path, recursive=True)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _loads(line: str) -> str | None:
    try:
        out = json.loads(line)
    except ValueError:
        return None  # a torn last line
    return out if isinstance(out, str) else None


def _names(named: set[str], path: str) -> bool:
    """Whether `path` or anything below it is in `named`."""
    return path in named or any(p.startswith(path + "/") for p in named)
