"""CREATE/DROP TEMPORARY MACRO as Hive has them: session-scoped expression templates, arguments
converted to the declared parameter types, checked when created, on both engines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hiveish import errors
from hiveish.session import Session


@pytest.fixture(params=["arrow", "mr"])
def session(request, tmp_path):
    s = Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                settings={"hive.execution.engine": request.param})
    s.execute("CREATE TABLE t (a INT, b STRING)")
    s.execute("INSERT INTO t VALUES (0, 'x'), (2, 'yy'), (NULL, NULL)")
    yield s
    s.close()


def rows(s: Session, sql: str) -> list[tuple]:
    r = s.execute(sql)
    return [tuple(row.values()) for b in r.batches for row in b.to_pylist()]


def test_macro_from_the_hive_manual(session):
    session.execute("CREATE TEMPORARY MACRO sigmoid (x DOUBLE) 1.0 / (1.0 + EXP(-x))")
    got = rows(session, "SELECT a, sigmoid(a) FROM t ORDER BY a")
    assert got[0] == (None, None)
    assert got[1] == (0, 0.5)
    assert got[2][1] == pytest.approx(0.8807970779778823)
    r = session.execute("SELECT sigmoid(2)")
    assert r.columns == [("_c0", "double")]


def test_arguments_take_the_parameter_types(session):
    # (x INT): '7' becomes 7; (s STRING): 12 becomes '12'; decimal keeps its scale
    session.execute("CREATE TEMPORARY MACRO plus_one (x INT) x + 1")
    session.execute("CREATE TEMPORARY MACRO str_len_plus_two (s STRING) length(s) + 2")
    session.execute("CREATE TEMPORARY MACRO money (d DECIMAL(10,2)) d * 2")
    assert rows(session, "SELECT plus_one('7'), str_len_plus_two(12345), money(1.25)") == [(8, 7, Decimal("2.50"))]
    assert session.execute("SELECT plus_one(1)").columns == [("_c0", "int")]


def test_no_argument_macro_nested_macros_and_where(session):
    session.execute("CREATE TEMPORARY MACRO fixed_number() 42")
    session.execute("CREATE TEMPORARY MACRO twice (x INT) x * 2")
    session.execute("CREATE TEMPORARY MACRO quad (x INT) twice(twice(x))")
    assert rows(session, "SELECT fixed_number(), quad(3)") == [(42, 12)]
    assert rows(session, "SELECT b FROM t WHERE twice(a) = 4") == [("yy",)]
    # the body was resolved when quad was created: dropping twice later leaves quad working (as in Hive)
    session.execute("DROP TEMPORARY MACRO twice")
    assert rows(session, "SELECT quad(1)") == [(4,)]


def test_macro_in_ctas_and_insert(session):
    session.execute("CREATE TEMPORARY MACRO tag (s STRING) concat('<', s, '>')")
    session.execute("CREATE TABLE tagged AS SELECT tag(b) AS tb FROM t WHERE b IS NOT NULL")
    session.execute("INSERT INTO tagged SELECT tag('z')")
    assert sorted(rows(session, "SELECT tb FROM tagged")) == [("<x>",), ("<yy>",), ("<z>",)]


def test_errors(session):
    session.execute("CREATE TEMPORARY MACRO one (x INT) x")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10014\].*The macro one accepts exactly 1 arguments"):
        session.execute("SELECT one(1, 2)")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10004\].*'y'"):
        session.execute("CREATE TEMPORARY MACRO bad (x INT) x + y")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10011\]: Invalid function no_such_fn"):
        session.execute("CREATE TEMPORARY MACRO bad (x INT) no_such_fn(x)")
    with pytest.raises(errors.SemanticException, match="length is hive builtin function"):
        session.execute("CREATE TEMPORARY MACRO length (x INT) x")
    with pytest.raises(errors.SemanticException):
        session.execute("CREATE TEMPORARY MACRO badtype (x NOTATYPE) x")
    assert "bad" not in session.macros and "length" not in session.macros


def test_drop_macro_and_functions(session):
    session.execute("CREATE TEMPORARY MACRO m1 (x INT) x")
    session.execute("DROP TEMPORARY MACRO m1")
    with pytest.raises(errors.Error):
        session.execute("SELECT m1(1)")
    session.execute("DROP TEMPORARY MACRO m1")  # hive.exec.drop.ignorenonexistent=true (Hive's default)
    session.execute("DROP TEMPORARY MACRO IF EXISTS m1")
    session.execute("SET hive.exec.drop.ignorenonexistent=false")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10011\]: Invalid function m1"):
        session.execute("DROP TEMPORARY MACRO m1")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10011\]: Invalid function f"):
        session.execute("DROP FUNCTION f")
    session.execute("DROP FUNCTION IF EXISTS f")
    with pytest.raises(errors.SemanticException, match=r"\[Error 10301\]: Cannot drop native function concat"):
        session.execute("DROP TEMPORARY FUNCTION concat")
    session.execute("CREATE TEMPORARY MACRO m2 (x INT) x")
    session.execute("DROP TEMPORARY FUNCTION m2")  # a macro is a temporary function in Hive
    assert "m2" not in session.macros


def test_macros_belong_to_their_session(session, tmp_path):
    session.execute("CREATE TEMPORARY MACRO mine (x INT) x + 100")
    other = Session(warehouse=session.catalog.warehouse, metastore=session.settings.get("hiveish.metastore"))
    try:
        with pytest.raises(errors.Error):
            other.execute("SELECT mine(1)")
    finally:
        other.close()
    assert rows(session, "SELECT mine(1)") == [(101,)]
