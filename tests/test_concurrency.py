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
