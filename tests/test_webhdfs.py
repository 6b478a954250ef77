"""WebHDFS storage against a real minihdfs subprocess on loopback.

The server (``python -m hiveish.minihdfs``) is started once per module; each
test works under its own directory.  Clients are the project's
``WebHdfsFileSystem`` and HdfsCLI's own clients.
"""

from __future__ import annotations

import errno
import getpass
import socket
import time
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import requests
from hdfs import HdfsError, InsecureClient, TokenClient

from catalog.fs import FileSystemError, filesystem_for
from catalog.fs.webhdfs import WebHdfsFileSystem, arrow_filesystem
from hiveish.minihdfs import MiniHdfs

BLOCK = 1024
MINIHDFS_OPTIONS = {"block_size": BLOCK}
SUPER = getpass.getuser()  # the user running the server is the HDFS superuser
# fast retries so fault tests stay quick
FAST = {"hiveish.hdfs.retries": 4, "hiveish.hdfs.retry_backoff": 0.01, "hiveish.hdfs.retry_max_backoff": 0.05,
        "hiveish.hdfs.connect_timeout": 2, "hiveish.hdfs.timeout": 10}


@pytest.fixture
def fs(hdfs: MiniHdfs) -> WebHdfsFileSystem:
    return WebHdfsFileSystem(hdfs.uri("/"), dict(FAST))


@pytest.fixture
def base(hdfs: MiniHdfs, request: pytest.FixtureRequest) -> str:
    """A fresh directory URI for this test."""
    return hdfs.uri(f"/tests/{request.node.name.replace('[', '_').rstrip(']')}")


