"""Run the HiveQL conformance corpus (`../shared/conformance` format) against hiveish.

    python tests/conformance.py [--cases DIR] [--engine NAME] [-k SUBSTR] [--jobs N] [-v]

Each case file runs in a fresh warehouse and metastore after `setup.sql`, in the
US/Pacific time zone. Prints every failing case with its first differing
record, then `N passed, M failed` counting case files.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_CASES = os.path.join(os.path.dirname(ROOT), "shared", "conformance")
TIME_ZONE = "US/Pacific"


@dataclass
class Record:
    kind: str  # statement | query
    sql: str
    sort: str = ""  # rowsort | ordered
    expected: list[str] = field(default_factory=list)
    line: int = 0


def parse_records(text: str) -> list[Record]:
    """Split a case file into records (blank-line separated; '#' comment lines outside records)."""
    records: list[Record] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line == "" or line.startswith("#"):
            i += 1
            continue
        start = i
        header = line.strip()
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i] != "":
            body.append(lines[i])
            i += 1
        if header.startswith("statement"):
            records.append(Record("statement", "\n".join(body), line=start + 1))
        elif header.startswith("query"):
            sort = header.split()[1] if len(header.split()) > 1 else "rowsort"
            if "----" in body:
                k = body.index("----")
                sql, expected = body[:k], body[k + 1:]
            else:
                sql, expected = body, []
            records.append(Record("query", "\n".join(sql), sort, expected, line=start + 1))
    return records


def run_records(session, records: list[Record], data_dir: str) -> tuple[bool, str]:
    """Run records in order; returns (passed, message about the first failure)."""
    import pyarrow as pa

    from catalog.types import parse_type
    from hiveish.formatting import format_rows

    for rec in records:
        sql = rec.sql.replace("${DATA}", data_dir)
        ran_before = getattr(session, "mapreduce_last", None)
        try:
            result = session.execute(sql)
            if rec.kind == "query" and re.match(r"(?is)\s*(select|with|from|\()", sql):
                key = "mr" if getattr(session, "mapreduce_last", None) is not ran_before else "fallback"
                _worker.setdefault("tally", {"mr": 0, "fallback": 0})[key] += 1
            rows: list[str] = []
            if result.columns:
                types = [parse_type(t) for _, t in result.columns]
                for batch in result.batches:
                    if isinstance(batch, pa.RecordBatch):
                        # a value holding a newline prints as two lines, as in Hive's CLI
                        rows.extend(line for r in format_rows(batch, types)
                                    for line in "\t".join("NULL" if c is None else c for c in r).split("\n"))
            else:
                for _ in result.batches:
                    pass
        except Exception as e:  # noqa: BLE001 - any failure fails the case
            msg = e.hive_message() if hasattr(e, "hive_message") else f"{type(e).__name__}: {e}"
            return False, f"line {rec.line}: {rec.kind} failed: {sql.splitlines()[0][:200]}\n    {msg}"
        if rec.kind == "query":
            got, want = rows, rec.expected
            if rec.sort == "rowsort":
                got, want = sorted(got), sorted(want)
            if got != want:
                detail = _first_difference(got, want)
                return False, f"line {rec.line}: query {sql.splitlines()[0][:200]}\n    {detail}"
    return True, ""


def _first_difference(got: list[str], want: list[str]) -> str:
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"row {i + 1}: expected {w!r} got {g!r}"
    if len(got) != len(want):
        extra = (f"expected {len(want)} rows got {len(got)}; next expected {want[len(got)]!r}"
                 if len(want) > len(got) else f"expected {len(want)} rows got {len(got)}; extra {got[len(want)]!r}")
        return extra
    return "rows differ"


_worker: dict = {}


def _init_worker(cases_dir: str, engine: str) -> None:
    from hiveish.session import Session

    os.environ["TZ"] = TIME_ZONE
    base = tempfile.mkdtemp(prefix="hiveish-conf-")
    template = os.path.join(base, "template")
    live = os.path.join(base, "live")
    setup = parse_records(open(os.path.join(cases_dir, "setup.sql"), encoding="utf-8").read())
    with Session(warehouse=os.path.join(live, "warehouse"), metastore=os.path.join(live, "metastore.db"),
                 settings=_settings(engine)) as s:
        ok, msg = run_records(s, setup, os.path.join(cases_dir, "data"))
    _worker.update(base=base, template=template, live=live, cases=cases_dir, engine=engine,
                   setup_error=None if ok else msg)
    if ok:
        shutil.copytree(live, template)


def _settings(engine: str) -> dict[str, str]:
    return {"hive.local.time.zone": TIME_ZONE, "hive.execution.engine": engine, "hiveish.threads": "1"}


def run_case(path: str) -> tuple[str, bool, str]:
    from hiveish.session import Session

    name = os.path.basename(path)
    if _worker.get("setup_error"):
        return name, False, "setup failed: " + _worker["setup_error"]
    live = _worker["live"]
    shutil.rmtree(live, ignore_errors=True)
    shutil.copytree(_worker["template"], live)
    records = parse_records(open(path, encoding="utf-8").read())
    try:
        with Session(warehouse=os.path.join(live, "warehouse"), metastore=os.path.join(live, "metastore.db"),
                     settings=_settings(_worker["engine"])) as s:
            ok, msg = run_records(s, records, os.path.join(_worker["cases"], "data"))
    except Exception as e:  # noqa: BLE001
        ok, msg = False, f"session error: {type(e).__name__}: {e}"
    return name, ok, msg


def _run_case_counted(path: str) -> tuple[str, bool, str, dict[str, int]]:
    """`run_case` plus how many SELECT queries ran as MapReduce jobs vs on the vectorized engine."""
    _worker["tally"] = {"mr": 0, "fallback": 0}
    return (*run_case(path), dict(_worker["tally"]))


def run_corpus(cases_dir: str, engine: str = "arrow", pattern: str = "", jobs: int = 0,
               counted: bool = False) -> list:
    case_files = sorted(os.path.join(cases_dir, "cases", f) for f in os.listdir(os.path.join(cases_dir, "cases"))
                        if f.endswith(".test") and pattern in f)
    jobs = jobs or min(2, os.cpu_count() or 1)
    if jobs <= 1:
        _init_worker(cases_dir, engine)
        return [(_run_case_counted if counted else run_case)(p) for p in case_files]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(cases_dir, engine)) as pool:
        return pool.map(_run_case_counted if counted else run_case, case_files, chunksize=4)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=DEFAULT_CASES, help="conformance folder (with setup.sql, cases/, data/)")
    ap.add_argument("--engine", default="arrow", help="hive.execution.engine for every case")
    ap.add_argument("-k", default="", help="only case files whose name contains this")
    ap.add_argument("--jobs", type=int, default=0)
    ap.add_argument("-v", "--verbose", action="store_true", help="also list passing cases")
    args = ap.parse_args(argv)
    results = run_corpus(args.cases, args.engine, args.k, args.jobs, counted=True)
    passed = 0
    tally = {"mr": 0, "fallback": 0}
    for name, ok, msg, counts in results:
        for k in tally:
            tally[k] += counts.get(k, 0)
        if ok:
            passed += 1
            if args.verbose:
                print(f"PASS {name}")
        else:
            print(f"FAIL {name}: {msg}")
    if args.engine.lower() in ("mr", "mapreduce"):
        print(f"SELECT queries: {tally['mr']} ran as MapReduce jobs, {tally['fallback']} on the vectorized engine")
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
