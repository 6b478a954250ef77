"""The Arrow engine: a `QueryPlan` run by DuckDB, results streamed as Arrow batches."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
import uuid
import weakref
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import duckdb
import pyarrow as pa

from catalog.formats.base import FileScan, Format
from catalog.formats.registry import format_named
from catalog.formats.text import sql_str
from catalog.types import parse_type
from executors.engine_functions import FunctionInstaller, OnDemandConnection
from planner.functions import bucket_hash_sql
from planner.plan import QueryPlan, ScanNode


def _const_sql(value: str | None, typ: str) -> str:
    duck = parse_type(typ).to_duckdb()
    if value is None:
        return f"CAST(NULL AS {duck})"
    return f"TRY_CAST({sql_str(value)} AS {duck})"


def sampled_sql(sql: str, scan: ScanNode) -> str:
    """The scan's rows kept by its TABLESAMPLE(BUCKET x OUT OF y [ON col]), if any: rows whose
    bucket hash of `col` falls in bucket x (the same rule row by row, so any split of the input
    may be sampled on its own), or a y-th of the rows at random without ON."""
    if not scan.sample:
        return sql
    num, den, col = scan.sample
    types = {n.lower(): t for n, t in scan.columns}
    if col and col.lower() in types:
        key = bucket_hash_sql(f'"{col}"', parse_type(types[col.lower()]).to_duckdb())
        return f"SELECT * FROM ({sql}) WHERE (({key}) & 2147483647) % {den} = {num - 1}"
    return f"SELECT * FROM ({sql}) USING SAMPLE {100.0 / den}%"


class ArrowExecutor:
    """Owns one in-memory DuckDB database; each query runs on its own cursor.

    `db` and its cursors install the registry's macros and Python UDFs that a SQL text calls
    before running it (`executors.engine_functions`), so a statement pays only for its own."""

    def __init__(self, time_zone: str = "UTC", threads: int = 0) -> None:
        raw = duckdb.connect(":memory:")
        self.db = OnDemandConnection(raw, FunctionInstaller(raw))
        self.time_zone = time_zone
        if threads:
            self.db.execute(f"SET threads = {int(threads)}")
        # a connection holding Python functions must be closed before interpreter exit
        self._finalizer = weakref.finalize(self, raw.close)
        self._configure(self.db)
        self._lock = threading.Lock()
        self._running: list[duckdb.DuckDBPyConnection] = []
        self._counter = 0
        self._tmp: str | None = None
        self._remote = RemoteCopies(self._running_cursors)

    def _running_cursors(self) -> list[duckdb.DuckDBPyConnection]:
        with self._lock:
            return list(self._running)

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
        con.execute(f"SET TimeZone = {sql_str(self.time_zone)}")

    def set_memory_limit(self, limit: str) -> None:
        """DuckDB's memory_limit (`hiveish.memory.limit`): beyond it a query fails with an out-of-memory error."""
        if not limit:
            self.db.execute("RESET memory_limit")
            return
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(%|[KMGT]i?B|B|bytes)?\s*", limit, re.I):
            raise ValueError(f"hiveish.memory.limit must be a size like 2GB or 512MB or a percentage: {limit!r}")
        self.db.execute(f"SET memory_limit = {sql_str(limit.strip())}")

    def set_time_zone(self, tz: str) -> None:
        self.time_zone = tz
        self.db.execute(f"SET TimeZone = {sql_str(tz)}")

    def close(self) -> None:
        self._finalizer()
        self._remote.close()
        if self._tmp is not None:
            import shutil

            shutil.rmtree(self._tmp, ignore_errors=True)

    # -- small helpers -------------------------------------------------------------------
    def evaluate(self, sql: str) -> list[tuple]:
        """Run a small query (partition pruning, constant folding) and fetch all rows."""
        cur = self.db.cursor()
        try:
            self._configure(cur)
            return cur.execute(sql).fetchall()
        finally:
            cur.close()

    # -- scans ---------------------------------------------------------------------------
    def _source_sql(self, cur: duckdb.DuckDBPyConnection, scan: ScanNode, src: FileScan) -> str:
        consts = [f'{_const_sql(v, t)} AS "{n}"' for n, v, t in src.constants]
        if not src.files:
            cols = [f'CAST(NULL AS {parse_type(t).to_duckdb()}) AS "{n}"' for n, t in src.columns] + consts
            return f"SELECT {', '.join(cols) or 'NULL AS __dummy'} WHERE false"
        base = self._files_sql(cur, src)
        if consts:
            data = ", ".join(f'"{n}"' for n, _ in src.columns)
            return f"SELECT {data + ', ' if data else ''}{', '.join(consts)} FROM ({base})"
        return base

    def _derived_file(self, path: str, kind: str, produce: Callable[[str, str], None]) -> str:
        """A local file made from `path` by `produce` (a format's decompression or decoding), made once
        into this executor's private cache, keyed by the file's path, modification time and size."""
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="hiveish-derived-")
        st = os.stat(path)
        key = hashlib.sha1(f"{kind}:{path}:{st.st_mtime_ns}:{st.st_size}".encode()).hexdigest()
        dest = os.path.join(self._tmp, key + ".txt")
        if not os.path.exists(dest):
            part = f"{dest}.{uuid.uuid4().hex[:8]}.part"
            try:
                produce(path, part)
                os.replace(part, dest)
            finally:
                if os.path.exists(part):
                    os.remove(part)
        return dest

    def _files_sql(self, cur: duckdb.DuckDBPyConnection, src: FileScan) -> str:
        """The scan of one source's files, as its format reads them (see catalog/formats/registry.py)."""
        fmt = format_named(src.format)
        if not src.local:
            if _columnar_mode(src) == "arrow" and (reader := _remote_reader(fmt, src)) is not None:
                return self._arrow_sql(cur, src, reader)
            # DuckDB's readers cannot open hdfs:// URLs: scan local copies (see RemoteCopies)
            from dataclasses import replace

            src = replace(src, files=self._remote.local_copies(src.files, src.fs_options, cur), local=True)
        return fmt.scan_sql(src, _Context(self, cur))

    def _arrow_sql(self, cur: duckdb.DuckDBPyConnection, src: FileScan, reader: pa.RecordBatchReader) -> str:
        """Scan SQL over an Arrow stream registered on the cursor, columns matched by name."""
        self._counter += 1
        rel = f"__arrow{self._counter}"
        cur.register(rel, reader)
        names = {n.lower(): n for n in reader.schema.names}
        cols = []
        for n, t in src.columns:
            duck = parse_type(t).to_duckdb()
            got = names.get(n.lower())
            cols.append(f'TRY_CAST("{got}" AS {duck}) AS "{n}"' if got else f'CAST(NULL AS {duck}) AS "{n}"')
        return f"SELECT {', '.join(cols) or 'NULL AS __dummy'} FROM {rel}"

    def _scan_sql(self, cur: duckdb.DuckDBPyConnection, scan: ScanNode) -> str:
        parts = [self._source_sql(cur, scan, s) for s in scan.sources]
        if not parts:
            cols = [f'CAST(NULL AS {parse_type(t).to_duckdb()}) AS "{n}"' for n, t in scan.columns]
            parts = [f"SELECT {', '.join(cols) or 'NULL AS __dummy'} WHERE false"]
        sql = " UNION ALL ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
        return sampled_sql(sql, scan)

    def describe(self, plan: QueryPlan) -> list[str]:
        """DuckDB types of the plan's result columns, without running it."""
        cur = self.db.cursor()
        try:
            self._configure(cur)
            for scan in plan.scans:
                cur.execute(f'CREATE TEMP VIEW "{scan.name}" AS {self._scan_sql(cur, scan)}')
            return [str(t) for t in cur.sql(plan.sql).types]
        finally:
            cur.close()

    # -- running -----------------------------------------------------------------------------
    def run(self, plan: QueryPlan, batch_size: int = 65536) -> "RunningQuery":
        cur = self.db.cursor()
        with self._lock:  # cancellable from the start: blocking queries run inside to_arrow_reader
            self._running.append(cur)
        try:
            self._configure(cur)
            for scan in plan.scans:
                cur.execute(f'CREATE TEMP VIEW "{scan.name}" AS {self._scan_sql(cur, scan)}')
            rel = cur.sql(plan.sql)
            reader = rel.to_arrow_reader(batch_size) if rel is not None else None
        except BaseException:
            with self._lock:
                if cur in self._running:
                    self._running.remove(cur)
            cur.close()
            raise
        return RunningQuery(self, cur, reader)

    def cancel_all(self) -> None:
        with self._lock:
            for cur in list(self._running):
                try:
                    cur.interrupt()
                except Exception:
                    pass