def _payload(n: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


def _remote(res: requests.Response) -> dict[str, Any]:
    return res.json()["RemoteException"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# namespace and data through the FileSystem
# ---------------------------------------------------------------------------

def test_registered_schemes_and_uri_spelling(hdfs: MiniHdfs) -> None:
    for scheme in ("hdfs", "webhdfs"):
        root = hdfs.uri("/tests/schemes", scheme=scheme)
        fs = filesystem_for(root, FAST)
        assert isinstance(fs, WebHdfsFileSystem)
        assert fs is filesystem_for(root + "/other", FAST)  # cached per authority and options
        fs.write_bytes(root + f"/{scheme}.txt", b"hi")
        [st] = [s for s in fs.list(root) if s.path.endswith(f"{scheme}.txt")]
        assert st.path == f"{root}/{scheme}.txt"
    # a bare path with the namenode given as an option
    fs = filesystem_for("hdfs:///", {**FAST, "hiveish.hdfs.namenode": hdfs.namenode_url})
    assert fs.status("/tests/schemes/hdfs.txt").path == "/tests/schemes/hdfs.txt"
    assert fs.local_path("/tests/schemes/hdfs.txt") is None


def test_mkdirs_list_status(fs: WebHdfsFileSystem, base: str) -> None:
    fs.mkdirs(base + "/a/b/c")
    fs.mkdirs(base + "/a/b/c")  # idempotent
    fs.write_bytes(base + "/a/z.txt", b"12345")
    listing = fs.list(base + "/a")
    assert [s.path for s in listing] == [base + "/a/b", base + "/a/z.txt"]
    assert [s.is_dir for s in listing] == [True, False]
    st = fs.status(base + "/a/z.txt")
    assert (st.size, st.block_size, st.replication, st.permission) == (5, BLOCK, 1, "644")
    assert st.modification_time > time.time() - 3600
    assert fs.status(base + "/a/b").permission == "755"
    assert fs.is_dir(base + "/a") and not fs.is_dir(base + "/a/z.txt") and not fs.exists(base + "/nope")
    assert [s.path for s in fs.walk_files(base)] == [base + "/a/z.txt"]
    with pytest.raises(FileNotFoundError):
        fs.list(base + "/a/z.txt")
    with pytest.raises(FileExistsError):
        fs.mkdirs(base + "/a/z.txt")
    # the sidecar directory is not part of the namespace
    assert ".minihdfs" not in [s.path.rsplit("/", 1)[1] for s in fs.list(fs.prefix + "/")]


def test_write_append_and_ranged_reads(hdfs: MiniHdfs, base: str) -> None:
    fs = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.read_buffer": 1000})
    data = _payload(5000)
    with fs.open_write(base + "/f.bin") as w:
        for i in range(0, len(data), 777):
            w.write(data[i:i + 777])
    assert fs.read_bytes(base + "/f.bin") == data
    assert fs.read_range(base + "/f.bin", 1234, 100) == data[1234:1334]
    assert fs.read_range(base + "/f.bin", 4990, 100) == data[4990:]
    assert fs.read_range(base + "/f.bin", 5000, 10) == b""

    hdfs.reset_stats()
    with fs.open_read(base + "/f.bin") as r:
        assert r.seekable()
        assert r.read(10) == data[:10]
        assert r.read(500) == data[10:510]          # served from the 1000-byte buffer
        r.seek(-100, 2)
        assert r.tell() == 4900
        assert r.read() == data[4900:]
        r.seek(2000)
        assert r.read(3000) == data[2000:]          # a read larger than the buffer
        assert r.read(1) == b""
    opens = hdfs.stats()["datanode"]["OPEN"]
    assert opens == 3

    fs.append_bytes(base + "/f.bin", b"tail")
    assert fs.read_bytes(base + "/f.bin") == data + b"tail"
    with pytest.raises(FileNotFoundError):
        fs.append_bytes(base + "/missing.bin", b"x")
    with pytest.raises(FileExistsError):
        fs.open_write(base + "/f.bin", overwrite=False)
    fs.write_bytes(base + "/f.bin", b"new")  # overwrite
    assert fs.read_bytes(base + "/f.bin") == b"new"
    with fs.open_write(base + "/empty.bin"):
        pass
    assert fs.status(base + "/empty.bin").size == 0

    # an exception inside the block does not leave a half-written file behind
    with pytest.raises(RuntimeError), fs.open_write(base + "/aborted.bin") as w:
        w.write(b"partial")
        raise RuntimeError("boom")
    assert not fs.exists(base + "/aborted.bin")


def test_big_write_is_create_then_appends(hdfs: MiniHdfs, base: str) -> None:
    fs = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.write_buffer": 4096})
    data = _payload(10_000)
    fs.mkdirs(base)  # into a missing directory the CREATE (createparent=false) is refused once, then redone
    hdfs.reset_stats()
    fs.write_bytes(base + "/big.bin", data)
    dn = hdfs.stats()["datanode"]
    assert (dn.get("CREATE"), dn.get("APPEND")) == (1, 2)
    assert fs.read_bytes(base + "/big.bin") == data
    hdfs.reset_stats()
    with fs.open_write(base + "/big2.bin") as w:
        w.write(data)
    assert hdfs.stats()["datanode"].get("APPEND") == 2
    assert fs.read_bytes(base + "/big2.bin") == data


def test_rename_is_atomic_and_refuses_existing(fs: WebHdfsFileSystem, base: str) -> None:
    fs.write_bytes(base + "/src/part-0", b"a")
    fs.write_bytes(base + "/taken", b"b")
    fs.rename(base + "/src", base + "/deep/dst")  # parents of the destination are created
    assert fs.read_bytes(base + "/deep/dst/part-0") == b"a"
    assert not fs.exists(base + "/src")
    with pytest.raises(FileExistsError):
        fs.rename(base + "/deep/dst/part-0", base + "/taken")
    with pytest.raises(FileExistsError):
        fs.rename(base + "/taken", base + "/deep/dst")  # no moving *into* an existing directory
    with pytest.raises(FileNotFoundError):
        fs.rename(base + "/nope", base + "/other")
    assert fs.read_bytes(base + "/taken") == b"b"


def test_delete(fs: WebHdfsFileSystem, base: str) -> None:
    fs.write_bytes(base + "/d/x", b"1")
    with pytest.raises(FileSystemError) as ei:
        fs.delete(base + "/d")
    assert ei.value.errno == errno.ENOTEMPTY
    assert fs.delete(base + "/d/x") is True
    assert fs.delete(base + "/d") is True
    assert fs.delete(base + "/d") is False
    fs.write_bytes(base + "/e/f/g", b"1")
    assert fs.delete(base + "/e", recursive=True) is True
    assert not fs.exists(base + "/e/f/g")


def test_content_summary(fs: WebHdfsFileSystem, base: str) -> None:
    fs.write_bytes(base + "/a/1", b"x" * 10)
    fs.write_bytes(base + "/a/b/2", b"y" * 20)
    fs.mkdirs(base + "/a/c")
    cs = fs.content_summary(base + "/a")
    assert (cs["directoryCount"], cs["fileCount"], cs["length"], cs["spaceConsumed"]) == (3, 2, 30, 30)
    assert (cs["quota"], cs["spaceQuota"]) == (-1, -1)


def test_block_locations(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str) -> None:
    fs.write_bytes(base + "/blocks.bin", _payload(3 * BLOCK + 100))
    blocks = fs.block_locations(base + "/blocks.bin")
    assert [(b.offset, b.length) for b in blocks] == [(0, BLOCK), (BLOCK, BLOCK), (2 * BLOCK, BLOCK),
                                                      (3 * BLOCK, 100)]
    assert all(b.hosts == ("127.0.0.1",) for b in blocks)
    some = fs.block_locations(base + "/blocks.bin", offset=BLOCK + 5, length=BLOCK)
    assert [b.offset for b in some] == [BLOCK, 2 * BLOCK]

    hp = base.split(str(hdfs.namenode_port), 1)[1] + "/blocks.bin"
    raw = requests.get(f"{hdfs.namenode_url}/webhdfs/v1{hp}?op=GETFILEBLOCKLOCATIONS").json()
    first = raw["BlockLocations"]["BlockLocation"][0]
    assert set(first) >= {"hosts", "names", "offset", "length", "topologyPaths", "storageTypes", "corrupt"}
    assert first["names"] == [f"127.0.0.1:{hdfs.datanode_port}"]
    located = requests.get(f"{hdfs.namenode_url}/webhdfs/v1{hp}?op=GET_BLOCK_LOCATIONS").json()["LocatedBlocks"]
    assert located["fileLength"] == 3 * BLOCK + 100
    assert [b["startOffset"] for b in located["locatedBlocks"]] == [0, BLOCK, 2 * BLOCK, 3 * BLOCK]
    assert located["lastLocatedBlock"]["block"]["numBytes"] == 100

    # a NameNode without GETFILEBLOCKLOCATIONS (older Hadoop): fall back to GET_BLOCK_LOCATIONS
    hdfs.set_faults({"kind": "error", "node": "namenode", "op": "GETFILEBLOCKLOCATIONS", "status": 400,
                     "exception": "IllegalArgumentException",
                     "message": 'Invalid value for webhdfs parameter "op": No enum constant '
                                "org.apache.hadoop.hdfs.web.resources.GetOpParam.Op.GETFILEBLOCKLOCATIONS"})
    assert fs.block_locations(base + "/blocks.bin") == blocks


# ---------------------------------------------------------------------------
# the wire protocol
# ---------------------------------------------------------------------------

def test_two_step_redirects(hdfs: MiniHdfs) -> None:
    nn, dn = hdfs.namenode_url, hdfs.datanode_url
    url = f"{nn}/webhdfs/v1/tests/redirects/f.txt"
    requests.put(f"{nn}/webhdfs/v1/tests/redirects", params={"op": "MKDIRS", "user.name": SUPER})
    requests.put(f"{nn}/webhdfs/v1/tests/redirects", params={"op": "SETOWNER", "owner": "alice",
                                                              "user.name": SUPER}).raise_for_status()
    res = requests.put(url, params={"op": "CREATE", "user.name": "alice"}, allow_redirects=False)
    assert res.status_code == 307 and res.content == b""
    loc = res.headers["Location"]
    assert loc.startswith(dn + "/webhdfs/v1/tests/redirects/f.txt?") and "op=CREATE" in loc
    put = requests.put(loc, data=b"hello ")
    assert put.status_code == 201
    assert put.headers["Location"] == f"hdfs://127.0.0.1:{hdfs.namenode_port}/tests/redirects/f.txt"

    res = requests.post(url, params={"op": "APPEND", "user.name": "alice"}, allow_redirects=False)
    assert res.status_code == 307 and res.headers["Location"].startswith(dn)
    assert requests.post(res.headers["Location"], data=b"world").status_code == 200

    res = requests.get(url, params={"op": "OPEN", "offset": 2, "length": 7}, allow_redirects=False)
    assert res.status_code == 307 and res.headers["Location"].startswith(dn)
    followed = requests.get(url, params={"op": "OPEN", "offset": 2, "length": 7})
    assert [r.status_code for r in followed.history] == [307]
    assert followed.headers["Content-Type"] == "application/octet-stream"
    assert followed.content == b"llo wor"

    res = requests.get(url, params={"op": "OPEN", "noredirect": "true"})
    assert res.status_code == 200 and res.json()["Location"].startswith(dn)

    st = requests.get(url, params={"op": "GETFILESTATUS"}).json()["FileStatus"]
    assert (st["owner"], st["length"], st["type"], st["pathSuffix"]) == ("alice", 11, "FILE", "")


def test_remote_exception_shapes(hdfs: MiniHdfs) -> None:
    nn = hdfs.namenode_url + "/webhdfs/v1/tests/shapes"
    su = {"user.name": SUPER}
    requests.put(nn + "/d", params={"op": "MKDIRS", **su})
    requests.put(nn + "/d/f", params={"op": "CREATE", **su}).raise_for_status()  # redirect followed

    res = requests.get(nn + "/missing", params={"op": "GETFILESTATUS"})
    assert res.status_code == 404 and res.headers["Content-Type"] == "application/json"
    assert _remote(res) == {"exception": "FileNotFoundException", "javaClassName": "java.io.FileNotFoundException",
                            "message": "File does not exist: /tests/shapes/missing"}
    res = requests.get(nn + "/missing", params={"op": "OPEN"})
    assert res.status_code == 404 and _remote(res)["exception"] == "FileNotFoundException"

    res = requests.get(nn, params={"op": "NOSUCHOP"})
    assert res.status_code == 400
    assert _remote(res)["javaClassName"] == "java.lang.IllegalArgumentException"
    assert "GetOpParam.Op.NOSUCHOP" in _remote(res)["message"]
    res = requests.put(nn + "/d", params={"op": "SETPERMISSION", "permission": "999", **su})
    assert res.status_code == 400 and _remote(res)["exception"] == "IllegalArgumentException"

    res = requests.put(nn + "/d/f", params={"op": "CREATE", "overwrite": "false", **su})
    assert res.status_code == 403 and [r.status_code for r in res.history] == [307]
    assert _remote(res)["javaClassName"] == "org.apache.hadoop.fs.FileAlreadyExistsException"

    res = requests.delete(nn + "/d", params={"op": "DELETE", "recursive": "false", **su})
    assert res.status_code == 403
    assert _remote(res)["exception"] == "PathIsNotEmptyDirectoryException"

    res = requests.put(nn + "/d/f/g", params={"op": "MKDIRS", **su})
    assert res.status_code == 403 and _remote(res)["exception"] == "ParentNotDirectoryException"

    res = requests.put(nn + "/d", params={"op": "MKDIRS", "user.name": "mallory"})
    assert res.json() == {"boolean": True}  # exists already: nothing to check
    res = requests.put(nn + "/d/new", params={"op": "MKDIRS", "user.name": "mallory"})
    assert res.status_code == 403
    assert _remote(res)["javaClassName"] == "org.apache.hadoop.security.AccessControlException"
    assert _remote(res)["message"].startswith("Permission denied: user=mallory, access=WRITE")

    assert requests.put(nn + "/d/f", params={"op": "RENAME", "destination": "/nowhere/x", **su}).json() == \
        {"boolean": False}
    assert requests.delete(nn + "/missing", params={"op": "DELETE"}).json() == {"boolean": False}
    res = requests.get(hdfs.namenode_url + "/not-webhdfs")
    assert res.status_code == 404


def test_hdfscli_client(hdfs: MiniHdfs) -> None:
    client = InsecureClient(hdfs.namenode_url, user="alice", root="/tests/hdfscli")
    InsecureClient(hdfs.namenode_url, user=SUPER).makedirs("/tests/hdfscli")
    InsecureClient(hdfs.namenode_url, user=SUPER).set_owner("/tests/hdfscli", owner="alice")
    client.makedirs("dir/sub", permission="750")
    client.write("dir/a.txt", data=b"0123456789")
    with client.write("dir/b.txt", encoding="utf-8") as w:  # streamed: chunked transfer encoding
        for i in range(100):
            w.write(f"line {i}\n")
    client.write("dir/a.txt", data=b"ab", append=True)
    with client.read("dir/a.txt", offset=3, length=5) as r:
        assert r.read() == b"34567"
    with client.read("dir/b.txt", encoding="utf-8") as r:
        assert r.read().splitlines()[99] == "line 99"
    assert client.list("dir") == ["a.txt", "b.txt", "sub"]
    assert client.status("dir/sub")["permission"] == "750"
    assert client.status("dir/a.txt")["length"] == 12
    assert client.content("dir")["fileCount"] == 2
    client.rename("dir/a.txt", "dir/sub")  # HDFS rename into an existing directory
    assert client.list("dir/sub") == ["a.txt"]
    client.set_permission("dir/sub/a.txt", "600")
    assert client.status("dir/sub/a.txt")["permission"] == "600"
    assert client.checksum("dir/sub/a.txt")["length"] == 28
    with pytest.raises(HdfsError) as ei:
        client.status("dir/nope")
    assert ei.value.exception == "FileNotFoundException"
    assert client.status("dir/nope", strict=False) is None
    assert client.delete("dir", recursive=True) is True
    assert client.delete("dir") is False


def test_permissions_owners_and_tokens(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str) -> None:
    fs.mkdirs(base + "/home")
    fs.set_owner(base + "/home", owner="alice", group="analysts")
    fs.set_permission(base + "/home", "750")
    st = fs.status(base + "/home")
    assert (st.owner, st.group, st.permission) == ("alice", "analysts", "750")

    alice = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.user": "alice"})
    bob = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.user": "bob"})
    alice.write_bytes(base + "/home/mine.txt", b"secret")
    st = fs.status(base + "/home/mine.txt")
    assert (st.owner, st.group, st.permission) == ("alice", "analysts", "644")

    with pytest.raises(PermissionError) as ei:
        bob.read_bytes(base + "/home/mine.txt")  # no EXECUTE on /home
    assert "user=bob" in str(ei.value) and str(hdfs.namenode_port) in str(ei.value)
    with pytest.raises(PermissionError):
        bob.write_bytes(base + "/home/bobs.txt", b"x")
    with pytest.raises(PermissionError):
        bob.set_permission(base + "/home", "777")
    with pytest.raises(PermissionError):
        alice.set_owner(base + "/home/mine.txt", owner="bob")  # only the superuser gives files away
    alice.set_permission(base + "/home", "755")
    assert bob.read_bytes(base + "/home/mine.txt") == b"secret"

    # a delegation token stands for the user it was issued to
    token = requests.get(hdfs.namenode_url + "/webhdfs/v1/", params={
        "op": "GETDELEGATIONTOKEN", "user.name": "alice"}).json()["Token"]["urlString"]
    via_token = filesystem_for(hdfs.uri("/"), {**FAST, "hiveish.hdfs.token": token})
    assert isinstance(via_token.client, TokenClient)
    via_token.write_bytes(base + "/home/by-token.txt", b"t")
    assert fs.status(base + "/home/by-token.txt").owner == "alice"
    bad = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.token": "not-a-token"})
    with pytest.raises(PermissionError):
        bad.status(base + "/home")


def test_alias_and_kerberos_options(hdfs: MiniHdfs, tmp_path: Any) -> None:
    cfg = tmp_path / "hdfscli.cfg"
    cfg.write_text(f"[global]\ndefault.alias = dev\n\n[dev.alias]\nurl = {hdfs.namenode_url}\nuser = alice\n")
    fs = WebHdfsFileSystem("hdfs://dev/", {"hiveish.hdfs.alias": "dev", "hiveish.hdfs.config": str(cfg)})
    assert fs.namenodes == [hdfs.namenode_url]
    assert fs.status("hdfs://dev/").is_dir
    try:
        import requests_kerberos  # noqa: F401
    except ImportError:
        with pytest.raises(FileSystemError, match="requests-kerberos"):
            WebHdfsFileSystem(hdfs.uri("/"), {"hiveish.hdfs.auth": "kerberos"})


def test_metadata_persists_and_cli_fault_flags(tmp_path: Any) -> None:
    root = str(tmp_path / "persist")
    with MiniHdfs(root, block_size=BLOCK) as first:
        fs = WebHdfsFileSystem(first.uri("/"), FAST)
        fs.write_bytes(first.uri("/p/f.bin"), _payload(3000))
        fs.set_owner(first.uri("/p/f.bin"), owner="carol", group="g")
        fs.set_permission(first.uri("/p/f.bin"), "640")
        fs.rename(first.uri("/p"), first.uri("/q"))
        assert first.proc is not None
        first.proc.kill()  # no clean shutdown: the metadata journal must carry the changes
        first.proc.wait(5)
    with MiniHdfs(root, extra_args=("--reset-reads", "1", "--reset-after-bytes", "100")) as second:
        fs = WebHdfsFileSystem(second.uri("/"), FAST)
        st = fs.status(second.uri("/q/f.bin"))
        assert (st.owner, st.group, st.permission, st.block_size) == ("carol", "g", "640", BLOCK)
        assert fs.read_bytes(second.uri("/q/f.bin")) == _payload(3000)  # first read is reset, retried
        assert second.stats()["datanode"]["_fault_reset"] == 1


# ---------------------------------------------------------------------------
# pyarrow
# ---------------------------------------------------------------------------

def test_parquet_round_trip_through_pyfilesystem(hdfs: MiniHdfs, base: str) -> None:
    fs = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.read_buffer": 4096,
                                           "hiveish.hdfs.write_buffer": 8192})
    pyfs = arrow_filesystem(fs)
    assert isinstance(pyfs, pafs.PyFileSystem) and pyfs.type_name == "py::webhdfs"
    table = pa.table({"id": pa.array(range(5000), pa.int64()),
                      "name": pa.array([f"row-{i}" for i in range(5000)]),
                      "x": pa.array([i * 0.5 for i in range(5000)])})
    d = base.split(str(hdfs.namenode_port), 1)[1] + "/t"
    pyfs.create_dir(d + "/dt=1")
    pq.write_table(table.slice(0, 3000), d + "/dt=1/part-0.parquet", filesystem=pyfs, row_group_size=1000)
    pq.write_table(table.slice(3000), f"{d}/dt=2/part-0.parquet", filesystem=pyfs)
    assert fs.status(base + "/t/dt=1/part-0.parquet").size > 8192  # uploaded as CREATE + APPENDs

    back = pq.read_table(d + "/dt=1/part-0.parquet", filesystem=pyfs)
    assert back.equals(table.slice(0, 3000))
    dataset = pads.dataset(d, filesystem=pyfs, format="parquet", partitioning="hive")
    got = dataset.to_table().sort_by("id")
    assert got.column("id").to_pylist() == list(range(5000))
    assert got.column("name").equals(table.column("name"))
    filtered = dataset.to_table(filter=pads.field("dt") == 2, columns=["id"])
    assert filtered.num_rows == 2000

    infos = pyfs.get_file_info(pafs.FileSelector(d, recursive=True))
    assert sorted(i.path for i in infos if i.type == pafs.FileType.File) == [
        f"{d}/dt=1/part-0.parquet", f"{d}/dt=2/part-0.parquet"]
    assert pyfs.get_file_info(d + "/nope").type == pafs.FileType.NotFound
    pyfs.move(f"{d}/dt=2/part-0.parquet", f"{d}/dt=2/part-1.parquet")
    pyfs.copy_file(f"{d}/dt=2/part-1.parquet", f"{d}/copy.parquet")
    assert pq.read_table(f"{d}/copy.parquet", filesystem=pyfs).num_rows == 2000
    with pyfs.open_append_stream(f"{d}/log.txt") as out:
        out.write(b"one\n")
    with pyfs.open_append_stream(f"{d}/log.txt") as out:
        out.write(b"two\n")
    assert fs.read_bytes(base + "/t/log.txt") == b"one\ntwo\n"
    pyfs.delete_dir_contents(d)
    assert fs.list(base + "/t") == []


