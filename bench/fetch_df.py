"""`cursor.fetch_df()` against `fetch_arrow_table().to_pandas()` on the same query (issue 16: within 1.5x).

    python bench/fetch_df.py                 # 1M rows, best of 3
    python bench/fetch_df.py --rows 5000000 --repeat 5

The table (int, bigint, double, string, decimal, timestamp columns) is written once as Parquet into a
temporary warehouse; each run executes the same SELECT and times execute + fetch. Also times
`pandas.read_sql` on the DB-API connection (its row path) for comparison when pandas allows it.
Prints one line per path and the ratio fetch_df / (fetch_arrow_table + to_pandas); exits 1 above 1.5.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hiveish  # noqa: E402

QUERY = "SELECT id, big, x, s, d, ts FROM wide"


def best(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--read-sql", action="store_true", help="also time pandas.read_sql (slow: rows one by one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hiveish-bench-") as root:
        conn = hiveish.connect(warehouse=os.path.join(root, "wh"), metastore=os.path.join(root, "ms.db"),
                               hive_execution_engine="arrow")
        cur = conn.cursor()
        cur.execute("CREATE TABLE wide (id INT, big BIGINT, x DOUBLE, s STRING, d DECIMAL(12,2), ts TIMESTAMP) "
                    "STORED AS PARQUET")
        cur.execute(f"INSERT INTO wide SELECT CAST(id AS INT), id * 1000003, id / 7.0, concat('row-', CAST(id AS STRING)),"
                    f" CAST(id / 100.0 AS DECIMAL(12,2)), CAST('2024-01-01 00:00:00' AS TIMESTAMP)"
                    f" FROM (SELECT posexplode(split(space({args.rows - 1}), ' ')) AS (id, v)) g")
        cur.execute("SELECT count(*) FROM wide")
        (count,) = cur.fetchone()

        def via_fetch_df():
            cur.execute(QUERY)
            assert len(cur.fetch_df()) == count

        def via_arrow():
            cur.execute(QUERY)
            assert len(cur.fetch_arrow_table().to_pandas()) == count

        via_arrow()  # warm-up: file cache, DuckDB
        arrow_s = best(args.repeat, via_arrow)
        df_s = best(args.repeat, via_fetch_df)
        print(f"rows: {count}")
        print(f"fetch_arrow_table().to_pandas(): {arrow_s:.3f} s")
        print(f"fetch_df():                      {df_s:.3f} s")
        if args.read_sql:
            import warnings

            import pandas

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                started = time.perf_counter()
                pandas.read_sql(QUERY, conn)
                print(f"pandas.read_sql (rows):          {time.perf_counter() - started:.3f} s")
        ratio = df_s / arrow_s
        print(f"ratio fetch_df / arrow+to_pandas: {ratio:.2f} (target <= 1.5)")
        conn.close()
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
