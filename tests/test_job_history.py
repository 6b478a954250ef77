"""The job history archive beside the metastore, SHOW JOBS / DESCRIBE JOB across processes, and the
history server's page in a real headless browser.

Jobs are run by real `hiveish -e` processes (two of them at once); a later session in this process
reads them back: query, user, stages, counters, every task attempt with its worker and times, the
failed attempt injected on purpose, and the run-time decision (a join found small at run time runs
as a map join). `hiveish history-server` is then started as a process and its pages are loaded in
Chromium (`--dump-dom`, `--screenshot`): the timeline must draw one bar per attempt, in its worker's
lane.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hiveish.history.archive import ArchivedJob, JobArchive
from hiveish.history.page import job_page
from hiveish.session import Session
from tests.helpers import rows

ROOT = Path(__file__).resolve().parent.parent
FACTS, DIMS = 30_000, 2_000
JOIN = "SELECT f.id, d.name FROM facts f JOIN dims d ON f.k = d.k WHERE d.grp = 'g7'"  # < 80 characters
GROUP = "SELECT k % 7, count(*) FROM facts GROUP BY k % 7"
MR = {"hive.execution.engine": "mr", "hiveish.mapreduce.workers": "2", "mapreduce.job.reduces": "2",
      "hive.mapjoin.smalltable.filesize": "45000", "mapreduce.input.fileinputformat.split.maxsize": "120000"}


def hiveish(root: Path, sql: str, **settings: str) -> subprocess.Popen:
    confs = [a for k, v in {**MR, **settings}.items() for a in ("--hiveconf", f"{k}={v}")]
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(root))
    return subprocess.Popen([sys.executable, "-m", "hiveish", "--warehouse", str(root / "wh"), "--metastore",
                             str(root / "ms.db"), *confs, "-e", sql], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> dict:
    """Two `hiveish -e` processes run MR queries at once; returns what they printed and their pids."""
    root = tmp_path_factory.mktemp("history")
    (root / "f.txt").write_text("".join(f"{i}\x01{i % (DIMS + 50)}\n" for i in range(FACTS)))
    (root / "d.txt").write_text("".join(f"{i}\x01{hashlib.md5(str(i).encode()).hexdigest()}\x01g{i % 40}\n"
                                        for i in range(DIMS)))
    with Session(str(root / "wh"), str(root / "ms.db"), settings={"hive.execution.engine": "arrow"}) as s:
        s.execute("CREATE TABLE facts (id INT, k INT)")
        s.execute("CREATE TABLE dims (k INT, name STRING, grp STRING)")
        s.execute(f"LOAD DATA LOCAL INPATH '{root / 'f.txt'}' INTO TABLE facts")
        s.execute(f"LOAD DATA LOCAL INPATH '{root / 'd.txt'}' INTO TABLE dims")
    # the first process's first map attempt of Stage-1 fails once (an injected fault), then succeeds
    first = hiveish(root, f"{JOIN};", **{"hiveish.mapreduce.fail.attempts": "Stage-1:map:0:0"})
    second = hiveish(root, f"{GROUP};")
    out = {}
    for name, p in (("join", first), ("group", second)):
        stdout, stderr = p.communicate(timeout=900)
        assert p.returncode == 0, stderr[-3000:]
        assert "Traceback" not in stderr
        out[name] = (p.pid, stdout, stderr)
    out["root"] = root
    return out


def new_session(root: Path, **settings: str) -> Session:
    return Session(str(root / "wh"), str(root / "ms.db"), settings={"hive.execution.engine": "arrow", **settings})


def test_show_jobs_in_a_new_process_lists_the_jobs_of_earlier_ones(archived):
    root = archived["root"]
    with new_session(root) as s:
        jobs = rows(s, "SHOW JOBS")
        by_query = {}
        for j in jobs:
            by_query.setdefault(j[1], []).append(j)
        assert set(by_query) == {JOIN, GROUP}
        assert len({j[0] for j in jobs}) == len(jobs)  # ids unique across the two processes
        assert all(re.fullmatch(r"job_\d{13}_\d{4}", j[0]) for j in jobs)
        assert [j[2] for j in by_query[GROUP]] == ["Stage-1"] and by_query[GROUP][0][3] == "SUCCEEDED"
        assert by_query[JOIN][0][3] == "SUCCEEDED" and by_query[JOIN][0][2] == "Stage-1"
        import getpass

        assert {j[7] for j in jobs} == {getpass.getuser()}
        # the job ids the processes printed ("Starting Job = ...") are the archived ones
        for name in ("join", "group"):
            printed = set(re.findall(r"Starting Job = (job_\w+)", archived[name][2]))
            assert printed and printed <= {j[0] for j in jobs}


def test_describe_job_from_the_archive(archived):
    root = archived["root"]
    pid = archived["join"][0]
    with new_session(root) as s:
        job_id = next(j[0] for j in rows(s, "SHOW JOBS") if j[1] == JOIN and j[2] == "Stage-1")
        lines = [r[0] for r in rows(s, f"DESCRIBE JOB {job_id}")]
    text = "\n".join(lines)
    assert f"Job: {job_id}" in lines and "Status: SUCCEEDED" in lines
    assert f"  MAP_INPUT_RECORDS={FACTS + DIMS}" in lines
    assert any("runs as a map join" in line for line in lines), text  # the run-time decision
    assert "Failed attempts: 1" in lines and "attempt_Stage-1_m_000000_0: InjectedFailure" in text
    attempts = [line for line in lines if re.match(r"  (MAP|REDUCE|SAMPLE) attempt_", line)]
    assert any(" attempt_Stage-1_m_000000_0 FAILED " in a for a in attempts)
    assert any(" attempt_Stage-1_m_000000_1 SUCCEEDED " in a for a in attempts)
    workers = {a.rsplit(" on ", 1)[1] for a in attempts}
    # pool workers are processes of their own, named host:pid, never the driver
    assert workers and all(re.fullmatch(r".+:\d+", w) and not w.endswith(f":{pid}") for w in workers)


def test_retention_and_no_archive(tmp_path):
    fast = {"hiveish.mapreduce.inprocess": "true", "hive.execution.engine": "mr"}
    with Session(str(tmp_path / "wh"), str(tmp_path / "ms.db"), settings=fast) as s:
        s.execute("CREATE TABLE t (k INT)")
        s.execute("INSERT INTO t VALUES (1), (2), (2)")
        assert "hiveish.jobhistory.retention" in dict(s.settings.items(verbose=True))
        s.execute("SET hiveish.jobhistory.retention=0.00002")  # 1.7 seconds
        rows(s, "SELECT k, count(*) FROM t GROUP BY k")
        old = s.statement_jobs[0].job_id
        time.sleep(2.5)
        rows(s, "SELECT count(*) FROM t")  # its end drops the jobs past retention
        new = s.statement_jobs[0].job_id
        s.execute("SET hiveish.jobhistory.retention=0")  # no archive: this job stays in the session only
        rows(s, "SELECT max(k) FROM t")
        unarchived = s.statement_jobs[0].job_id
        assert [j[0] for j in rows(s, "SHOW JOBS")][-1] == unarchived
    with Session(str(tmp_path / "wh"), str(tmp_path / "ms.db")) as s:
        assert [j[0] for j in rows(s, "SHOW JOBS")] == [new]
        with pytest.raises(Exception, match=f"Job not found: {old}"):
            s.execute(f"DESCRIBE JOB {old}")


def test_an_unwritable_archive_is_a_warning_not_a_failure(tmp_path):
    (tmp_path / "ms.db.history").mkdir()  # not a SQLite file: the archive cannot open
    fast = {"hiveish.mapreduce.inprocess": "true", "hive.execution.engine": "mr"}
    with Session(str(tmp_path / "wh"), str(tmp_path / "ms.db"), settings=fast) as s:
        s.execute("CREATE TABLE t (k INT)")
        s.execute("INSERT INTO t VALUES (1)")
        assert rows(s, "SELECT k, count(*) FROM t GROUP BY k") == [(1, 1)]
        assert any("job history archive is unavailable" in w for w in s.statement_warnings), s.statement_warnings
        jobs = rows(s, "SHOW JOBS")
        assert [j[0] for j in jobs] == [s.jobs.entries()[-1].job_id]


def _attempt(aid: str, kind: str, start: float, seconds: float, worker: str, records: int) -> dict:
    key = "MAP_INPUT_RECORDS" if kind == "MAP" else "REDUCE_INPUT_RECORDS"
    return {"attempt_id": aid, "kind": kind, "task": int(aid.split("_")[3]), "attempt": 0, "status": "SUCCEEDED",
            "host": "h", "worker": worker, "started": start, "finished": start + seconds, "error": "",
            "counters": {key: records}}


def test_page_marks_a_straggler_and_a_skewed_reducer():
    t = 1_000_000.0
    attempts = [_attempt(f"attempt_Stage-1_m_00000{i}_0", "MAP", t, 1.0, f"h:{i % 2}", 100) for i in range(4)]
    attempts += [_attempt("attempt_Stage-1_r_000000_0", "REDUCE", t + 1, 1.0, "h:0", 100),
                 _attempt("attempt_Stage-1_r_000001_0", "REDUCE", t + 1, 1.1, "h:1", 120),
                 _attempt("attempt_Stage-1_r_000002_0", "REDUCE", t + 2.1, 9.0, "h:0", 50_000)]
    job = ArchivedJob("job_1_0001", "q", "SELECT 1", "u", "h", 1, "local", "Stage-1", "SUCCEEDED", t, t + 12, 12.0,
                      4, 3, 4, 3, attempts=attempts)
    html = job_page(job, [job])
    rects = re.findall(r'<rect class="([^"]*)" data-attempt="([^"]+)"', html)
    assert {a for _, a in rects} == {a["attempt_id"] for a in attempts}
    marked = {a: c.split() for c, a in rects}
    assert "straggler" in marked["attempt_Stage-1_r_000002_0"] and "skewed" in marked["attempt_Stage-1_r_000002_0"]
    assert not any("straggler" in c or "skewed" in c for a, c in marked.items() if a != "attempt_Stage-1_r_000002_0")


# -- the history server in a headless browser ----------------------------------------------------------------------

class _Timeline(HTMLParser):
    """The attempt bars (`rect.attempt`) and worker lane labels of the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.bars: list[dict[str, str]] = []
        self.lanes: list[str] = []
        self._in_lane = False

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "rect" and "attempt" in a.get("class", "").split():
            self.bars.append(a)
        self._in_lane = tag == "text" and "worker" in a.get("class", "").split()

    def handle_data(self, data: str) -> None:
        if self._in_lane:
            self.lanes.append(data)
            self._in_lane = False


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (Debian: apt-get install -y chromium): the page is not checked in "
                "a browser")


