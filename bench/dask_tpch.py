"""TPC-H under the MapReduce engine: the local runner against the Dask runner with 1 and 2 workers.

    python bench/dask_tpch.py [--sf 1] [--queries all|lowered|1,6|1-22] [--repeat N] [--split-size BYTES]

Registers the Parquet tables of bench/.data/sf{SF} (made with tpchgen-cli if missing) in a
fresh warehouse, and runs each query with `hive.execution.engine=mr`:

* `local`: `hiveish.mapreduce.runner=local`, a pool of 2 worker processes (`hiveish.mapreduce.workers=2`);
* `dask-1`, `dask-2`: `hiveish.mapreduce.runner=dask` against a real `dask scheduler` with 1, then 2
  `dask worker` processes (`--nthreads 1`) on loopback, started and stopped by this script.

Every task attempt uses one DuckDB thread in all three, so `local` and `dask-2` have the same
two task slots (one per core of the 2-core machine) and `dask-1` shows what the second worker
adds. All 22 queries run by default; a query that did not run as MapReduce jobs (the planner
left it to the vectorized engine) is flagged `arrow!`. Prints per-query times (best of --repeat,
after one untimed warm-up query per configuration), the dask/local ratios, whether each answer
matches ../shared/tpch/answers/sf{SF}, and the geometric means.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for p in (ROOT, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402


class DaskCluster:
    """A `dask scheduler` and `dask worker` processes on loopback, started the way users start them.

    Also used by tests/test_dask.py. `env` is added to the processes' environment.
    """

    def __init__(self, root: str, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.scheduler_file = os.path.join(root, "scheduler.json")
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, self.env.get("PYTHONPATH")) if p)
        self.env.update(env or {})
        self.n = workers
        self.address = ""
        self.client = None

    def _start(self, *args: str) -> subprocess.Popen:
        log = open(os.path.join(self.root, f"{args[0]}-{len(self.procs)}.log"), "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=ROOT, env=self.env,
                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 90) -> "DaskCluster":
        import distributed

        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", self.scheduler_file)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(self.scheduler_file, encoding="utf-8") as f:
                    self.address = json.load(f)["address"]
                break
            except (OSError, ValueError, KeyError):
                if time.monotonic() > deadline or self.procs[0].poll() is not None:
                    raise RuntimeError("dask scheduler did not start:\n" + self.logs()) from None
                time.sleep(0.1)
        for i in range(self.n):
            self._start("worker", "--scheduler-file", self.scheduler_file, "--nworkers", "1", "--nthreads", "1",
                        "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{i}")
        self.client = distributed.Client(self.address, timeout=30, set_as_default=False)
        self.wait_for_workers(timeout)
        return self

    def wait_for_workers(self, timeout: float = 90) -> None:
        self.client.wait_for_workers(self.n, timeout=timeout)

    def worker_pids(self) -> dict[str, int]:
        return self.client.run(os.getpid)

    def tasks(self, prefix: str = "hiveish-") -> list[str]:
        """Keys (and states) of the tasks the scheduler knows about whose key starts with `prefix`."""
        return self.client.run_on_scheduler(
            lambda dask_scheduler: [f"{k} {t.state}" for k, t in dask_scheduler.tasks.items()
                                    if str(k).startswith(prefix)])

    def processing(self, prefix: str = "hiveish-") -> dict[str, list[str]]:
        """Per worker, the keys it is running (or holds to run next)."""
        return {w: [str(k) for k in keys if str(k).startswith(prefix)]
                for w, keys in self.client.processing().items()}

    def logs(self) -> str:
        out = []
        for name in sorted(os.listdir(self.root)):
            if name.endswith(".log"):
                with open(os.path.join(self.root, name), errors="replace") as f:
                    out.append(f"--- {name}\n{f.read()[-3000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        from executors.mapreduce.dask_runner import close_client

        close_client(self.address)  # the runners' client, before its scheduler goes
        if self.client is not None:
            try:
                self.client.shutdown()  # scheduler and workers stop together, quickly
            except Exception:  # noqa: BLE001 - fall back to signals
                pass
            self.client = None
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def __enter__(self) -> "DaskCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _lowered(wh, queries: list[int]) -> list[int]:
    out = []
    for q in queries:
        table, _ = wh.run("EXPLAIN " + tpch_data.query_text(q))
        if table.column(0)[0].as_py().startswith("Engine: mr"):
            out.append(q)
    return out


# warm-up: several map tasks, so every worker process has imported DuckDB and friends
WARM_UP = "SELECT l_returnflag, count(*) FROM lineitem GROUP BY l_returnflag"


def _run(conn, sql: str, timeout: float):
    """Run a query; (pyarrow.Table, seconds). A query still running after `timeout` s is cancelled."""
    cur = conn.cursor()
    timer = threading.Timer(timeout, cur.cancel)
    try:
        t0 = time.perf_counter()
        timer.start()
        cur.execute(sql)
        table = cur.fetch_arrow_table()
        return table, time.perf_counter() - t0
    finally:
        timer.cancel()
        cur.close()


def run_config(name: str, table_dir: str, queries: list[int], settings: dict[str, str], sf: str,
               repeat: int, timeout: float) -> dict[int, tuple[float | None, str]]:
    """{query: (seconds, answer check)} under one runner configuration."""
    out: dict[int, tuple[float | None, str]] = {}
    with tpch_data.Warehouse(table_dir, "parquet", **settings) as wh:
        wh.run(WARM_UP)
        for q in queries:
            path = tpch_answers.answer_path(tpch_data.TPCH_DIR, sf, q)
            answer = tpch_answers.load_answer(path) if os.path.exists(path) else None
            sql = tpch_data.query_text(q)
            secs: float | None = None
            try:
                table = None
                for _ in range(max(1, repeat)):
                    table, t = _run(wh.conn, sql, timeout)
                    secs = t if secs is None else min(secs, t)
                if answer is None:
                    check = "-"
                else:
                    ok, msg = tpch_answers.compare(tpch_data.rows_of(table), answer)
                    check = msg if ok else f"WRONG: {msg}"
                jobs = list(wh.conn.session.statement_jobs)
                check += f" ({len(jobs)} MR jobs)" if jobs else " arrow!"
            except Exception as e:  # noqa: BLE001 - report and go on
                first = str(e).splitlines()[0][:120] if str(e) else ""
                check = (f"TIMEOUT: cancelled after {timeout:g} s" if "cancel" in first.lower()
                         else f"ERROR: {type(e).__name__}: {first}")
                secs = None
            out[q] = (secs, check)
            print(f"  {name:7} Q{q:02d} {secs if secs is not None else float('nan'):8.2f}s  {check}", flush=True)
    return out


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _cell(v: float | None) -> str:
    return f"{v:8.2f}" if v is not None else f"{'-':>8}"


def report(results: dict[str, dict[int, tuple[float | None, str]]], queries: list[int]) -> bool:
    """Print the table and the geometric means; True when every answer was right and ran as MR jobs."""
    names = list(results)
    others = [k for k in names if k != "local"]
    head = "  ".join(f"{k + ' s':>8}" for k in names) + "  " + "  ".join(f"{'d' + k[5:] + '/loc':>8}" for k in others)
    print(f"\n{'query':>5}  {head}  answers")
    good = True
    for q in queries:
        t = {k: results[k][q][0] for k in names}
        checks = [results[k][q][1] for k in names]
        fine = all(c.startswith(("ok", "-")) and "arrow!" not in c for c in checks)
        good = good and fine
        cells = []
        for k in others:
            cells.append(_cell(t[k] / t["local"] if t[k] and t["local"] else None))
        print(f"{'Q%02d' % q:>5}  {'  '.join(_cell(t[k]) for k in names)}  {'  '.join(cells)}  "
              f"{'ok' if fine else '; '.join(f'{k}: {c}' for k, c in zip(names, checks) if not c.startswith('ok'))}")
    common = [q for q in queries if all(results[k][q][0] for k in names)]  # finished everywhere
    times = {k: geomean([results[k][q][0] or 0 for q in common]) for k in names}
    totals = {k: sum(results[k][q][0] or 0 for q in common) for k in names}
    rel = {k: geomean([(results[k][q][0] or 0) / (results["local"][q][0] or 1) for q in common]) for k in others}
    print(f"{'total':>5}  {'  '.join(_cell(totals[k]) for k in names)}")
    print(f"{'geo':>5}  {'  '.join(_cell(times[k]) for k in names)}  {'  '.join(_cell(rel[k]) for k in others)}"
          f"  (geometric means over the {len(common)} queries every configuration finished)")
    return good


def _run_all(results: dict, table_dir: str, queries: list[int], base: dict[str, str], shuffle: str, sf: str,
             args: argparse.Namespace) -> None:
    """local, then dask-1 and dask-2 (each on a cluster of its own, started and stopped here)."""
    local = {**base, "hiveish.mapreduce.runner": "local", "hiveish.mapreduce.local.dir": shuffle}
    results["local"] = run_config("local", table_dir, queries, local, sf, args.repeat, args.timeout)
    for n in (1, 2):
        with DaskCluster(tempfile.mkdtemp(prefix="hiveish-bench-dask-"), workers=n) as cluster:
            settings = {**base, "hiveish.mapreduce.runner": "dask", "hiveish.dask.scheduler": cluster.address,
                        "hiveish.mapreduce.local.dir": shuffle}
            results[f"dask-{n}"] = run_config(f"dask-{n}", table_dir, queries, settings, sf, args.repeat,
                                              args.timeout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", default="1", help="scale factor (default 1)")
    ap.add_argument("--queries", default="all", help="all (default) / lowered / 1,6 / 1-22")
    ap.add_argument("--repeat", type=int, default=1, help="runs per query; the best counts (default 1)")
    ap.add_argument("--split-size", help="mapreduce.input.fileinputformat.split.maxsize (default: the setting's)")
    ap.add_argument("--data", help="data cache directory (default bench/.data/sf{SF})")
    ap.add_argument("--timeout", type=float, default=300, help="seconds before a query is cancelled (default 300)")
    args = ap.parse_args(argv)

    sf = tpch_data.sf_name(args.sf)
    data_dir = args.data or os.path.join(BENCH, ".data", f"sf{sf}")
    table_dir = tpch_data.prepare(sf, data_dir, ["parquet"])["parquet"]
    base = {"hive.execution.engine": "mr", "hiveish.mapreduce.workers": "2"}
    if args.split_size:
        base["mapreduce.input.fileinputformat.split.maxsize"] = args.split_size
    if args.queries in ("lowered", "all"):
        queries = list(tpch_data.QUERIES)
        if args.queries == "lowered":
            with tpch_data.Warehouse(table_dir, "parquet", **base) as wh:
                queries = _lowered(wh, queries)
    else:
        from tpch import parse_queries

        queries = parse_queries(args.queries)
    print(f"TPC-H SF{sf}, Parquet, hive.execution.engine=mr, queries {queries}; {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

    results: dict[str, dict[int, tuple[float | None, str]]] = {}
    shuffle = tempfile.mkdtemp(prefix="hiveish-bench-shuffle-")
    try:
        _run_all(results, table_dir, queries, base, shuffle, sf, args)
    finally:
        shutil.rmtree(shuffle, ignore_errors=True)
    good = report(results, queries)
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
