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
from dataclasses import replace

import pyarrow as pa

from executors.mapreduce.job import MRJob, Shuffle, TaskResult, TaskSpec
from executors.mapreduce.merge import BATCH_ROWS, RUN_BATCH_ROWS, SK, count_groups, merge, read_runs, sort_key_sql
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
_EXECUTORS: dict[str, object] = {}  # time zone -> the worker's DuckDB
_WORKER_TMP: list[str] = []  # this process's private scratch directory, made on first use


def worker_tmp() -> str:
    """A directory private to this worker process on its own machine (under `tempfile.gettempdir()`).

    It holds what no other process reads: the DuckDB spill files and the scratch copy of a
    text split. The shared `hiveish.mapreduce.local.dir` keeps only task outputs (the
    shuffle). Removed when the worker exits; a worker that was killed leaves one behind, which
    the next worker on the machine removes (its process id is gone).
    """
    if _WORKER_TMP:
        return _WORKER_TMP[0]
    import tempfile
    from multiprocessing import util

    base = tempfile.gettempdir()
    _remove_orphans(base)
    path = tempfile.mkdtemp(prefix=f"hiveish-task-{os.getpid()}-", dir=base)
    _WORKER_TMP.append(path)
    util.Finalize(None, remove_tree, args=(path,), exitpriority=0)  # also runs in pool workers at exit
    return path


def remove_worker_tmp() -> None:
    """Remove this process's private scratch directory (a worker about to exit)."""
    while _WORKER_TMP:
        remove_tree(_WORKER_TMP.pop())


def _remove_orphans(base: str) -> None:
    for d in glob.glob(os.path.join(base, "hiveish-task-*-*")):
        try:
            pid = int(os.path.basename(d).split("-")[2])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            remove_tree(d)


def warm_up() -> None:
    """Run once in each new worker: imports and the usual DuckDB database, off the first query's clock."""
    _executor("UTC")


def _executor(time_zone: str):
    from executors.arrow import ArrowExecutor

    ex = _EXECUTORS.get(time_zone)
    if ex is None:
        ex = _EXECUTORS[time_zone] = ArrowExecutor(time_zone, 1)
        spill = os.path.join(worker_tmp(), f"duckdb-spill-{len(_EXECUTORS)}")
        ex.db.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")  # type: ignore[attr-defined]
    return ex


def _cursor(spec: TaskSpec):
    """The worker's DuckDB (one per time zone) with the task's memory limit and threads.

    `mapreduce.map.memory.mb` / `mapreduce.reduce.memory.mb` bound DuckDB's memory; beyond it
    DuckDB spills to a directory in the worker's private temp dir (`worker_tmp`). A worker runs
    one attempt at a time, so these database-wide settings are the attempt's.
    """
    ex = _executor(spec.settings.get("hive.local.time.zone") or "UTC")
    mb = setting_int(spec.settings, f"mapreduce.{'reduce' if spec.kind == 'reduce' else 'map'}.memory.mb", 1024)
    ex.db.execute(f"SET memory_limit = '{max(16, mb)}MB'")  # type: ignore[attr-defined]
    ex.db.execute(f"SET threads = {spec.threads}" if spec.threads > 0 else "RESET threads")  # type: ignore[attr-defined]
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
    _injected_delay(spec)
    attempt_dir = os.path.join(spec.job_dir, "_temporary", spec.attempt_id)
    os.makedirs(attempt_dir, exist_ok=True)
    scratch = os.path.join(worker_tmp(), spec.job.stage + "-" + spec.attempt_id + f"-{os.urandom(4).hex()}")
    spec = replace(spec, scratch=scratch)
    try:
        if spec.kind == "map":
            result = _run_map(spec, attempt_dir)
        elif spec.kind == "reduce":
            result = _run_reduce(spec, attempt_dir)
        else:
            result = _run_sample(spec)
    finally:
        remove_tree(attempt_dir)
        remove_tree(scratch)
        pa.default_memory_pool().release_unused()  # give the task's Arrow buffers back to the OS
    result.seconds = time.time() - t0
    result.counters["CPU_MILLISECONDS"] = int((time.process_time() - c0) * 1000)
    return result