# ---------------------------------------------------------------------------
# faults
# ---------------------------------------------------------------------------

def test_transient_503_is_retried(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str) -> None:
    data = _payload(3000)
    fs.write_bytes(base + "/f.bin", data)
    hdfs.reset_stats()
    hdfs.set_faults([{"kind": "error", "node": "datanode", "op": "OPEN", "status": 503, "count": 2},
                     {"kind": "error", "node": "namenode", "op": "GETFILESTATUS", "status": 503, "count": 1}])
    assert fs.read_range(base + "/f.bin", 100, 2000) == data[100:2100]
    assert fs.status(base + "/f.bin").size == 3000
    stats = hdfs.stats()
    assert stats["datanode"]["_fault_error"] == 2 and stats["datanode"]["OPEN"] == 3
    assert stats["namenode"]["_fault_error"] == 1

    # a failed datanode upload is redone from the first step
    hdfs.set_faults({"kind": "error", "node": "datanode", "op": "CREATE", "status": 503, "count": 1})
    fs.write_bytes(base + "/g.bin", data)
    assert fs.read_bytes(base + "/g.bin") == data


def test_connection_reset_mid_read_is_retried(hdfs: MiniHdfs, base: str) -> None:
    fs = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.read_buffer": 1 << 20})
    data = _payload(200_000)
    fs.write_bytes(base + "/f.bin", data)
    hdfs.reset_stats()
    hdfs.set_faults({"kind": "reset", "node": "datanode", "op": "OPEN", "after_bytes": 5000, "count": 2})
    with fs.open_read(base + "/f.bin") as r:
        r.seek(1000)
        assert r.read(150_000) == data[1000:151_000]
    assert hdfs.stats()["datanode"]["_fault_reset"] == 2


