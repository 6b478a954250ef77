"""The MapReduce runtime: job lifecycle, task bodies, shuffle, retries, counters.

`MRRunner` walks the plan's jobs in order. For each job it computes splits,
samples keys for a total-order sort, runs map tasks, then reduce tasks, and
keeps per-job and per-task counters. Subclasses supply one hook, `submit`
(how one task attempt runs: in-process, a process pool, ...).

Task bodies run anywhere (they only take a picklable `TaskSpec`):
map: split -> DuckDB map SQL -> output buffer; when the buffer exceeds
`mapreduce.task.io.sort.mb` it is partitioned (hash or sampled range) and
sorted by DuckDB and spilled as one Arrow IPC run per partition; several
spills are merged per partition (with the combiner) into the task's output.
reduce: every map's segment for this partition -> DuckDB reduce SQL (which
merges them: aggregate, join, or ORDER BY) -> one output file.
Every attempt writes under `_temporary/<attempt id>` and commits by rename.
"""

from __future__ import annotations

import glob
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa

from executors.mapreduce.job import MRJob, MRPlan, Shuffle, Split, TaskResult, TaskSpec
from executors.mapreduce.splits import DEFAULT_SPLIT_SIZE, open_split, remove_tree, splits_for_files, splits_for_scan
from hiveish import errors

COUNTER_ORDER = ("MAP_INPUT_RECORDS", "MAP_INPUT_BYTES", "MAP_OUTPUT_RECORDS", "MAP_OUTPUT_BYTES",
                 "COMBINE_INPUT_RECORDS", "COMBINE_OUTPUT_RECORDS", "SPILLED_RECORDS", "SPILLS",
                 "REDUCE_SHUFFLE_BYTES", "REDUCE_INPUT_GROUPS", "REDUCE_INPUT_RECORDS", "REDUCE_OUTPUT_RECORDS",
                 "OUTPUT_BYTES", "CPU_MILLISECONDS", "FAILED_ATTEMPTS")


class InjectedFailure(RuntimeError):
    """Raised by a task attempt chosen by `hiveish.mapreduce.fail.attempts`."""


class TaskCancelled(RuntimeError):
    pass


# -- settings ------------------------------------------------------------------------------------
def _int(settings: dict[str, str], key: str, default: int) -> int:
    try:
        v = settings.get(key)
        return int(v) if v not in (None, "") else default
    except ValueError:
        return default


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


# -- worker side ---------------------------------------------------------------------------------
_EXECUTORS: dict[tuple[str, int], object] = {}


def _cursor(spec: TaskSpec):
    from executors.arrow import ArrowExecutor

    key = (spec.settings.get("hive.local.time.zone") or "UTC", spec.threads)
    ex = _EXECUTORS.get(key)
    if ex is None:
        ex = _EXECUTORS[key] = ArrowExecutor(key[0], key[1])
    cur = ex.db.cursor()  # type: ignore[attr-defined]
    ex._configure(cur)  # type: ignore[attr-defined]
    return ex, cur


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _cancelled(spec: TaskSpec) -> bool:
    return os.path.exists(os.path.join(spec.job_dir, "..", "_cancel"))


def _write_stream(spec: TaskSpec, batches, schema: pa.Schema, path: str) -> tuple[int, int]:
    """Write batches to an Arrow IPC file; returns (rows, bytes)."""
    rows = 0
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as w:
        for b in batches:
            if _cancelled(spec):
                raise TaskCancelled("cancelled")
            if b.num_rows:
                w.write_batch(b)
                rows += b.num_rows
    return rows, os.path.getsize(path)


def _commit(attempt_dir: str, final_dir: str) -> None:
    """Make an attempt's output the task's output (first successful attempt wins)."""
    if os.path.exists(final_dir):
        remove_tree(attempt_dir)
        return
    os.rename(attempt_dir, final_dir)


def run_task(spec: TaskSpec) -> TaskResult:
    """Entry point of every task attempt, in whatever process runs it."""
    if spec.settings.get("__kill__") == "1":
        os._exit(137)  # simulate a worker process dying (pool mode only)
    t0, c0 = time.time(), time.process_time()
    attempt_dir = os.path.join(spec.job_dir, "_temporary", spec.attempt_id)
    os.makedirs(attempt_dir, exist_ok=True)
    try:
        if spec.kind == "map":
            result = _run_map(spec, attempt_dir)
        elif spec.kind == "reduce":
            result = _run_reduce(spec, attempt_dir)
        else:
            result = _run_sample(spec)
    finally:
        remove_tree(attempt_dir)
    result.seconds = time.time() - t0
    result.counters["CPU_MILLISECONDS"] = int((time.process_time() - c0) * 1000)
    return result