def _injected_delay(spec: TaskSpec) -> None:
    """`hiveish.mapreduce.task.delay.ms` (fault injection for tests): every attempt first waits this
    long, so a test can act on attempts while they run; a cancel still ends the wait."""
    left = setting_int(spec.settings, "hiveish.mapreduce.task.delay.ms", 0) / 1000
    while left > 0:
        if _cancelled(spec):
            raise TaskCancelled("cancelled")
        time.sleep(min(0.05, left))
        left -= 0.05


def _input_of(job: MRJob, tag: int):
    return next(i for i in job.inputs if i.tag == tag)


def _open_input(spec: TaskSpec, cur, ex, attempt_dir: str) -> int:
    """Create `__input` over the split's records; returns their number (MAP_INPUT_RECORDS).

    The number comes from the split's metadata when it has it (Parquet footers, Arrow files, the
    lines of a text split counted while copying it), so the records are read once."""
    split = spec.split
    assert split is not None
    inp = _input_of(spec.job, split.tag)
    cols = inp.scan.columns if inp.scan is not None else []
    sql, records = open_split(cur, ex, split, spec.scratch or os.path.join(attempt_dir, "_split"), cols)
    # a one-shot Arrow reader (ORC, remote Parquet) cannot be scanned twice (count, then map work)
    kind = "TABLE" if "__arrow" in sql and records is None else "VIEW"
    sample = inp.scan is not None and inp.scan.sample
    raw = "__split_records" if sample else "__input"
    cur.execute(f'CREATE TEMP {kind} "{raw}" AS {sql}')
    if records is None:  # the records read, before any TABLESAMPLE
        records = int(cur.execute(f'SELECT count(*) FROM "{raw}"').fetchall()[0][0])
    if sample:
        from executors.arrow import sampled_sql

        cur.execute(f'CREATE TEMP VIEW "__input" AS {sampled_sql(f"SELECT * FROM {raw}", inp.scan)}')
    _open_broadcasts(spec, cur, ex)
    return records


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
        counters["MAP_INPUT_RECORDS"] = _open_input(spec, cur, ex, attempt_dir)
        counters["MAP_INPUT_BYTES"] = split.size
        map_join = spec.map_join_small is not None and spec.map_join_mode == "join"
        if spec.map_join_small is not None:
            _open_small_side(spec, cur, inp)
            reader = cur.sql(job.reduce_sql if map_join else _key_filtered(spec, inp)).to_arrow_reader(65536)
        else:
            reader = cur.sql(inp.map_sql).to_arrow_reader(65536)
        out_dir = os.path.join(attempt_dir, "out")
        os.makedirs(out_dir)
        if job.shuffle is None or map_join:
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


def _open_small_side(spec: TaskSpec, cur, inp) -> None:
    """A join's map task run as a map join: its map output (`__input<tag>`) joins the whole map output
    of the small input (`__input<small tag>`, every partition) by the job's reduce SQL."""
    import pyarrow.dataset as ds

    small = spec.map_join_small
    files, schema = _map_outputs(spec.job_dir, small, "part-*.arrow")
    # the dataset's schema leaves out the runs' sort key column
    cur.register(f"__input{small}", ds.dataset(files, format="ipc", schema=schema) if files else schema.empty_table())
    cur.execute(f'CREATE TEMP VIEW "__input{inp.tag}" AS {inp.map_sql}')


def _key_filtered(spec: TaskSpec, inp) -> str:
    """The map SQL keeping only rows whose join keys the small side's map output has (a runtime filter:
    rows without a partner there could match nothing in the reducers)."""
    keys = spec.job.shuffle.partition_columns  # type: ignore[union-attr]
    on = " AND ".join(f'"__m"."{k}" = "__s"."{k}"' for k in keys)
    cols = ", ".join(f'"{k}"' for k in keys)
    return (f'SELECT "__m".* FROM "__input{inp.tag}" AS "__m" SEMI JOIN '
            f'(SELECT DISTINCT {cols} FROM "__input{spec.map_join_small}") AS "__s" ON {on}')


