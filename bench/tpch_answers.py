"""Comparing a TPC-H result with a reference answer (`../shared/tpch/answers/sf*/qNN.csv`).

The rules of `../shared/tpch/README.md`: same number of rows and columns; numbers equal
within a relative tolerance of 1e-5; strings compared after trimming; rows in order,
except where ORDER BY leaves ties, where the rows are compared as multisets.

An answer file holds the column names on its first line, then one row per line with
fields separated by `|`; NULL is written `NULL`.

>>> expected = parse_answer("a|b\\nx|1.0000001\\ny|2\\n")
>>> compare([("y", 2), ("x", 1)], expected)
(True, 'ok (as multiset)')
>>> compare([("x", 1)], expected)[0]
False
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

REL_TOL = 1e-5
ABS_TOL = 1e-9
NULL = "NULL"


@dataclass
class Answer:
    columns: list[str]
    rows: list[list[str]]


def parse_answer(text: str) -> Answer:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return Answer([], [])
    return Answer(lines[0].split("|"), [line.split("|") for line in lines[1:]])


def load_answer(path: str) -> Answer:
    with open(path, encoding="utf-8") as f:
        return parse_answer(f.read())


def answer_path(tpch_dir: str, sf: str, query: int) -> str:
    return os.path.join(tpch_dir, "answers", f"sf{sf}", f"q{query:02d}.csv")


def _number(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def _text(value: Any) -> str:
    """How a result value reads in an answer file (before trimming)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def value_equal(got: Any, want: str) -> bool:
    """One field: NULL only equals NULL, numbers within tolerance, else trimmed text."""
    want = want.strip()
    if got is None or want == NULL:
        return got is None and want == NULL
    if isinstance(got, (int, float, Decimal)) and not isinstance(got, bool):
        w = _number(want)
        if w is None:
            return False
        g = float(got)
        if math.isnan(g) or math.isnan(w):
            return math.isnan(g) and math.isnan(w)
        return math.isclose(g, w, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    got_s = _text(got).strip()
    if got_s == want:
        return True
    # a number that came back as text (or the reverse): compare numerically
    g, w = _number(got_s), _number(want)
    return g is not None and w is not None and math.isclose(g, w, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _row_diff(got: Sequence[Any], want: Sequence[str]) -> int | None:
    """Index of the first differing column, or None when the rows are equal."""
    for i, (g, w) in enumerate(zip(got, want)):
        if not value_equal(g, w):
            return i
    return None


def _sort_key(values: Sequence[Any]) -> tuple:
    key = []
    for v in values:
        s = v.strip() if isinstance(v, str) else _text(v)
        if s == NULL:
            key.append((0, 0.0, ""))
            continue
        n = _number(s)
        # numbers are rounded so that values within tolerance sort alike
        key.append((1, float(f"{n:.4g}"), "") if n is not None and math.isfinite(n) else (2, 0.0, s))
    return tuple(key)


def compare(rows: Sequence[Sequence[Any]], expected: Answer, ordered_only: bool = False) -> tuple[bool, str]:
    """Compare result rows (Python values) with an answer; (ok, message)."""
    ncols = len(expected.columns)
    if len(rows) != len(expected.rows):
        return False, f"{len(rows)} rows, expected {len(expected.rows)}"
    for r in rows:
        if len(r) != ncols:
            return False, f"{len(r)} columns, expected {ncols}"
    first = None
    for i, (g, w) in enumerate(zip(rows, expected.rows)):
        col = _row_diff(g, w)
        if col is not None:
            first = (i, col)
            break
    if first is None:
        return True, "ok"
    i, col = first
    detail = (f"row {i + 1} column {expected.columns[col]!r}: got {_text(rows[i][col])!r}, "
              f"expected {expected.rows[i][col].strip()!r}")
    if ordered_only:
        return False, detail
    got_sorted = sorted(rows, key=_sort_key)
    want_sorted = sorted(expected.rows, key=_sort_key)
    if all(_row_diff(g, w) is None for g, w in zip(got_sorted, want_sorted)):
        return True, "ok (as multiset)"
    return False, detail
