"""The Dask runner: a query's MapReduce task attempts run as tasks on a Dask distributed cluster.

`SET hiveish.mapreduce.runner=dask` sends every map, reduce and sample attempt
to the scheduler at `hiveish.dask.scheduler` (`tcp://host:8786`), or, without
an address, to a `LocalCluster` of worker processes started once per process
and reused. Only "run many tasks" differs from the local runner: the driver
(`MRRunner`) still computes splits, samples, counts, and retries failed
attempts, so counters and failure logs read the same. Dask's own retries stay
off (`retries=0`; a scheduler started with `allowed-failures` 0, as the
LocalCluster here is, reports a worker death as `KilledWorker` to the driver,
which relaunches the attempt elsewhere as the next attempt).

Shuffle: map outputs stay Arrow IPC files under the runner's job directory
(`hiveish.mapreduce.local.dir`), which must be a directory every worker and
the client see at the same path (one machine, or a shared mount such as NFS).
Committed map outputs on shared storage outlive the worker that wrote them,
so a dead worker costs only the attempts it was running (worker-local storage
would lose its finished maps too); the task bodies keep reading and writing
plain files, with atomic rename commits; and the driver reads the result where
the last job left it. See README "Running on a Dask cluster".

Locality: a map task goes to the workers on the hosts holding its split's
blocks (`workers=`, `allow_other_workers=True`): any worker may take it when
those are busy or gone.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import pickle
import socket
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

from executors.mapreduce.attempts import run_attempt as run_timed
from executors.mapreduce.job import MRPlan, TaskResult, TaskSpec
from executors.mapreduce.runner import MRRunner
from executors.mapreduce.spawn import add_worker_name, remove_worker_name
from executors.mapreduce.splits import remove_tree
from hiveish import errors

__all__ = ["DaskRunner", "SharedDirMissing", "client_for", "close_client", "shutdown_local_cluster"]

_LOCK = threading.Lock()
_CLIENTS: dict[str, Any] = {}  # scheduler address -> distributed.Client (one per process)
_LOCAL: dict[str, Any] = {}  # "cluster", "client", "workers": the process's LocalCluster


class SharedDirMissing(RuntimeError):
    """A worker cannot see the job directory: hiveish.mapreduce.local.dir is not shared with it."""


def _distributed():
    try:
        import distributed
    except ImportError as e:
        raise errors.ExecutionError("hiveish.mapreduce.runner=dask needs Dask distributed on the client and the "
                                    "workers: pip install 'hiveish[dask]'") from e
    return distributed


# the name Dask's nanny gives the worker processes it spawns (distributed/nanny.py, WorkerProcess.start)
NANNY_PROCESS_NAME = "Dask Worker process (from Nanny)"


def prestart_local_cluster(workers: int) -> None:
    """Start the process's LocalCluster in a background thread (a query waits for it, not for nothing)."""
    with _LOCK:
        if _LOCAL.get("client") is not None:
            return

    def start() -> None:
        try:
            client = _local_client(workers)
            if _LOCAL.get("processes"):
                from executors.mapreduce.tasks import warm_up

                client.run(warm_up)  # each worker imports the task code and opens its DuckDB now
        except Exception:  # noqa: BLE001 - the first query starts it again and reports why it cannot
            pass

    threading.Thread(target=start, daemon=True, name="hiveish-dask-start").start()


def _local_client(workers: int):
    """The process's LocalCluster (started on first use, `workers` processes of one thread) and its client.

    Its nanny-started worker processes are spawned without the user's `__main__` (see `spawn.py`) for as
    long as this cluster runs (Dask names every nanny's worker process alike, so a cluster the user starts
    meanwhile in the same process gets the same treatment)."""
    import dask

    distributed = _distributed()
    with _LOCK:
        client = _LOCAL.get("client")
        if client is not None and client.status == "running":
            return client
        if _LOCAL.get("cluster") is not None:  # a cluster whose client died: replace both
            try:
                _LOCAL.pop("cluster").close()
            except Exception:  # noqa: BLE001 - already gone
                pass
        processes = not multiprocessing.current_process().daemon  # a daemonic process cannot start workers
        if processes and not _LOCAL.get("no_main"):
            add_worker_name(NANNY_PROCESS_NAME)
            _LOCAL["no_main"] = True
        try:
            # the scheduler runs in this process: a worker's death reaches the driver as a failed attempt
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                                                   dashboard_address=":0", silence_logs=logging.ERROR)
                client = distributed.Client(cluster, set_as_default=False)
        except Exception as e:  # noqa: BLE001 - e.g. worker processes cannot start from this program
            raise errors.ExecutionError(f"Could not start a local Dask cluster ({type(e).__name__}: {e}); "
                                        "set hiveish.dask.scheduler to use a running one") from e
        _LOCAL.update(cluster=cluster, client=client, workers=workers, processes=processes)
        return client