def _map_outputs(job_dir: str, tag: int, part: str) -> tuple[list[str], pa.Schema]:
    """The committed map outputs of input `tag` whose file name matches `part`, and their schema."""
    base = os.path.join(job_dir, f"map-{tag}-*")
    schema = _read_schema(sorted(glob.glob(os.path.join(base, "schema.arrow")))[0])
    return sorted(glob.glob(os.path.join(base, part))), schema


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

    def sk_sql(self) -> str:
        """`, <sort key> AS __sk` when the shuffle sorts (runs carry it for the merges), else ''."""
        return f", {sort_key_sql(self.shuffle.sort_keys)} AS {SK}" if self.shuffle.sort_keys else ""

    def partition_sql(self, source: str) -> str:
        r = self.spec.num_reducers
        keys = self.order_sql()
        sk = self.sk_sql()
        if self.shuffle.partitioner == "hash" and r > 1:
            norm = []
            for c in self.shuffle.partition_columns:
                t = self.schema.field(c).type
                norm.append(f'CAST("{c}" AS DOUBLE)' if _is_numeric(t) else f'"{c}"')
            part = f"CAST(hash({', '.join(norm)}) % {r} AS INTEGER)"
            return f"SELECT *, {part} AS __p{sk} FROM {source} ORDER BY __p{', ' + keys if keys else ''}"
        if self.shuffle.partitioner == "range" and r > 1 and self.spec.boundaries is not None:
            inner = (f"SELECT *, 0 AS __isb FROM {source} UNION ALL BY NAME "
                     f"SELECT *, 1 AS __isb FROM __bounds")
            win = (f"SELECT *, CAST(sum(__isb) OVER (ORDER BY {keys}, __isb DESC ROWS BETWEEN UNBOUNDED "
                   f"PRECEDING AND CURRENT ROW) AS INTEGER) AS __p FROM ({inner})")
            return f"SELECT * EXCLUDE (__isb){sk} FROM ({win}) WHERE __isb = 0 ORDER BY __p, {keys}"
        return f"SELECT *, 0 AS __p{sk} FROM {source}{' ORDER BY ' + keys if keys else ''}"

    def run_schema(self) -> pa.Schema:
        """Columns of a sorted run: the map output's, then `__sk` when the shuffle sorts."""
        return self.schema.append(pa.field(SK, pa.binary())) if self.shuffle.sort_keys else self.schema

    def spill(self) -> None:
        import pyarrow.compute as pc

        table = pa.Table.from_batches(self.batches, self.schema)
        self.batches, self.bytes = [], 0
        self.cur.register("__buf", table)
        out = self.cur.sql(self.partition_sql("__buf")).to_arrow_table()
        self.cur.unregister("__buf")
        del table
        d = os.path.join(self.dir, f"spill-{len(self.spills)}")
        os.makedirs(d)
        counts = pc.value_counts(out.column("__p")) if out.num_rows else []  # sorted by __p: runs in order
        out = out.drop_columns(["__p"])
        schema = self.run_schema()
        offset = 0
        for item in counts:
            p, n = item["values"].as_py(), item["counts"].as_py()
            _write_table(out.slice(offset, n), schema, os.path.join(d, f"part-{p:05d}.arrow"))
            offset += n
        self.spills.append(d)
        self.counters["SPILLED_RECORDS"] = self.counters.get("SPILLED_RECORDS", 0) + out.num_rows
        self.counters["SPILLS"] = self.counters.get("SPILLS", 0) + 1

    def close(self, out_dir: str) -> None:
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
            rows = self._merge(runs, dest) if self.shuffle.sort_keys else self._concat(runs, dest)
            self.counters["SPILLED_RECORDS"] = self.counters.get("SPILLED_RECORDS", 0) + rows
            for f in runs:  # merged: free the disk now, not at the end of the task
                os.remove(f)
        self.counters["MAP_OUTPUT_BYTES"] = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
        for s in self.spills:
            remove_tree(s)
        self.cur.close()

    def _merge(self, runs: list[str], dest: str) -> int:
        """Stream-merge sorted runs into `dest` (a window of keys at a time, through the combiner)."""
        schema, combiner = self.run_schema(), self.shuffle.combiner_sql
        n_in = 0

        def merged():
            nonlocal n_in
            for window in merge(read_runs(runs)):
                n_in += window.num_rows
                if not combiner:
                    yield from window.to_batches(RUN_BATCH_ROWS)
                    continue
                # a window holds every row of its keys: combining it alone is exact
                self.cur.register("__input", window.drop_columns([SK]))
                t = self.cur.sql(f"SELECT *, {sort_key_sql(self.shuffle.sort_keys)} AS {SK} FROM ({combiner}) "
                                 f"ORDER BY {SK}").to_arrow_table()
                self.cur.unregister("__input")
                yield from (_cast_batch(b, schema) for b in t.to_batches(RUN_BATCH_ROWS))

        rows, _ = _write_stream(self.spec, merged(), schema, dest)
        if combiner:
            self.counters["COMBINE_INPUT_RECORDS"] = self.counters.get("COMBINE_INPUT_RECORDS", 0) + n_in
            self.counters["COMBINE_OUTPUT_RECORDS"] = self.counters.get("COMBINE_OUTPUT_RECORDS", 0) + rows
        return rows

    def _concat(self, runs: list[str], dest: str) -> int:
        """Runs of an unsorted shuffle: one after another (a global combiner folds them into one row)."""
        import pyarrow.dataset as ds

        if not self.shuffle.combiner_sql:
            return _write_stream(self.spec, (b for r in read_runs(runs) for b in r), self.schema, dest)[0]
        self.cur.register("__input", ds.dataset(runs, format="ipc", schema=self.schema))
        n_in = sum(_ipc_rows(f) for f in runs)
        reader = self.cur.sql(self.shuffle.combiner_sql).to_arrow_reader(BATCH_ROWS)
        rows, _ = _write_stream(self.spec, (_cast_batch(b, self.schema) for b in reader), self.schema, dest)
        self.cur.unregister("__input")
        self.counters["COMBINE_INPUT_RECORDS"] = self.counters.get("COMBINE_INPUT_RECORDS", 0) + n_in
        self.counters["COMBINE_OUTPUT_RECORDS"] = self.counters.get("COMBINE_OUTPUT_RECORDS", 0) + rows
        return rows


