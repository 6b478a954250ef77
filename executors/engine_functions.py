"""The registry's DuckDB macros and Python UDFs, installed on a database when its SQL first calls them.

`planner.functions` declares ~60 macros (`MACROS`) and the Python UDFs (`UDFS`, implemented in
`planner.udfs`). Creating them all costs a fresh process more than a small query takes, so an
executor's connection (`OnDemandConnection`) installs, before each SQL text it runs, the registry
functions that text calls and those they call in turn. Every statement of both engines goes
through such a connection (the MapReduce tasks run on `executors.arrow.ArrowExecutor` too, in
the session's process or in a worker), so each gets exactly the functions its SQL names.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb

_MACRO_NAME = re.compile(r"\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?MACRO\s+(\w+)", re.I)


# the words of a SQL text, lowercased (DuckDB resolves names in any case): a registry name among
# them may be a call; installing a function that turns out to be a column's name costs nothing more
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class _Registry:
    """The registry read once: which names exist and what each macro calls."""

    size: tuple[int, int]  # (len(MACROS), len(UDFS)) it was built from
    macros: dict[str, tuple[int, str]]  # name -> (position in MACROS, CREATE statement)
    udfs: dict[str, Any]  # name -> planner.functions.PythonUdf
    always: tuple[str, ...]  # statements that create no named macro: run on every new database
    calls: dict[str, frozenset[str]] = field(default_factory=dict)  # a macro's calls, filled on first use

    def called(self, sql: str) -> list[str]:
        """Registry functions `sql` calls directly."""
        return [n for n in set(_WORD.findall(sql.lower())) if n in self.macros or n in self.udfs]

    def calls_of(self, name: str) -> frozenset[str]:
        if name not in self.calls:
            stmt = self.macros[name][1] if name in self.macros else ""
            body = stmt[_MACRO_NAME.match(stmt).end():] if stmt else ""  # type: ignore[union-attr]
            self.calls[name] = frozenset(self.called(body)) - {name}
        return self.calls[name]


_REGISTRY: list[_Registry] = []
_REGISTRY_LOCK = threading.Lock()


def _registry() -> _Registry:
    from planner.functions import MACROS, UDFS

    size = (len(MACROS), len(UDFS))
    if _REGISTRY and _REGISTRY[0].size == size:
        return _REGISTRY[0]
    with _REGISTRY_LOCK:
        macros: dict[str, tuple[int, str]] = {}
        always: list[str] = []
        for i, stmt in enumerate(MACROS):
            m = _MACRO_NAME.match(stmt)
            if m:
                macros[m.group(1).lower()] = (i, stmt)
            else:
                always.append(stmt)
        reg = _Registry(size, macros, {name.lower(): udf for name, udf in UDFS.items()}, tuple(always))
        _REGISTRY[:] = [reg]
        return reg


def functions_called(sql: str) -> set[str]:
    """Names of the registry functions `sql` calls, directly or through the macros it calls."""
    reg = _registry()
    todo = reg.called(sql)
    found: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo.extend(reg.calls_of(name))
    return found


class FunctionInstaller:
    """Installs registry functions on one DuckDB database (visible to all its cursors), each once."""

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self._db = db
        self._lock = threading.Lock()
        self.installed: set[str] = set()
        for stmt in _registry().always:
            db.execute(stmt)

    def need(self, sql: str) -> None:
        """Install what `sql` calls and is not installed yet."""
        reg = _registry()
        if all(n in self.installed for n in reg.called(sql)):
            return
        with self._lock:
            missing = functions_called(sql) - self.installed
            # UDFs first (a macro's body is bound when it is created), then macros in registry order
            for name in sorted(n for n in missing if n in reg.udfs):
                udf = reg.udfs[name]
                # "special": the functions see NULL rows themselves and may return NULL (Hive's UDFs do both)
                self._db.create_function(udf.name, udf.load(), list(udf.params), udf.returns, type="arrow",
                                         null_handling="special")
                self.installed.add(name)
            for name in sorted((n for n in missing if n in reg.macros), key=lambda n: reg.macros[n][0]):
                self._db.execute(reg.macros[name][1])
                self.installed.add(name)


class OnDemandConnection:
    """A DuckDB connection or cursor that installs the registry functions each SQL text calls before
    running it; everything else is the wrapped connection's."""

    __slots__ = ("_con", "functions")

    def __init__(self, con: duckdb.DuckDBPyConnection, functions: FunctionInstaller) -> None:
        self._con = con
        self.functions = functions

    def _need(self, query: Any) -> None:
        if isinstance(query, str):
            self.functions.need(query)

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        self._need(query)
        return self._con.execute(query, *args, **kwargs)

    def executemany(self, query: Any, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyConnection:
        self._need(query)
        return self._con.executemany(query, *args, **kwargs)

    def sql(self, query: Any, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyRelation:
        self._need(query)
        return self._con.sql(query, *args, **kwargs)

    query = sql

    def from_query(self, query: Any, *args: Any, **kwargs: Any) -> duckdb.DuckDBPyRelation:
        self._need(query)
        return self._con.from_query(query, *args, **kwargs)

    def cursor(self) -> "OnDemandConnection":
        return OnDemandConnection(self._con.cursor(), self.functions)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def __enter__(self) -> "OnDemandConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self._con.close()
