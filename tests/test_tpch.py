"""TPC-H at SF0.01: the 22 HiveQL queries of ../shared/tpch against the reference answers.

Data is made once per session with `tpchgen-cli parquet -s 0.01` (and converted to Hive
text for the text-table tests), the 8 tables are registered as external tables in a
fresh warehouse, and each query's rows are compared per ../shared/tpch/README.md
(bench/tpch_answers.py). Queries that fail today are marked xfail(strict=True) with
their cause, so they flip to errors once fixed.
"""

from __future__ import annotations

import os
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO_ROOT, "bench")
TPCH_DIR = os.path.join(REPO_ROOT, "..", "shared", "tpch")
SF = "0.01"
for _p in (REPO_ROOT, BENCH):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402

pytestmark = [
    pytest.mark.skipif(tpch_data.tpchgen_path() is None,
                       reason="tpchgen-cli is not installed (pip install tpchgen-cli; it is in the test extras)"),
    pytest.mark.skipif(not os.path.isdir(os.path.join(TPCH_DIR, "answers", f"sf{SF}")),
                       reason=f"TPC-H reference answers not found in {os.path.normpath(TPCH_DIR)}"),
]

# query number -> why it fails today (xfail strict: a fix makes the test fail until the mark goes)
XFAIL_PARQUET: dict[int, str] = {}
XFAIL_TEXT: dict[int, str] = {}


def _params(xfails: dict[int, str]) -> list:
    return [pytest.param(q, id=f"q{q:02d}",
                         marks=[pytest.mark.xfail(strict=True, reason=xfails[q])] if q in xfails else [])
            for q in tpch_data.QUERIES]


@pytest.fixture(scope="session")
def tpch_sf001(tmp_path_factory) -> str:
    """SF0.01 data: <dir>/parquet/<table>/ and, on demand, <dir>/text/<table>/."""
    data_dir = str(tmp_path_factory.mktemp("tpch-sf0.01"))
    tpch_data.generate_parquet(SF, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def parquet_warehouse(tpch_sf001):
    with tpch_data.Warehouse(os.path.join(tpch_sf001, "parquet"), "parquet") as wh:
        yield wh


@pytest.fixture(scope="module")
def text_warehouse(tpch_sf001):
    with tpch_data.Warehouse(tpch_data.write_text(tpch_sf001), "text") as wh:
        yield wh


def _check(wh: tpch_data.Warehouse, q: int) -> None:
    expected = tpch_answers.load_answer(tpch_answers.answer_path(TPCH_DIR, SF, q))
    cur = wh.conn.cursor()
    try:
        cur.execute(tpch_data.query_text(q))
        rows = cur.fetchall()
        assert len(cur.description) == len(expected.columns), [d[0] for d in cur.description]
    finally:
        cur.close()
    ok, msg = tpch_answers.compare(rows, expected)
    assert ok, f"Q{q}: {msg}"


@pytest.mark.parametrize("q", _params(XFAIL_PARQUET))
def test_tpch_parquet(parquet_warehouse, q):
    _check(parquet_warehouse, q)


@pytest.mark.parametrize("q", _params(XFAIL_TEXT))
def test_tpch_text(text_warehouse, q):
    _check(text_warehouse, q)


def test_answer_comparison():
    """The comparison itself: tolerance, trimming, NULL, and multiset fallback for ties."""
    expected = tpch_answers.parse_answer("k|v|s\n1|0.5000001|a \n1|2.00|NULL\n")
    assert tpch_answers.compare([(1, 0.5, "a"), (1, 2, None)], expected)[0]
    assert tpch_answers.compare([(1, 2, None), (1, 0.5, "a")], expected) == (True, "ok (as multiset)")
    assert not tpch_answers.compare([(1, 0.51, "a"), (1, 2, None)], expected)[0]
    assert not tpch_answers.compare([(1, 0.5, "a"), (1, 2, "x")], expected)[0]
    assert not tpch_answers.compare([(1, 0.5, "a")], expected)[0]
    assert not tpch_answers.compare([(1, 0.5), (1, 2)], expected)[0]
