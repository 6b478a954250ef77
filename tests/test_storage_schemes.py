"""A LOCATION or warehouse whose URI scheme hiveish has no filesystem for is refused before anything
is written; it is never taken for a relative local path."""

from __future__ import annotations

import os

import pytest

from catalog.fs import scheme_of
from hiveish import errors
from hiveish.session import Session
from tests.helpers import new_session, rows


def test_schemes_with_digits_and_signs_are_schemes():
    assert scheme_of("s3a://bucket/path") == "s3a"
    assert scheme_of("gs://b/p") == "gs"
    assert scheme_of("viewfs+x://a/b") == "viewfs+x"
    assert scheme_of("/tmp/x") == scheme_of("rel/x") == "file"


@pytest.mark.parametrize("statement", [
    "CREATE TABLE t (a INT) LOCATION 's3a://bucket/path'",
    "CREATE EXTERNAL TABLE t (a INT) STORED AS PARQUET LOCATION 's3://bucket/path'",
    "CREATE DATABASE d LOCATION 'gs://bucket/d'",
])
def test_create_with_an_unknown_scheme_fails_and_writes_nothing(tmp_path, monkeypatch, statement):
    monkeypatch.chdir(tmp_path)
    s = new_session(tmp_path)
    with pytest.raises(errors.ExecutionError, match="No FileSystem for scheme"):
        s.execute(statement)
    assert rows(s, "SHOW TABLES") == [] and rows(s, "SHOW DATABASES") == [("default",)]
    assert not any(name.endswith(":") for name in os.listdir(tmp_path))  # no ./s3a: directory
    s.close()


def test_alter_location_to_an_unknown_scheme_fails_and_keeps_the_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = new_session(tmp_path)
    s.execute("CREATE TABLE t (a INT) PARTITIONED BY (p INT)")
    s.execute("INSERT INTO t PARTITION (p=1) VALUES (1)")
    with pytest.raises(errors.ExecutionError, match="s3a"):
        s.execute("ALTER TABLE t SET LOCATION 's3a://bucket/t'")
    with pytest.raises(errors.ExecutionError, match="s3a"):
        s.execute("ALTER TABLE t ADD PARTITION (p=2) LOCATION 's3a://bucket/t/p=2'")
    with pytest.raises(errors.ExecutionError, match="s3a"):
        s.execute("ALTER TABLE t PARTITION (p=1) SET LOCATION 's3a://bucket/t/p=1'")
    s.execute("INSERT INTO t PARTITION (p=1) VALUES (2)")
    assert sorted(rows(s, "SELECT a, p FROM t")) == [(1, 1), (2, 1)]
    assert not any(name.endswith(":") for name in os.listdir(tmp_path))
    s.close()


def test_a_warehouse_with_an_unknown_scheme_is_refused(tmp_path):
    with pytest.raises(errors.Error, match="No FileSystem for scheme: s3a"):
        Session(warehouse="s3a://bucket/warehouse", metastore=str(tmp_path / "m.db"))
