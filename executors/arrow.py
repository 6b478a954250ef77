"""The Arrow engine: a `QueryPlan` run by DuckDB, results streamed as Arrow batches."""

from __future__ import annotations

import threading
from typing import Iterator

import duckdb
import pyarrow as pa

from catalog.formats import columnar, text
from catalog.formats.base import FileScan
from catalog.formats.text import sql_str
from catalog.types import parse_type
from planner.functions import MACROS
from planner.plan import QueryPlan, ScanNode


def _const_sql(value: str | None, typ: str) -> str:
    duck = parse_type(typ).to_duckdb()
    if value is None:
        return f"CAST(NULL AS {duck})"
    return f"TRY_CAST({sql_str(value)} AS {duck})"


class ArrowExecutor:
    """Owns one in-memory DuckDB database; each query runs on its own cursor."""

    def __init__(self, time_zone: str = "UTC", threads: int = 0) -> None:
        self.db = duckdb.connect(":memory:")
        self.time_zone = time_zone
        if threads:
            self.db.execute(f"SET threads = {int(threads)}")
        for m in MACROS:
            self.db.execute(m)
        self._configure(self.db)
        self._lock = threading.Lock()
        self._running: list[duckdb.DuckDBPyConnection] = []
        self._counter = 0
        self._tmp: str | None = None

    def _configure(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
        con.execute(f"SET TimeZone = {sql_str(self.time_zone)}")

    def set_time_zone(self, tz: str) -> None:
        self.time_zone = tz
        self.db.execute(f"SET TimeZone = {sql_str(tz)}")

    def close(self) -> None:
        self.db.close()
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

    def _decompressed(self, files: list[str]) -> list[str]:
        """bzip2 files, which DuckDB cannot read, decompressed once into a private cache."""
        import bz2
        import hashlib
        import os
        import shutil
        import tempfile

        out = []
        for f in files:
            if not f.endswith(".bz2"):
                out.append(f)
                continue
            if self._tmp is None:
                self._tmp = tempfile.mkdtemp(prefix="hiveish-bz2-")
            st = os.stat(f)
            key = hashlib.sha1(f"{f}:{st.st_mtime_ns}:{st.st_size}".encode()).hexdigest()
            dest = os.path.join(self._tmp, key)
            if not os.path.exists(dest):
                with bz2.open(f, "rb") as src, open(dest + ".part", "wb") as dst:
                    shutil.copyfileobj(src, dst, 8 << 20)
                os.replace(dest + ".part", dest)
            out.append(dest)
        return out

    def _files_sql(self, cur: duckdb.DuckDBPyConnection, src: FileScan) -> str:
        fmt = src.format
        if src.local and any(f.endswith(".bz2") for f in src.files):
            from dataclasses import replace

            src = replace(src, files=self._decompressed(src.files))
        if fmt == "parquet" and src.local:
            return columnar.parquet_scan_sql(src, columnar.parquet_file_columns(src.files[0]))
        if fmt == "jsonfile" or "JsonSerDe" in src.serde:
            return columnar.json_scan_sql(src)
        if "OpenCSVSerde" in src.serde:
            return columnar.csv_scan_sql(src)
        if fmt in ("orc", "parquet"):
            reader = columnar.orc_reader(src) if fmt == "orc" else _parquet_reader(src)
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
        return text.scan_sql(src)

    def _scan_sql(self, cur: duckdb.DuckDBPyConnection, scan: ScanNode) -> str:
        parts = [self._source_sql(cur, scan, s) for s in scan.sources]
        if not parts:
            cols = [f'CAST(NULL AS {parse_type(t).to_duckdb()}) AS "{n}"' for n, t in scan.columns]
            parts = [f"SELECT {', '.join(cols) or 'NULL AS __dummy'} WHERE false"]
        sql = " UNION ALL ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
        if scan.sample:
            num, den, col = scan.sample
            key = f'"{col}"' if col else "*"
            sql = (f"SELECT * FROM ({sql}) WHERE ((hash_hive({key}) & 2147483647) % {den}) = {num - 1}"
                   if col else f"SELECT * FROM ({sql}) USING SAMPLE {100.0 / den}%")
        return sql

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


def _parquet_reader(src: FileScan) -> pa.RecordBatchReader:
    import pyarrow.dataset as ds

    from catalog.fs import filesystem_for

    fs = filesystem_for(src.files[0], src.fs_options)
    arrow_fs = None
    try:
        from catalog.fs.webhdfs import arrow_filesystem  # type: ignore

        arrow_fs = arrow_filesystem(fs)
    except Exception:
        arrow_fs = None
    dataset = ds.dataset(src.files, format="parquet", filesystem=arrow_fs)
    return dataset.scanner().to_reader()


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
