"""Startup time of `hiveish -e "SELECT 1"` in a fresh process (target: under 0.5 s).

    python bench/startup.py [--runs 10]

Prints each run's wall time, the median, and the same for `python -c pass` as a floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home)
        hive = [sys.executable, "-m", "hiveish", "--warehouse", f"{home}/wh", "--metastore", f"{home}/ms.db",
                "-S", "-e", "SELECT 1"]
        timed(hive, env)  # first run creates the metastore; not counted
        floor = [timed([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        runs = [timed(hive, env) for _ in range(args.runs)]
    print(f"python -c pass     median {statistics.median(floor):.3f} s")
    print(f"hiveish -e SELECT 1 median {statistics.median(runs):.3f} s  "
          f"(min {min(runs):.3f}, max {max(runs):.3f}; target < 0.5 s)")


if __name__ == "__main__":
    main()