def _browser(exe: str, tmp: Path, *args: str) -> str:
    proc = subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={tmp / 'profile'}",
                           *args], capture_output=True, text=True, timeout=180, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_history_server_page_renders_the_task_timeline_in_a_browser(archived, tmp_path):
    exe = _chromium()
    root = archived["root"]
    archive = JobArchive(str(root / "ms.db.history"))
    try:
        job = next(j for j in archive.jobs(100) if j.query == JOIN and j.stage == "Stage-1")
        job = archive.job(job.job_id)
    finally:
        archive.close()
    assert job is not None and job.attempts
    env = dict(os.environ, PYTHONPATH=str(ROOT), HOME=str(root))
    server = subprocess.Popen([sys.executable, "-m", "hiveish", "history-server", "--metastore", str(root / "ms.db"),
                               "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert m, line + server.stderr.read()  # type: ignore[union-attr]
        url = m.group(1)
        dom = _browser(exe, tmp_path, "--dump-dom", f"{url}job/{job.job_id}")
        t = _Timeline()
        t.feed(dom)
        # one bar per attempt (the failed one included), each in the lane of the worker that ran it
        assert sorted(b["data-attempt"] for b in t.bars) == sorted(a["attempt_id"] for a in job.attempts)
        assert {b["data-worker"] for b in t.bars} == {a["worker"] for a in job.attempts}
        assert len(t.lanes) == len({a["worker"] for a in job.attempts}) >= 1
        failed = [b for b in t.bars if "status-FAILED" in b["class"].split()]
        assert [b["data-attempt"] for b in failed] == ["attempt_Stage-1_m_000000_0"]
        assert all(float(b["width"]) >= 2 for b in t.bars)
        assert "runs as a map join" in dom and "MAP_INPUT_RECORDS" in dom
        listing = _browser(exe, tmp_path, "--dump-dom", url)
        for j in JobArchive(str(root / "ms.db.history")).jobs(100):
            assert j.job_id in listing
        shot = tmp_path / "job.png"
        _browser(exe, tmp_path, "--window-size=1280,1200", f"--screenshot={shot}", f"{url}job/{job.job_id}")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        if os.environ.get("HIVEISH_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["HIVEISH_KEEP_SCREENSHOT"])
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode == 0, server.stderr.read()  # type: ignore[union-attr]


def test_a_job_whose_driver_died_shows_killed(tmp_path):
    """A driver killed mid-job never writes the job's end: readers show it KILLED, not RUNNING forever."""
    code = ("import os, sys; from hiveish.history.archive import JobArchive\n"
            "from executors.mapreduce.runner import JobReport\n"
            "a = JobArchive(sys.argv[1]); print(a.register(JobReport('Stage-1', maps=3), 'SELECT 1', 'q1', 'local'))\n"
            "sys.stdout.flush(); os._exit(9)  # as a SIGKILL would: nothing more written\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ms.db.history")], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    job_id = proc.stdout.strip()
    assert proc.returncode == 9 and job_id.startswith("job_"), proc.stderr
    with Session(str(tmp_path / "wh"), str(tmp_path / "ms.db")) as s:
        assert [(j[0], j[2], j[3]) for j in rows(s, "SHOW JOBS")] == [(job_id, "Stage-1", "KILLED")]
        assert "Status: KILLED" in [r[0] for r in rows(s, f"DESCRIBE JOB {job_id}")]
