"""Cold start of `hiveish -e "SELECT 1"` beside a bare Python + DuckDB process (target: ratio ≤ 2.0).

    python bench/startup.py [--runs 15]

Runs, interleaved in one loop so both see the same machine load:

- `python -c "import duckdb; duckdb.sql('SELECT 1')"` (the floor any DuckDB-based tool pays), and
- `python -m hiveish -S -e "SELECT 1"` with a fresh HOME (no ~/.hiveishrc), its own warehouse and
  metastore (created by one untimed warm-up run, as a user's already exists). The warm-up also
  writes the bytecode caches (PYTHONDONTWRITEBYTECODE is dropped), as an installed package has them.

Prints each command's median wall time over the runs, the ratio of the medians and the median of
the per-pair ratios (less sensitive to load spikes), then the same for CPU time (user + system of
the child: what the process itself costs, steadier than wall time on a loaded machine). Exit
status 1 when the wall-time ratio of the medians is above `--target`.
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

BARE = [sys.executable, "-c", "import duckdb; duckdb.sql('SELECT 1')"]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="interleaved runs of each command (default 15)")
    ap.add_argument("--target", type=float, default=2.0, help="largest acceptable ratio (default 2.0)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes .pyc files, as an install has them
        hive = [sys.executable, "-m", "hiveish", "--warehouse", f"{home}/wh", "--metastore", f"{home}/ms.db",
                "-S", "-e", "SELECT 1"]
        timed(hive, env)  # creates the metastore; not counted
        timed(BARE, env)
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for i in range(args.runs):
            pair = (BARE, hive) if i % 2 == 0 else (hive, BARE)  # alternate who goes first
            for cmd in pair:
                (bare if cmd is BARE else ours).append(timed(cmd, env))
    ratio = 0.0
    for k, what in ((0, "wall"), (1, "CPU")):
        b = statistics.median(r[k] for r in bare)
        h = statistics.median(r[k] for r in ours)
        pairs = statistics.median(x[k] / y[k] for x, y in zip(ours, bare))
        print(f"{what:>4}: python + duckdb SELECT 1 median {b:.3f} s, hiveish -e \"SELECT 1\" median {h:.3f} s; "
              f"ratio of medians {h / b:.2f}, median of pair ratios {pairs:.2f}")
        ratio = ratio or h / b
    print(f"{args.runs} interleaved runs; target: wall ratio ≤ {args.target}")
    return 0 if ratio <= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