def _input_of(job: MRJob, tag: int):
    return next(i for i in job.inputs if i.tag == tag)


def _open_input(spec: TaskSpec, cur, ex, attempt_dir: str) -> None:
    split = spec.split
    assert split is not None
    inp = _input_of(spec.job, split.tag)
    cols = inp.scan.columns if inp.scan is not None else []
    sql = open_split(cur, ex, split, os.path.join(attempt_dir, "_split"), cols)
    # a one-shot Arrow reader (ORC, remote Parquet) cannot be scanned twice (count, then map work)
    kind = "TABLE" if "__arrow" in sql else "VIEW"
    cur.execute(f'CREATE TEMP {kind} "__input" AS {sql}')
    for b in spec.job.broadcasts:
        cur.execute(f'CREATE TEMP VIEW "{b.name}" AS {ex._scan_sql(cur, b.scan)}')


def _run_map(spec: TaskSpec, attempt_dir: str) -> TaskResult:
    job, split = spec.job, spec.split
    assert split is not None
    inp = _input_of(job, split.tag)
    final_dir = os.path.join(spec.job_dir, f"map-{split.tag}-{spec.index:05d}")
    counters: dict[str, int] = {}
    ex, cur = _cursor(spec)
    try:
        _open_input(spec, cur, ex, attempt_dir)
        counters["MAP_INPUT_RECORDS"] = int(cur.execute('SELECT count(*) FROM "__input"').fetchall()[0][0])
        counters["MAP_INPUT_BYTES"] = split.size
        reader = cur.sql(inp.map_sql).to_arrow_reader(65536)
        out_dir = os.path.join(attempt_dir, "out")
        os.makedirs(out_dir)
        if job.shuffle is None:
            rows, size = _write_stream(spec, reader, reader.schema, os.path.join(out_dir, "part-00000.arrow"))
            counters["MAP_OUTPUT_RECORDS"] = rows
            counters["OUTPUT_BYTES"] = size
        else:
            buf = _MapOutputBuffer(spec, ex, attempt_dir, reader.schema, counters)
            for b in reader:
                if _cancelled(spec):
                    raise TaskCancelled("cancelled")
                buf.add(b)
            buf.close(out_dir)
        _write_schema(os.path.join(out_dir, "schema.arrow"), reader.schema)
        if spec.inject_failure:
            raise InjectedFailure(f"injected failure in {spec.attempt_id}")
        _commit(out_dir, final_dir)
    finally:
        cur.close()
    return TaskResult("map", spec.index, spec.attempt, counters, final_dir)


def _write_schema(path: str, schema: pa.Schema) -> None:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema):
        pass


def _read_schema(path: str) -> pa.Schema:
    return pa.ipc.open_file(pa.memory_map(path)).schema


