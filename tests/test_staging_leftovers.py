"""Staging directories left by failed statements are removed by the next write or the next session.

Against a real ``python -m hiveish.minihdfs`` process on loopback: a persistent failure of the
DataNode's writes and of the NameNode's DELETE makes an INSERT fail *and* its cleanup fail, as
when HDFS goes away mid-statement.  The staging directory then stays until the next write into
the same table (this session or another) or the next session start removes it; a staging
directory of a statement still running in another process is never touched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from catalog.fs import filesystem_for
from catalog.fs.webhdfs import WebHdfsFileSystem
from hiveish import errors
from hiveish.minihdfs import MiniHdfs
from hiveish.session import Session

MINIHDFS_OPTIONS = {"root_permission": "777"}
FAST = {"hiveish.hdfs.retries": "2", "hiveish.hdfs.retry_backoff": "0.01", "hiveish.hdfs.retry_max_backoff": "0.02",
        "hiveish.hdfs.connect_timeout": "2", "hiveish.hdfs.timeout": "10"}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# HDFS "goes away" for writes: every DataNode write and every DELETE fails
OUTAGE = [{"kind": "error", "node": "datanode", "op": ["CREATE", "APPEND"], "status": 503, "count": -1},
          {"kind": "error", "node": "namenode", "op": "DELETE", "status": 503, "count": -1}]


@pytest.fixture
def base(hdfs: MiniHdfs, request: pytest.FixtureRequest) -> str:
    return hdfs.uri("/s/" + re.sub(r"[^\w.-]", "_", request.node.name))


@pytest.fixture
def fs(hdfs: MiniHdfs) -> WebHdfsFileSystem:
    out = filesystem_for(hdfs.uri("/"), FAST)
    assert isinstance(out, WebHdfsFileSystem)
    return out


def _session(base: str, tmp_path, **settings: str) -> Session:
    return Session(warehouse=base + "/warehouse", metastore=str(tmp_path / "metastore.db"),
                   settings={**FAST, **settings})


@pytest.fixture
def session(base: str, tmp_path) -> Iterator[Session]:
    with _session(base, tmp_path) as s:
        yield s


def _staging(fs: WebHdfsFileSystem, location: str) -> list[str]:
    return sorted(st.path.rsplit("/", 1)[1] for st in fs.list(location) if ".hive-staging" in st.path)


def _rows(s: Session) -> list[tuple]:
    out: list[tuple] = []
    for b in s.execute("SELECT k FROM t ORDER BY k").batches:
        out.extend(tuple(r.values()) for r in b.to_pylist())
    return out


def _fail_insert(s: Session, hdfs: MiniHdfs, fs: WebHdfsFileSystem, loc: str) -> str:
    """An INSERT failing during an outage; returns the staging directory it leaves."""
    hdfs.set_faults(OUTAGE)
    with pytest.raises(errors.Error) as ei:
        s.execute("INSERT INTO t VALUES (99)")
    assert "503" in ei.value.hive_message()
    hdfs.clear_faults()
    left = _staging(fs, loc)
    assert len(left) == 1, left
    return left[0]


def test_next_write_in_the_session_removes_what_a_failed_statement_left(session: Session, hdfs: MiniHdfs,
                                                                         fs: WebHdfsFileSystem, base: str) -> None:
    session.execute("CREATE TABLE t (k INT)")
    session.execute("INSERT INTO t VALUES (1)")
    loc = base + "/warehouse/t"
    _fail_insert(session, hdfs, fs, loc)
    assert _rows(session) == [(1,)]  # hidden from queries meanwhile
    session.execute("INSERT INTO t VALUES (2)")
    assert _staging(fs, loc) == []
    assert _rows(session) == [(1,), (2,)]


def test_next_session_removes_it(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    with _session(base, tmp_path) as a:
        a.execute("CREATE TABLE t (k INT)")
        loc = base + "/warehouse/t"
        fs.mkdirs(loc)
        _fail_insert(a, hdfs, fs, loc)
    with _session(base, tmp_path) as b:
        assert _staging(fs, loc) == []
        assert any("left by failed statements" in line for line in b.catalog.recovered), b.catalog.recovered
        assert _rows(b) == []


def test_another_sessions_write_removes_it_but_not_a_running_statements(
        hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    loc = base + "/warehouse/t"
    with _session(base, tmp_path) as a, _session(base, tmp_path) as b:
        a.execute("CREATE TABLE t (k INT)")
        fs.mkdirs(loc)
        failed = _fail_insert(a, hdfs, fs, loc)
        # a statement of `a` still writing: registered, its session alive
        running = loc + "/.hive-staging_hiveish_running"
        a.catalog.begin_staging(running)
        # one registered nowhere (another metastore's): kept until it is older than hiveish.staging.max_age
        foreign = loc + "/.hive-staging_hiveish_foreign"
        fs.mkdirs(foreign)
        b.execute("INSERT INTO t VALUES (5)")
        left = _staging(fs, loc)
        assert failed not in left and left == [".hive-staging_hiveish_foreign", ".hive-staging_hiveish_running"]
        b.execute("SET hiveish.staging.max_age=0")
        b.execute("INSERT INTO t VALUES (6)")
        assert _staging(fs, loc) == [".hive-staging_hiveish_running"]
        assert _rows(b) == [(5,), (6,)]


def test_another_process_running_statement_is_kept_until_it_dies(
        hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str, tmp_path) -> None:
    loc = base + "/warehouse/t"
    with _session(base, tmp_path) as s:
        s.execute("CREATE TABLE t (k INT)")
        fs.mkdirs(loc)
        staging = loc + "/.hive-staging_hiveish_otherprocess"
        code = ("import sys, time\nfrom hiveish.session import Session\n"
                f"s = Session(warehouse={base + '/warehouse'!r}, metastore={str(tmp_path / 'metastore.db')!r}, "
                f"settings={FAST!r})\n"
                f"s.catalog.begin_staging({staging!r})\nprint('ready', flush=True)\ntime.sleep(120)\n")
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO,
                                env={**os.environ, "PYTHONPATH": REPO})
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            s.execute("SET hiveish.staging.max_age=0")  # age is no reason to touch a live owner's
            s.execute("INSERT INTO t VALUES (1)")
            assert _staging(fs, loc) == [".hive-staging_hiveish_otherprocess"]
        finally:
            proc.kill()
            proc.wait()
        s.execute("INSERT INTO t VALUES (2)")  # its owner died: removed
        assert _staging(fs, loc) == []
        assert _rows(s) == [(1,), (2,)]


def _free_port() -> int:
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def test_server_stopped_mid_statement_then_back(tmp_path) -> None:
    """The real outage: the server process goes away while an INSERT writes; once it is back, the next
    write into the table removes the staging directory the failed INSERT could not."""
    root, ports = str(tmp_path / "root"), {"namenode_port": _free_port(), "datanode_port": _free_port()}
    opts = {**FAST, "hiveish.hdfs.write_buffer": "4096"}
    server = MiniHdfs(root, root_permission="777", **ports).start()
    try:
        with Session(warehouse=server.uri("/warehouse"), metastore=str(tmp_path / "ms.db"), settings=opts) as s:
            s.execute("CREATE TABLE t (k INT, v STRING)")
            s.execute("INSERT INTO t VALUES (1, 'a')")
            loc = server.uri("/warehouse/t")
            # the second APPEND of the next INSERT's file hangs; the server is stopped meanwhile
            server.set_faults({"kind": "delay", "op": "APPEND", "seconds": 30, "skip": 1})
            failure: list[BaseException] = []

            def insert() -> None:
                try:
                    s.execute("INSERT INTO t SELECT id, repeat('x', 50) FROM range(2000) AS r(id)")
                except BaseException as e:  # noqa: BLE001 - checked below
                    failure.append(e)

            worker = threading.Thread(target=insert)
            worker.start()
            deadline = time.monotonic() + 20
            while not any(r["fired"] for r in server.faults()):
                assert time.monotonic() < deadline, "the INSERT never reached its second APPEND"
                time.sleep(0.05)
            server.__exit__(None, None, None)  # the process stops
            worker.join(60)
            assert not worker.is_alive() and len(failure) == 1 and isinstance(failure[0], errors.Error)
            assert "Cannot reach HDFS" in failure[0].hive_message(), failure[0].hive_message()
            server = MiniHdfs(root, root_permission="777", **ports).start()
            fs = filesystem_for(loc, FAST)
            assert len(_staging(fs, loc)) == 1  # left behind: the cleanup could not reach HDFS either
            s.execute("INSERT INTO t VALUES (2, 'b')")
            assert _staging(fs, loc) == []
            assert _rows(s) == [(1,), (2,)]
    finally:
        server.__exit__(None, None, None)
