"""Small helpers the test modules share: sessions, result rows, rows as Hive's CLI prints them."""

from __future__ import annotations

from pathlib import Path

from catalog.types import parse_type
from hiveish.formatting import format_rows
from hiveish.session import Session


def new_session(root: Path, **settings: str) -> Session:
    """A session with its own warehouse and metastore under `root`."""
    return Session(warehouse=str(root / "wh"), metastore=str(root / "ms.db"), settings=dict(settings))


def rows(s: Session, sql: str) -> list[tuple]:
    """The statement's rows as Python tuples."""
    out: list[tuple] = []
    for b in s.execute(sql).batches:
        out.extend(zip(*[c.to_pylist() for c in b.columns]))
    return out


def printed(s: Session, sql: str) -> list[str]:
    """The rows as Hive's CLI prints them (TAB-separated, NULL for nulls)."""
    result = s.execute(sql)
    types = [parse_type(t) for _, t in result.columns]
    out: list[str] = []
    for batch in result.batches:
        out.extend("\t".join("NULL" if c is None else c for c in row) for row in format_rows(batch, types))
    return out
