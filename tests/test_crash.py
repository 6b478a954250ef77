"""Crashes lose nothing: writers SIGKILLed inside their commits leave every table as before or as after.

The fast form of `python -m tests.stress crash` (see tests/stress.py and the README's
"Robustness guarantees"): a few trials per statement kind, killed at named points of the commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from catalog.fs.local import LocalFileSystem
from hiveish import errors
from hiveish.session import Session
from tests.stress import KINDS, run_crash

# the commit's critical moments: mid-move, all moved but not committed, committed but not cleaned
SCHEDULE = ["moved:1", "commit", "after-commit", None]


def _check(reports) -> None:
    failures = [f"{r.kind}/{r.engine}: {f}" for r in reports for f in r.failures]
    assert not failures, "\n".join(failures)
    assert all(r.as_before + r.as_after == r.trials for r in reports)


def test_crash_arrow_every_statement_kind(tmp_path):
    reports = run_crash(len(SCHEDULE), KINDS, ["arrow"], workdir=str(tmp_path), log=lambda _: None,
                        schedule=SCHEDULE)
    _check(reports)
    writes = [r for r in reports if r.kind not in ("alter_add",)]
    # the kill points were reached: some trials ended as before, and those past COMMIT as after
    assert all(r.as_before >= 1 and r.as_after >= 1 for r in writes), [(r.kind, r.as_before, r.as_after) for r in writes]


def test_crash_mapreduce_writes(tmp_path):
    reports = run_crash(3, ["insert_dynamic", "ctas"], ["mr"], workdir=str(tmp_path),
                        log=lambda _: None, schedule=["moved:1", "commit", "after-commit"])
    _check(reports)
    assert all(r.as_before == 2 and r.as_after == 1 for r in reports)


def _session(tmp_path) -> Session:
    return Session(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))


def test_failed_rename_mid_commit_rolls_everything_back(tmp_path, monkeypatch):
    s = _session(tmp_path)
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (1)")
    s.execute("INSERT INTO t VALUES (2)")
    real = LocalFileSystem.rename
    calls = []

    def failing(self, src, dst):
        calls.append(src)
        if len(calls) == 3:  # both old files moved out, the new one not yet in
            raise OSError("disk on fire")
        return real(self, src, dst)

    monkeypatch.setattr(LocalFileSystem, "rename", failing)
    with pytest.raises(errors.Error, match="disk on fire"):
        s.execute("INSERT OVERWRITE TABLE t SELECT 99")
    monkeypatch.setattr(LocalFileSystem, "rename", real)
    assert sorted(r[0] for r in s.execute("SELECT a FROM t").batches for r in zip(*r.to_pydict().values())) == [1, 2]
    assert not [n for n in os.listdir(tmp_path / "wh" / "t") if n.startswith(".")]
    assert not [n for n in os.listdir(str(tmp_path / "ms.db") + ".hiveish-commits") if n.startswith("commit-")]
    s.close()


def test_live_sessions_staging_survives_another_session_start(tmp_path):
    a = _session(tmp_path)
    staging = tmp_path / "wh" / ".hive-staging_hiveish_live"
    a.metastore.journal.register_staging(str(staging))
    staging.mkdir(parents=True)
    _session(tmp_path).close()  # recovery runs here: `a` is alive, its staging stays
    assert staging.is_dir()
    a.close()


def test_dead_sessions_staging_is_removed_at_next_start(tmp_path):
    wh, ms = str(tmp_path / "wh"), str(tmp_path / "ms.db")
    code = (f"from hiveish.session import Session; import os, signal; s = Session(warehouse={wh!r}, metastore={ms!r});"
            f"s.metastore.journal.register_staging({wh!r} + '/.hive-staging_hiveish_dead');"
            f"os.makedirs({wh!r} + '/.hive-staging_hiveish_dead/x'); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == -signal.SIGKILL
    assert os.path.isdir(os.path.join(wh, ".hive-staging_hiveish_dead"))
    s = Session(warehouse=wh, metastore=ms)
    assert not os.path.exists(os.path.join(wh, ".hive-staging_hiveish_dead"))
    assert any("dead session" in line for line in s.catalog.recovered)
    s.close()


def test_mapreduce_workers_exit_when_the_session_process_is_killed(tmp_path):
    wh, ms = str(tmp_path / "wh"), str(tmp_path / "ms.db")
    code = (f"import hiveish, os, sys, time\n"
            f"con = hiveish.connect(warehouse={wh!r}, metastore={ms!r}, **{{'hive.execution.engine': 'mr',"
            f" 'hiveish.mapreduce.workers': '1'}})\n"
            f"cur = con.cursor(); cur.execute('CREATE TABLE t (a INT)'); cur.execute('INSERT INTO t VALUES (1)')\n"
            f"cur.execute('SELECT count(*) FROM t'); cur.fetchall(); print('ready', flush=True); time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                  text=True).stdout.split()]
        assert workers
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{w}") for w in workers):
        time.sleep(0.2)
    alive = [w for w in workers if os.path.exists(f"/proc/{w}") and "Z" not in open(f"/proc/{w}/stat").read().split()[2]]
    assert not alive, f"MapReduce workers outlived their session: {alive}"
