"""Resource limits: a statement timeout cancels a runaway query; a memory limit fails an oversized one.

Both leave the session usable (README, Robustness guarantees).
"""

from __future__ import annotations

import time

import pytest

from hiveish import errors
from hiveish.session import Session


@pytest.fixture
def s(tmp_path):
    session = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                      settings={"hive.execution.engine": "arrow"})
    data = tmp_path / "nums"
    data.mkdir()
    (data / "f").write_text("".join(f"{i}\n" for i in range(200_000)))
    session.execute(f"CREATE EXTERNAL TABLE nums (x INT) LOCATION '{data}'")
    yield session
    session.close()


def scalar(s: Session, sql: str):
    return [r for b in s.execute(sql).batches for r in b.column(0).to_pylist()][0]


def test_statement_timeout_cancels_a_runaway_query(s):
    s.execute("SET hive.query.timeout.seconds=1")
    started = time.monotonic()
    with pytest.raises(errors.Cancelled, match=r"timed out after 1 second.*hive.query.timeout.seconds"):
        scalar(s, "SELECT sum(hash(a.x, b.x)) FROM nums a CROSS JOIN nums b")
    assert time.monotonic() - started < 30
    assert scalar(s, "SELECT count(*) FROM nums") == 200_000  # a short statement still runs
    s.execute("SET hive.query.timeout.seconds=0")
    assert scalar(s, "SELECT max(x) FROM nums") == 199_999


def test_memory_limit_fails_an_oversized_query_clearly(s):
    s.execute("SET hiveish.memory.limit=64MB")
    with pytest.raises(errors.Error, match="(?i)out of memory"):
        scalar(s, "SELECT length(concat_ws('', collect_list(repeat(cast(x AS STRING), 2000)))) FROM nums")
    s.execute("SET hiveish.memory.limit=")
    assert scalar(s, "SELECT count(*) FROM nums") == 200_000


def test_memory_limit_rejects_nonsense(s):
    with pytest.raises(errors.Error, match="hiveish.memory.limit"):
        s.execute("SET hiveish.memory.limit=lots")
