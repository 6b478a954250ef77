"""`hiveish` as a drop-in for `hive`: the Hive CLI's single-dash long options, run as real subprocesses.

Hive's CLI parses its arguments with commons-cli's GnuParser: `-hiveconf k=v` and `--hiveconf k=v`
are the same option, as are `-hivevar`/`-define`/`-database`; Airflow's HiveCliHook and most
cron scripts write the single-dash forms. A misspelt option exits 1 with a message, never 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Hive:
    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "home").mkdir()

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["HOME"] = str(self.root / "home")
        env["HIVEISH_HOME"] = str(self.root / "hiveish-home")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
        cmd = [sys.executable, "-m", "hiveish", "-warehouse", str(self.root / "wh"),
               "-metastore", str(self.root / "ms.db"), *args]
        return subprocess.run(cmd, input=stdin.encode(), capture_output=True, env=env, cwd=str(self.root),
                              timeout=120)


@pytest.fixture(scope="module")
def hive(tmp_path_factory) -> Hive:
    return Hive(tmp_path_factory.mktemp("hiveopts"))


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout.decode()


def err(p: subprocess.CompletedProcess) -> str:
    return p.stderr.decode()


def test_hiveconf_hivevar_and_file_as_hive_writes_them(hive):
    """The issue's command: `hive -hiveconf k=v -hivevar x=y -f job.hql` runs the job."""
    (hive.root / "job.hql").write_text(
        "create table if not exists job_out (k string, v string);\n"
        "insert overwrite table job_out select '${hiveconf:my.key}', '${x}';\n"
        "select * from job_out;\n", encoding="utf-8")
    p = hive.run("-hiveconf", "my.key=conf value", "-hivevar", "x=y", "-f", "job.hql")
    assert p.returncode == 0, err(p)
    assert out(p) == "conf value\ty\n"
    assert "OK" in err(p)


def test_every_single_dash_long_option(hive):
    (hive.root / "init.hql").write_text("set hivevar:from_init=i;\n", encoding="utf-8")
    setup = hive.run("-S", "-e", "create database if not exists other; create table other.t (a int)")
    assert setup.returncode == 0, err(setup)
    p = hive.run("-database", "other", "-define", "a=1", "-hivevar", "b=2", "-hiveconf", "hive.cli.print.header=true",
                 "-i", "init.hql", "-S", "-e", "show tables; select '${a}', '${b}', '${from_init}' as c")
    assert p.returncode == 0, err(p)
    assert out(p) == "tab_name\nt\n_c0\t_c1\tc\n1\t2\ti\n"
    assert err(p) == ""  # -S: no OK / Time taken


def test_option_spellings_hive_accepts(hive):
    """`-opt=value`, `--opt value`, `-dk=v` and a value that starts with a dash."""
    p = hive.run("-hiveconf=my.key=a=b", "--hivevar", "v=two", "-dw=three", "-S",
                 "-e", "-- a leading comment\nselect '${hiveconf:my.key}', '${v}', '${w}'")
    assert p.returncode == 0, err(p)
    assert out(p) == "a=b\ttwo\tthree\n"


def test_verbose_echoes_statements(hive):
    p = hive.run("-S", "-v", "-e", "select 1")
    assert (p.returncode, out(p)) == (0, "select 1\n1\n")


def test_hiveconf_sets_the_engine_setting(hive):
    p = hive.run("-hiveconf", "hive.execution.engine=mr", "-S", "-e", "set hive.execution.engine")
    assert (p.returncode, out(p)) == (0, "hive.execution.engine=mr\n"), err(p)


@pytest.mark.parametrize("args, message", [
    (["-hivecon", "k=v", "-e", "select 1"], "Unrecognized option: -hivecon"),
    (["-hx"], "Unrecognized option: -hx"),
    (["-x", "-e", "select 1"], "Unrecognized option: -x"),
    (["-S=true", "-e", "select 1"], "takes no value"),
    (["-e", "select 1", "-database"], "expected one argument"),
    (["-hiveconf", "novalue", "-e", "select 1"], "expected KEY=VALUE"),
    (["-e", "select 1", "-f", "job.hql"], "The '-e' and '-f' options cannot be specified simultaneously"),
    (["-e", "select 1", "stray"], "unrecognized arguments: stray"),
])
def test_bad_option_exits_1_with_message(hive, args, message):
    p = hive.run(*args)
    assert p.returncode == 1, err(p)
    assert out(p) == ""
    assert message in err(p) and "usage: hiveish" in err(p)
    assert "Traceback" not in err(p)


def test_help_is_asked_for_not_guessed(hive):
    for flag in ("-H", "-help", "--help"):
        p = hive.run(flag)
        assert p.returncode == 0 and "usage: hiveish" in out(p), (flag, err(p))
