"""PEP 249 type objects and constructors."""

from __future__ import annotations

import datetime
import time


class _TypeSet(frozenset):
    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            base = other.split("(")[0].split("<")[0].lower()
            return base in self
        return frozenset.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = frozenset.__hash__


STRING = _TypeSet({"string", "varchar", "char"})
BINARY = _TypeSet({"binary"})
NUMBER = _TypeSet({"tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "boolean"})
DATETIME = _TypeSet({"date", "timestamp"})
ROWID = _TypeSet()

Date = datetime.date
Time = datetime.time
Timestamp = datetime.datetime


def DateFromTicks(ticks: float) -> datetime.date:  # noqa: N802
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> datetime.time:  # noqa: N802
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> datetime.datetime:  # noqa: N802
    return Timestamp(*time.localtime(ticks)[:6])


def Binary(value) -> bytes:  # noqa: N802
    return bytes(value)