class _MapOutputBuffer:
    """The map-side sort buffer: collect, partition + sort + spill by DuckDB, merge spills."""

    def __init__(self, spec: TaskSpec, ex, attempt_dir: str, schema: pa.Schema, counters: dict[str, int]) -> None:
        self.spec = spec
        self.shuffle: Shuffle = spec.job.shuffle  # type: ignore[assignment]
        self.limit = max(1, _int(spec.settings, "mapreduce.task.io.sort.mb", 100)) * 1024 * 1024
        self.schema = schema
        self.dir = attempt_dir
        self.counters = counters
        self.batches: list[pa.RecordBatch] = []
        self.bytes = 0
        self.spills: list[str] = []
        self.rows = 0
        self.cur = ex.db.cursor()
        ex._configure(self.cur)
        if spec.boundaries is not None:
            self.cur.register("__bounds", pa.ipc.open_stream(spec.boundaries).read_all())

    def add(self, batch: pa.RecordBatch) -> None:
        if not batch.num_rows:
            return
        self.rows += batch.num_rows
        per_row = max(1, batch.nbytes // batch.num_rows)
        while batch.num_rows:
            fit = max(1, (self.limit - self.bytes) // per_row)
            head, batch = batch.slice(0, fit), batch.slice(fit)
            self.batches.append(head)
            self.bytes += head.num_rows * per_row
            if self.bytes >= self.limit:
                self.spill()

    def order_sql(self) -> str:
        return ", ".join(k.sql() for k in self.shuffle.sort_keys)

    def partition_sql(self, source: str) -> str:
        r = self.spec.num_reducers
        keys = self.order_sql()
        if self.shuffle.partitioner == "hash" and r > 1:
            norm = []
            for c in self.shuffle.partition_columns:
                t = self.schema.field(c).type
                norm.append(f'CAST("{c}" AS DOUBLE)' if _is_numeric(t) else f'"{c}"')
            part = f"CAST(hash({', '.join(norm)}) % {r} AS INTEGER)"
            return f"SELECT *, {part} AS __p FROM {source} ORDER BY __p{', ' + keys if keys else ''}"
        if self.shuffle.partitioner == "range" and r > 1 and self.spec.boundaries is not None:
            inner = (f"SELECT *, 0 AS __isb FROM {source} UNION ALL BY NAME "
                     f"SELECT *, 1 AS __isb FROM __bounds")
            win = (f"SELECT *, CAST(sum(__isb) OVER (ORDER BY {keys}, __isb DESC ROWS BETWEEN UNBOUNDED "
                   f"PRECEDING AND CURRENT ROW) AS INTEGER) AS __p FROM ({inner})")
            return f"SELECT * EXCLUDE (__isb) FROM ({win}) WHERE __isb = 0 ORDER BY __p, {keys}"
        return f"SELECT *, 0 AS __p FROM {source}{' ORDER BY ' + keys if keys else ''}"

    def spill(self) -> None:
        import pyarrow.compute as pc

        table = pa.Table.from_batches(self.batches, self.schema)
        self.batches, self.bytes = [], 0
        self.cur.register("__buf", table)
        out = self.cur.sql(self.partition_sql("__buf")).to_arrow_table()
        self.cur.unregister("__buf")
        d = os.path.join(self.dir, f"spill-{len(self.spills)}")
        os.makedirs(d)
        counts = pc.value_counts(out.column("__p")) if out.num_rows else []  # sorted by __p: runs in order
        out = out.drop_columns(["__p"])
        offset = 0
        for item in counts:
            p, n = item["values"].as_py(), item["counts"].as_py()
            _write_table(out.slice(offset, n), self.schema, os.path.join(d, f"part-{p:05d}.arrow"))
            offset += n
        self.spills.append(d)
        self.counters["SPILLED_RECORDS"] = self.counters.get("SPILLED_RECORDS", 0) + out.num_rows
        self.counters["SPILLS"] = self.counters.get("SPILLS", 0) + 1

    def close(self, out_dir: str) -> None:
        import pyarrow.dataset as ds

        if self.batches or not self.spills:
            self.spill()
        self.counters["MAP_OUTPUT_RECORDS"] = self.rows
        r = max(1, self.spec.num_reducers)
        for p in range(r):
            name = f"part-{p:05d}.arrow"
            runs = [os.path.join(s, name) for s in self.spills if os.path.exists(os.path.join(s, name))]
            dest = os.path.join(out_dir, name)
            if not runs:
                continue
            if len(runs) == 1:
                os.rename(runs[0], dest)
                continue
            # merge sorted runs of this partition (combining partial aggregates first)
            self.cur.register("__input", ds.dataset(runs, format="ipc", schema=self.schema))
            src = "__input"
            if self.shuffle.combiner_sql:
                n_in = sum(_ipc_rows(f) for f in runs)
                src = f"({self.shuffle.combiner_sql})"
                self.counters["COMBINE_INPUT_RECORDS"] = self.counters.get("COMBINE_INPUT_RECORDS", 0) + n_in
            keys = self.order_sql()
            reader = self.cur.sql(f"SELECT * FROM {src}{' ORDER BY ' + keys if keys else ''}").to_arrow_reader(65536)
            rows, _ = _write_stream(self.spec, (_cast_batch(b, self.schema) for b in reader), self.schema, dest)
            self.cur.unregister("__input")
            if self.shuffle.combiner_sql:
                self.counters["COMBINE_OUTPUT_RECORDS"] = self.counters.get("COMBINE_OUTPUT_RECORDS", 0) + rows
            self.counters["SPILLED_RECORDS"] = self.counters.get("SPILLED_RECORDS", 0) + rows
        self.counters["MAP_OUTPUT_BYTES"] = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
        for s in self.spills:
            remove_tree(s)
        self.cur.close()


def _cast_batch(b: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if b.schema.equals(schema):
        return b
    return pa.Table.from_batches([b]).rename_columns(schema.names).cast(schema).to_batches()[0]


def _write_table(table: pa.Table, schema: pa.Schema, path: str) -> None:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as w:
        w.write_table(table)


def _ipc_rows(path: str) -> int:
    r = pa.ipc.open_file(pa.memory_map(path))
    return sum(r.get_batch(i).num_rows for i in range(r.num_record_batches))


def _run_reduce(spec: TaskSpec, attempt_dir: str) -> TaskResult:
    import pyarrow.dataset as ds

    job = spec.job
    r = spec.index
    final_dir = os.path.join(spec.job_dir, f"reduce-{r:05d}")
    counters: dict[str, int] = {"REDUCE_SHUFFLE_BYTES": 0, "REDUCE_INPUT_RECORDS": 0}
    ex, cur = _cursor(spec)
    names = []
    try:
        for inp in job.inputs:
            name = "__input" if len(job.inputs) == 1 else f"__input{inp.tag}"
            schemas = sorted(glob.glob(os.path.join(spec.job_dir, f"map-{inp.tag}-*", "schema.arrow")))
            schema = _read_schema(schemas[0])
            files = sorted(glob.glob(os.path.join(spec.job_dir, f"map-{inp.tag}-*", f"part-{r:05d}.arrow")))
            counters["REDUCE_SHUFFLE_BYTES"] += sum(os.path.getsize(f) for f in files)
            counters["REDUCE_INPUT_RECORDS"] += sum(_ipc_rows(f) for f in files)
            source = ds.dataset(files, format="ipc", schema=schema) if files else schema.empty_table()
            cur.register(name, source)
            names.append(name)
        keys = job.shuffle.partition_columns if job.shuffle else []
        if keys:
            cols = ", ".join(f'"{k}"' for k in keys)
            union = " UNION ".join(f"SELECT {cols} FROM {n}" for n in names)
            counters["REDUCE_INPUT_GROUPS"] = int(cur.execute(
                f"SELECT count(*) FROM (SELECT DISTINCT * FROM ({union}))").fetchall()[0][0])
        else:
            counters["REDUCE_INPUT_GROUPS"] = 1 if counters["REDUCE_INPUT_RECORDS"] else 0
        reader = cur.sql(job.reduce_sql).to_arrow_reader(65536)
        out_dir = os.path.join(attempt_dir, "out")
        os.makedirs(out_dir)
        rows, size = _write_stream(spec, reader, reader.schema, os.path.join(out_dir, f"part-r-{r:05d}.arrow"))
        counters["REDUCE_OUTPUT_RECORDS"] = rows
        counters["OUTPUT_BYTES"] = size
        if spec.inject_failure:
            raise InjectedFailure(f"injected failure in {spec.attempt_id}")
        _commit(out_dir, final_dir)
    finally:
        cur.close()
    return TaskResult("reduce", r, spec.attempt, counters, final_dir)


def _run_sample(spec: TaskSpec) -> TaskResult:
    """Reservoir sample of a split's sort keys after the map work (for the range partitioner)."""
    job, split = spec.job, spec.split
    assert split is not None and job.shuffle is not None
    inp = _input_of(job, split.tag)
    n = max(1, _int(spec.settings, "hiveish.mapreduce.sample.rows", 1000))
    scratch = os.path.join(spec.job_dir, "_temporary", spec.attempt_id)
    ex, cur = _cursor(spec)
    try:
        _open_input(spec, cur, ex, scratch)
        cols = ", ".join(f'"{k.column}"' for k in job.shuffle.sort_keys)
        table = cur.sql(f"SELECT {cols} FROM ({inp.map_sql}) AS __m USING SAMPLE reservoir({n} ROWS) "
                            f"REPEATABLE (7)").to_arrow_table()
    finally:
        cur.close()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return TaskResult("sample", spec.index, spec.attempt, {}, sample=sink.getvalue().to_pybytes())


# -- driver side ---------------------------------------------------------------------------------
@dataclass
class JobReport:
    stage: str
    maps: int = 0
    reduces: int = 0
    status: str = "RUNNING"
    counters: dict[str, int] = field(default_factory=dict)
    task_counters: dict[str, dict[str, int]] = field(default_factory=dict)  # task id -> counters
    failures: list[str] = field(default_factory=list)  # "attempt id: error"
    seconds: float = 0.0

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
        return lines


class MRRunner:
    """Runs an `MRPlan`; subclasses say how one task attempt is submitted."""

    inprocess = False

    def __init__(self, plan: MRPlan) -> None:
        self.plan = plan
        self.settings = dict(plan.settings)
        root = self.settings.get("hiveish.mapreduce.local.dir") or os.path.join(tempfile.gettempdir(), "hiveish-mr")
        os.makedirs(root, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="query-", dir=root)
        self.reports: list[JobReport] = []
        self.outputs: dict[str, list[str]] = {}
        self._cancel = threading.Event()
        self._failures = parse_attempts(self.settings.get("hiveish.mapreduce.fail.attempts", ""))
        self._kills = parse_attempts(self.settings.get("hiveish.mapreduce.kill.attempts", ""))
        self.threads = 1

    # hooks ----------------------------------------------------------------------------------------
    def submit(self, spec: TaskSpec) -> Future:
        raise NotImplementedError

    def on_broken(self, fut: Future) -> None:
        """A worker died while running `fut`: make the pool usable again."""

    # lifecycle ------------------------------------------------------------------------------------
    def __enter__(self) -> "MRRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        remove_tree(self.dir)

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
        return max(1, min(most, -(-total // max(1, per))))

    def _spec(self, job: MRJob, kind: str, index: int, job_dir: str, reducers: int, split: Split | None = None,
              boundaries: bytes | None = None) -> TaskSpec:
        return TaskSpec(job=job, kind=kind, index=index, attempt=0, job_dir=job_dir, num_reducers=reducers,
                        settings=self.settings, split=split, boundaries=boundaries, threads=self.threads)

    def _run_job(self, job: MRJob, n: int) -> None:
        t0 = time.time()
        job_dir = os.path.join(self.dir, job.stage)
        os.makedirs(os.path.join(job_dir, "_temporary"), exist_ok=True)
        splits = self._splits(job)
        reducers = self._reducers(job, splits)
        report = JobReport(job.stage, maps=len(splits), reduces=reducers)
        self.reports.append(report)
        try:
            boundaries = None
            if job.shuffle is not None and job.shuffle.partitioner == "range" and reducers > 1:
                boundaries = self._sample(job, splits, job_dir, reducers, report)
            maps = [self._spec(job, "map", i, job_dir, reducers, s, boundaries) for i, s in enumerate(splits)]
            results = self._run_tasks(maps, report)
            if job.shuffle is None:
                self.outputs[job.stage] = [os.path.join(r.output, "part-00000.arrow")
                                           for r in sorted(results, key=lambda r: r.index)]
            else:
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
        # earlier jobs' files are no longer needed once every reader of them is done
        for dep in job.depends_on:
            if all(dep not in j.depends_on for j in self.plan.jobs[n:]):
                remove_tree(os.path.join(self.dir, dep))

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

        def launch(spec: TaskSpec) -> None:
            key = (spec.kind, spec.index, spec.attempt)
            chosen = {(None,) + key, (spec.job.stage,) + key}
            spec.inject_failure = bool(chosen & self._failures)
            if chosen & self._kills and not self.inprocess:
                spec = TaskSpec(**{**spec.__dict__, "settings": {**spec.settings, "__kill__": "1"}})
            pending[self.submit(spec)] = spec

        for s in specs:
            launch(s)
        try:
            while pending:
                if self._cancel.is_set():
                    raise errors.Cancelled()
                done, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    spec = pending.pop(fut)
                    try:
                        res = fut.result()
                    except BaseException as e:  # noqa: BLE001 - every attempt failure is retried or reported
                        if isinstance(e, KeyboardInterrupt):
                            raise
                        self._attempt_failed(spec, e, report, launch, fut)
                        continue
                    results[spec.index] = res
                    if count:
                        report.add(spec.attempt_id, res.counters)
        except BaseException:
            self.cancel()
            for fut in pending:
                fut.cancel()
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
