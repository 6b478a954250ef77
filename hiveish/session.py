"""A session: settings, current database, and statement dispatch by kind.

`Session.execute(sql)` runs one statement and returns a `Result` whose rows
stream as Arrow record batches. Every statement is one metastore transaction.
"""

from __future__ import annotations

import array
import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterator

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from catalog.catalog import Catalog
from catalog.metastore import Metastore
from catalog.types import from_arrow
from hiveish import errors
from hiveish.script import split_statements, strip_comments, substitute
from hiveish.settings import Settings

# settings the catalog reads (storage connection, staging cleanup), passed on when SET
_CATALOG_OPTIONS = ("hiveish.hdfs", "dfs.", "hiveish.staging")

@dataclass
class Result:
    """One statement's outcome: column (name, hive type) pairs and a stream of batches."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    batches: Iterator[pa.RecordBatch] = field(default_factory=lambda: iter(()))
    rowcount: int = -1
    status: str = "OK"
    cancel: Callable[[], None] | None = None

    @property
    def has_rows(self) -> bool:
        return bool(self.columns)

    @staticmethod
    def rows(names: list[str], rows: list[tuple], types: list[str] | None = None) -> "Result":
        types = types or ["string"] * len(names)
        arrays = [_string_array([r[i] for r in rows]) if t == "string" else pa.array([r[i] for r in rows])
                  for i, t in enumerate(types)]
        batch = pa.RecordBatch.from_arrays(arrays, names=names) if names else None
        return Result(columns=list(zip(names, types)), batches=iter([batch] if batch is not None and rows else []),
                      rowcount=len(rows))


def _string_array(values: list) -> pa.Array:
    """A string column built from its buffers: `pa.array` imports pandas when it is installed (to
    check for pandas objects), which would double the cost of a `hiveish -e "SHOW TABLES"`."""
    data = [v.encode("utf-8") if isinstance(v, str) else b"" for v in values]
    total = sum(map(len, data))
    if total >= 2**31 or not all(v is None or isinstance(v, str) for v in values):
        return pa.array(values, type=pa.string())
    offsets = array.array("i", [0])
    for d in data:
        offsets.append(offsets[-1] + len(d))
    nulls = sum(v is None for v in values)
    valid = sum(1 << i for i, v in enumerate(values) if v is not None).to_bytes((len(values) + 7) // 8, "little")
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(b"".join(data)),
                                       pa.py_buffer(valid) if nulls else None, nulls)


AUTO_MR_INPUT_BYTES = 10 * 1024 ** 3  # hiveish.auto.mr.inputbytes: 10 GiB


class _MRResult:
    """An MR run's result stream in the shape `run_plan` returns."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.schema = runner.schema()

    def batches(self) -> Iterator[pa.RecordBatch]:
        return self.runner.batches()

    def cancel(self) -> None:
        self.runner.cancel()


def default_home() -> str:
    return os.environ.get("HIVEISH_HOME") or os.path.join(os.path.expanduser("~"), ".hiveish")


def parse_error(e: Exception, sql: str) -> errors.ParseException:
    if isinstance(e, ParseError) and e.errors:
        err = e.errors[0]
        line = err.get("line") or 1
        col = err.get("col") or 0
        near = err.get("highlight") or ""
        desc = err.get("description") or "cannot recognize input"
        msg = f"cannot recognize input near '{near}'" if near else desc
        return errors.ParseException(f"{msg}: {desc}" if near else msg, line, max(0, col - len(near)))
    if isinstance(e, TokenError):
        return errors.ParseException(f"cannot tokenize input: {e}", 1, 0)
    return errors.ParseException(str(e), 1, 0)


def _bad_file_detail(full: str, first: str) -> str:
    """The file a DuckDB reader error is about (it names it further down), and the fix for bad UTF-8."""
    m = re.search(r"^\s*file = (.+)$", full, re.M)
    detail = f" in file {m.group(1).strip()}" if m and m.group(1).strip() not in first else ""
    if "Invalid unicode" in full:
        detail += (": the file is not valid UTF-8; declare its encoding with the table property"
                   " 'serialization.encoding'='ISO-8859-1' (or UTF-16)")
    return detail


