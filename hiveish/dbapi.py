"""PEP 249 connection and cursor over a `Session`; rows stream from Arrow batches."""

from __future__ import annotations

import datetime
import decimal
import re
import secrets
from typing import Any, Callable, Iterator, Mapping, Sequence

import pyarrow as pa

from hiveish import errors
from hiveish.session import Result, Session


def quote_literal(value: Any) -> str:
    """A HiveQL literal for a Python value: a typed constant, strings escaped, never interpolated raw.

    The result is data: nothing in it is a `${...}` reference (bind after substitution) and its quoting
    is closed whatever the value holds (quotes, backslashes, NUL, newlines, unicode).
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if -2 ** 63 <= value < 2 ** 63:
            return str(value)
        if abs(value) < 10 ** 38:
            return f"{value}BD"
        raise errors.DataError(f"Parameter {value} is out of range of every Hive numeric type (DECIMAL(38,0) at most)")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"CAST('{value}' AS DOUBLE)"
        return repr(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise errors.DataError(f"Parameter Decimal('{value}') has no Hive DECIMAL value")
        return f"{value}BD"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            raise errors.NotSupportedError(
                "Parameter is a timezone-aware datetime; Hive TIMESTAMP has no time zone: pass a naive datetime")
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, datetime.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "unhex('" + bytes(value).hex() + "')"
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        raise errors.NotSupportedError(f"Parameter of type {type(value).__name__} cannot be bound as a Hive literal")
    text = str(value)
    out = ["'"]
    for ch in text:
        if ch == "'":
            out.append("\\'")
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\0":
            out.append("\\0")
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


def split_placeholders(sql: str, params: Sequence[Any] | Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """The statement's text around its `%s` / `%(name)s` placeholders (outside quoted literals), and
    the value of each: `len(parts) == len(values) + 1`. `%%` becomes `%`; a lone `%` inside a literal
    (`LIKE 'a%'`) is left untouched.
    """
    parts: list[str] = []
    values: list[Any] = []
    out: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    positional = iter(params) if not isinstance(params, Mapping) else None

    def slot(value: Any) -> None:
        parts.append("".join(out))
        out.clear()
        values.append(value)

    while i < n:
        ch = sql[i]
        if quote:
            if ch == "%" and sql.startswith("%%", i):
                out.append("%")  # `%%` is the escape everywhere; a lone `%` in a literal is kept
                i += 2
                continue
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(sql[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
            i += 1
            continue
        if ch in ("'", '"', "`"):
            quote = ch
            out.append(ch)
            i += 1
            continue
        if sql.startswith(("--", "/*"), i):  # a comment: copied as written (its quotes quote nothing)
            end = sql.find("\n", i) if ch == "-" else sql.find("*/", i + 2)
            end = n if end < 0 else end + (0 if ch == "-" else 2)
            out.append(sql[i:end])
            i = end
            continue
        if ch == "%" and i + 1 < n:
            nxt = sql[i + 1]
            if nxt == "%":
                out.append("%")
                i += 2
                continue
            if nxt == "s":
                if positional is None:
                    raise errors.ProgrammingError("Positional %s placeholder used with a mapping of parameters")
                try:
                    slot(next(positional))
                except StopIteration:
                    raise errors.ProgrammingError("Not enough parameters for the SQL statement") from None
                i += 2
                continue
            if nxt == "(":
                end = sql.find(")s", i)
                if end < 0:
                    raise errors.ProgrammingError("Malformed %(name)s placeholder")
                name = sql[i + 2:end]
                if not isinstance(params, Mapping):
                    raise errors.ProgrammingError("Named placeholder used with a sequence of parameters")
                if name not in params:
                    raise errors.ProgrammingError(f"Missing parameter '{name}'")
                slot(params[name])
                i = end + 2
                continue
        out.append(ch)
        i += 1
    parts.append("".join(out))
    if positional is not None and next(positional, _END) is not _END:
        raise errors.ProgrammingError("Not all parameters were used in the SQL statement")
    return parts, values


_END = object()


def bind_parameters(sql: str, params: Sequence[Any] | Mapping[str, Any] | None,
                    substitute: Callable[[str], str] | None = None) -> str:
    """The statement with its placeholders replaced by the parameters as literals (`quote_literal`).

    `substitute` (the session's `${...}` variable substitution) runs over the statement's own text
    first, with each placeholder held by a marker it cannot match; the values go in after, so nothing
    inside a bound value is ever substituted, and a variable's text never becomes a placeholder.
    """
    if params is None:
        return substitute(sql) if substitute else sql
    parts, values = split_placeholders(sql, params)
    literals = [quote_literal(v) for v in values]
    if substitute is not None and values:
        token = secrets.token_hex(8)  # a `$` not followed by `{` ends any reference: markers stay whole
        text = substitute("".join(p + (f"\0$p{token}:{k}\0" if k < len(values) else "")
                                  for k, p in enumerate(parts)))
        pieces = re.split(f"\0\\$p{token}:(\\d+)\0", text)
        if [int(x) for x in pieces[1::2]] != list(range(len(values))):
            raise errors.InternalError("Variable substitution disturbed the statement's parameter placeholders")
        return "".join(piece if k % 2 == 0 else literals[int(piece)] for k, piece in enumerate(pieces))
    text = substitute(parts[0]) if substitute is not None else parts[0]
    return text + "".join(lit + part for lit, part in zip(literals, parts[1:]))


class Connection:
    """`progress`: optional callback, called with `Session.progress()` (a list of per-stage dicts
    `{"stage", "job_id", "map", "reduce", "status", ...}`, percentages 0-100) each time a
    MapReduce job starts, a task finishes, or a job ends, on the thread running `execute`.
    `connect(progress=f)` passes it here."""

    def __init__(self, warehouse: str | None = None, metastore: str | None = None, database: str = "default",
                 hivevar: dict[str, str] | None = None, settings: dict[str, Any] | None = None,
                 progress: Callable[[list[dict]], None] | None = None) -> None:
        settings = dict(settings or {})
        if progress is None and callable(settings.get("progress")):
            progress = settings.pop("progress")
        conf = {}
        for k, v in settings.items():
            key = k if "." in k else k.replace("_", ".")
            conf[key] = str(v)
        self.session = Session(warehouse=warehouse, metastore=metastore, database=database, settings=conf,
                               hivevar=hivevar)
        self._closed = False
        self._cursors: list[Cursor] = []
        self._registry = None  # hiveish.registered.Registry, made by the first register()
        self.progress_callback = progress
        if progress is not None:
            self.session.job_listeners.append(lambda _event, _report: progress(self.session.progress()))

    # PEP 249 exceptions as connection attributes (optional extension)
    Error = errors.Error
    Warning = errors.Warning
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def _check(self) -> None:
        if self._closed:
            raise errors.InterfaceError("Connection is closed")

    def close(self) -> None:
        if self._closed:
            raise errors.Error("Connection already closed")
        for c in list(self._cursors):
            c._close_quietly()
        if self._registry is not None:
            self._registry.close()
        self.session.close()
        self._closed = True

    def commit(self) -> None:
        """Every statement commits on its own (autocommit), as in Hive."""
        self._check()

    def rollback(self) -> None:
        self._check()
        raise errors.NotSupportedError("hiveish has no multi-statement transactions; each statement commits")

    def register(self, name: str, obj: Any) -> None:
        """Query a pandas/polars DataFrame or Arrow table as table `name` ([db.]name) of this connection.

        The data is copied once (as Parquet, into a scratch directory removed on `close`); later changes
        to `obj` are not seen. Registering a name again replaces the data. Only this connection's queries
        see the table (on either engine); it shadows a metastore table of the same name.
        """
        self._check()
        if self._registry is None:
            from hiveish.registered import Registry

            self._registry = Registry(self.session)
        self._registry.register(name, obj)

    def unregister(self, name: str) -> None:
        """Forget a table `register` made, and delete its copy of the data."""
        self._check()
        if self._registry is None:
            raise errors.TableNotFound(name)
        self._registry.unregister(name)

    def cursor(self) -> "Cursor":
        self._check()
        c = Cursor(self)
        self._cursors.append(c)
        return c

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        if not self._closed:
            self.close()


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self._result: Result | None = None
        self._batches: Iterator[pa.RecordBatch] | None = None
        self._rows: list[tuple] = []
        self._pos = 0
        self._batch: pa.RecordBatch | None = None  # the batch `_rows` came from (fetch_df takes its rest)
        self._pending_batch: pa.RecordBatch | None = None
        self.rowcount = -1
        self.description: list[tuple] | None = None
        self._closed = False
        self.lastrowid = None
        self.jobs: list = []  # the last statement's MapReduce jobs (JobReport: job_id, stage, status, counters, ...)
        # PEP 249's optional `messages`: (Warning, text) for the last statement, e.g. a query MR could not run
        self.messages: list[tuple[type, str]] = []

    def _check(self) -> None:
        if self._closed:
            raise errors.InterfaceError("Cursor is closed")
        self.connection._check()

    # -- execution ---------------------------------------------------------------------------
    def execute(self, operation: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> "Cursor":
        self._check()
        self._reset()
        session = self.connection.session
        # ${...} variables are substituted in the statement's text, then parameters bound as values
        sql = bind_parameters(operation, parameters, session.substitute)
        try:
            result = session.execute(sql, substituted=True)
        finally:
            self.jobs = list(session.statement_jobs)
            self.messages = [(errors.Warning, w) for w in session.statement_warnings]
        self._result = result
        if result.columns:
            self.description = [(name, typ, None, None, *_prec_scale(typ), True) for name, typ in result.columns]
            self._batches = iter(result.batches)
            self.rowcount = -1
        else:
            for _ in result.batches:
                pass
            self.description = None
            self.rowcount = result.rowcount
        return self

    def progress(self) -> list[dict]:
        """Progress of the connection's running (or last) statement's MapReduce stages: one dict per
        stage with `stage`, `job_id`, `map` and `reduce` percent, `status`, task counts, `elapsed`.
        Safe to call from another thread while `execute` runs."""
        return self.connection.session.progress()

    @property
    def counters(self) -> dict[str, int]:
        """The last statement's MapReduce counters, summed over its jobs."""
        out: dict[str, int] = {}
        for r in self.jobs:
            for k, v in r.counters.items():
                out[k] = out.get(k, 0) + v
        return out

    def executemany(self, operation: str, seq_of_parameters) -> "Cursor":
        self._check()
        total = 0
        for params in seq_of_parameters:
            self.execute(operation, params)
            if self.rowcount > 0:
                total += self.rowcount
        self.rowcount = total
        self.description = None
        return self

    def _reset(self) -> None:
        if self._result is not None and self._batches is not None:
            close = getattr(self._batches, "close", None)
            if close:
                close()
        self._result = None
        self._batches = None
        self.jobs = []
        self.messages = []
        self._rows = []
        self._pos = 0
        self._batch = None
        self.description = None
        self.rowcount = -1

    # -- fetching --------------------------------------------------------------------------------
    def _next_batch(self) -> bool:
        if self._batches is None:
            return False
        for batch in self._batches:
            if batch.num_rows:
                self._rows = list(zip(*[c.to_pylist() for c in batch.columns])) if batch.num_columns else \
                    [()] * batch.num_rows
                self._pos = 0
                self._batch = batch
                return True
        self._batches = None
        return False

    def _require_result(self) -> None:
        self._check()
        if self._result is None or self.description is None:
            raise errors.ProgrammingError("No result set: execute a query first")

    def fetchone(self) -> tuple | None:
        self._require_result()
        if self._pos >= len(self._rows) and not self._next_batch():
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        self._require_result()
        size = self.arraysize if size is None else size
        out = []
        while len(out) < size:
            if self._pos >= len(self._rows) and not self._next_batch():
                break
            take = min(size - len(out), len(self._rows) - self._pos)
            out.extend(self._rows[self._pos:self._pos + take])
            self._pos += take
        return out

    def fetchall(self) -> list[tuple]:
        self._require_result()
        out = self._rows[self._pos:]
        self._pos = len(self._rows)
        while self._next_batch():
            out.extend(self._rows)
            self._pos = len(self._rows)
        return out

    def fetch_record_batches(self) -> Iterator[pa.RecordBatch]:
        """Arrow extension: the rest of the result as record batches."""
        self._require_result()
        if self._pos < len(self._rows):
            raise errors.ProgrammingError("Rows were already fetched row by row from the current batch")
        batches, self._batches = self._batches, None
        return iter(batches or ())

    def fetch_arrow_table(self) -> pa.Table:
        """Arrow extension: the rest of the result as one table."""
        self._require_result()
        names = [d[0] for d in self.description or []]
        batches = list(self.fetch_record_batches())
        if batches:
            return pa.Table.from_batches(batches)
        from catalog.types import parse_type

        return pa.table({n: pa.array([], type=parse_type(d[1]).to_arrow()) for n, d in zip(names, self.description)})

    def _rest_table(self) -> pa.Table:
        """The rest of the result as one Arrow table, rows of a batch fetched row by row included."""
        self._require_result()
        head: list[pa.RecordBatch] = []
        if self._batch is not None and self._pos < len(self._rows):
            head = [self._batch.slice(self._pos)]
        self._rows, self._pos, self._batch = [], 0, None
        rest = self.fetch_arrow_table()
        if not head:
            return rest
        first = pa.Table.from_batches(head)
        return pa.concat_tables([first, rest]) if rest.num_rows else first

    def fetch_df(self):
        """The rest of the result as a pandas DataFrame: one Arrow `to_pandas()`, no Python loop over rows."""
        return self._rest_table().to_pandas()

    def fetch_polars(self):
        """The rest of the result as a polars DataFrame (needs the `polars` package)."""
        try:
            import polars
        except ImportError:
            raise errors.NotSupportedError("fetch_polars() needs the polars package (pip install polars)") from None
        return polars.from_arrow(self._rest_table())

    def __iter__(self):
        return self

    def __next__(self) -> tuple:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def cancel(self) -> None:
        """Stop the running statement (callable from another thread, even before execute returns)."""
        if self._result is not None and self._result.cancel is not None:
            self._result.cancel()
        else:
            self.connection.session.cancel()

    def setinputsizes(self, sizes) -> None:
        pass

    def setoutputsize(self, size, column=None) -> None:
        pass

    def _close_quietly(self) -> None:
        self._reset()
        self._closed = True

    def close(self) -> None:
        if self._closed:
            raise errors.Error("Cursor already closed")
        self._close_quietly()
        if self in self.connection._cursors:
            self.connection._cursors.remove(self)

    def __enter__(self) -> "Cursor":
        return self

    def __exit__(self, *exc) -> None:
        if not self._closed:
            self.close()


def _prec_scale(typ: str) -> tuple[int | None, int | None]:
    if typ.startswith("decimal("):
        p, s = typ[8:-1].split(",")
        return int(p), int(s)
    return None, None
