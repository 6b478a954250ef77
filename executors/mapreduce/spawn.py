"""Worker processes that never run the user's program.

multiprocessing's `spawn` start method makes each child run the parent's `__main__` again (so that
objects defined there can be unpickled): `multiprocessing.spawn.get_preparation_data` names the
main script (`init_main_from_path`) or module (`init_main_from_name`), and the child's `prepare()`
runs it as `__mp_main__` before it does anything else. A script that sets `engine=mr` without an
`if __name__ == "__main__":` guard then runs whole in every worker (each starting its own query and
pool: tracebacks, `BrokenProcessPool`), and `python - < script` names a `<stdin>` file that does
not exist.

hiveish's workers run only hiveish's own code (tasks are functions of importable modules, their
arguments hiveish's dataclasses), so they need no `__main__`: the preparation data of a process
whose name is registered here (`worker_names`) goes without those two keys. This is the only
change: the standard `spawn` machinery still starts the process (same interpreter, `sys.path`,
working directory, authkey), and every other process — the user's own pools included — is
prepared as before. The hook wraps `get_preparation_data` once, in the module every spawn-based
start (`popen_spawn_posix`, `popen_forkserver`) looks it up from.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import threading

__all__ = ["WORKER_PREFIX", "add_worker_name", "remove_worker_name", "worker_context"]

WORKER_PREFIX = "hiveish-worker-"  # names of the local runner's pool processes
_NAMES: dict[str, int] = {}  # other exact process names to start without `__main__` (count of users)
_LOCK = threading.Lock()
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")
_SEQ = itertools.count(1)


def _without_main(name, *args, **kwargs):
    data = _original(name, *args, **kwargs)
    if isinstance(name, str) and (name.startswith(WORKER_PREFIX) or name in _NAMES):
        for key in _MAIN_KEYS:
            data.pop(key, None)
    return data


_original = getattr(multiprocessing.spawn.get_preparation_data, "__wrapped__",
                    multiprocessing.spawn.get_preparation_data)
_without_main.__wrapped__ = _original  # type: ignore[attr-defined]
multiprocessing.spawn.get_preparation_data = _without_main


def add_worker_name(name: str) -> None:
    """Start processes called `name` (e.g. Dask's nanny-started workers) without the user's `__main__`."""
    with _LOCK:
        _NAMES[name] = _NAMES.get(name, 0) + 1


def remove_worker_name(name: str) -> None:
    with _LOCK:
        left = _NAMES.get(name, 0) - 1
        if left > 0:
            _NAMES[name] = left
        else:
            _NAMES.pop(name, None)


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process named `hiveish-worker-N`: prepared without the parent's `__main__`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.name = f"{WORKER_PREFIX}{next(_SEQ)}"


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


_CONTEXT = _WorkerContext()


def worker_context() -> multiprocessing.context.BaseContext:
    """The `spawn` context of hiveish's worker pool (for `ProcessPoolExecutor(mp_context=...)`)."""
    return _CONTEXT
