"""MapReduce workers never run the user's program: scripts need no `if __name__ == "__main__":` guard.

Python's `spawn` start method re-runs the parent's main script in every child. Each test here runs,
in a real `python` subprocess, a script with no guard that sets `hive.execution.engine=mr` and runs
a GROUP BY: as a file, through stdin (`python - < script`) and as `python -c`, on the local runner's
process pool and on the Dask runner's LocalCluster. The script must print the right rows, exit 0,
write no traceback, and run only once (it counts its own runs in a file).
"""

from __future__ import annotations

import multiprocessing.spawn
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from executors.mapreduce import spawn

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import hiveish
with open({runs!r}, "a") as f:
    f.write("run\\n")
conn = hiveish.connect(warehouse={wh!r}, metastore={ms!r}, **{{
    "hive.execution.engine": "mr", "hiveish.mapreduce.runner": {runner!r}, "hiveish.mapreduce.workers": "2"}})
cur = conn.cursor()
cur.execute("CREATE TABLE IF NOT EXISTS t (k INT, v STRING)")
cur.execute("INSERT OVERWRITE TABLE t VALUES (1, 'a'), (2, 'b'), (2, 'c'), (3, NULL)")
cur.execute("SELECT k, count(*), count(v) FROM t GROUP BY k ORDER BY k")
print("ROWS", cur.fetchall())
print("ENGINE", [j.stage for j in cur.jobs])
import os
print("WORKERS", sorted({{a.worker for j in cur.jobs for a in j.attempts}}), "DRIVER", os.getpid())
"""

EXPECTED = "ROWS [(1, 1, 1), (2, 2, 2), (3, 1, 0)]"


def run_script(tmp_path: Path, runner: str, how: str) -> subprocess.CompletedProcess:
    runs = tmp_path / "runs.txt"
    text = SCRIPT.format(runs=str(runs), wh=str(tmp_path / "wh"), ms=str(tmp_path / "ms.db"), runner=runner)
    script = tmp_path / "script.py"
    script.write_text(text)
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(tmp_path))
    if how == "file":
        cmd, stdin = [sys.executable, str(script)], None
    elif how == "stdin":
        cmd, stdin = [sys.executable, "-"], text
    else:
        cmd, stdin = [sys.executable, "-c", text], None
    proc = subprocess.run(cmd, input=stdin, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    proc.runs = runs.read_text().count("run") if runs.exists() else 0  # type: ignore[attr-defined]
    return proc


def check(proc: subprocess.CompletedProcess, runner: str) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"WORKERS \[(.*)\] DRIVER (\d+)", proc.stdout)
    assert m, proc.stdout
    workers = [w.strip(" '") for w in m.group(1).split(",")]
    # the attempts ran in worker processes (the job history's lanes): Dask workers, or pool processes
    if runner == "dask":
        assert workers and all(w.startswith("tcp://") for w in workers), workers
    else:
        assert workers and all(re.fullmatch(r".+:\d+", w) and not w.endswith(":" + m.group(2)) for w in workers)
    assert EXPECTED in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "ENGINE ['Stage-1'" in proc.stdout  # the query ran as MapReduce jobs
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr[-3000:]
    assert proc.runs == 1  # type: ignore[attr-defined] - no worker ran the script again


@pytest.mark.parametrize("how", ["file", "stdin", "c"])
def test_script_without_main_guard_local_runner(tmp_path: Path, how: str) -> None:
    check(run_script(tmp_path, "local", how), "local")


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_script_without_main_guard_dask_local_cluster(tmp_path: Path, how: str) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (pip install '.[dask]')")
    check(run_script(tmp_path, "dask", how), "dask")


def test_preparation_data_of_workers_names_no_main() -> None:
    """Only hiveish's worker processes (and registered names) lose the main module; others keep it."""
    main = sys.modules["__main__"]
    if getattr(main.__spec__, "name", None) is None and getattr(main, "__file__", None) is None:
        pytest.skip("this interpreter's __main__ names no module or file")
    keys = {"init_main_from_path", "init_main_from_name"}
    assert keys & set(multiprocessing.spawn.get_preparation_data("SpawnProcess-1"))
    assert not keys & set(multiprocessing.spawn.get_preparation_data(f"{spawn.WORKER_PREFIX}7"))
    spawn.add_worker_name("some worker")
    try:
        assert not keys & set(multiprocessing.spawn.get_preparation_data("some worker"))
    finally:
        spawn.remove_worker_name("some worker")
    assert keys & set(multiprocessing.spawn.get_preparation_data("some worker"))
    p = spawn.worker_context().Process(target=print)
    assert p.name.startswith(spawn.WORKER_PREFIX)
