"""Bad SQL never escapes as a Python exception: every statement succeeds or raises hiveish.Error.

A fast form of the robustness fuzzing: mutations of the conformance corpus statements
(truncations, swapped and dropped tokens, random bytes, deep nesting, odd Unicode).
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiveish import errors
from hiveish.session import Session
from tests import conformance

CASES = os.path.join(conformance.DEFAULT_CASES, "cases")


def corpus_statements(limit: int = 400) -> list[str]:
    if not os.path.isdir(CASES):
        return ["SELECT key, count(*) FROM src GROUP BY key", "CREATE TABLE t (a INT)"]
    out = []
    for name in sorted(os.listdir(CASES))[:80]:
        for rec in conformance.parse_records(open(os.path.join(CASES, name), encoding="utf-8").read()):
            if "${DATA}" not in rec.sql and not rec.sql.lower().lstrip().startswith(("load", "dfs")):
                out.append(rec.sql)
    random.Random(42).shuffle(out)
    return out[:limit]


STATEMENTS = corpus_statements()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    s = Session(warehouse=str(d / "wh"), metastore=str(d / "ms.db"))
    s.execute("CREATE TABLE src (key STRING, value STRING)")
    s.execute("INSERT INTO src VALUES ('1', 'a'), ('2', NULL)")
    yield s
    s.close()


def run_one(s: Session, sql: str) -> None:
    try:
        result = s.execute(sql)
        for _ in result.batches:
            pass
    except errors.Error as e:
        assert e.hive_message()
    # anything else propagates and fails the test with the statement shown


def mutate(rnd: random.Random, sql: str) -> str:
    tokens = sql.split()
    kind = rnd.randrange(7)
    if kind == 0 and tokens:
        return " ".join(tokens[: rnd.randrange(len(tokens))])
    if kind == 1 and len(tokens) > 1:
        i, j = rnd.randrange(len(tokens)), rnd.randrange(len(tokens))
        tokens[i], tokens[j] = tokens[j], tokens[i]
        return " ".join(tokens)
    if kind == 2 and tokens:
        del tokens[rnd.randrange(len(tokens))]
        return " ".join(tokens)
    if kind == 3:
        pos = rnd.randrange(len(sql) + 1)
        return sql[:pos] + "".join(chr(rnd.randrange(1, 0x2FFF)) for _ in range(rnd.randrange(1, 6))) + sql[pos:]
    if kind == 4:
        return "SELECT " + "(" * 60 + "1" + ")" * 60
    if kind == 5:
        return "SELECT " + "9" * rnd.randrange(20, 400) + ", '" + "x" * 1000 + "'"
    return sql.replace("(", "", 1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_statements_fail_cleanly(session, seed):
    rnd = random.Random(seed)
    sql = mutate(rnd, rnd.choice(STATEMENTS))
    run_one(session, sql)
    run_one(session, "SELECT count(*) FROM src")  # the session stays usable


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_arbitrary_text_fails_cleanly(session, text):
    run_one(session, text)