# settings whose change may start the MapReduce workers (runners.prestart); kept here so that a
# session not running MR never imports the MapReduce packages
MR_START_SETTINGS = ("hive.execution.engine", "hiveish.mapreduce.runner", "hiveish.mapreduce.workers",
                     "hiveish.mapreduce.inprocess", "hiveish.dask.scheduler")


class Session:
    def __init__(self, warehouse: str | None = None, metastore: str | None = None, database: str = "default",
                 settings: dict[str, str] | None = None, hivevar: dict[str, str] | None = None) -> None:
        home = default_home()
        self.settings = Settings()
        for k, v in (settings or {}).items():
            self.settings.set(k, v)
        warehouse = warehouse or self.settings.get("hive.metastore.warehouse.dir") or os.path.join(home, "warehouse")
        metastore = metastore or self.settings.get("hiveish.metastore") or os.path.join(home, "metastore.db")
        from catalog.catalog import absolute_location

        warehouse = absolute_location(warehouse)
        self.settings.set("hive.metastore.warehouse.dir", warehouse)
        self.settings.set("hiveish.metastore", metastore)
        self.hivevar: dict[str, str] = dict(hivevar or {})
        self.metastore = Metastore(metastore, warehouse)
        self.catalog = Catalog(self.metastore, warehouse, self._fs_options())
        try:
            self.catalog.fs(warehouse).mkdirs(warehouse)
        except OSError as e:
            self.metastore.close()
            raise errors.OperationalError(f"Cannot open the warehouse {warehouse}: {e}") from e
        self._executor = None
        self.mapreduce_log: list[str] = []  # Hive-style job report lines of MapReduce runs
        self.mapreduce_last = None  # the last MapReduce runner (reports, counters)
        from hiveish.jobs import JobHistory

        self.jobs = JobHistory(metastore=metastore)  # SHOW JOBS / DESCRIBE JOB (and the archive beside the metastore)
        self._statement_id = ""  # groups the jobs (stages) of one statement in the job history
        self.statement_jobs: list = []  # JobReports of the statement running or last run
        # warnings of the statement running or last run (shown by the CLI and shell, cursor.messages)
        self.statement_warnings: list[str] = []
        # job_listeners: called as f(event, report) with event "start" | "progress" | "end"
        self.job_listeners: list[Callable[[str, object], None]] = []
        self._statement_text = ""
        self._depth = 0
        self.macros: dict = {}  # CREATE TEMPORARY MACRO: name -> hiveish.macros.Macro
        # tables only this session's queries see, ahead of the metastore's: (db, name) -> Table
        # (DB-API `Connection.register`, hiveish.registered)
        self.registered: dict = {}
        # CREATE TEMPORARY TABLE: (db, name, location) of tables this session made, dropped when it closes
        self.temporary_tables: list[tuple[str, str, str]] = []
        self.current_db = "default"
        if database and database != "default":
            self.use(database)
        self._closed = False
        self._prestart_workers()

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._drop_temporary_tables()
        self._closed = True
        if self._executor is not None:
            self._executor.close()
        self.jobs.close()
        self.metastore.close()

    def _drop_temporary_tables(self) -> None:
        """Hive's temporary tables end with their session (data included); one another session dropped
        and made again under the same name is not ours, and stays."""
        for db, name, location in reversed(self.temporary_tables):
            try:
                t = self.metastore.get_table(db, name)
                if t is not None and t.sd.location == location:
                    self.execute(f"DROP TABLE IF EXISTS `{db}`.`{name}`")
            except Exception:  # noqa: BLE001 - closing goes on; the table stays, as after a crash
                pass
        self.temporary_tables = []

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fs_options(self) -> dict[str, str]:
        return {k: v for k, v in self.settings.items(verbose=False) if k.startswith(_CATALOG_OPTIONS)}

    @property
    def executor(self):
        if self._executor is None:
            from executors.arrow import ArrowExecutor

            self._executor = ArrowExecutor(self.settings.time_zone, self.settings.get_int("hiveish.threads"))
            if self.settings.get("hiveish.memory.limit"):
                self._executor.set_memory_limit(self.settings.get("hiveish.memory.limit"))
        return self._executor

    # -- entry points -----------------------------------------------------------------------------
    def substitute(self, text: str) -> str:
        return substitute(text, self.hivevar, self.settings.visible)  # credentials are never substituted

    def execute_script(self, script: str) -> Iterator[tuple[str, Result]]:
        """Run every statement of a script in turn, yielding (statement, result)."""
        for stmt in split_statements(self.substitute(script)):
            yield stmt.text, self.execute(stmt.text, substituted=True)

    def execute(self, sql: str, substituted: bool = False) -> Result:
        if self._closed:
            raise errors.InterfaceError("Session is closed")
        if not substituted:
            sql = self.substitute(sql)
        text = sql.strip().rstrip(";").strip()
        if not text:
            return Result(status="OK")
        if self._depth == 0:  # `source` runs statements inside a statement: those jobs count for it
            self.statement_jobs = []
            self.statement_warnings = []
            self._statement_text = text
            self._statement_id = ""
        self._depth += 1
        try:
            return self._dispatch_limited(text)
        except errors.Error:
            raise
        except (ParseError, TokenError) as e:
            raise parse_error(e, text) from None
        except FileNotFoundError as e:
            raise errors.ExecutionError(str(e)) from e
        except PermissionError as e:
            raise errors.ExecutionError(f"Permission denied: {e}") from e
        except Exception as e:  # engine errors become Hive-shaped execution errors
            raise self._translate_engine_error(e) from e
        finally:
            self._depth -= 1

    def _dispatch_limited(self, text: str) -> Result:
        """`hive.query.timeout.seconds` (0 = none): cancel the statement, rows still streaming included."""
        raw = (self.settings.get("hive.query.timeout.seconds") or "0").strip().lower().rstrip("s")
        try:
            limit = float(raw) if self._depth == 1 else 0.0
        except ValueError:
            raise errors.ExecutionError(f"hive.query.timeout.seconds is not a number of seconds: {raw!r}") from None
        if limit <= 0:
            return self._dispatch(text)
        import threading

        fired = threading.Event()

        def expire() -> None:
            fired.set()
            self.cancel()

        timer = threading.Timer(limit, expire)
        timer.daemon = True
        timer.start()
        message = f"Query timed out after {raw} second(s) (hive.query.timeout.seconds)"
        try:
            result = self._dispatch(text)
        except BaseException as e:
            timer.cancel()
            if fired.is_set():
                raise errors.Cancelled(message) from e
            raise
        if not result.has_rows:
            timer.cancel()
            return result

        def timed(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            try:
                yield from batches
            except BaseException as e:
                if fired.is_set():
                    raise errors.Cancelled(message) from e
                raise
            finally:
                timer.cancel()

        result.batches = timed(result.batches)
        return result

    def _translate_engine_error(self, e: Exception) -> errors.Error:
        import duckdb

        msg = str(e).split("\n")[0]
        msg += _bad_file_detail(str(e), msg)
        if isinstance(e, duckdb.InterruptException):
            return errors.Cancelled()
        if isinstance(e, (duckdb.BinderException, duckdb.CatalogException)):
            return errors.SemanticException(msg, code=10004 if "column" in msg.lower() else None)
        if isinstance(e, duckdb.ParserException):
            return errors.ParseException(msg, 1, 0)
        if isinstance(e, (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException)):
            return errors.DataError(msg)
        return errors.ExecutionError(f"{type(e).__name__}: {msg}")

    # -- dispatch ---------------------------------------------------------------------------------
    def _dispatch(self, text: str) -> Result:
        from hiveish import commands, refusals

        text = strip_comments(text).strip() or text
        refusals.check_statement(text)
        head = re.match(r"\s*(\w+)(?:\s+(\w+))?", text)
        word = head.group(1).lower() if head else ""
        second = (head.group(2) or "").lower() if head else ""
        handler = commands.TEXT_COMMANDS.get(word)
        if handler is not None:
            result = handler(self, text, second)
            if result is not None:
                return result
        tree = self.parse(text)
        return commands.run_tree(self, tree, text)

    def parse(self, text: str) -> exp.Expression:
        from planner.dialect import HiveQL

        try:
            trees = sqlglot.parse(text, read=HiveQL)
        except (ParseError, TokenError) as e:
            raise parse_error(e, text) from None
        trees = [t for t in trees if t is not None]
        if len(trees) != 1:
            raise errors.ParseException("expected exactly one statement", 1, 0)
        if self.macros:
            from hiveish.macros import expand

            return expand(self, trees[0])
        return trees[0]

    # -- shared helpers ------------------------------------------------------------------------------
    def use(self, db: str) -> None:
        if self.metastore.get_database(db) is None:
            raise errors.DatabaseNotFound(db)
        self.current_db = db.lower()

    def binder(self):
        from planner.binder import Binder

        return Binder(self.catalog_view(), self.current_db, self.settings.get, self.executor.evaluate,
                      self.parse)

    def catalog_view(self):
        session = self

        class _View:
            def get_table(self, db, name):
                registered = session.registered.get((db.lower(), name.lower())) if session.registered else None
                return registered or session.metastore.get_table(db, name)

            def partitions(self, table):
                return session.catalog.partitions(table)

            def file_scan(self, table, sd, columns, constants):
                return session.catalog.file_scan(table, sd, columns, constants)

        return _View()

    def plan(self, tree: exp.Expression, text: str = ""):
        # list partitions and files under the metastore's write lock: commits hold it while they
        # move files, so a plan never sees half of one (README, Robustness guarantees)
        with self.metastore.snapshot():
            plan = self.binder().plan_query(tree, text)
        engine = (self.settings.get("hive.execution.engine") or "auto").lower()
        if engine in ("mr", "mapreduce"):
            from planner.mapreduce import plan_for_mr

            return plan_for_mr(plan, self.settings.get, "forced by hive.execution.engine=mr")
        elif engine == "auto":
            limit = self.settings.get_int("hiveish.auto.mr.inputbytes", AUTO_MR_INPUT_BYTES)
            size = self.input_bytes(plan, stop_above=limit)
            if size > limit:
                from planner.mapreduce import plan_for_mr

                return plan_for_mr(plan, self.settings.get, f"auto: input of {size} bytes or more is above "
                                                            f"hiveish.auto.mr.inputbytes={limit}")
            plan.engine_reason = (f"auto: input {size} bytes is within hiveish.auto.mr.inputbytes={limit}; "
                                  "vectorized engine")
        else:
            plan.engine_reason = "forced by hive.execution.engine=arrow"
        return plan

    def input_bytes(self, plan, stop_above: int | None = None) -> int:
        """Total size of the files the plan's scans read (stops counting once above `stop_above`)."""
        total = 0
        for scan in plan.scans:
            for src in scan.sources:
                if src.local:
                    for f in src.files:
                        try:
                            total += os.path.getsize(f[7:] if f.startswith("file://") else f)
                        except OSError:
                            pass
                elif src.files:
                    from executors.arrow import _statuses

                    try:
                        total += sum(st.size for st in _statuses(src.files, src.fs_options))
                    except Exception:  # noqa: BLE001 - an unreachable store: the size is unknown
                        pass
                if stop_above is not None and total > stop_above:
                    return total
        return total

    def run_query(self, tree: exp.Expression, text: str = "") -> Result:
        plan = self.plan(tree, text)
        running = self.run_plan(plan)
        names = plan.column_names if len(plan.column_names) == len(running.schema) else running.schema.names
        names = [n if n else f"_c{i}" for i, n in enumerate(names)]
        known = plan.column_types if len(plan.column_types) == len(running.schema) else [None] * len(running.schema)
        columns = [(n, k or str(from_arrow(f.type))) for n, f, k in zip(names, running.schema, known)]
        return Result(columns=columns, batches=self._guarded(running.batches()), cancel=running.cancel)

    def run_plan(self, plan, wrap: Callable[[str], str] | None = None):
        """Run a query plan on its engine; the returned object has `.schema`, `.batches()`, `.cancel()`.

        `wrap(query_sql)` builds an outer DuckDB query over the plan's result (INSERT's
        casting projection) from a query producing it, with columns by position. An MR plan runs all its jobs
        here (progress and history go to the listeners), and its result streams through
        DuckDB when wrapped.
        """
        batch_size = self.settings.get_int("hiveish.result.batch.size", 65536)
        mr = getattr(plan, "mr", None)
        if mr is None and hasattr(plan, "mr") and plan.scans:
            # MapReduce was asked for (or chosen) but the lowering declined: say so, not only in EXPLAIN
            self.statement_warnings.append(plan.engine_reason)
        if mr is None:
            if wrap is not None:
                plan.sql = wrap(plan.sql)
            return self.executor.run(plan, batch_size)
        from executors.mapreduce.runners import runner_for

        runner = self.mapreduce_last = runner_for(mr, self.settings)
        runner.on_event = self._job_event
        runner.run(log=self.mapreduce_log)  # Hive's "Stage-1: Map: 4  Reduce: 2 ... SUCCESS" lines
        if wrap is None:
            return _MRResult(runner)
        return self._wrapped(runner, wrap, batch_size)

    def _wrapped(self, runner, wrap: Callable[[str], str], batch_size: int):
        """Stream an MR result through DuckDB under the query `wrap` builds."""
        from executors.arrow import RunningQuery

        schema = runner.schema()
        positional = pa.schema([pa.field(f"__c{i}", f.type) for i, f in enumerate(schema)])
        batches = (pa.RecordBatch.from_arrays(b.columns, schema=positional) for b in runner.batches())
        reader = pa.RecordBatchReader.from_batches(positional, batches)
        ex = self.executor
        cur = ex.db.cursor()
        with ex._lock:
            ex._running.append(cur)
        try:
            ex._configure(cur)
            cur.register("__mr_result", reader)
            out = cur.sql(wrap('SELECT * FROM "__mr_result"')).to_arrow_reader(batch_size)
        except BaseException:
            RunningQuery(ex, cur, None).close()
            runner.cleanup()
            raise
        running = RunningQuery(ex, cur, out)
        return running

    def _job_event(self, event: str, report) -> None:
        if event == "start":
            from hiveish.jobs import new_query_id

            self._statement_id = self._statement_id or new_query_id()
            runner = self.settings.get("hiveish.mapreduce.runner") or "local"
            if runner == "dask":
                runner += " " + (self.settings.get("hiveish.dask.scheduler") or "(local cluster)")
            self.jobs.configure(self.settings)
            self.jobs.add(report, self._statement_text, self._statement_id, runner)
            self.statement_jobs.append(report)
            if self.jobs.warning:
                self.statement_warnings.append(self.jobs.warning)
                self.jobs.warning = None
        elif event == "end":
            self.jobs.end(report)
        for listener in list(self.job_listeners):
            listener(event, report)

    def progress(self) -> list[dict]:
        """Map/reduce percent per MR stage of the running (or last) statement; callable from any thread."""
        return [r.progress() for r in list(self.statement_jobs)]

    def _guarded(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """Errors raised while rows stream (bad data, cancel) surface as hiveish errors too."""
        try:
            yield from batches
        except errors.Error:
            raise
        except Exception as e:
            raise self._translate_engine_error(e) from e

    def cancel(self) -> None:
        """Interrupt whatever this session is running (safe to call from another thread)."""
        if self._executor is not None:
            self._executor.cancel_all()
        if self.mapreduce_last is not None:
            self.mapreduce_last.cancel()

    def set_time_zone(self, tz: str) -> None:
        if self._executor is not None:
            self._executor.set_time_zone(tz)

    def on_setting_changed(self, key: str) -> None:
        if key == "hive.local.time.zone":
            self.set_time_zone(self.settings.time_zone)
        if key == "hiveish.memory.limit":
            self.executor.set_memory_limit(self.settings.get(key) or "")
        if key.startswith(_CATALOG_OPTIONS):
            self.catalog.fs_options = self._fs_options()
        if key == "hive.metastore.warehouse.dir":
            from catalog.catalog import absolute_location

            wh = absolute_location(self.settings.get(key) or self.catalog.warehouse)
            self.catalog.warehouse = wh
            self.metastore.warehouse = wh
        if key in MR_START_SETTINGS:
            self._prestart_workers()

    def _prestart_workers(self) -> None:
        """With engine=mr, start the MapReduce workers now, in the background (see runners.prestart)."""
        if (self.settings.get("hive.execution.engine") or "").strip().lower() == "mr":
            from executors.mapreduce.runners import prestart

            prestart(self.settings)
