"""Concurrent users lose nothing: 8 writer processes and 2 readers on one metastore and warehouse.

The fast form of `python -m tests.stress concurrency` (tests/stress.py): every writer inserts
known unique batches (half of them spread over three dynamic partitions); readers check that
no batch is ever seen half written; the final rows are exactly the committed batches.
"""

from __future__ import annotations

from tests.stress import run_concurrency


def test_eight_writers_two_readers_lose_and_duplicate_nothing(tmp_path):
    result = run_concurrency(writers=8, readers=2, inserts=3, engines=["arrow", "mr"], workdir=str(tmp_path))
    assert result.ok, result.summary()
    assert not result.failed, result.failed  # the metastore lock waits; nothing here should give up
    assert result.committed == 8 * 3
    assert result.reader_checks >= 4


def test_a_long_ctas_does_not_block_other_sessions(tmp_path):
    """CREATE TABLE … AS SELECT runs its query outside the metastore's write transaction: another
    session creates and fills a table while it runs; a failed CTAS leaves no table behind, and a
    CTAS reading its own target finds no such table (it does not exist until the CTAS commits)."""
    import os
    import threading
    import time

    import pytest

    from hiveish import errors
    from hiveish.session import Session

    def session() -> Session:
        return Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))

    a, b = session(), session()
    a.execute("CREATE TABLE n (x int, s string)")
    a.execute("INSERT INTO n SELECT id, concat('v', id) FROM (SELECT posexplode(split(space(3999), ' ')) AS (id, e)) t")
    done: dict[str, float] = {}

    def ctas() -> None:
        a.execute("CREATE TABLE big AS SELECT count(*) AS c, max(md5(concat(p.s, q.s))) AS m FROM n p CROSS JOIN n q")
        done["a"] = time.monotonic()

    worker = threading.Thread(target=ctas)
    worker.start()
    while worker.is_alive() and not a.executor._running_cursors():  # until the CTAS's query runs
        time.sleep(0.005)
    b.execute("CREATE TABLE other (x int)")
    b.execute("INSERT INTO other VALUES (1)")
    done["b"] = time.monotonic()
    worker.join()
    assert done["b"] < done["a"], "the second session waited for the CTAS to finish"
    assert [r for batch in a.execute("SELECT c FROM big").batches for r in batch.column(0).to_pylist()] == [16_000_000]
    with pytest.raises(errors.Error):
        a.execute("CREATE TABLE failed AS SELECT assert_true(x < 10) FROM n")
    assert "failed" not in {r for batch in a.execute("SHOW TABLES").batches for r in batch.column(0).to_pylist()}
    assert not os.path.exists(tmp_path / "wh" / "failed") or not os.listdir(tmp_path / "wh" / "failed")
    with pytest.raises(errors.TableNotFound):
        a.execute("CREATE TABLE selfref AS SELECT * FROM selfref")
    a.close()
    b.close()
