"""The MapReduce driver: job lifecycle, splits, sampling, task attempts, retries, counters.

`MRRunner` walks the plan's jobs in order. For each job it computes splits,
samples keys for a total-order sort, runs map tasks, then reduce tasks, and
keeps per-job and per-task counters. What a task does is in `tasks.py`;
subclasses supply one hook, `submit` (how one task attempt runs: in-process,
a process pool, a cluster, ...).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import pyarrow as pa

from executors.mapreduce import attempts, querydirs
from executors.mapreduce.job import MapJoinOption, MRJob, MRPlan, Split, TaskResult, TaskSpec
from executors.mapreduce.splits import DEFAULT_SPLIT_SIZE, remove_tree, splits_for_files, splits_for_scan
from executors.mapreduce.tasks import TaskCancelled, _read_schema, setting_int
from hiveish import errors

__all__ = ["COUNTER_ORDER", "JobReport", "MRRunner", "new_job_id", "parse_attempts"]

COUNTER_ORDER = ("MAP_INPUT_RECORDS", "MAP_INPUT_BYTES", "MAP_OUTPUT_RECORDS", "MAP_OUTPUT_BYTES",
                 "COMBINE_INPUT_RECORDS", "COMBINE_OUTPUT_RECORDS", "SPILLED_RECORDS", "SPILLS",
                 "REDUCE_SHUFFLE_BYTES", "REDUCE_INPUT_GROUPS", "REDUCE_INPUT_RECORDS", "REDUCE_OUTPUT_RECORDS",
                 "OUTPUT_BYTES", "CPU_MILLISECONDS", "FAILED_ATTEMPTS")

_int = setting_int
MIN_REDUCER_BYTES = 32 * 1024 * 1024  # the least input worth a reducer of its own when filling worker slots

# Hive's job ids: job_<cluster start time>_<sequence>; here the driver process's start
_STARTED = time.strftime("%Y%m%d%H%M%S")
_SEQ = itertools.count(1)
_SEQ_LOCK = threading.Lock()


def new_job_id() -> str:
    """A job id unique within this process, `job_<timestamp>_<nnnn>` as Hadoop prints them."""
    with _SEQ_LOCK:
        return f"job_{_STARTED}_{next(_SEQ):04d}"


def parse_attempts(text: str) -> set[tuple[str | None, str, int, int]]:
    """`map:0:0,reduce:1:0` or `Stage-2:reduce:0:1` -> {(stage, kind, task, attempt)}."""
    out = set()
    for item in (text or "").split(","):
        parts = [p.strip() for p in item.split(":") if p.strip()]
        if len(parts) == 3:
            out.add((None, parts[0].lower(), int(parts[1]), int(parts[2])))
        elif len(parts) == 4:
            out.add((parts[0], parts[1].lower(), int(parts[2]), int(parts[3])))
    return out


# -- driver side ---------------------------------------------------------------------------------
@dataclass
class JobReport:
    """One job (stage) of a run: sizes, live progress, counters and failed attempts.

    `status` is RUNNING, then SUCCESS (the word Hive's job summary line ends with),
    FAILED or KILLED. `maps_done` / `reduces_done` count tasks that committed, and
    are updated while the job runs, so another thread may poll `progress()`.
    """

    stage: str
    maps: int = 0
    reduces: int = 0
    status: str = "RUNNING"
    counters: dict[str, int] = field(default_factory=dict)
    task_counters: dict[str, dict[str, int]] = field(default_factory=dict)  # task id -> counters
    failures: list[str] = field(default_factory=list)  # "attempt id: error"
    notes: list[str] = field(default_factory=list)  # decisions taken while running (e.g. a map join)
    attempts: list = field(default_factory=list)  # every task attempt (`attempts.Attempt`), in finishing order
    seconds: float = 0.0
    job_id: str = ""
    maps_done: int = 0
    reduces_done: int = 0
    started: float = field(default_factory=time.time)

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"

    @property
    def elapsed(self) -> float:
        return self.seconds if self.finished else time.time() - self.started

    def progress(self) -> dict:
        """`{"stage", "job_id", "map", "reduce", ...}`: map/reduce percent complete (0-100)."""
        done = self.status == "SUCCESS"
        mp = 100 if done or not self.maps else (100 * self.maps_done) // self.maps
        rp = 0 if not self.reduces else 100 if done else (100 * self.reduces_done) // self.reduces  # map-only: 0
        return {"stage": self.stage, "job_id": self.job_id, "map": mp, "reduce": rp, "status": self.status,
                "maps": self.maps, "maps_done": self.maps_done, "reduces": self.reduces,
                "reduces_done": self.reduces_done, "elapsed": round(self.elapsed, 3)}

    def add(self, task_id: str, counters: dict[str, int]) -> None:
        self.task_counters[task_id] = dict(counters)
        for k, v in counters.items():
            self.counters[k] = self.counters.get(k, 0) + v

    def line(self) -> str:
        c = self.counters
        cpu = c.get("CPU_MILLISECONDS", 0) / 1000
        return (f"{self.stage}: Map: {self.maps}  Reduce: {self.reduces}   Cumulative CPU: {cpu:.2f} sec   "
                f"Read: {c.get('MAP_INPUT_BYTES', 0)} Write: {c.get('OUTPUT_BYTES', 0)} {self.status}")

    def describe(self) -> list[str]:
        lines = [self.line()]
        for k in COUNTER_ORDER:
            if k in self.counters:
                lines.append(f"    {k}={self.counters[k]}")
        lines += [f"    failed attempt {f}" for f in self.failures]
        lines += [f"    {n}" for n in self.notes]
        return lines


class MRRunner:
    """Runs an `MRPlan`; subclasses say how one task attempt is submitted."""

    inprocess = False
    slots = 1  # tasks the runner runs at once (the local runner: its worker processes)

    def __init__(self, plan: MRPlan) -> None:
        self.plan = plan
        self.settings = dict(plan.settings)
        root = self.settings.get("hiveish.mapreduce.local.dir") or os.path.join(tempfile.gettempdir(), "hiveish-mr")
        self.dir, self._dir_lock = querydirs.claim(root)
        querydirs.sweep(root, keep=self.dir)  # what drivers killed mid-query left behind
        self.reports: list[JobReport] = []
        self.outputs: dict[str, list[str]] = {}
        self._cancel = threading.Event()
        self._failures = parse_attempts(self.settings.get("hiveish.mapreduce.fail.attempts", ""))
        self._kills = parse_attempts(self.settings.get("hiveish.mapreduce.kill.attempts", ""))
        self.threads = 1
        # called as on_event(kind, report) with kind "start" | "progress" | "end", in the driver thread
        self.on_event: Callable[[str, JobReport], None] | None = None

    # hooks ----------------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> Future:
        raise NotImplementedError

    def on_broken(self, fut: Future) -> None:
        """A worker died while running `fut`: make the pool usable again."""

    def task_threads(self, tasks: int) -> int:
        """DuckDB threads for each attempt of a wave of `tasks` tasks (the local runner gives idle
        workers' cores to the tasks that run)."""
        return self.threads

    def abort(self, running: list[Future]) -> None:
        """The job was cancelled or failed while `running` attempts still run: stop them.

        Attempts see the cancel marker between batches; a runner whose workers may be
        stuck in one long DuckDB call overrides this to stop them harder.
        """

    def progress(self) -> list[dict]:
        """Per stage so far: map and reduce percent complete (see `JobReport.progress`)."""
        return [r.progress() for r in list(self.reports)]

    def _emit(self, kind: str, report: JobReport) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, report)
            except Exception:  # noqa: BLE001 - a listener's bug must not fail the job
                pass

    # lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> "MRRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        remove_tree(self.dir)
        self.release_dir()

    def release_dir(self) -> None:
        """Drop the query directory's driver lock (once; the fd number may be reused after)."""
        fd, self._dir_lock = self._dir_lock, -1
        if fd >= 0:
            querydirs.release(fd)

    def cancel(self) -> None:
        self._cancel.set()
        try:
            with open(os.path.join(self.dir, "_cancel"), "w"):
                pass
        except OSError:
            pass

    def run(self, log: list[str] | None = None) -> list[JobReport]:
        """Run every job in order; each job's report line is appended to `log` as it ends."""
        try:
            for n, job in enumerate(self.plan.jobs, 1):
                try:
                    self._run_job(job, n)
                finally:
                    if log is not None and self.reports and self.reports[-1].stage == job.stage:
                        log.extend(self.reports[-1].notes)
                        log.append(self.reports[-1].line())
        except BaseException:
            self.cleanup()
            raise
        return self.reports

    def final_files(self) -> list[str]:
        return self.outputs[self.plan.jobs[-1].stage]

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The query result: final job output in task order, renamed, with the fetch limit."""
        try:
            left = self.plan.fetch_limit
            names = self.plan.column_names if len(self.plan.column_names) == len(self.plan.output_columns) else None
            for f in self.final_files():
                reader = pa.ipc.open_file(pa.memory_map(f))
                for i in range(reader.num_record_batches):
                    b = reader.get_batch(i)
                    b = b.select(self.plan.output_columns)
                    if names:
                        b = pa.RecordBatch.from_arrays(b.columns, names=[n or f"_c{j}" for j, n in enumerate(names)])
                    if left is not None:
                        if left <= 0:
                            return
                        b = b.slice(0, left)
                        left -= b.num_rows
                    # copy out of the memory map: the files are removed when the stream ends
                    yield pa.Table.from_batches([b]).combine_chunks().to_batches()[0] if b.num_rows else b
        finally:
            self.cleanup()

    def schema(self) -> pa.Schema:
        files = self.final_files()
        s = _read_schema(files[0]) if files else pa.schema([])
        fields = [s.field(c) for c in self.plan.output_columns]
        names = self.plan.column_names if len(self.plan.column_names) == len(fields) else [f.name for f in fields]
        return pa.schema([pa.field(n or f"_c{i}", f.type) for i, (n, f) in enumerate(zip(names, fields))])

    # one job ------------------------------------------------------------------------------------------
    def _splits(self, job: MRJob) -> list[Split]:
        max_size = _int(self.settings, "mapreduce.input.fileinputformat.split.maxsize", DEFAULT_SPLIT_SIZE)
        out: list[Split] = []
        for inp in job.inputs:
            if inp.scan is not None:
                out.extend(splits_for_scan(inp.tag, inp.scan, max_size))
            else:
                out.extend(splits_for_files(inp.tag, self.outputs[inp.from_stage or ""]))
        return out

    def _reducers(self, job: MRJob, splits: list[Split]) -> int:
        if job.shuffle is None:
            return 0
        if job.shuffle.partitioner == "single":
            return 1
        if job.num_reducers > 0:
            return job.num_reducers
        per = _int(self.settings, "hive.exec.reducers.bytes.per.reducer", 256 * 1024 * 1024)
        most = _int(self.settings, "hive.exec.reducers.max", 1009)
        total = sum(s.size for s in splits)
        # Hive's estimate, raised to keep every worker slot busy while each reducer still gets
        # at least MIN_REDUCER_BYTES (one reducer over 200 MB would leave the other cores idle)
        busy = min(self.slots, total // MIN_REDUCER_BYTES)
        return max(1, min(most, max(-(-total // max(1, per)), busy)))

    def _spec(self, job: MRJob, kind: str, index: int, job_dir: str, reducers: int, split: Split | None = None,
              boundaries: bytes | None = None) -> TaskSpec:
        return TaskSpec(job=job, kind=kind, index=index, attempt=0, job_dir=job_dir, num_reducers=reducers,
                        settings=self.settings, split=split, boundaries=boundaries, threads=self.threads,
                        stage_outputs=dict(self.outputs))

    def _run_job(self, job: MRJob, n: int) -> None:
        t0 = time.time()
        job_dir = os.path.join(self.dir, job.stage)
        os.makedirs(os.path.join(job_dir, "_temporary"), exist_ok=True)
        splits = self._splits(job)
        reducers = self._reducers(job, splits)
        report = JobReport(job.stage, maps=len(splits), reduces=reducers, job_id=new_job_id(), started=t0)
        self.reports.append(report)
        self._emit("start", report)
        try:
            boundaries = None
            if job.shuffle is not None and job.shuffle.partitioner == "range" and reducers > 1:
                boundaries = self._sample(job, splits, job_dir, reducers, report)
            maps = [self._spec(job, "map", i, job_dir, reducers, s, boundaries) for i, s in enumerate(splits)]
            choice = self._map_join_choice(job, splits)
            if choice is not None:  # a map join leaves no map task to run and no reducer
                maps = self._try_map_join(job, choice, maps, report)
            if job.shuffle is None:
                results = self._run_tasks(maps, report)
                self.outputs[job.stage] = [os.path.join(r.output, "part-00000.arrow")
                                           for r in sorted(results, key=lambda r: r.index)]
            elif report.reduces:
                self._run_tasks(maps, report)
                reduces = [self._spec(job, "reduce", r, job_dir, reducers) for r in range(reducers)]
                results = self._run_tasks(reduces, report)
                self.outputs[job.stage] = [os.path.join(r.output, f"part-r-{r.index:05d}.arrow")
                                           for r in sorted(results, key=lambda r: r.index)]
            report.status = "SUCCESS"
        except errors.Cancelled:
            report.status = "KILLED"
            raise
        except BaseException:
            report.status = "FAILED"
            raise
        finally:
            report.seconds = time.time() - t0
            self._emit("end", report)
        # earlier jobs' files are no longer needed once every reader of them is done
        for dep in job.depends_on:
            if all(dep not in j.depends_on for j in self.plan.jobs[n:]):
                remove_tree(os.path.join(self.dir, dep))

    # conditional map join ----------------------------------------------------------------------------
    def _map_join_choice(self, job: MRJob, splits: list[Split]) -> MapJoinOption | None:
        """The join input to run first as a possible map join's small side: the one whose map output
        is expected smallest, if that guess is within `hive.mapjoin.smalltable.filesize`."""
        if job.shuffle is None or not job.map_join_options:
            return None
        size: dict[int, int] = {}
        for s in splits:
            size[s.tag] = size.get(s.tag, 0) + s.size
        best = min(job.map_join_options, key=lambda o: size.get(o.small_tag, 0) * o.estimate_factor)
        return best if size.get(best.small_tag, 0) * best.estimate_factor <= self._small_limit() else None

    def _small_limit(self) -> int:
        return _int(self.settings, "hive.mapjoin.smalltable.filesize", 25_000_000)

    def _try_map_join(self, job: MRJob, choice: MapJoinOption, maps: list[TaskSpec],
                      report: JobReport) -> list[TaskSpec]:
        """Run the small side's map tasks first; the map tasks still to run are returned.

        If the small side's map output is within the limit, the other side's map tasks become map
        joins against it: their output is the job's, and the job has no reduce phase
        (`report.reduces` is 0). Otherwise the small side's map output stays the common join's
        shuffle input and the other side's map tasks are returned unchanged.
        """
        first = [m for m in maps if m.split is not None and m.split.tag == choice.small_tag]
        first_ids = {m.index for m in first}
        rest = [m for m in maps if m.index not in first_ids]
        results = self._run_tasks(first, report)
        limit = self._small_limit()
        small = sum(r.counters.get("MAP_OUTPUT_BYTES", 0) for r in results)
        if small > limit:
            return rest
        alias = next((i.alias for i in job.inputs if i.tag == choice.small_tag), str(choice.small_tag))
        if choice.mode == "filter":
            report.notes.append(f"{job.stage} filters by join keys at run time: the map output of {alias} ({small} "
                                f"bytes) is within hive.mapjoin.smalltable.filesize ({limit}); the other side's map "
                                "tasks keep only rows with its keys")
            return [replace(m, map_join_small=choice.small_tag, map_join_mode="filter") for m in rest]
        report.reduces = 0
        report.notes.append(f"{job.stage} runs as a map join: the map output of {alias} ({small} bytes) is within "
                            f"hive.mapjoin.smalltable.filesize ({limit}); the other side's map tasks join it")
        joined = self._run_tasks([replace(m, map_join_small=choice.small_tag) for m in rest], report)
        self.outputs[job.stage] = [os.path.join(r.output, "part-00000.arrow") for r in joined]
        return []

    def _sample(self, job: MRJob, splits: list[Split], job_dir: str, reducers: int, report: JobReport) -> bytes:
        import duckdb

        most = max(1, _int(self.settings, "hiveish.mapreduce.sample.splits", 10))
        step = max(1, len(splits) // most)
        chosen = splits[::step][:most]
        specs = [self._spec(job, "sample", i, job_dir, reducers, s) for i, s in enumerate(chosen)]
        results = self._run_tasks(specs, report, count=False)
        tables = [pa.ipc.open_stream(r.sample).read_all() for r in results if r.sample]
        sample = pa.concat_tables(tables) if tables else None
        keys = ", ".join(k.sql() for k in job.shuffle.sort_keys)  # type: ignore[union-attr]
        con = duckdb.connect()
        try:
            con.register("__sample", sample)
            n = sample.num_rows if sample is not None else 0
            picks = sorted({(i * n) // reducers for i in range(1, reducers)} - {0}) if n else []
            if picks:
                cuts = con.sql(f"SELECT * FROM (SELECT *, row_number() OVER (ORDER BY {keys}) - 1 AS __rn "
                                   f"FROM __sample) WHERE __rn IN ({', '.join(map(str, picks))}) ORDER BY __rn"
                                   ).to_arrow_table().drop_columns(["__rn"])
            else:
                cuts = sample.slice(0, 0) if sample is not None else pa.table({})
        finally:
            con.close()
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, cuts.schema) as w:
            w.write_table(cuts)
        return sink.getvalue().to_pybytes()

    def _run_tasks(self, specs: list[TaskSpec], report: JobReport, count: bool = True) -> list[TaskResult]:
        """Run task attempts until each task succeeds or runs out of attempts."""
        results: dict[int, TaskResult] = {}
        pending: dict[Future, TaskSpec] = {}
        submitted: dict[Future, float] = {}  # when each attempt was sent (its history record's fallback times)

        def launch(spec: TaskSpec) -> None:
            key = (spec.kind, spec.index, spec.attempt)
            chosen = {(None,) + key, (spec.job.stage,) + key}
            spec.inject_failure = bool(chosen & self._failures)
            if chosen & self._kills and not self.inprocess:
                spec = TaskSpec(**{**spec.__dict__, "settings": {**spec.settings, "__kill__": "1"}})
            fut = self.submit(spec)
            pending[fut] = spec
            submitted[fut] = time.time()

        threads = self.task_threads(len(specs))
        for s in specs:
            launch(replace(s, threads=threads))
        try:
            while pending:
                if self._cancel.is_set():
                    raise errors.Cancelled()
                done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = pending.pop(fut)
                    sent = submitted.pop(fut, 0.0)
                    try:
                        res = fut.result()
                    except BaseException as e:  # noqa: BLE001 - every attempt failure is retried or reported
                        if isinstance(e, KeyboardInterrupt):
                            raise
                        killed = isinstance(e, TaskCancelled) or self._cancel.is_set()
                        attempts.record(report, spec, sent, error=e, status="KILLED" if killed else "FAILED")
                        self._attempt_failed(spec, e, report, launch, fut)
                        continue
                    attempts.record(report, spec, sent, result=res)
                    results[spec.index] = res
                    if count:
                        report.add(spec.attempt_id, res.counters)
                        if spec.kind == "map":
                            report.maps_done += 1
                        elif spec.kind == "reduce":
                            report.reduces_done += 1
                        self._emit("progress", report)
        except BaseException:
            self.cancel()
            for fut, spec in pending.items():  # attempts stopped by this failure or cancel
                attempts.record(report, spec, submitted.get(fut, 0.0), status="KILLED")
            running = [fut for fut in pending if not fut.cancel()]
            if running:
                self.abort(running)
            raise
        return [results[i] for i in sorted(results)]

    def _attempt_failed(self, spec: TaskSpec, e: BaseException, report: JobReport, launch, fut: Future) -> None:
        from concurrent.futures.process import BrokenProcessPool

        if isinstance(e, BrokenProcessPool):
            self.on_broken(fut)
        msg = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        report.failures.append(f"{spec.attempt_id}: {msg}")
        report.counters["FAILED_ATTEMPTS"] = report.counters.get("FAILED_ATTEMPTS", 0) + 1
        key = "mapreduce.reduce.maxattempts" if spec.kind == "reduce" else "mapreduce.map.maxattempts"
        most = max(1, _int(self.settings, key, 4))
        if isinstance(e, TaskCancelled) or self._cancel.is_set():
            raise errors.Cancelled()
        if spec.attempt + 1 >= most:
            what = "split " + spec.split.describe() if spec.split is not None else f"partition {spec.index}"
            raise errors.ExecutionError(
                f"MapReduce job {spec.job.stage} failed: {spec.kind} task {spec.index} ({what}) failed "
                f"{spec.attempt + 1} attempt(s) (limit {key}={most}); last error: {msg}") from e
        launch(TaskSpec(**{**spec.__dict__, "attempt": spec.attempt + 1, "inject_failure": False,
                            "settings": self.settings}))
