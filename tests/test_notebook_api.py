"""The DB-API's notebook extensions: `fetch_df()`, `fetch_polars()`, `Connection.register()`/`unregister()`.

Real sessions over a temporary warehouse; registered data is queried on both engines (the MapReduce
tasks read the registered table's Parquet copy like any other table's files).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import hiveish
from hiveish import errors

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def conn(tmp_path):
    c = hiveish.connect(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))
    cur = c.cursor()
    cur.execute("CREATE TABLE t (id INT, s STRING, d DECIMAL(5,2))")
    cur.execute("INSERT INTO t VALUES (1, 'a', 1.25), (2, NULL, NULL), (3, 'c', -0.5)")
    yield c
    if not c._closed:
        c.close()


def test_fetch_df_is_the_rest_of_the_result(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, s, d FROM t ORDER BY id")
    df = cur.fetch_df()
    assert list(df.columns) == ["id", "s", "d"]
    assert df["id"].tolist() == [1, 2, 3]
    assert df["s"].tolist()[0] == "a" and df["s"].isna().tolist() == [False, True, False]
    assert str(df["d"][0]) == "1.25"
    cur.execute("SELECT id FROM t ORDER BY id")
    assert cur.fetchone() == (1,)
    assert cur.fetch_df()["id"].tolist() == [2, 3]  # rows already fetched one by one are not repeated
    assert len(cur.fetch_df()) == 0


def test_fetch_df_matches_arrow_and_keeps_types_when_empty(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, s FROM t WHERE id > 1 ORDER BY id")
    df = cur.fetch_df()
    cur.execute("SELECT id, s FROM t WHERE id > 1 ORDER BY id")
    assert df.equals(cur.fetch_arrow_table().to_pandas())
    cur.execute("SELECT id, s FROM t WHERE false")
    empty = cur.fetch_df()
    assert list(empty.columns) == ["id", "s"] and len(empty) == 0 and str(empty["id"].dtype) == "int32"
    cur.execute("CREATE TABLE u (a INT)")
    with pytest.raises(errors.ProgrammingError):
        cur.fetch_df()


def test_fetch_polars(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, s FROM t ORDER BY id")
    df = cur.fetch_polars()
    assert isinstance(df, pl.DataFrame)
    assert df.columns == ["id", "s"] and df["s"].to_list() == ["a", None, "c"]


@pytest.mark.parametrize("engine", ["arrow", "mr"])
def test_register_pandas_polars_and_arrow_on_both_engines(conn, engine):
    conn.register("people", pd.DataFrame({"ID": [1, 2, 4], "Name": ["ann", "bob", None]}))
    conn.register("scores", pl.DataFrame({"id": [1, 2], "score": [0.5, 1.5]}))
    conn.register("tags", pa.table({"id": pa.array([1, 3], pa.int32()), "tag": ["x", "y"]}))
    cur = conn.cursor()
    cur.execute(f"SET hive.execution.engine={engine}")
    cur.execute("SELECT p.id, p.name, s.score, t.s, g.tag FROM people p LEFT JOIN scores s ON p.id = s.id "
                "LEFT JOIN t ON p.id = t.id LEFT JOIN tags g ON p.id = g.id ORDER BY p.id")
    assert cur.fetchall() == [(1, "ann", 0.5, "a", "x"), (2, "bob", 1.5, None, None), (4, None, None, None, None)]
    cur.execute("SELECT * FROM people ORDER BY id")
    assert [d[:2] for d in cur.description] == [("id", "bigint"), ("name", "string")]  # Hive's lower-case names
    cur.execute("SELECT count(*), sum(id) FROM people")
    assert cur.fetchall() == [(3, 7)]


def test_registered_table_feeds_ctas_and_insert(conn):
    conn.register("src", pd.DataFrame({"k": ["a", "b"], "v": [1.5, 2.5]}))
    cur = conn.cursor()
    cur.execute("CREATE TABLE kept AS SELECT k, v FROM src")
    cur.execute("INSERT INTO kept SELECT k, v * 2 FROM src")
    conn.unregister("src")
    cur.execute("SELECT k, v FROM kept ORDER BY v")
    assert cur.fetchall() == [("a", 1.5), ("b", 2.5), ("a", 3.0), ("b", 5.0)]  # a real table: the copy stays


def test_register_replaces_shadows_and_unregisters(conn):
    cur = conn.cursor()
    conn.register("t", pa.table({"x": [10]}))  # shadows the metastore's t for this connection
    cur.execute("SELECT * FROM t")
    assert cur.fetchall() == [(10,)]
    conn.register("t", pa.table({"x": [20, 30]}))
    cur.execute("SELECT sum(x) FROM t")
    assert cur.fetchall() == [(50,)]
    conn.unregister("t")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(3,)]
    with pytest.raises(errors.SemanticException, match="Table not found"):
        conn.unregister("t")
    cur.execute("SHOW TABLES")
    assert cur.fetchall() == [("t",)]  # the metastore never saw the registered tables


def test_registered_tables_are_private_and_removed_on_close(conn, tmp_path):
    conn.register("mine", pd.DataFrame({"a": [1]}))
    location = conn.session.registered[("default", "mine")].sd.location
    assert os.path.isdir(location)
    other = hiveish.connect(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))
    try:
        with pytest.raises(errors.SemanticException, match="Table not found 'mine'"):
            other.cursor().execute("SELECT * FROM mine")
    finally:
        other.close()
    conn.close()
    assert not os.path.exists(location)


def test_register_refuses_what_it_cannot_keep(conn):
    with pytest.raises(errors.DataError, match="column big does not fit Hive type int"):
        conn.register("u", pa.table({"big": pa.array([2 ** 32 - 1], pa.uint32())}))
    with pytest.raises(errors.ProgrammingError, match="unique"):
        conn.register("u", pa.table([pa.array([1]), pa.array([2])], names=["a", "A"]))
    with pytest.raises(errors.ProgrammingError, match="DataFrame or an Arrow table"):
        conn.register("u", [(1, 2)])
    with pytest.raises(errors.ProgrammingError, match="not a table name"):
        conn.register("a b", pa.table({"x": [1]}))
    assert conn.session.registered == {}


def test_pandas_and_polars_are_not_imported_with_hiveish():
    """Start-up cost: the data-frame libraries load on first use only."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    code = ("import sys, hiveish, hiveish.dbapi, hiveish.cli; "
            "print(sorted(m for m in ('pandas', 'polars') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60)
    assert p.stdout.decode().strip() == "[]", p.stderr.decode()
