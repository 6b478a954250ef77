"""Start-up cost: `hiveish -e` imports only what its statement needs, and the engine's functions
are installed when a statement first calls them.

A fresh `hiveish -e "SELECT 1"` (or SHOW/SET) must not import pandas, Dask, prompt_toolkit, pyarrow.compute,
lxml, cryptography or the Python UDF implementations (`python -X importtime` lists every module a
process imports). The macros and Python UDFs a query calls, and those they call, are installed on
first use on both engines, including in the MapReduce engine's worker processes.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from catalog.metastore import Metastore
from hiveish.session import Session
from tests.helpers import rows

REPO = Path(__file__).resolve().parents[1]

# modules `SELECT 1`, `SHOW DATABASES` or `SET` have no use for, each a noticeable share of a cold start
NOT_NEEDED = ("pandas", "dask", "distributed", "prompt_toolkit", "pyarrow.compute", "lxml", "cryptography",
                    "planner.udfs", "hiveish.shell")


def _imported(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines: `import time: self | cumulative | <indent>name`."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.parametrize("statement, printed", [
    ("SELECT 1", "1\n"),
    ("SHOW DATABASES", "default\n"),  # rows made in Python, not by DuckDB
    ("SET hive.cli.print.header", "hive.cli.print.header=false\n"),
])
def test_statement_imports_only_what_it_needs(tmp_path: Path, statement: str, printed: str) -> None:
    env = dict(os.environ, HOME=str(tmp_path), HIVEISH_HOME=str(tmp_path / "hiveish-home"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [sys.executable, "-X", "importtime", "-m", "hiveish", "--warehouse", str(tmp_path / "wh"),
           "--metastore", str(tmp_path / "ms.db"), "-S", "-e", statement]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == printed
    names = _imported(done.stderr)
    assert {"pyarrow", "sqlglot", "hiveish.cli"} <= names  # the list is really the process's imports
    loaded = sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in NOT_NEEDED))
    assert loaded == []


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("startup")
    with Session(str(root / "wh"), str(root / "ms.db")) as s:
        for stmt in ("create table t (k int, x double, s string)",
                     "insert into t values (1, 1234567.891, 'abc'), (2, 2.5, 'Robert'), (3, null, null), "
                     "(4, 0.125, 'Tymczak')"):
            s.execute(stmt)
    return root


ENGINES = {
    "arrow": {"hive.execution.engine": "arrow"},
    "mr-workers": {"hive.execution.engine": "mr", "hiveish.mapreduce.workers": "2"},
    "mr-inprocess": {"hive.execution.engine": "mr", "hiveish.mapreduce.inprocess": "true"},
}


def _sha256(s: str | None) -> str | None:
    return None if s is None else hashlib.sha256(s.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("engine", list(ENGINES))
def test_python_udfs_and_macros_on_first_use(warehouse: Path, engine: str) -> None:
    """A fresh session (nothing installed yet) runs a query calling Python UDFs (format_number, sha2)
    and a macro built on other macros (soundex), from a table so that nothing is folded away."""
    settings = dict(ENGINES[engine], **{"hiveish.mapreduce.local.dir": str(warehouse / f"mr-{engine}")})
    with Session(str(warehouse / "wh"), str(warehouse / "ms.db"), settings=settings) as s:
        got = rows(s, "select k, format_number(x, 2), sha2(s, 256), soundex(s) from t order by k")
    assert got == [
        (1, "1,234,567.89", _sha256("abc"), "A120"),
        (2, "2.50", _sha256("Robert"), "R163"),
        (3, None, None, None),
        (4, "0.12", _sha256("Tymczak"), "T522"),  # DecimalFormat's HALF_EVEN
    ]


def test_cli_python_udf(tmp_path: Path) -> None:
    """The `-e` path installs a UDF the statement calls (the imports test above shows it starts without)."""
    env = dict(os.environ, HOME=str(tmp_path), HIVEISH_HOME=str(tmp_path / "hiveish-home"))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = [sys.executable, "-m", "hiveish", "--warehouse", str(tmp_path / "wh"), "--metastore", str(tmp_path / "ms.db"),
           "-S", "-e", "SELECT format_number(1234.5, 1), sha2('abc', 512)"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == f"1,234.5\t{hashlib.sha512(b'abc').hexdigest()}\n"


def test_metastore_open_takes_no_write_lock(tmp_path: Path) -> None:
    """A session opens while another holds the metastore's write lock (a long INSERT's commit):
    a store already at this version is only read on open."""
    path = str(tmp_path / "ms.db")
    Metastore(path, str(tmp_path / "wh")).close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    opened: list[Metastore] = []
    t = threading.Thread(target=lambda: opened.append(Metastore(path, str(tmp_path / "wh"))), daemon=True)
    t.start()
    t.join(10)
    opened_while_locked = bool(opened)
    writer.execute("ROLLBACK")
    writer.close()
    t.join(120)
    try:
        assert opened_while_locked
        assert opened[0].list_databases() == ["default"]
    finally:
        if opened:
            opened[0].close()


def test_metastore_open_completes_an_older_schema(tmp_path: Path) -> None:
    """A store missing part of the schema (an older layout) still gets it on open."""
    path = str(tmp_path / "ms.db")
    Metastore(path, str(tmp_path / "wh")).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("DROP TABLE commit_log")
    con.close()
    ms = Metastore(path, str(tmp_path / "wh"))
    try:
        assert ms.recover() == []  # reads commit_log
        assert ms.schema_version() >= 1
    finally:
        ms.close()