def _cast_batch(b: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if b.schema.equals(schema):
        return b
    return pa.Table.from_batches([b]).rename_columns(schema.names).cast(schema).to_batches()[0]


def _write_table(table: pa.Table, schema: pa.Schema, path: str) -> None:
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, schema) as w:
        w.write_table(table, max_chunksize=RUN_BATCH_ROWS)  # a merge holds one batch per run


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
    segments: dict[str, tuple[list[str], pa.Schema]] = {}
    try:
        for inp in job.inputs:
            name = "__input" if len(job.inputs) == 1 else f"__input{inp.tag}"
            files, schema = _map_outputs(spec.job_dir, inp.tag, f"part-{r:05d}.arrow")
            counters["REDUCE_SHUFFLE_BYTES"] += sum(os.path.getsize(f) for f in files)
            counters["REDUCE_INPUT_RECORDS"] += sum(_ipc_rows(f) for f in files)
            # the dataset's schema leaves out the segments' sort key column
            source = ds.dataset(files, format="ipc", schema=schema) if files else schema.empty_table()
            cur.register(name, source)
            segments[name] = (files, schema)
        _open_broadcasts(spec, cur, ex)
        counters["REDUCE_INPUT_GROUPS"] = _input_groups(spec, cur, segments, counters["REDUCE_INPUT_RECORDS"])
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


def _input_groups(spec: TaskSpec, cur, segments: dict[str, tuple[list[str], pa.Schema]], records: int) -> int:
    """REDUCE_INPUT_GROUPS: distinct keys over every segment of this partition.

    Counted while merging the segments' sort key columns a window at a time (each segment is
    sorted), so memory does not grow with the number of groups. Tagged inputs whose key columns
    differ in type have sort keys that do not compare; they are counted by DuckDB instead.
    """
    shuffle = spec.job.shuffle
    keys = shuffle.partition_columns if shuffle else []
    if not keys:
        return 1 if records else 0
    files = [f for fs, _ in segments.values() for f in fs]
    types = {tuple(schema.field(k).type for k in keys) for _, schema in segments.values()}
    sorted_by_keys = [k.column for k in shuffle.sort_keys] == list(keys)  # type: ignore[union-attr]
    if len(types) == 1 and sorted_by_keys and all(SK in _read_schema(f).names for f in files):
        return count_groups(read_runs(files, columns=[SK], mmap=True))
    cols = ", ".join(f'"{k}"' for k in keys)
    union = " UNION ALL ".join(f"SELECT {cols} FROM {n}" for n in segments)
    return int(cur.execute(f"SELECT count(*) FROM (SELECT {cols} FROM ({union}) GROUP BY ALL)").fetchall()[0][0])


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


