"""MapReduce task bodies: what one map, reduce or sample attempt does, in whatever process runs it.

Task bodies only take a picklable `TaskSpec`:
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
import time

import pyarrow as pa

from executors.mapreduce.job import MRJob, Shuffle, TaskResult, TaskSpec
from executors.mapreduce.splits import open_split, remove_tree


class InjectedFailure(RuntimeError):
    """Raised by a task attempt chosen by `hiveish.mapreduce.fail.attempts`."""


class TaskCancelled(RuntimeError):
    pass


def setting_int(settings: dict[str, str], key: str, default: int) -> int:
    try:
        v = settings.get(key)
        return int(v) if v not in (None, "") else default
    except ValueError:
        return default


# -- worker side --------------------------------------------------------------------------------------
_EXECUTORS: dict[tuple[str, int], object] = {}


def _cursor(spec: TaskSpec):
    """The worker's DuckDB (one per time zone, threads and spill directory) with the task's memory limit.

    `mapreduce.map.memory.mb` / `mapreduce.reduce.memory.mb` bound DuckDB's memory; beyond it
    DuckDB spills to a directory under the local dir (DuckDB cannot move its spill
    directory once used, so a new local dir gets a new database).
    """
    from executors.arrow import ArrowExecutor

    root = os.path.dirname(os.path.dirname(os.path.abspath(spec.job_dir)))  # <local dir>/query-*/Stage-N
    spill = os.path.join(root, f"duckdb-spill-{os.getpid()}")
    key = (spec.settings.get("hive.local.time.zone") or "UTC", spec.threads, spill)
    ex = _EXECUTORS.get(key)
    if ex is None:
        for old in [k for k in _EXECUTORS if k[2] != spill]:  # one task at a time per worker
            _EXECUTORS.pop(old).close()  # type: ignore[attr-defined]
        ex = _EXECUTORS[key] = ArrowExecutor(key[0], key[1])
        ex.db.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")  # type: ignore[attr-defined]
    mb = setting_int(spec.settings, f"mapreduce.{'reduce' if spec.kind == 'reduce' else 'map'}.memory.mb", 1024)
    ex.db.execute(f"SET memory_limit = '{max(16, mb)}MB'")  # type: ignore[attr-defined]
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
    _open_broadcasts(spec, cur, ex)


def _open_broadcasts(spec: TaskSpec, cur, ex) -> None:
    """Relations every task of the job sees whole: small tables, and earlier stages' outputs."""
    import pyarrow.dataset as ds

    for b in spec.job.broadcasts:
        if b.scan is not None:
            cur.execute(f'CREATE OR REPLACE TEMP VIEW "{b.name}" AS {ex._scan_sql(cur, b.scan)}')
            continue
        files = spec.stage_outputs.get(b.from_stage or "", [])
        if not files:
            raise RuntimeError(f"broadcast {b.name}: no output of {b.from_stage}")
        cur.register(b.name, ds.dataset(files, format="ipc", schema=_read_schema(files[0])))


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
        self.limit = max(1, setting_int(spec.settings, "mapreduce.task.io.sort.mb", 100)) * 1024 * 1024
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
        _open_broadcasts(spec, cur, ex)
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
    n = max(1, setting_int(spec.settings, "hiveish.mapreduce.sample.rows", 1000))
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