def client_for(address: str, timeout: float = 10.0):
    """A client of the scheduler at `address`, one per address and process, kept for later queries."""
    distributed = _distributed()
    with _LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status in ("running", "connecting"):
            return client
        try:
            client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise errors.ExecutionError(f"Cannot reach the Dask scheduler at {address} "
                                        f"(hiveish.dask.scheduler): {e}") from e
        _CLIENTS[address] = client
        return client


def close_client(address: str) -> None:
    """Close this process's client of the scheduler at `address` (before that scheduler stops)."""
    with _LOCK:
        client = _CLIENTS.pop(address, None)
    if client is not None:
        client.close()


@atexit.register
def shutdown_local_cluster() -> None:
    """Close the clients and the LocalCluster this process started."""
    with _LOCK:
        clients = list(_CLIENTS.values())
        _CLIENTS.clear()
        local = dict(_LOCAL)
        _LOCAL.clear()
    for c in clients + [local.get("client")]:
        if c is not None:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
    if local.get("cluster") is not None:
        try:
            local["cluster"].close()
        except Exception:  # noqa: BLE001
            pass
    if local.get("no_main"):
        remove_worker_name(NANNY_PROCESS_NAME)


@lru_cache(maxsize=1024)
def _address_of(host: str) -> str:
    """An IP address for a host name (block locations name hosts; workers report addresses)."""
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


def _host_of(worker: str) -> str:
    """`tcp://10.0.0.5:40123` -> `10.0.0.5` (also for `[::1]`-style addresses)."""
    rest = worker.split("://", 1)[-1]
    host = rest.rsplit(":", 1)[0]
    return host.strip("[]")


# -- worker side ---------------------------------------------------------------------------------
WATCH_INTERVAL = 0.2  # seconds between a running attempt's looks for its query's cancellation
MAX_GRACE = 30.0  # the longest the driver waits for cancelled attempts to leave the query's directory


def cancel_grace(settings: dict[str, str]) -> float:
    """`hiveish.mapreduce.cancel.grace.ms` in seconds: how long a cancelled attempt may take to stop."""
    try:
        return max(0.0, int(settings.get("hiveish.mapreduce.cancel.grace.ms") or 1000) / 1000)
    except ValueError:
        return 1.0


def run_attempt(blob: bytes) -> TaskResult:
    """One task attempt on a Dask worker (the spec travels pickled: plain bytes for the scheduler)."""
    spec: TaskSpec = pickle.loads(blob)
    if not os.path.isdir(spec.job_dir):
        raise SharedDirMissing(f"{spec.job_dir} is not visible on Dask worker host {socket.gethostname()}: "
                               "hiveish.mapreduce.local.dir must be a directory shared by the client and "
                               "every worker, at the same path")
    # dask may rerun this attempt after its worker died (a scheduler allowing failures): start clean
    remove_tree(os.path.join(spec.job_dir, "_temporary", spec.attempt_id))
    done = threading.Event()
    watcher = _Watcher(spec, done, _nanny_worker())
    watcher.start()
    try:
        return run_timed(spec)  # tasks.run_task, stamped with where and when it ran
    finally:
        done.set()
        watcher.join()
        if watcher.recreated:  # the driver had removed the query's directory: remove what the stop needed
            remove_tree(os.path.dirname(spec.job_dir))


