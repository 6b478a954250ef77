"""Robustness stress runs: crash trials and concurrent users (fast forms run in CI from tests/).

    python -m tests.stress crash [--trials 100] [--kinds insert_overwrite,...] [--engines arrow,mr]
    python -m tests.stress concurrency [--writers 8] [--readers 2] [--inserts 25]

crash: for every statement kind and engine, each trial copies a prepared warehouse, runs the
statement in a child process (hiveish through the DB-API) and SIGKILLs it, either at a named
point inside the commit (`HIVEISH_KILL_AT`, catalog/journal.py) or after a random delay. A new
session then opens the warehouse (which recovers it) and the trial checks that every table reads
exactly as before or exactly as after the statement, the metastore passes SQLite's integrity and
foreign key checks, every partition's directory exists, and no staging, trash or journal file
is left.

concurrency: N writer processes insert known unique batches into a partitioned and a plain table
while reader processes check that every batch they see is whole; at the end the multiset of
rows must be exactly what the writers reported committing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

KINDS = ["insert_overwrite", "insert_dynamic", "load", "ctas", "alter_add", "alter_drop", "drop"]
ENGINES = ["arrow", "mr"]
TABLES = ["t", "p", "c"]
# named points inside a commit (catalog/journal.py, catalog/metastore.py, hiveish/dml.py)
KILL_POINTS = ["staged", "move:1", "move:2", "move:3", "moved:1", "moved:2", "moved:4", "commit", "after-commit"]


def statement(kind: str, root: str) -> str:
    return {
        "insert_overwrite": "INSERT OVERWRITE TABLE t SELECT a * 10, concat(b, '!') FROM t",
        "insert_dynamic": "INSERT INTO TABLE p PARTITION (ds) SELECT * FROM (SELECT 7 AS a, '1' AS ds UNION ALL "
                          "SELECT 8, '3' UNION ALL SELECT 9, '4') q",
        "load": f"LOAD DATA INPATH '{root}/incoming' INTO TABLE t",
        "ctas": "CREATE TABLE c AS SELECT a, b FROM t WHERE a > 1",
        "alter_add": "ALTER TABLE p ADD PARTITION (ds='9') PARTITION (ds='10')",
        "alter_drop": "ALTER TABLE p DROP PARTITION (ds='1'), PARTITION (ds='2')",
        "drop": "DROP TABLE p",
    }[kind]


def _paths(root: str) -> tuple[str, str]:
    return os.path.join(root, "wh"), os.path.join(root, "ms.db")


def prepare(root: str) -> None:
    """The warehouse every trial starts from: two files per table, two partitions, files to LOAD."""
    import hiveish

    wh, ms = _paths(root)
    with hiveish.connect(warehouse=wh, metastore=ms) as con:
        cur = con.cursor()
        for sql in ["CREATE TABLE t (a INT, b STRING)",
                    "INSERT INTO t VALUES (1, 'x'), (2, 'y')",
                    "INSERT INTO t VALUES (3, 'z')",
                    "CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)",
                    "INSERT INTO p PARTITION (ds='1') VALUES (1), (2)",
                    "INSERT INTO p PARTITION (ds='2') VALUES (3)",
                    "INSERT INTO p PARTITION (ds='2') VALUES (4)"]:
            cur.execute(sql)
    os.makedirs(os.path.join(root, "incoming"))
    for name, text in (("part-a.txt", "100\x01loaded\n101\x01loaded\n"), ("part-b.txt", "102\x01more\n")):
        with open(os.path.join(root, "incoming", name), "w") as f:
            f.write(text)


def table_states(root: str) -> tuple[dict[str, object], list[str]]:
    """What a user sees of each table (rows, partitions) after a new session opened the warehouse,
    plus every consistency problem found."""
    import hiveish

    wh, ms = _paths(root)
    problems: list[str] = []
    states: dict[str, object] = {}
    with hiveish.connect(warehouse=wh, metastore=ms) as con:
        session = con.session
        problems += [f"metastore: {p}" for p in session.metastore.integrity_check()]
        cur = con.cursor()
        for name in TABLES:
            t = session.metastore.get_table("default", name)
            if t is None:
                states[name] = None
                continue
            parts = session.metastore.list_partitions("default", name)
            for p in parts:
                if not os.path.isdir(p.sd.location):
                    problems.append(f"{name}: partition {p.values} has no directory {p.sd.location}")
            if not t.is_partitioned and not os.path.isdir(t.sd.location):
                problems.append(f"{name}: no directory {t.sd.location}")
            cur.execute(f"SELECT * FROM {name}")
            rows = sorted(tuple("NULL" if v is None else str(v) for v in r) for r in cur.fetchall())
            states[name] = (rows, sorted("/".join(p.values) for p in parts))
    for dirpath, dirnames, filenames in os.walk(wh):
        for n in dirnames + filenames:
            if n.startswith((".hive-staging", ".hive-trash")):
                problems.append(f"left over: {os.path.join(dirpath, n)}")
    jdir = ms + ".hiveish-commits"
    if os.path.isdir(jdir):
        problems += [f"journal left: {n}" for n in os.listdir(jdir) if n.startswith("commit-")]
    return states, problems


def _child(root: str, kind: str, engine: str, kill_at: str | None, ready) -> None:
    """The writer under test (a forkserver child): open, signal, run the statement."""
    if kill_at:
        os.environ["HIVEISH_KILL_AT"] = kill_at
    import hiveish

    wh, ms = _paths(root)
    con = hiveish.connect(warehouse=wh, metastore=ms, **{"hive.execution.engine": engine,
                                                         "hive.exec.dynamic.partition.mode": "nonstrict",
                                                         # MR tasks in the writer itself: a kill stops them too
                                                         "hiveish.mapreduce.inprocess": "true"})
    cur = con.cursor()
    ready.send("ready")
    cur.execute(statement(kind, root))
    ready.send("done")
    con.close()
    if "executors.mapreduce.local" in sys.modules:  # atexit does not run in a multiprocessing child
        sys.modules["executors.mapreduce.local"].shutdown_pools()


@dataclass
class KindReport:
    kind: str
    engine: str
    trials: int = 0
    killed: int = 0
    as_before: int = 0
    as_after: int = 0
    failures: list[str] = field(default_factory=list)


_CTX = None


def _context():
    global _CTX
    if _CTX is None:
        _CTX = multiprocessing.get_context("forkserver")
        _CTX.set_forkserver_preload(["hiveish", "hiveish.session", "hiveish.dbapi", "duckdb", "pyarrow"])
    return _CTX


def _run_child(root: str, kind: str, engine: str, kill_at: str | None, delay: float | None,
               timeout: float = 120) -> tuple[bool, str]:
    """Run one writer; returns (killed, how)."""
    ctx = _context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(root, kind, engine, kill_at, child))
    proc.start()
    child.close()
    how = ""
    try:
        if not parent.poll(timeout):
            raise RuntimeError("child did not start")
        parent.recv()
        if delay is not None:
            if parent.poll(delay):
                proc.join(timeout)
                return False, "finished before the kill"
            proc.kill()
            how = f"killed after {delay * 1000:.0f} ms"
        proc.join(timeout)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise RuntimeError(f"{kind}/{engine}: the writer hung")
    finally:
        parent.close()
    if proc.exitcode == 0:
        return False, "finished"
    if proc.exitcode == -9:
        return True, how or f"killed at {kill_at}"
    raise RuntimeError(f"{kind}/{engine}: the writer failed with exit code {proc.exitcode}")


def run_crash(trials: int, kinds: list[str] | None = None, engines: list[str] | None = None, seed: int = 1,
              workdir: str | None = None, log=print, schedule: list[str | None] | None = None) -> list[KindReport]:
    """The crash suite; returns one report per (kind, engine).

    Without `schedule`, a third of the trials kill after a random delay and the rest at a random
    kill point; with it, trial i kills at `schedule[i % len(schedule)]` (None: a random delay).
    """
    rnd = random.Random(seed)
    base = tempfile.mkdtemp(prefix="hiveish-crash-", dir=workdir)
    reports = []
    try:
        template = os.path.join(base, "template")
        prepare(template)
        before, problems = table_states(template)
        assert not problems, problems
        root = os.path.join(base, "trial")
        for engine in engines or ENGINES:
            for kind in kinds or KINDS:
                report = KindReport(kind, engine)
                reports.append(report)
                # the state after an uninterrupted run, and how long the statement takes
                _fresh_copy(template, root)
                started = time.monotonic()
                _run_child(root, kind, engine, None, None)
                duration = time.monotonic() - started
                after, problems = table_states(root)
                if problems or after == before:
                    raise RuntimeError(f"{kind}/{engine}: bad reference run: {problems or 'no change'}")
                for i in range(trials):
                    _fresh_copy(template, root)
                    if schedule:
                        point = schedule[i % len(schedule)]
                    else:
                        point = None if i % 3 == 2 else rnd.choice(KILL_POINTS)
                    if point is None:  # a random moment of the whole statement
                        killed, how = _run_child(root, kind, engine, None, rnd.uniform(0, duration * 1.2))
                    else:
                        killed, how = _run_child(root, kind, engine, point, None)
                    report.trials += 1
                    report.killed += killed
                    state, problems = table_states(root)
                    if state == before:
                        report.as_before += 1
                        if kind == "load" and len(os.listdir(os.path.join(root, "incoming"))) != 2:
                            problems.append("LOAD rolled back but the source files were not given back")
                    elif state == after:
                        report.as_after += 1
                    else:
                        problems.append(f"neither before nor after: {state}")
                    if problems:
                        report.failures.append(f"trial {i} ({how}): {'; '.join(problems)}")
                log(f"{kind:17s} {engine:5s} trials={report.trials} killed={report.killed} "
                    f"before={report.as_before} after={report.as_after} failures={len(report.failures)}")
                for f in report.failures[:3]:
                    log(f"    {f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return reports


def _fresh_copy(template: str, root: str) -> None:
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(template, root)
    # the metastore records absolute locations: point them at the copy
    import sqlite3

    con = sqlite3.connect(os.path.join(root, "ms.db"))
    for table, col in (("dbs", "location"), ("tbls", "sd"), ("partitions", "sd")):
        con.execute(f"UPDATE {table} SET {col} = replace({col}, ?, ?)", (template, root))
    con.commit()
    con.close()


# -- concurrency ----------------------------------------------------------------------------------

BATCH_ROWS = 6
BATCH_SUM = 1000  # every batch's v values add up to this: a reader seeing another sum saw half a batch


def batch_rows(writer: int, batch: int) -> list[tuple[int, int, int, int]]:
    """(id, batch, v, part) rows of one INSERT; `part` spreads a batch over three partitions."""
    bid = writer * 1000 + batch
    vs = [100 + k for k in range(BATCH_ROWS - 1)]
    vs.append(BATCH_SUM - sum(vs))
    return [(bid * 100 + k, bid, v, k % 3) for k, v in enumerate(vs)]


def _writer(root: str, writer: int, inserts: int, engine: str, out) -> None:
    import hiveish

    wh, ms = _paths(root)
    committed, failed = [], []
    with hiveish.connect(warehouse=wh, metastore=ms, **{"hive.execution.engine": engine,
                                                        "hive.exec.dynamic.partition.mode": "nonstrict",
                                                        "hiveish.mapreduce.inprocess": "true"}) as con:
        cur = con.cursor()
        for b in range(inserts):
            rows = batch_rows(writer, b)
            values = ", ".join(f"({i}, {bid}, {v}, {part})" for i, bid, v, part in rows)
            table = "cp" if b % 2 else "cn"
            if table == "cp":
                sql = f"INSERT INTO cp PARTITION (part) SELECT * FROM (VALUES {values}) q(id, batch, v, part)"
            else:
                sql = f"INSERT INTO cn SELECT id, batch, v FROM (VALUES {values}) q(id, batch, v, part)"
            try:
                cur.execute(sql)
                committed.append((table, writer * 1000 + b))
            except hiveish.Error as e:
                failed.append((table, writer * 1000 + b, str(e)))
    out.put(("writer", writer, committed, failed))


def _reader(root: str, reader: int, stop, out) -> None:
    import hiveish

    wh, ms = _paths(root)
    checks, bad = 0, []
    with hiveish.connect(warehouse=wh, metastore=ms) as con:
        cur = con.cursor()
        while not stop.is_set() or checks < 2:
            for table in ("cn", "cp"):
                try:
                    cur.execute(f"SELECT batch, count(*), sum(v) FROM {table} GROUP BY batch")
                    for bid, n, total in cur.fetchall():
                        if n != BATCH_ROWS or total != BATCH_SUM:
                            bad.append(f"{table}: batch {bid} seen with {n} rows summing to {total}")
                except hiveish.Error as e:
                    bad.append(f"{table}: query failed: {e}")
                checks += 1
    out.put(("reader", reader, checks, bad))


@dataclass
class ConcurrencyResult:
    writers: int
    readers: int
    committed: int = 0
    failed: list[str] = field(default_factory=list)
    reader_checks: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (f"concurrency: {self.writers} writers, {self.readers} readers: {self.committed} inserts committed, "
                f"{len(self.failed)} failed cleanly, {self.reader_checks} reader checks, "
                f"{len(self.problems)} problems" + "".join(f"\n    {p}" for p in self.problems[:10]))


def run_concurrency(writers: int = 8, readers: int = 2, inserts: int = 25, engines: list[str] | None = None,
                    workdir: str | None = None) -> ConcurrencyResult:
    """Writers insert known batches concurrently while readers check that no batch is ever half seen."""
    import hiveish

    engines = engines or ["arrow"]
    root = tempfile.mkdtemp(prefix="hiveish-conc-", dir=workdir)
    result = ConcurrencyResult(writers, readers)
    try:
        wh, ms = _paths(root)
        with hiveish.connect(warehouse=wh, metastore=ms) as con:
            con.cursor().execute("CREATE TABLE cn (id INT, batch INT, v BIGINT)")
            con.cursor().execute("CREATE TABLE cp (id INT, batch INT, v BIGINT) PARTITIONED BY (part INT)")
        ctx = multiprocessing.get_context("spawn")
        out, stop = ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_writer, args=(root, w, inserts, engines[w % len(engines)], out))
                 for w in range(writers)]
        procs += [ctx.Process(target=_reader, args=(root, r, stop, out)) for r in range(readers)]
        for p in procs:
            p.start()
        expected: dict[str, set[int]] = {"cn": set(), "cp": set()}
        for _ in range(writers):
            _, w, committed, failed = out.get(timeout=900)
            for table, bid in committed:
                expected[table].add(bid)
            result.failed += [f"writer {w}: {t} batch {b}: {e}" for t, b, e in failed]
        stop.set()
        for _ in range(readers):
            _, r, checks, bad = out.get(timeout=300)
            result.reader_checks += checks
            result.problems += [f"reader {r}: {b}" for b in bad]
        for p in procs:
            p.join(60)
            if p.exitcode != 0:
                result.problems.append(f"process {p.name} exited with {p.exitcode}")
        result.committed = sum(len(v) for v in expected.values())
        with hiveish.connect(warehouse=wh, metastore=ms) as con:
            result.problems += [f"metastore: {p}" for p in con.session.metastore.integrity_check()]
            cur = con.cursor()
            for table, bids in expected.items():
                cur.execute(f"SELECT id FROM {table}")
                got = sorted(r[0] for r in cur.fetchall())
                want = sorted(i for bid in bids for i, *_ in batch_rows(bid // 1000, bid % 1000))
                if got != want:
                    lost, extra = set(want) - set(got), len(got) - len(set(got))
                    result.problems.append(f"{table}: {len(got)} rows, expected {len(want)} "
                                           f"({len(lost)} lost, {extra} duplicated)")
            cur.execute("SELECT part, count(*) FROM cp GROUP BY part")
            parts = dict(cur.fetchall())
            if expected["cp"] and sorted(parts) != [0, 1, 2]:
                result.problems.append(f"cp partitions: {sorted(parts)}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.stress", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("crash", help="SIGKILL writers inside their commits, then check the warehouse")
    c.add_argument("--trials", type=int, default=100, help="trials per statement kind and engine")
    c.add_argument("--kinds", default=",".join(KINDS))
    c.add_argument("--engines", default=",".join(ENGINES))
    c.add_argument("--seed", type=int, default=1)
    k = sub.add_parser("concurrency", help="concurrent writers and readers on one warehouse")
    k.add_argument("--writers", type=int, default=8)
    k.add_argument("--readers", type=int, default=2)
    k.add_argument("--inserts", type=int, default=25, help="INSERT statements per writer")
    k.add_argument("--engines", default="arrow,mr", help="writers alternate between these engines")
    args = ap.parse_args(argv)
    started = time.monotonic()
    if args.cmd == "crash":
        reports = run_crash(args.trials, args.kinds.split(","), args.engines.split(","), args.seed)
        failures = sum(len(r.failures) for r in reports)
        total = sum(r.trials for r in reports)
        killed = sum(r.killed for r in reports)
        print(f"crash: {total} trials, {killed} killed, {failures} failed ({time.monotonic() - started:.0f} s)")
        return 1 if failures else 0
    result = run_concurrency(args.writers, args.readers, args.inserts, args.engines.split(","))
    print(result.summary() + f" ({time.monotonic() - started:.0f} s)")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
