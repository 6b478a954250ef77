"""hiveish: HiveQL over warehouse files, embedded (PEP 249 module).

>>> import hiveish
>>> hiveish.paramstyle
'pyformat'
"""

from __future__ import annotations

import logging

from hiveish.errors import (
    DatabaseError,
    DataError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    Warning,
)

__version__ = "0.1.0"
apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"

logging.getLogger("sqlglot").setLevel(logging.ERROR)


def connect(warehouse: str | None = None, metastore: str | None = None, database: str = "default",
            hivevar: dict[str, str] | None = None, **settings: str):
    """Open an embedded session as a DB-API connection.

    Keyword arguments other than the named ones are settings (`SET` keys with dots
    written as underscores are accepted too: `hive_execution_engine="arrow"`).
    """
    from hiveish.dbapi import Connection

    return Connection(warehouse=warehouse, metastore=metastore, database=database, hivevar=hivevar,
                      settings=settings)


from hiveish.dbapi_types import (  # noqa: E402
    BINARY,
    DATETIME,
    NUMBER,
    ROWID,
    STRING,
    Binary,
    Date,
    DateFromTicks,
    Time,
    TimeFromTicks,
    Timestamp,
    TimestampFromTicks,
)

__all__ = ["connect", "apilevel", "threadsafety", "paramstyle", "Error", "Warning", "InterfaceError",
           "DatabaseError", "DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
           "NotSupportedError", "BINARY", "DATETIME", "NUMBER", "ROWID", "STRING", "Binary", "Date",
           "DateFromTicks", "Time", "TimeFromTicks", "Timestamp", "TimestampFromTicks"]