class _Watcher(threading.Thread):
    """Stops an attempt whose query was cancelled or abandoned while it ran.

    Dask cannot interrupt a running task: cancelling its future only makes the
    scheduler forget it, while the worker thread runs on, holding its slot. Task
    bodies stop between batches when the query's `_cancel` marker exists, but a
    driver that gives up on a query may remove the query's directory, marker included,
    so here a vanished directory gets the marker back. An attempt that still runs
    `hiveish.mapreduce.cancel.grace.ms` after its query was cancelled (one long DuckDB
    call) is stopped the way Hadoop kills a task's JVM: the worker process exits and its
    nanny starts a fresh one (only under a nanny; a worker without one is left alone).
    """

    def __init__(self, spec: TaskSpec, done: threading.Event, worker: str | None) -> None:
        super().__init__(daemon=True, name=f"hiveish-watch-{spec.attempt_id}")
        self.spec, self.done, self.worker = spec, done, worker
        self.query_dir = os.path.dirname(spec.job_dir)
        self.marker = os.path.join(self.query_dir, "_cancel")
        self.recreated = False
        self.grace = cancel_grace(spec.settings)

    def run(self) -> None:
        since: float | None = None
        while not self.done.wait(WATCH_INTERVAL):
            gone = not os.path.isdir(self.spec.job_dir)
            if gone:
                try:
                    os.makedirs(self.spec.job_dir, exist_ok=True)
                    with open(self.marker, "w"):
                        pass
                    self.recreated = True
                except OSError:
                    pass
            if since is None and (gone or os.path.exists(self.marker)):
                since = time.monotonic()
            if since is not None and time.monotonic() - since > self.grace and not self.done.is_set():
                if self.worker is not None:
                    logging.getLogger(__name__).warning(
                        "cancelled attempt %s did not stop within %.1f s: restarting worker %s",
                        self.spec.attempt_id, self.grace, self.worker)
                    os._exit(1)  # the nanny starts a fresh worker process
                return


def _nanny_worker() -> str | None:
    """This Dask worker's address when a nanny watches it (and would restart it), else None.

    Asked in the task's own thread: `get_worker` knows the worker only there."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):  # not on a Dask worker
        return None
    return worker.address if getattr(worker, "nanny", None) else None


def _remove_when_left(query_dir: str, grace: float) -> None:
    """Remove a cancelled query's directory once no attempt directory is left in it (or after the grace)."""
    deadline = time.monotonic() + min(MAX_GRACE, grace + 5.0)  # + a worker's restart
    while time.monotonic() < deadline:
        try:
            left = [a for stage in os.listdir(query_dir) if os.path.isdir(os.path.join(query_dir, stage, "_temporary"))
                    for a in os.listdir(os.path.join(query_dir, stage, "_temporary"))]
        except OSError:
            break
        if not left:
            break
        time.sleep(WATCH_INTERVAL)
    remove_tree(query_dir)


