"""`Connection.register(name, obj)`: a pandas/polars DataFrame or Arrow table as a session's temporary table.

The data is written once as a Parquet file into a scratch directory of the connection, and the
table (Hive types from the Arrow schema, STORED AS PARQUET at that directory) is known to the
session's catalog view only: queries on either engine read it like any Parquet table (the
MapReduce tasks open the same file), other sessions and the metastore never see it. It shadows
a metastore table of the same name, as Hive's temporary tables do.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from catalog.model import EXTERNAL, Column, StorageDescriptor, Table
from hiveish import errors

if TYPE_CHECKING:
    from hiveish.session import Session


def to_arrow(obj: Any) -> pa.Table:
    """An Arrow table from a pandas/polars DataFrame, an Arrow table/batch/reader, or any Arrow stream."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    package = type(obj).__module__.split(".")[0]
    if package == "pandas":
        return pa.Table.from_pandas(obj, preserve_index=False)
    if package == "polars" and hasattr(obj, "to_arrow"):
        return obj.to_arrow()
    if hasattr(obj, "__arrow_c_stream__"):  # any Arrow PyCapsule producer (DuckDB relations, ...)
        return pa.table(obj)
    raise errors.ProgrammingError(f"register() takes a pandas or polars DataFrame or an Arrow table, not "
                                  f"{type(obj).__name__}")


def _hive_table(data: pa.Table, name: str) -> tuple[pa.Table, list[Column]]:
    """The data cast to the Arrow types of its Hive columns (an overflow or lost precision is an error)."""
    from catalog.types import from_arrow, parse_type

    columns, arrays, seen = [], [], set()
    for field, column in zip(data.schema, data.columns):
        col = str(field.name)
        if not col or col.lower() in seen:
            raise errors.ProgrammingError(f"register('{name}'): column names must be non-empty and unique "
                                          f"ignoring case (Hive's rule): {col!r}")
        seen.add(col.lower())
        try:
            hive = str(from_arrow(field.type))
            target = parse_type(hive).to_arrow()
        except Exception as e:  # noqa: BLE001 - a type Hive has no counterpart for
            raise errors.NotSupportedError(f"register('{name}'): column {col} of Arrow type {field.type} has no "
                                           f"Hive type ({e})") from None
        if pa.types.is_dictionary(field.type):
            column = column.cast(field.type.value_type)
        try:
            arrays.append(column.cast(target) if column.type != target else column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise errors.DataError(f"register('{name}'): column {col} does not fit Hive type {hive}: "
                                   f"{str(e).splitlines()[0]}") from None
        columns.append(Column(col.lower(), hive))  # Hive keeps column names in lower case
    return pa.Table.from_arrays(arrays, names=[c.name for c in columns]), columns


class Registry:
    """A connection's registered tables and the scratch directory holding their data."""

    def __init__(self, session: "Session") -> None:
        self.session = session
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._serial = 0

    def _split(self, name: str) -> tuple[str, str]:
        m = re.fullmatch(r"\s*(?:`?(\w+)`?\s*\.\s*)?`?(\w+)`?\s*", name or "")
        if not m:
            raise errors.ProgrammingError(f"register(): not a table name: {name!r}")
        return (m.group(1) or self.session.current_db).lower(), m.group(2).lower()

    def register(self, name: str, obj: Any) -> None:
        import pyarrow.parquet as pq

        db, table = self._split(name)
        if self.session.metastore.get_database(db) is None:
            raise errors.DatabaseNotFound(db)
        data, columns = _hive_table(to_arrow(obj), name)
        if not columns:
            raise errors.ProgrammingError(f"register('{name}'): the data has no columns")
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="hiveish-registered-")
        self._serial += 1
        location = os.path.join(self._scratch.name, f"{db}.{table}.{self._serial}")
        os.makedirs(location)
        pq.write_table(data, os.path.join(location, "000000_0"))
        t = Table(db, table, EXTERNAL, columns, [], StorageDescriptor.for_format("parquet", location),
                  {"EXTERNAL": "TRUE"}, temporary=True)
        old = self.session.registered.get((db, table))
        self.session.registered[(db, table)] = t
        if old is not None:
            shutil.rmtree(old.sd.location, ignore_errors=True)

    def unregister(self, name: str) -> None:
        db, table = self._split(name)
        t = self.session.registered.pop((db, table), None)
        if t is None:
            raise errors.TableNotFound(f"{db}.{table}")
        shutil.rmtree(t.sd.location, ignore_errors=True)

    def close(self) -> None:
        self.session.registered.clear()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


__all__ = ["Registry", "to_arrow"]
