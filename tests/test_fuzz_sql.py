"""Bad SQL never escapes as a Python exception: every statement succeeds or raises hiveish.Error.

Mutations of the conformance corpus statements (truncations, swapped and dropped tokens, random
bytes, huge literals, deep nesting, odd Unicode) go through the DB-API session and through the
CLI (`hiveish -e` / `-f` subprocesses: exit code 0 or 2 with a `FAILED:` line, never a
traceback or a hang). CI runs a fast form; the full form:

    HIVEISH_FUZZ_EXAMPLES=3000 HIVEISH_FUZZ_CLI=300 python -m pytest -q tests/test_fuzz_sql.py
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hiveish import errors
from hiveish.script import split_statements
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


ODD_UNICODE = ["\u200b", "\u202e", "\ufeff", "\u0301", "\U0001f600", "\u00a0", "\u2028", "\x00", "\x7f",
               "\uff08", "\u02bc", "\U000e0001", "\u0130"]


def mutate(rnd: random.Random, sql: str, cli: bool = False) -> str:
    """One random mutation; `cli` keeps the text passable as a command-line argument (no NUL, no surrogate)."""
    tokens = sql.split()
    kind = rnd.randrange(11)
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
        depth = rnd.choice([60, 300, 3000])
        return "SELECT " + "(" * depth + "1" + ")" * depth
    if kind == 5:
        # a command-line argument holds at most 128 KiB (MAX_ARG_STRLEN)
        return "SELECT " + "9" * rnd.randrange(20, 400) + ", '" + "x" * rnd.choice([1000, 60000 if cli else 200000]) + "'"
    if kind == 6:  # random bytes, as a latin-1 terminal would pass them
        pos = rnd.randrange(len(sql) + 1)
        return sql[:pos] + bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(1, 12))).decode("latin-1") + sql[pos:]
    if kind == 7:  # odd Unicode: zero-width, bidi overrides, BOM, combining marks, emoji, NUL
        chars = [c for c in ODD_UNICODE if not (cli and c == "\x00")]
        if not cli:
            chars.append("\ud800")  # a lone surrogate: only a Python caller can pass one
        pos = rnd.randrange(len(sql) + 1)
        return sql[:pos] + rnd.choice(chars) + sql[pos:]
    if kind == 8 and tokens:  # a token repeated
        i = rnd.randrange(len(tokens))
        return " ".join(tokens[:i] + [tokens[i]] * rnd.randrange(2, 50) + tokens[i:])
    if kind == 9:  # a huge IN list / deep expression chain
        return "SELECT 1 FROM src WHERE key IN (" + ", ".join(str(i) for i in range(rnd.choice([100, 5000]))) + ")"
    return sql.replace("(", "", 1)


EXAMPLES = int(os.environ.get("HIVEISH_FUZZ_EXAMPLES", "150"))
CLI_CASES = int(os.environ.get("HIVEISH_FUZZ_CLI", "4"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_statements_fail_cleanly(session, seed):
    rnd = random.Random(seed)
    sql = mutate(rnd, rnd.choice(STATEMENTS))
    run_one(session, sql)
    run_one(session, "SELECT count(*) FROM src")  # the session stays usable


@settings(max_examples=max(100, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=80))
def test_arbitrary_text_fails_cleanly(session, text):
    run_one(session, text)


def _cli(tmp_path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, HIVEISH_HOME=str(tmp_path / "home"))
    return subprocess.run([sys.executable, "-m", "hiveish", "--warehouse", str(tmp_path / "wh"),
                           "--metastore", str(tmp_path / "ms.db"), *args],
                          capture_output=True, text=True, errors="replace", env=env, timeout=timeout,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _assert_clean(proc: subprocess.CompletedProcess, what: str) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, f"{what}\n{proc.stderr[-3000:]}"
    assert proc.returncode in (0, 2), f"{what}: exit code {proc.returncode}\n{proc.stderr[-2000:]}"
    if proc.returncode == 2:
        assert "FAILED:" in proc.stderr, f"{what}\n{proc.stderr[-2000:]}"


def test_cli_mutated_statements_fail_cleanly(tmp_path):
    rnd = random.Random(7)
    setup = _cli(tmp_path, "-e", "CREATE TABLE src (key STRING, value STRING); INSERT INTO src VALUES ('1', 'a')")
    assert setup.returncode == 0, setup.stderr
    for _ in range(CLI_CASES):
        sql = mutate(rnd, rnd.choice(STATEMENTS), cli=True)
        _assert_clean(_cli(tmp_path, "-e", sql), f"hiveish -e {sql[:300]!r}")


def test_cli_script_of_mutations_runs_to_the_end(tmp_path):
    """One `-f` script of many bad statements with --force: each fails alone, the last one still runs."""
    rnd = random.Random(11)
    stmts = [mutate(rnd, rnd.choice(STATEMENTS), cli=True).replace(";", " ") for _ in range(max(60, CLI_CASES * 10))]
    script = tmp_path / "fuzz.sql"
    script.write_text("CREATE TABLE src (key STRING, value STRING);\n" + ";\n".join(stmts)
                      + ";\nSELECT 'still-alive';\n", encoding="utf-8")
    proc = _cli(tmp_path, "--force", "-f", str(script), timeout=600)
    _assert_clean(proc, "hiveish -f fuzz.sql")
    assert "FAILED:" in proc.stderr
    # an unterminated quote or comment in a mutation may swallow what follows, as in Hive's CLI
    last = split_statements(script.read_text(encoding="utf-8"))[-1].text.strip()
    if last == "SELECT 'still-alive'":
        assert "still-alive" in proc.stdout