# -- driver side -----------------------------------------------------------------------------------
class DaskRunner(MRRunner):
    """Task attempts as tasks on a Dask cluster (`hiveish.dask.scheduler`, or a local cluster).

    Like Hadoop's task slots, at most one attempt per worker thread is on the
    cluster at a time; the rest wait in the driver. So a worker that dies holds
    (and costs) only the attempts it was running, and each map task is placed
    when a slot frees, by the workers alive then.
    """

    def __init__(self, plan: MRPlan) -> None:
        super().__init__(plan)
        self.scheduler = (self.settings.get("hiveish.dask.scheduler") or "").strip()
        try:
            self.timeout = float(self.settings.get("hiveish.dask.timeout") or 10)
        except ValueError:
            self.timeout = 10.0
        try:
            n = int(self.settings.get("hiveish.mapreduce.workers") or 0)
        except ValueError:
            n = 0
        self.local_workers = n if n > 0 else (os.cpu_count() or 1)
        self.threads = 1  # DuckDB threads per task: a worker thread runs one task
        self.query_id = uuid.uuid4().hex[:12]
        self._client_obj: Any = None
        self._lock = threading.Lock()
        self._waiting: deque[tuple[TaskSpec, Future]] = deque()  # attempts not yet sent
        self._running: dict[Future, Any] = {}  # attempts on the cluster: our future -> the cluster's
        self._hosts: dict[str, list[str]] = {}  # worker host address -> worker addresses
        self._slots = 1  # worker threads in the cluster
        self._info_at = -1.0
        self.placements: dict[str, list[str]] = {}  # attempt id -> workers it asked for
        self._abandoned = False  # attempts were cancelled on the cluster while running

    @property
    def client(self):
        if self._client_obj is None:
            self._client_obj = (client_for(self.scheduler, self.timeout) if self.scheduler
                                else _local_client(self.local_workers))
            # a thread-based local cluster (from a daemonic process) runs tasks in this process
            self.inprocess = not self.scheduler and not _LOCAL.get("processes", True)
        return self._client_obj

    def run(self, log: list[str] | None = None):
        try:
            self.client  # noqa: B018 - connect first: an unreachable scheduler is a clear error, not a task failure
        except BaseException:
            self.cleanup()
            raise
        return super().run(log)

    # the cluster's shape ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Workers by host, and worker threads (asked of the scheduler at most once a second)."""
        now = time.monotonic()
        if now - self._info_at <= 1.0:
            return
        by_host: dict[str, list[str]] = {}
        threads = 0
        for addr, info in self.client.scheduler_info(n_workers=-1).get("workers", {}).items():
            host = info.get("host") or _host_of(addr)
            by_host.setdefault(_address_of(host), []).append(addr)
            threads += int(info.get("nthreads") or 1)
        self._hosts, self._slots, self._info_at = by_host, max(1, threads), now

    def workers_for(self, hosts: list[str]) -> list[str]:
        """Addresses of the workers running on `hosts`."""
        if not hosts:
            return []
        self._refresh()
        out: list[str] = []
        for h in hosts:
            out += [w for w in self._hosts.get(_address_of(h), []) if w not in out]
        return out

    # the hooks ------------------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> Future:
        out: Future = Future()
        with self._lock:
            self._waiting.append((spec, out))
        self._pump()
        return out

    def _pump(self) -> None:
        """Send waiting attempts while there are free worker threads."""
        try:
            self._refresh()
        except Exception:  # noqa: BLE001 - the scheduler is unreachable: the submit below says so
            pass
        while True:
            with self._lock:
                if not self._waiting or len(self._running) >= self._slots:
                    return
                spec, out = self._waiting.popleft()
                if out.cancelled():
                    continue
                self._running[out] = None
            self._send(spec, out)

    def _send(self, spec: TaskSpec, out: Future) -> None:
        try:
            workers = self.workers_for(spec.split.hosts) if spec.split is not None and spec.kind != "reduce" else []
            self.placements[spec.attempt_id] = workers
            fut = self.client.submit(run_attempt, pickle.dumps(spec), key=f"hiveish-{self.query_id}-{spec.attempt_id}",
                                     pure=False, retries=0, workers=workers or None,
                                     allow_other_workers=bool(workers))
        except Exception as e:  # noqa: BLE001 - e.g. the scheduler went away: a failed attempt
            with self._lock:
                self._running.pop(out, None)
            if out.set_running_or_notify_cancel():
                out.set_exception(e)
            return
        with self._lock:
            if out in self._running:
                self._running[out] = fut

        def finished(f: Any) -> None:
            try:
                if out.set_running_or_notify_cancel():
                    try:
                        out.set_result(f.result())  # fetch now: the worker may die later
                    except BaseException as e:  # noqa: BLE001 - delivered to the driver as the attempt's failure
                        # without this frame in its traceback: a cycle through `fut` would keep the
                        # erred task on the scheduler until the garbage collector found it
                        out.set_exception(e.with_traceback(None))
            finally:
                with self._lock:
                    self._running.pop(out, None)
                self._pump()

        def cancelled(o: Future) -> None:  # looked up, not captured: a done attempt holds no cluster future
            if o.cancelled():
                with self._lock:
                    running = self._running.get(o)
                if running is not None:
                    running.cancel()

        out.add_done_callback(cancelled)
        fut.add_done_callback(finished)

    def abort(self, running: list[Future]) -> None:
        self._mark_cancelled()  # a failed query: its other attempts stop too
        self._cancel_cluster_tasks()

    def cancel(self) -> None:
        super().cancel()  # the marker file tells running attempts to stop between batches
        self._cancel_cluster_tasks()

    def _mark_cancelled(self) -> None:
        try:
            with open(os.path.join(self.dir, "_cancel"), "w"):
                pass
        except OSError:
            pass

    def cleanup(self) -> None:
        """Remove the query's directory; after a cancel or failure, once the cluster's attempts have left it.

        Attempts cancelled on the cluster may still be running (Dask cannot stop them): they
        stop at the `_cancel` marker, removing their attempt directories. The directory goes
        when none is left, or after the cancel grace, by which time the watchers have stopped them.
        """
        with self._lock:
            abandoned, self._abandoned = self._abandoned, False
        if not abandoned:
            super().cleanup()
            return
        self._mark_cancelled()
        threading.Thread(target=_remove_when_left, args=(self.dir, cancel_grace(self.settings)), daemon=True,
                         name=f"hiveish-cleanup-{self.query_id}").start()
        self.release_dir()

    def _cancel_cluster_tasks(self) -> None:
        with self._lock:
            waiting = [out for _, out in self._waiting]
            self._waiting.clear()
            futures = [f for f in self._running.values() if f is not None]
            self._abandoned = self._abandoned or bool(futures)
        for out in waiting:
            out.cancel()
        if futures and self._client_obj is not None:
            try:
                self._client_obj.cancel(futures, force=True)
            except Exception:  # noqa: BLE001 - the cluster may be gone already
                pass