class _Context:
    """What a format may ask of the engine while it builds a scan (catalog.formats.base.ScanContext)."""

    def __init__(self, executor: ArrowExecutor, cur: duckdb.DuckDBPyConnection) -> None:
        self._executor, self._cur = executor, cur

    def arrow_sql(self, scan: FileScan, reader: pa.RecordBatchReader) -> str:
        return self._executor._arrow_sql(self._cur, scan, reader)

    def derived_file(self, path: str, kind: str, produce: Callable[[str, str], None]) -> str:
        return self._executor._derived_file(path, kind, produce)


def _columnar_mode(src: FileScan) -> str:
    return (src.fs_options.get("hiveish.hdfs.scan.columnar") or "copy").strip().lower()


def _remote_reader(fmt: Format, src: FileScan) -> pa.RecordBatchReader | None:
    """Remote files read in place through a pyarrow dataset over the catalog's FileSystem, if the
    format reads that way (Parquet, ORC): only the column chunks (stripes' streams) a query needs
    cross the network, in ranged reads; chosen with ``hiveish.hdfs.scan.columnar=arrow``."""
    if not fmt.arrow_in_place:
        return None
    from catalog.fs import filesystem_for
    from catalog.fs.webhdfs import WebHdfsArrowHandler, WebHdfsFileSystem, arrow_filesystem

    fs = filesystem_for(src.files[0], src.fs_options)
    if not isinstance(fs, WebHdfsFileSystem):
        raise NotImplementedError(f"No Arrow filesystem for {src.files[0]}")
    # the handler's own paths: HDFS paths without scheme and authority
    local = replace(src, files=[WebHdfsArrowHandler._arrow_path(f) for f in src.files])
    return fmt.arrow_reader(local, filesystem=arrow_filesystem(fs))


