"""TPC-H on hiveish against DuckDB on the same files.

    python bench/tpch.py --sf 1 [--format parquet|text|both] [--data DIR] [--queries 1,3,...] [--repeat N]
                         [--engines arrow,mr]

Makes the data with `tpchgen-cli` (cached in bench/.data/sf{SF}), registers the 8 tables
of ../shared/tpch/tables.sql as external tables in a fresh temporary warehouse, runs the
22 HiveQL queries of ../shared/tpch/queries through hiveish and the DuckDB versions in
bench/tpch_duckdb through DuckDB directly over the same files, checks both against
../shared/tpch/answers/sf{SF} when present, and prints the times (best of --repeat runs,
result fetched as Arrow), their ratio and the geometric mean of the ratios. With
`--engines arrow,mr` each query also runs as MapReduce jobs (hive.execution.engine=mr);
the table adds mr/arrow ratios and the peak memory of each engine (RSS of this
process plus its child processes, the MR workers, sampled from /proc).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
for p in (ROOT, BENCH):
    if p not in sys.path:
        sys.path.insert(0, p)

import tpch_answers  # noqa: E402
import tpch_data  # noqa: E402

DUCKDB_QUERIES = os.path.join(BENCH, "tpch_duckdb")
DUCK_TYPES = {"STRING": "VARCHAR", "INT": "INTEGER"}


def duckdb_query_text(n: int) -> str:
    with open(os.path.join(DUCKDB_QUERIES, f"q{n:02d}.sql"), encoding="utf-8") as f:
        return f.read().strip().rstrip(";").strip()


def duckdb_connection(table_dir: str, fmt: str):
    """An in-memory DuckDB with one view per table over the same files hiveish reads."""
    import duckdb

    con = duckdb.connect(":memory:")
    lit = tpch_data._lit
    for table, cols in tpch_data.table_columns().items():
        files = lit(os.path.join(os.path.abspath(table_dir), table, "*"))
        if fmt == "parquet":
            src = f"read_parquet({files})"
        else:
            spec = ", ".join(f"{lit(c)}: {lit(DUCK_TYPES.get(t.upper(), t))}" for c, t in cols)
            src = (f"read_csv({files}, columns={{{spec}}}, delim={lit(tpch_data.FIELD_DELIM)}, header=false, "
                   f"quote='', escape='', nullstr={lit(tpch_data.NULL_TEXT)}, auto_detect=false)")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {src}")
    return con


def _timed(fn, repeat: int):
    """(best seconds, last result) over `repeat` runs; the exception if a run fails."""
    best = math.inf
    result = None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def _check(table, answer) -> str:
    if answer is None:
        return "-"
    ok, msg = tpch_answers.compare(tpch_data.rows_of(table), answer)
    return msg if ok else f"WRONG: {msg}"


def _short(e: BaseException) -> str:
    return f"ERROR: {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"


class PeakMemory:
    """Peak RSS of this process plus its child processes (the MR worker pool), sampled from /proc."""

    def __init__(self, interval: float = 0.05) -> None:
        import threading

        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            return 0

    @staticmethod
    def _parents() -> dict[int, list[int]]:
        """pid -> child pids, from every process's /proc/<pid>/stat (field 4 is the parent)."""
        out: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            out.setdefault(ppid, []).append(int(name))
        return out

    def sample(self) -> int:
        children = self._parents()
        todo, total, seen = [os.getpid()], 0, set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            total += self._rss(pid)
            todo.extend(children.get(pid, []))
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self.peak = self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())


def _set_engine(wh, engine: str) -> None:
    cur = wh.conn.cursor()
    try:
        cur.execute(f"SET hive.execution.engine={engine}")
    finally:
        cur.close()


def run_format(sf: str, table_dir: str, fmt: str, queries: list[int], repeat: int,
               engines: list[str] | None = None) -> list[dict]:
    engines = engines or ["arrow"]
    results = []
    duck = duckdb_connection(table_dir, fmt)
    with tpch_data.Warehouse(table_dir, fmt) as wh:
        # warm up every engine (connection set-up, macros, file metadata, MR workers) outside the timings
        for engine in engines:
            _set_engine(wh, engine)
            wh.run("SELECT count(*) FROM region")
        duck.execute("SELECT count(*) FROM region").fetchall()
        for q in queries:
            path = tpch_answers.answer_path(tpch_data.TPCH_DIR, sf, q)
            answer = tpch_answers.load_answer(path) if os.path.exists(path) else None
            row = {"query": q, "duckdb": None, "duck_ok": "-", "engines": engines}
            hive_sql = tpch_data.query_text(q)
            duck_sql = duckdb_query_text(q)
            for engine in engines:
                _set_engine(wh, engine)
                row[engine], row[f"{engine}_ok"], row[f"{engine}_mem"] = None, "-", None
                try:
                    with PeakMemory() as mem:
                        row[engine], (table, _) = _timed(lambda: wh.run(hive_sql), repeat)
                    row[f"{engine}_mem"] = mem.peak
                    row[f"{engine}_ok"] = _check(table, answer)
                except Exception as e:  # report and go on with the next query
                    row[f"{engine}_ok"] = _short(e)
            row["hiveish"], row["ok"] = row[engines[0]], row[f"{engines[0]}_ok"]
            try:
                row["duckdb"], table = _timed(lambda: duck.sql(duck_sql).to_arrow_table(), repeat)
                row["duck_ok"] = _check(table, answer)
            except Exception as e:
                row["duck_ok"] = _short(e)
            results.append(row)
            print_row(row, flush=True)
    duck.close()
    return results


