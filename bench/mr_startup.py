"""Start-up cost of the MapReduce engine: `SELECT count(*)` over a 2 MB table in a fresh process.

    python bench/mr_startup.py [--runs 5] [--runner local|dask] [--workers N]

Each run is a new Python process that opens a session (`hiveish.connect`) with
`hive.execution.engine` set to `arrow` or `mr` and runs the query once, so the MR figure includes
starting the worker pool. Runs alternate between the engines (a busy machine slows both alike).
Prints each engine's median wall time and the difference (target: mr at most 1.5 s more).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROWS = 100_000  # about 2 MB of text

CHILD = """
import sys, time
t0 = time.perf_counter()
import hiveish
conn = hiveish.connect(warehouse=sys.argv[1], metastore=sys.argv[2], **{{"hive.execution.engine": sys.argv[3],
                       "hiveish.mapreduce.runner": sys.argv[4], "hiveish.mapreduce.workers": sys.argv[5]}})
cur = conn.cursor()
cur.execute("SELECT count(*) FROM t")
assert cur.fetchall() == [({rows},)], "wrong count"
print(f"{{time.perf_counter() - t0:.3f}}")
"""


def make_table(home: str) -> tuple[str, str]:
    wh, ms = os.path.join(home, "wh"), os.path.join(home, "ms.db")
    data = os.path.join(home, "t.txt")
    with open(data, "w") as f:
        for i in range(ROWS):
            f.write(f"{i}\x01value-{i % 977:04d}\n")
    import hiveish

    with hiveish.connect(warehouse=wh, metastore=ms, **{"hive.execution.engine": "arrow"}) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (k INT, v STRING)")
        cur.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE t")
    return wh, ms


def run(engine: str, wh: str, ms: str, runner: str, workers: str) -> tuple[float, float, float]:
    """(wall seconds of the whole process, seconds from its first import to the fetched row, CPU seconds
    of the process and every process it started: the worker pool's start-up included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD.format(rows=ROWS), wh, ms, engine, runner, workers],
                         check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, float(out.stdout.strip().splitlines()[-1]), cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--runner", default="local", choices=["local", "dask"])
    ap.add_argument("--workers", default="0", help="hiveish.mapreduce.workers (0: one per core)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        wh, ms = make_table(home)
        size = sum(os.path.getsize(os.path.join(wh, "t", f)) for f in os.listdir(os.path.join(wh, "t")))
        times: dict[str, list[tuple[float, float, float]]] = {"arrow": [], "mr": []}
        run("arrow", wh, ms, args.runner, args.workers)  # warm the OS caches; not counted
        for _ in range(args.runs):
            for engine in ("arrow", "mr"):
                times[engine].append(run(engine, wh, ms, args.runner, args.workers))
    print(f"table: {ROWS} rows, {size / 1e6:.1f} MB text; runner {args.runner}, workers {args.workers or 'cores'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    med = {}
    for engine, runs in times.items():
        wall = statistics.median(w for w, _, _ in runs)
        inner = statistics.median(i for _, i, _ in runs)
        cpu = statistics.median(c for _, _, c in runs)
        med[engine] = wall
        print(f"{engine:5s}  process median {wall:.3f} s  (import to result {inner:.3f} s; CPU of all its "
              f"processes {cpu:.2f} s; runs {', '.join(f'{w:.2f}' for w, _, _ in runs)})")
    print(f"mr - arrow: {med['mr'] - med['arrow']:+.3f} s (target: at most +1.5 s)")


if __name__ == "__main__":
    main()