class RemoteCopies:
    """Local copies of remote (WebHDFS) table files, which DuckDB's native readers then scan.

    Why copies rather than feeding DuckDB an Arrow stream: a copy is one
    streamed OPEN per file written straight to disk in 1 MiB chunks, so
    memory stays bounded by a chunk whatever the file size, and it moves data
    at the speed of the HTTP connection; DuckDB then reads the copies with
    exactly the readers and settings it uses for local tables: parallel CSV
    and Parquet scans, compression by file extension, Hive's text semantics
    in SQL, bzip2 through the same cache. An Arrow stream would instead have
    to parse text in Python-driven pyarrow readers over a Python file object
    (single-threaded per file, with different null, quoting and bad-row
    behaviour than the local path), and every query would fetch the bytes
    again, where copies are kept between queries, keyed by path,
    modification time and size, so a changed file is fetched afresh.
    Measured on TPC-H SF1 lineitem over minihdfs (bench/webhdfs_scan.py): the
    copy runs at about 1 GB/s, so a first scan costs 1.05-1.3x a local one and
    later scans the same as local; Parquet read in place through a pyarrow
    dataset over the WebHDFS FileSystem (``hiveish.hdfs.scan.columnar=arrow``,
    which fetches only the needed column chunks) took 2.7-7x the local time,
    and TPC-H SF0.1 on Parquet took 22 s that way against 16 s with copies.

    Copies live in a private temporary directory removed on close (and at
    interpreter exit); beyond ``hiveish.hdfs.scan.cache_bytes`` the least
    recently used copies not in use by a running query are deleted.
    """

    def __init__(self, running: Callable[[], list]) -> None:
        self._running = running
        self._lock = threading.Lock()
        self._dir: tempfile.TemporaryDirectory | None = None
        self._entries: OrderedDict[str, _Copy] = OrderedDict()
        self._fetching: dict[str, threading.Lock] = {}

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            if self._dir is not None:
                self._dir.cleanup()
                self._dir = None

    def _root(self, options: dict) -> str:
        with self._lock:
            if self._dir is None:
                parent = options.get("hiveish.hdfs.scan.cache_dir") or None
                if parent:
                    os.makedirs(parent, exist_ok=True)
                self._dir = tempfile.TemporaryDirectory(prefix="hiveish-remote-", dir=parent)
            return self._dir.name

    def local_copies(self, files: list[str], options: dict, user: object) -> list[str]:
        """Local paths holding the current contents of `files`, in order; `user` pins them."""
        from catalog.fs import filesystem_for

        root = self._root(options)
        running = self._running()
        todo: list[tuple[str, str, int, str]] = []  # (remote path, key, size, local path)
        out = []

        def pin(entry: _Copy) -> None:  # by `user`, forgetting queries that have finished
            entry.users = [u for u in entry.users if any(u is r for r in running)] + [user]
        for f, st in zip(files, _statuses(files, options)):
            key = hashlib.sha1(f"{f}\0{st.modification_time!r}\0{st.size}".encode()).hexdigest()
            ext = os.path.splitext(f.rsplit("/", 1)[-1])[1]
            dest = os.path.join(root, key[:24] + (ext if re.fullmatch(r"\.[A-Za-z0-9]{1,12}", ext) else ""))
            out.append(dest)
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and os.path.exists(dest):
                    self._entries.move_to_end(key)
                    pin(entry)
                    continue
            todo.append((f, key, st.size, dest))
        if todo:
            def fetch(item: tuple[str, str, int, str]) -> None:
                f, key, size, dest = item
                with self._lock:
                    lock = self._fetching.setdefault(key, threading.Lock())
                with lock:  # one download per file even when scans race
                    if not os.path.exists(dest):
                        part = f"{dest}.{uuid.uuid4().hex[:8]}.part"
                        try:
                            filesystem_for(f, options).copy_to_local(f, part, size)
                            os.replace(part, dest)
                        finally:
                            if os.path.exists(part):
                                os.remove(part)
                    with self._lock:
                        entry = self._entries.setdefault(key, _Copy(dest, size))
                        self._entries.move_to_end(key)
                        pin(entry)
                        self._fetching.pop(key, None)

            if len(todo) == 1:
                fetch(todo[0])
            else:  # many small files (partitions): overlap their round trips
                with ThreadPoolExecutor(min(4, len(todo))) as pool:
                    list(pool.map(fetch, todo))
        self._trim(int(options.get("hiveish.hdfs.scan.cache_bytes") or (4 << 30)), set(out))
        return out

    def _trim(self, limit: int, keep: set[str]) -> None:
        """Delete least recently used copies beyond `limit` bytes, sparing those running queries use."""
        running = self._running()
        with self._lock:
            total = sum(e.size for e in self._entries.values())
            for key in list(self._entries):
                if total <= limit:
                    break
                e = self._entries[key]
                e.users = [u for u in e.users if any(u is r for r in running)]
                if e.users or e.path in keep:
                    continue
                del self._entries[key]
                total -= e.size
                try:
                    os.remove(e.path)
                except FileNotFoundError:
                    pass


