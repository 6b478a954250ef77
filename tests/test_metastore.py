"""The SQLite metastore: versioned schema, one transaction per statement, shared by processes."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from catalog.metastore import SCHEMA_VERSION, Metastore, MetastoreError
from hiveish import errors
from hiveish.session import Session


def test_schema_is_versioned_and_default_database_exists(tmp_path):
    ms = Metastore(str(tmp_path / "ms.db"), str(tmp_path / "wh"))
    assert ms.schema_version() == SCHEMA_VERSION
    assert ms.list_databases() == ["default"]
    assert ms.get_database("default").location == str(tmp_path / "wh")
    ms.close()


def test_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "ms.db")
    Metastore(path, str(tmp_path / "wh")).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    con.commit()
    con.close()
    with pytest.raises(MetastoreError, match="newer"):
        Metastore(path, str(tmp_path / "wh"))


def test_failed_statement_changes_nothing(tmp_path):
    s = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("ALTER TABLE p ADD PARTITION (ds='1')")
    # the second partition spec is invalid: the whole ALTER must roll back, the first one included
    with pytest.raises(errors.Error):
        s.execute("ALTER TABLE p ADD PARTITION (ds='2') PARTITION (nope='3')")
    assert [p.values for p in s.metastore.list_partitions("default", "p")] == [["1"]]
    s.close()


def _create_tables(args) -> int:
    wh, ms, worker = args
    with Session(warehouse=wh, metastore=ms) as s:
        for i in range(10):
            s.execute(f"CREATE TABLE t_{worker}_{i} (a INT)")
            s.execute(f"INSERT INTO t_{worker}_{i} VALUES ({i})")
    return worker


def test_several_processes_share_one_metastore(tmp_path):
    wh, ms = str(tmp_path / "wh"), str(tmp_path / "ms.db")
    Session(warehouse=wh, metastore=ms).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        assert sorted(pool.map(_create_tables, [(wh, ms, w) for w in range(4)])) == [0, 1, 2, 3]
    with Session(warehouse=wh, metastore=ms) as s:
        assert len(s.metastore.list_tables("default")) == 40
        assert s.metastore.integrity_check() == []
        total = 0
        for w in range(4):
            for i in range(10):
                result = s.execute(f"SELECT a FROM t_{w}_{i}")
                total += sum(sum(b.column(0).to_pylist()) for b in result.batches)
        assert total == 4 * sum(range(10))