def header(engines: list[str]) -> str:
    cols = "".join(f"  {e + ' s':>9}" for e in engines) + f"  {'duckdb s':>9}"
    cols += "".join(f"  {e + '/duck':>10}" for e in engines)
    cols += "".join(f"  {e + '/' + engines[0]:>9}" for e in engines[1:])
    cols += "".join(f"  {e + ' MB':>9}" for e in engines)
    return f"{'query':>5}{cols}  answer"


def _fmt_s(v: float | None, width: int = 9) -> str:
    return f"{v:{width}.3f}" if v is not None else f"{'-':>{width}}"


def _ratio(a: float | None, b: float | None, width: int) -> str:
    return f"{a / b:{width}.2f}" if a and b else f"{'-':>{width}}"


def print_row(row: dict, flush: bool = False) -> None:
    engines = row["engines"]
    text = f"{'Q%02d' % row['query']:>5}"
    text += "".join(f"  {_fmt_s(row[e])}" for e in engines) + f"  {_fmt_s(row['duckdb'])}"
    text += "".join(f"  {_ratio(row[e], row['duckdb'], 10)}" for e in engines)
    text += "".join(f"  {_ratio(row[e], row[engines[0]], 9)}" for e in engines[1:])
    text += "".join(f"  {row[e + '_mem'] / 2 ** 20:9.0f}" if row[e + "_mem"] else f"  {'-':>9}" for e in engines)
    notes = [f"{e}: {row[e + '_ok']}" if len(engines) > 1 else row[e + "_ok"] for e in engines]
    if not row["duck_ok"].startswith(("ok", "-")):
        notes.append(f"duckdb: {row['duck_ok']}")
    print(f"{text}  {'; '.join(notes)}", flush=flush)


def _geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def summary(results: list[dict]) -> str:
    engines = results[0]["engines"] if results else ["arrow"]
    lines = []
    for e in engines:
        ratios = [r[e] / r["duckdb"] for r in results if r[e] and r["duckdb"]]
        ok = sum(1 for r in results if r[f"{e}_ok"].startswith("ok"))
        checked = sum(1 for r in results if r[f"{e}_ok"] != "-")
        total_h = sum(r[e] or 0 for r in results)
        total_d = sum(r["duckdb"] or 0 for r in results)
        peak = max((r[f"{e}_mem"] or 0 for r in results), default=0) / 2 ** 20
        lines.append(f"{e}: geomean ratio ({e}/duckdb) over {len(ratios)} queries: {_geomean(ratios):.2f}   "
                     f"total {total_h:.2f}s vs {total_d:.2f}s   answers ok: {ok}/{checked}   peak {peak:.0f} MB")
    for e in engines[1:]:
        ratios = [r[e] / r[engines[0]] for r in results if r[e] and r[engines[0]]]
        lines.append(f"geomean ratio ({e}/{engines[0]}) over {len(ratios)} queries: {_geomean(ratios):.2f}")
    return "\n".join(lines)


def parse_queries(text: str | None) -> list[int]:
    if not text:
        return list(tpch_data.QUERIES)
    out = []
    for part in text.split(","):
        part = part.strip().lower().lstrip("q")
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    bad = [q for q in out if q not in tpch_data.QUERIES]
    if bad:
        raise SystemExit(f"no such TPC-H query: {bad}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sf", default="1", help="scale factor (default 1)")
    ap.add_argument("--format", choices=["parquet", "text", "both"], default="parquet")
    ap.add_argument("--data", help="data cache directory (default bench/.data/sf{SF})")
    ap.add_argument("--queries", help="e.g. 1,3,5-7 (default all 22)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per query; the best time counts (default 3)")
    ap.add_argument("--engines", "--engine", default="arrow",
                    help="hive.execution.engine values to run, comma-separated: arrow, mr (default arrow)")
    args = ap.parse_args(argv)

    sf = tpch_data.sf_name(args.sf)
    data_dir = args.data or os.path.join(BENCH, ".data", f"sf{sf}")
    formats = ["parquet", "text"] if args.format == "both" else [args.format]
    queries = parse_queries(args.queries)
    engines = [e.strip().lower() for e in args.engines.split(",") if e.strip()]

    t0 = time.perf_counter()
    dirs = tpch_data.prepare(sf, data_dir, formats)
    print(f"TPC-H SF{sf} data in {data_dir} ({time.perf_counter() - t0:.1f}s)")
    answers = os.path.join(tpch_data.TPCH_DIR, "answers", f"sf{sf}")
    if not os.path.isdir(answers):
        print(f"no reference answers for SF{sf} ({answers}); answers not checked")
    failed = False
    for fmt in formats:
        print(f"\n== {fmt} (best of {args.repeat})")
        print(header(engines))
        results = run_format(sf, dirs[fmt], fmt, queries, args.repeat, engines)
        print(summary(results))
        failed = failed or any(not r[f"{e}_ok"].startswith(("ok", "-")) for r in results for e in engines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