@dataclass
class _Copy:
    path: str
    size: int
    users: list = field(default_factory=list)  # cursors whose views read this copy


def _statuses(files: list[str], options: dict) -> list:
    """Size and modification time of each file: one LISTSTATUS per directory, not one call per file."""
    from catalog.fs import filesystem_for

    by_dir: dict[str, dict[str, object]] = {}
    out = []
    for f in files:
        parent = f.rsplit("/", 1)[0]
        fs = filesystem_for(f, options)
        if parent not in by_dir:
            try:
                by_dir[parent] = {st.path: st for st in fs.list(parent)}
            except (FileNotFoundError, NotADirectoryError):
                by_dir[parent] = {}
        st = by_dir[parent].get(f)
        out.append(st if st is not None else fs.status(f))
    return out


class RunningQuery:
    """A query's result stream; closing it frees its DuckDB cursor."""

    def __init__(self, executor: ArrowExecutor, cur: duckdb.DuckDBPyConnection,
                 reader: pa.RecordBatchReader | None) -> None:
        self.executor = executor
        self.cur = cur
        self.reader = reader
        self.schema = reader.schema if reader is not None else pa.schema([])

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            if self.reader is not None:
                for b in self.reader:
                    yield b
        finally:
            self.close()

    def cancel(self) -> None:
        try:
            self.cur.interrupt()
        except Exception:
            pass

    def close(self) -> None:
        with self.executor._lock:
            if self.cur in self.executor._running:
                self.executor._running.remove(self.cur)
        try:
            self.cur.close()
        except Exception:
            pass
