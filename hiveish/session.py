"""A session: settings, current database, and statement dispatch by kind.

`Session.execute(sql)` runs one statement and returns a `Result` whose rows
stream as Arrow record batches. Every statement is one metastore transaction.
"""

from __future__ import annotations

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
        arrays = [pa.array([r[i] for r in rows], type=pa.string() if t == "string" else None)
                  for i, t in enumerate(types)]
        batch = pa.RecordBatch.from_arrays(arrays, names=names) if names else None
        return Result(columns=list(zip(names, types)), batches=iter([batch] if batch is not None and rows else []),
                      rowcount=len(rows))


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
        self.current_db = "default"
        if database and database != "default":
            self.use(database)
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._executor is not None:
            self._executor.close()
        self.metastore.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fs_options(self) -> dict[str, str]:
        return {k: v for k, v in self.settings.items(verbose=False) if k.startswith(("hiveish.hdfs", "dfs."))}

    @property
    def executor(self):
        if self._executor is None:
            from executors.arrow import ArrowExecutor

            self._executor = ArrowExecutor(self.settings.time_zone, self.settings.get_int("hiveish.threads"))
        return self._executor

    # -- entry points -----------------------------------------------------------------------------
    def substitute(self, text: str) -> str:
        return substitute(text, self.hivevar, self.settings.get)

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
        try:
            return self._dispatch(text)
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

    def _translate_engine_error(self, e: Exception) -> errors.Error:
        import duckdb

        msg = str(e).split("\n")[0]
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
        from hiveish import commands

        text = strip_comments(text).strip() or text
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
                return session.metastore.get_table(db, name)

            def partitions(self, table):
                return session.catalog.partitions(table)

            def file_scan(self, table, sd, columns, constants):
                return session.catalog.file_scan(table, sd, columns, constants)

        return _View()

    def plan(self, tree: exp.Expression, text: str = ""):
        plan = self.binder().plan_query(tree, text)
        engine = (self.settings.get("hive.execution.engine") or "auto").lower()
        if engine in ("mr", "mapreduce"):
            from planner.mapreduce import plan_for_mr

            return plan_for_mr(plan, self.settings.get, "forced by hive.execution.engine=mr")
        elif engine == "auto":
            plan.engine_reason = "auto: vectorized engine for this plan"
        else:
            plan.engine_reason = "forced by hive.execution.engine=arrow"
        return plan

    def run_query(self, tree: exp.Expression, text: str = "") -> Result:
        plan = self.plan(tree, text)
        if getattr(plan, "mr", None) is not None:  # lowered to MapReduce jobs (hive.execution.engine=mr)
            from executors.mapreduce.runners import runner_for

            runner = self.mapreduce_last = runner_for(plan.mr)
            runner.run(log=self.mapreduce_log)  # Hive's "Stage-1: Map: 4  Reduce: 2 ... SUCCESS" lines
            columns = [(f.name, str(from_arrow(f.type))) for f in runner.schema()]
            return Result(columns=columns, batches=self._guarded(runner.batches()), cancel=runner.cancel)
        running = self.executor.run(plan, self.settings.get_int("hiveish.result.batch.size", 65536))
        names = plan.column_names if len(plan.column_names) == len(running.schema) else running.schema.names
        names = [n if n else f"_c{i}" for i, n in enumerate(names)]
        columns = [(n, str(from_arrow(f.type))) for n, f in zip(names, running.schema)]
        return Result(columns=columns, batches=self._guarded(running.batches()), cancel=running.cancel)

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
        if key.startswith(("hiveish.hdfs", "dfs.")):
            self.catalog.fs_options = self._fs_options()
        if key == "hive.metastore.warehouse.dir":
            from catalog.catalog import absolute_location

            wh = absolute_location(self.settings.get(key) or self.catalog.warehouse)
            self.catalog.warehouse = wh
            self.metastore.warehouse = wh