def test_slow_datanode_times_out_and_is_retried(hdfs: MiniHdfs, base: str) -> None:
    fs = WebHdfsFileSystem(hdfs.uri("/"), {**FAST, "hiveish.hdfs.timeout": 0.3})
    fs.write_bytes(base + "/f.bin", b"patience")
    hdfs.set_faults({"kind": "delay", "node": "datanode", "op": "OPEN", "seconds": 1.0, "count": 1})
    started = time.monotonic()
    assert fs.read_bytes(base + "/f.bin") == b"patience"
    assert time.monotonic() - started < 1.0  # gave up on the slow answer, did not wait it out


def test_persistent_500_names_path_and_host(hdfs: MiniHdfs, fs: WebHdfsFileSystem, base: str) -> None:
    fs.write_bytes(base + "/f.bin", b"data")
    hdfs.set_faults({"kind": "error", "node": "datanode", "status": 500, "count": -1})
    with pytest.raises(FileSystemError) as ei:
        fs.read_bytes(base + "/f.bin")
    msg = str(ei.value)
    assert base + "/f.bin" in msg
    assert f"127.0.0.1:{hdfs.namenode_port}" in msg and f"127.0.0.1:{hdfs.datanode_port}" in msg
    assert "500" in msg and "5 attempts" in msg
    assert [r["fired"] for r in hdfs.faults()] == [5]


def test_unreachable_namenode(hdfs: MiniHdfs) -> None:
    port = _free_port()
    fs = filesystem_for(f"hdfs://127.0.0.1:{port}/x", FAST)
    started = time.monotonic()
    with pytest.raises(FileSystemError) as ei:
        fs.status(f"hdfs://127.0.0.1:{port}/x/y")
    assert time.monotonic() - started < 5
    msg = str(ei.value)
    assert f"127.0.0.1:{port}" in msg and f"hdfs://127.0.0.1:{port}/x/y" in msg and "Cannot reach" in msg
    assert not isinstance(ei.value, FileNotFoundError)

    # with an HA pair, the dead namenode is skipped
    ha = WebHdfsFileSystem("hdfs://nameservice1/", {
        **FAST, "hiveish.hdfs.namenode": f"http://127.0.0.1:{port};{hdfs.namenode_url}"})
    ha.mkdirs("hdfs://nameservice1/tests/ha")
    assert ha.status("hdfs://nameservice1/tests/ha").is_dir
