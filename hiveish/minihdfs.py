"""A WebHDFS-protocol server over a local directory, for tests and trials.

Run it the way an HDFS cluster is started, as its own process::

    python -m hiveish.minihdfs --root DIR [--namenode-port N] [--datanode-port M]
                               [--block-size B] [--host 127.0.0.1]

It serves DIR through two HTTP endpoints built on :mod:`http.server`: a
NameNode (namespace operations, and the first step of CREATE/APPEND/OPEN,
which answers ``307 Temporary Redirect`` to the DataNode) and a DataNode (the
data itself), following Hadoop's WebHDFS REST API: ``/webhdfs/v1/<path>?op=...``
with JSON bodies (``FileStatus``, ``FileStatuses``, ``ContentSummary``,
``BlockLocations``, ``LocatedBlocks``, ``boolean``, ``Path``, ``Token``) and
errors as ``{"RemoteException": {"exception", "javaClassName", "message"}}``
with Hadoop's status codes (400 IllegalArgument, 401 Security, 403 IOException
and its subclasses such as AccessControl/FileAlreadyExists, 404 FileNotFound,
500 Runtime).  Owners, groups, permissions, replication and block sizes are kept
in ``DIR/.minihdfs/meta.json``, hidden from the namespace.  HDFS-style
permission checks apply unless ``--no-permissions``; the user that starts the
server is the superuser.

Fault injection (for tests) is set on the NameNode's control endpoint::

    PUT /_minihdfs/faults  [{"kind": "error", "node": "datanode", "status": 503, "count": 2}, ...]

Rules have ``kind`` ``error`` (answer ``status``), ``reset`` (send
``after_bytes`` of the body, then reset the connection), ``delay`` (sleep
``seconds`` first) or ``late`` (a DataNode CREATE/APPEND reads the whole body,
waits ``seconds``, then applies the write anyway: with ``seconds`` past the
client's timeout, the write lands after the client gave up on it; for other
requests, the same as ``delay``); optional ``node`` (``namenode``/``datanode``/``any``,
default datanode), ``op`` (name or list), ``path`` (prefix), ``skip`` (let the
first N matching requests through) and ``count`` (default 1, -1 = every request).  ``GET``/``DELETE /_minihdfs/faults`` read or
clear them; ``GET``/``DELETE /_minihdfs/stats`` read or reset request counters.

:class:`MiniHdfs` starts the server as a subprocess for tests.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

WEBHDFS_PREFIX = "/webhdfs/v1"
CONTROL_PREFIX = "/_minihdfs"
META_DIR = ".minihdfs"
SUPERGROUP = "supergroup"
DEFAULT_BLOCK_SIZE = 128 << 20
_IO_CHUNK = 1 << 20

# exception simple name -> (javaClassName, HTTP status), as Hadoop's ExceptionHandler maps them
_EXCEPTIONS: dict[str, tuple[str, int]] = {
    "IllegalArgumentException": ("java.lang.IllegalArgumentException", 400),
    "HadoopIllegalArgumentException": ("org.apache.hadoop.HadoopIllegalArgumentException", 400),
    "UnsupportedOperationException": ("java.lang.UnsupportedOperationException", 400),
    "SecurityException": ("java.lang.SecurityException", 401),
    "IOException": ("java.io.IOException", 403),
    "AccessControlException": ("org.apache.hadoop.security.AccessControlException", 403),
    "FileAlreadyExistsException": ("org.apache.hadoop.fs.FileAlreadyExistsException", 403),
    "ParentNotDirectoryException": ("org.apache.hadoop.fs.ParentNotDirectoryException", 403),
    "PathIsNotEmptyDirectoryException": ("org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", 403),
    "InvalidToken": ("org.apache.hadoop.security.token.SecretManager$InvalidToken", 403),
    "RetriableException": ("org.apache.hadoop.ipc.RetriableException", 403),
    "StandbyException": ("org.apache.hadoop.ipc.StandbyException", 403),
    "FileNotFoundException": ("java.io.FileNotFoundException", 404),
    "RuntimeException": ("java.lang.RuntimeException", 500),
}

_OP_CLASS = {"GET": "GetOpParam", "PUT": "PutOpParam", "POST": "PostOpParam", "DELETE": "DeleteOpParam"}


class RemoteError(Exception):
    """An error answered to the client as a WebHDFS ``RemoteException``."""

    def __init__(self, exception: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        java, default_status = _EXCEPTIONS.get(exception, (f"java.io.{exception}", 403))
        self.exception = exception
        self.java_class = java
        self.message = message
        self.status = status if status is not None else default_status

    def body(self) -> dict[str, Any]:
        return {"RemoteException": {"exception": self.exception, "javaClassName": self.java_class,
                                    "message": self.message}}


def _illegal(name: str, value: str, why: str) -> RemoteError:
    return RemoteError("IllegalArgumentException", f'Invalid value for webhdfs parameter "{name}": {why}')


# ---------------------------------------------------------------------------
# query parameters
# ---------------------------------------------------------------------------

def _bool_param(q: dict[str, str], name: str, default: bool) -> bool:
    v = q.get(name)
    if v is None or v == "":
        return default
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _illegal(name, v, f'Failed to parse "{v}" to Boolean.')


def _long_param(q: dict[str, str], name: str, default: int | None, minimum: int | None = None) -> int | None:
    v = q.get(name)
    if v is None or v == "" or v.lower() == "null":
        return default
    try:
        n = int(v)
    except ValueError:
        raise _illegal(name, v, f'Failed to parse "{v}" as a radix-10 long integer.') from None
    if minimum is not None and n < minimum:
        raise _illegal(name, v, f"Invalid parameter range: {name} = {n} < {minimum}")
    return n


def _perm_param(q: dict[str, str], name: str, default: int) -> int:
    v = q.get(name)
    if v is None or v == "":
        return default
    if not re.fullmatch(r"[0-1]?[0-7]?[0-7]?[0-7]", v):
        raise _illegal(name, v, f'Invalid value: "{v}" does not belong to the domain ^[0-1]?[0-7]?[0-7]?[0-7]$')
    return int(v, 8)


def _mode_string(perm: int, is_dir: bool) -> str:
    out = "d" if is_dir else "-"
    for shift in (6, 3, 0):
        bits = (perm >> shift) & 7
        out += ("r" if bits & 4 else "-") + ("w" if bits & 2 else "-") + ("x" if bits & 1 else "-")
    if perm & 0o1000:
        out = out[:-1] + ("t" if perm & 1 else "T")
    return out


def _blocks(size: int, block_size: int, offset: int, length: int | None) -> list[tuple[int, int]]:
    """(offset, length) of the blocks of a `size`-byte file overlapping [offset, offset+length)."""
    if size <= 0 or offset >= size:
        return []
    end = size if length is None else min(size, offset + max(length, 1))
    out = []
    start = (offset // block_size) * block_size
    while start < end:
        out.append((start, min(block_size, size - start)))
        start += block_size
    return out


# ---------------------------------------------------------------------------
# the namespace: a directory tree plus a metadata sidecar
# ---------------------------------------------------------------------------

class Namespace:
    """Files and directories under `root`, with HDFS metadata and permission checks."""

    def __init__(self, root: str, *, block_size: int = DEFAULT_BLOCK_SIZE, replication: int = 1,
                 superuser: str | None = None, root_permission: int = 0o755, permissions: bool = True) -> None:
        self.root = os.path.abspath(root)
        self.block_size = block_size
        self.replication = replication
        self.superuser = superuser or getpass.getuser()
        self.root_permission = root_permission
        self.permissions = permissions
        self.lock = threading.RLock()
        self.meta_dir = os.path.join(self.root, META_DIR)
        self.tmp_dir = os.path.join(self.meta_dir, "tmp")
        self.meta_file = os.path.join(self.meta_dir, "meta.json")
        os.makedirs(self.tmp_dir, exist_ok=True)
        for name in os.listdir(self.tmp_dir):  # leftovers of a killed server
            try:
                os.remove(os.path.join(self.tmp_dir, name))
            except OSError:
                pass
        self.meta_log = os.path.join(self.meta_dir, "meta.log")
        self.meta: dict[str, dict[str, Any]] = {}
        if os.path.exists(self.meta_file):
            with open(self.meta_file, encoding="utf-8") as f:
                self.meta = json.load(f)
        if os.path.exists(self.meta_log):
            with open(self.meta_log, encoding="utf-8") as f:
                for line in f:
                    try:
                        self._apply(json.loads(line))
                    except ValueError:  # a torn last line from a killed server
                        break
        self._log: Any = None
        self.save()

    # -- paths ---------------------------------------------------------------
    @staticmethod
    def normalize(raw: str) -> str:
        """An absolute, normalized HDFS path; rejects relative paths, '.', '..' and the sidecar."""
        if not raw.startswith("/"):
            raise RemoteError("IllegalArgumentException", f"Invalid path name {raw}: path must be absolute")
        parts = [p for p in raw.split("/") if p]
        for p in parts:
            if p in (".", "..") or ":" in p:
                raise RemoteError("IllegalArgumentException", f"Invalid path name Invalid file name: {raw}")
        if parts and parts[0] == META_DIR:
            raise RemoteError("AccessControlException", f"Permission denied: {raw} is reserved by minihdfs")
        return "/" + "/".join(parts)

    def real(self, hp: str) -> str:
        return self.root if hp == "/" else os.path.join(self.root, hp[1:])

    @staticmethod
    def parent(hp: str) -> str:
        return hp.rsplit("/", 1)[0] or "/"

    @staticmethod
    def ancestors(hp: str) -> list[str]:
        """Proper ancestors of `hp`, root first."""
        out = ["/"]
        parts = [p for p in hp.split("/") if p]
        for i in range(1, len(parts)):
            out.append("/" + "/".join(parts[:i]))
        return out if hp != "/" else []

    def kind(self, hp: str) -> str | None:
        """'FILE', 'DIRECTORY' or None."""
        real = self.real(hp)
        if os.path.isdir(real):
            return "DIRECTORY"
        if os.path.isfile(real):
            return "FILE"
        return None

    def require(self, hp: str, kind: str | None = None, what: str = "File") -> str:
        k = self.kind(hp)
        if k is None:
            raise RemoteError("FileNotFoundException", f"{what} does not exist: {hp}")
        if kind == "FILE" and k != "FILE":
            raise RemoteError("FileNotFoundException", f"Path is not a file: {hp}")
        return k

    def check_parents_are_dirs(self, hp: str) -> None:
        for a in self.ancestors(hp):
            if self.kind(a) == "FILE":
                raise RemoteError("ParentNotDirectoryException", f"{a} (is not a directory)")

    def nearest_existing(self, hp: str) -> str:
        while self.kind(hp) is None and hp != "/":
            hp = self.parent(hp)
        return hp

    # -- metadata ------------------------------------------------------------
    def inode(self, hp: str) -> dict[str, Any]:
        is_dir = self.kind(hp) == "DIRECTORY"
        m = self.meta.get(hp, {})
        if hp == "/":
            default_perm = self.root_permission
        else:
            default_perm = 0o755 if is_dir else 0o644
        return {
            "owner": m.get("owner", self.superuser),
            "group": m.get("group", SUPERGROUP),
            "permission": int(m.get("permission", oct(default_perm)[2:]), 8),
            "replication": m.get("replication", self.replication),
            "blockSize": m.get("blockSize", self.block_size),
        }

    def _apply(self, rec: dict[str, Any]) -> None:
        """Apply one journal record: {"set": path, "v": entry}, {"move": [src, dst]} or {"drop": path}."""
        if "set" in rec:
            self.meta[rec["set"]] = rec["v"]
            return
        if "move" in rec:
            src, dst = rec["move"]
            self._drop(dst)
            moved = {dst + k[len(src):]: self.meta.pop(k)
                     for k in list(self.meta) if k == src or k.startswith(src + "/")}
            self.meta.update(moved)
        elif "drop" in rec:
            self._drop(rec["drop"])

    def _drop(self, hp: str) -> None:
        for k in list(self.meta):
            if hp == "/" or k == hp or k.startswith(hp + "/"):
                del self.meta[k]

    def _record(self, rec: dict[str, Any]) -> None:
        """Apply a metadata change and append it to the journal (compacted by save())."""
        with self.lock:
            self._apply(rec)
            if self._log is not None:
                self._log.write(json.dumps(rec) + "\n")
                self._log.flush()

    def put_meta(self, hp: str, entry: dict[str, Any]) -> None:
        self._record({"set": hp, "v": entry})

    def set_meta(self, hp: str, **values: Any) -> None:
        with self.lock:
            entry = dict(self.meta.get(hp, {}))
            for k, v in values.items():
                if v is not None:
                    entry[k] = oct(v)[2:] if k == "permission" else v
            self.put_meta(hp, entry)

    def move_meta(self, src: str, dst: str) -> None:
        self._record({"move": [src, dst]})

    def drop_meta(self, hp: str) -> None:
        self._record({"drop": hp})

    def save(self) -> None:
        """Write a snapshot of the metadata and start an empty journal."""
        with self.lock:
            tmp = self.meta_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.meta, f, sort_keys=True)
            os.replace(tmp, self.meta_file)
            if self._log is not None:
                self._log.close()
            self._log = open(self.meta_log, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def close(self) -> None:
        with self.lock:
            self.save()
            self._log.close()
            self._log = None

    def status(self, hp: str, suffix: str = "") -> dict[str, Any]:
        real = self.real(hp)
        st = os.stat(real)
        is_dir = os.path.isdir(real)
        node = self.inode(hp)
        children = 0
        if is_dir:
            children = sum(1 for n in os.listdir(real) if not (hp == "/" and n == META_DIR))
        return {
            "accessTime": 0 if is_dir else int(st.st_atime * 1000),
            "blockSize": 0 if is_dir else node["blockSize"],
            "childrenNum": children,
            "fileId": st.st_ino,
            "group": node["group"],
            "length": 0 if is_dir else st.st_size,
            "modificationTime": int(st.st_mtime * 1000),
            "owner": node["owner"],
            "pathSuffix": suffix,
            "permission": oct(node["permission"])[2:],
            "replication": 0 if is_dir else node["replication"],
            "storagePolicy": 0,
            "type": "DIRECTORY" if is_dir else "FILE",
        }

    def children(self, hp: str) -> list[str]:
        names = sorted(os.listdir(self.real(hp)))
        if hp == "/":
            names = [n for n in names if n != META_DIR]
        return names

    def child(self, hp: str, name: str) -> str:
        return hp.rstrip("/") + "/" + name

    # -- permissions ---------------------------------------------------------
    def _allowed(self, user: str, hp: str, access: str) -> bool:
        node = self.inode(hp)
        perm = node["permission"]
        if user == node["owner"]:
            bits = (perm >> 6) & 7
        elif node["group"] == user:
            bits = (perm >> 3) & 7
        else:
            bits = perm & 7
        need = (4 if "r" in access else 0) | (2 if "w" in access else 0) | (1 if "x" in access else 0)
        return bits & need == need

    def _denied(self, user: str, hp: str, access: str) -> RemoteError:
        node = self.inode(hp)
        names = {"r": "READ", "w": "WRITE", "x": "EXECUTE", "rx": "READ_EXECUTE", "wx": "WRITE_EXECUTE",
                 "rwx": "ALL"}
        mode = _mode_string(node["permission"], self.kind(hp) == "DIRECTORY")
        return RemoteError(
            "AccessControlException",
            f"Permission denied: user={user}, access={names.get(access, access.upper())}, "
            f'inode="{hp}":{node["owner"]}:{node["group"]}:{mode}')

    def is_super(self, user: str) -> bool:
        return not self.permissions or user == self.superuser

    def check(self, user: str, hp: str, access: str = "", *, traverse: bool = True) -> None:
        """Raise AccessControlException unless `user` may traverse to `hp` and has `access` on it."""
        if self.is_super(user):
            return
        if traverse:
            for a in self.ancestors(hp):
                if self.kind(a) != "DIRECTORY":
                    break
                if not self._allowed(user, a, "x"):
                    raise self._denied(user, a, "x")
        if access and self.kind(hp) is not None and not self._allowed(user, hp, access):
            raise self._denied(user, hp, access)

    def check_parent_write(self, user: str, hp: str) -> None:
        """WRITE on the nearest existing ancestor (where the new entry, or its parents, will go)."""
        target = self.nearest_existing(self.parent(hp))
        self.check(user, target, "w")

    def check_sticky(self, user: str, hp: str) -> None:
        if self.is_super(user):
            return
        parent = self.parent(hp)
        pnode = self.inode(parent)
        if pnode["permission"] & 0o1000 and user not in (pnode["owner"], self.inode(hp)["owner"]):
            raise RemoteError("AccessControlException",
                              f"Permission denied by sticky bit: user={user}, path=\"{hp}\", "
                              f'parent="{parent}"')

    def check_owner(self, user: str, hp: str) -> None:
        if self.is_super(user):
            return
        if self.inode(hp)["owner"] != user:
            raise RemoteError("AccessControlException",
                              f"Permission denied. user={user} is not the owner of inode={hp}")

    # -- mutations (callers hold self.lock) ------------------------------------
    def mkdirs(self, user: str, hp: str, permission: int = 0o755) -> None:
        k = self.kind(hp)
        if k == "DIRECTORY":
            return
        if k == "FILE":
            raise RemoteError("FileAlreadyExistsException", f"Path is not a directory: {hp}")
        self.check_parents_are_dirs(hp)
        self.check(user, self.nearest_existing(hp), "w")
        group = self.inode(self.nearest_existing(hp))["group"]
        for a in [*self.ancestors(hp), hp]:
            if self.kind(a) is None:
                os.mkdir(self.real(a))
                perm = permission if a == hp else 0o755 | (permission & 0o700)
                self.put_meta(a, {"owner": user, "group": group, "permission": oct(perm)[2:]})

    def new_tmp(self) -> str:
        return os.path.join(self.tmp_dir, uuid.uuid4().hex)

    def prepare_create(self, user: str, hp: str, overwrite: bool, create_parent: bool = True) -> None:
        if not create_parent and self.kind(self.parent(hp)) is None:
            raise RemoteError("FileNotFoundException", f"Parent directory doesn't exist: {self.parent(hp)}")
        k = self.kind(hp)
        if k == "DIRECTORY":
            raise RemoteError("FileAlreadyExistsException", f"{hp} already exists as a directory")
        if k == "FILE":
            if not overwrite:
                raise RemoteError("FileAlreadyExistsException", f"{hp} for client 127.0.0.1 already exists")
            self.check(user, hp)
            self.check(user, self.parent(hp), "w", traverse=False)
        self.check_parents_are_dirs(hp)
        self.check_parent_write(user, hp)

    def commit_create(self, user: str, hp: str, tmp: str, overwrite: bool, permission: int,
                      block_size: int | None, replication: int | None, create_parent: bool = True) -> None:
        with self.lock:
            self.prepare_create(user, hp, overwrite, create_parent)
            parent = self.parent(hp)
            if self.kind(parent) is None:
                self.mkdirs(user, parent)
            os.replace(tmp, self.real(hp))
            self.put_meta(hp, {"owner": user, "group": self.inode(parent)["group"],
                               "permission": oct(permission)[2:],
                               "replication": replication or self.replication,
                               "blockSize": block_size or self.block_size})


# ---------------------------------------------------------------------------
# fault injection and counters
# ---------------------------------------------------------------------------

class Faults:
    """Fault rules, consumed as matching requests arrive."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rules: list[dict[str, Any]] = []

    @staticmethod
    def validate(rules: Any) -> list[dict[str, Any]]:
        if isinstance(rules, dict):
            rules = rules.get("faults", [rules]) if "kind" not in rules else [rules]
        if not isinstance(rules, list):
            raise TypeError("faults must be a JSON list of rules")
        out = []
        for r in rules:
            if not isinstance(r, dict):
                raise TypeError(f"bad fault rule {r!r}: not an object")
            if r.get("kind") not in ("error", "reset", "delay", "late"):
                raise ValueError(f"bad fault rule {r!r}: kind must be error, reset, delay or late")
            r = dict(r)
            r.setdefault("node", "datanode")
            if r["node"] not in ("namenode", "datanode", "any"):
                raise ValueError(f"bad fault rule {r!r}: node must be namenode, datanode or any")
            r.setdefault("count", 1)
            ops = r.get("op")
            if isinstance(ops, str):
                r["op"] = [ops.upper()]
            elif ops is not None:
                r["op"] = [str(o).upper() for o in ops]
            r.setdefault("status", 503)
            r.setdefault("after_bytes", 0)
            r.setdefault("seconds", 1.0)
            r.setdefault("fired", 0)
            out.append(r)
        return out

    def set(self, rules: Any) -> None:
        valid = self.validate(rules)
        with self.lock:
            self.rules = valid

    def add(self, rules: Any) -> None:
        valid = self.validate(rules)
        with self.lock:
            self.rules.extend(valid)

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.rules]

    def take(self, node: str, op: str, path: str) -> list[dict[str, Any]]:
        """The rules firing for this request (their counts are decremented)."""
        fired = []
        with self.lock:
            for r in self.rules:
                if r["count"] == 0 or r["node"] not in (node, "any"):
                    continue
                if r.get("op") and op not in r["op"]:
                    continue
                if r.get("path") and not path.startswith(r["path"]):
                    continue
                if r.get("skip", 0) > 0:
                    r["skip"] -= 1
                    continue
                if r["count"] > 0:
                    r["count"] -= 1
                r["fired"] += 1
                fired.append(dict(r))
        return fired


# ---------------------------------------------------------------------------
# HTTP handlers
# ---------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    """Shared plumbing: parameters, bodies (length or chunked), JSON, errors, faults."""

    protocol_version = "HTTP/1.1"
    server_version = "minihdfs"
    node = "namenode"
    timeout = 300
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.app.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def setup(self) -> None:
        super().setup()
        try:  # headers and bodies go out as separate writes; don't let Nagle hold them back
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    # -- request body --------------------------------------------------------
    def iter_body(self) -> Iterator[bytes]:
        if self._body_done:
            return
        self._body_done = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("client closed the connection mid-body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size > 0:
                    data = self.rfile.read(min(size, _IO_CHUNK))
                    if not data:
                        raise ConnectionError("client closed the connection mid-body")
                    size -= len(data)
                    yield data
                self.rfile.readline(65537)
        else:
            remaining = int(self.headers.get("Content-Length") or 0)
            while remaining > 0:
                data = self.rfile.read(min(remaining, _IO_CHUNK))
                if not data:
                    raise ConnectionError("client closed the connection mid-body")
                remaining -= len(data)
                yield data

    def drain(self) -> None:
        """Discard an unread request body so the connection can be reused (or close it if large)."""
        if self._body_done:
            return
        if int(self.headers.get("Content-Length") or 0) > (64 << 20):
            self.close_connection = True
            self._body_done = True
            return
        for _ in self.iter_body():
            pass

    # -- responses -----------------------------------------------------------
    def send_bytes(self, status: int, body: bytes, ctype: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self._reset_after is not None:
            self.wfile.write(body[: self._reset_after])
            self.abort()
            return
        self.wfile.write(body)

    def send_json(self, obj: Any, status: int = 200) -> None:
        self.send_bytes(status, json.dumps(obj).encode())

    def send_empty(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, b"", "application/octet-stream", headers)

    def send_error_json(self, err: RemoteError) -> None:
        self.drain()
        self.send_json(err.body(), err.status)

    def abort(self) -> None:
        """Reset the connection (RST) without finishing the response."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        self._aborted = True

    # -- dispatch ------------------------------------------------------------
    def _handle(self, method: str) -> None:
        self._body_done = method in ("GET", "DELETE") and not (
            self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"))
        self._reset_after: int | None = None
        self._aborted = False
        self._late = 0.0
        app = self.server.app
        try:
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith(CONTROL_PREFIX) and self.node == "namenode":
                self.control(method, url.path[len(CONTROL_PREFIX):])
                return
            if not (url.path == WEBHDFS_PREFIX or url.path.startswith(WEBHDFS_PREFIX + "/")):
                self.drain()
                self.send_bytes(404, f"Not found: {url.path}\n".encode(), "text/plain")
                return
            q = {k.lower(): v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            raw_path = urllib.parse.unquote(url.path[len(WEBHDFS_PREFIX):]) or "/"
            op = q.get("op", "").upper()
            app.count(self.node, op)
            if self.apply_faults(op, raw_path):
                return
            handler = self.route(method, op)
            hp = Namespace.normalize(raw_path)
            user = app.user_for(q)
            handler(hp, q, user)
        except RemoteError as e:
            if not self._aborted:
                self.send_error_json(e)
        except (ConnectionError, TimeoutError, BrokenPipeError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - a bug, answered as Hadoop answers RuntimeExceptions
            if app.verbose:
                import traceback
                traceback.print_exc()
            if not self._aborted:
                self.close_connection = True
                self.send_error_json(RemoteError("RuntimeException", f"{type(e).__name__}: {e}"))

    def route(self, method: str, op: str) -> Callable[[str, dict[str, str], str], None]:
        table = self.ops()
        fn = table.get((method, op))
        if fn is None:
            name = op or "null"
            raise _illegal("op", name, f"No enum constant org.apache.hadoop.hdfs.web.resources."
                                       f"{_OP_CLASS.get(method, 'GetOpParam')}.Op.{name}")
        return fn

    def ops(self) -> dict[tuple[str, str], Callable[[str, dict[str, str], str], None]]:
        raise NotImplementedError

    def apply_faults(self, op: str, path: str) -> bool:
        """Apply injected faults; True if the request was answered by one."""
        fired = self.server.app.faults.take(self.node, op, path)
        for r in fired:
            if r["kind"] == "late" and self.node == "datanode" and op in ("CREATE", "APPEND"):
                self._late += float(r["seconds"])  # slept after the body is in, before the write applies
            elif r["kind"] in ("delay", "late"):
                time.sleep(float(r["seconds"]))
        for r in fired:
            if r["kind"] == "error":
                self.server.app.count(self.node, "_fault_error")
                status = int(r["status"])
                exc = r.get("exception") or ("RuntimeException" if status >= 500 else "IOException")
                msg = r.get("message") or f"Injected fault: HTTP {status} from minihdfs {self.node}"
                self.send_error_json(RemoteError(exc, msg, status))
                return True
        for r in fired:
            if r["kind"] == "reset":
                self.server.app.count(self.node, "_fault_reset")
                self._reset_after = int(r["after_bytes"])
        return False

    def control(self, method: str, what: str) -> None:
        app = self.server.app
        body = b"".join(self.iter_body())
        try:
            if what == "/faults":
                if method == "PUT":
                    app.faults.set(json.loads(body or b"[]"))
                elif method == "POST":
                    app.faults.add(json.loads(body or b"[]"))
                elif method == "DELETE":
                    app.faults.set([])
                self.send_json({"faults": app.faults.snapshot()})
            elif what == "/stats":
                if method == "DELETE":
                    app.reset_stats()
                self.send_json(app.stats())
            else:
                self.send_bytes(404, b"unknown control endpoint\n", "text/plain")
        except (ValueError, TypeError) as e:
            self.send_json(RemoteError("IllegalArgumentException", str(e)).body(), 400)


class NameNodeHandler(_Handler):
    """The NameNode endpoint: namespace operations and redirects to the DataNode."""

    node = "namenode"

    def ops(self) -> dict[tuple[str, str], Callable[[str, dict[str, str], str], None]]:
        return {
            ("GET", "OPEN"): self.redirect_read,
            ("GET", "GETFILECHECKSUM"): self.redirect_read,
            ("GET", "GETFILESTATUS"): self.getfilestatus,
            ("GET", "LISTSTATUS"): self.liststatus,
            ("GET", "LISTSTATUS_BATCH"): self.liststatus_batch,
            ("GET", "GETCONTENTSUMMARY"): self.getcontentsummary,
            ("GET", "GETFILEBLOCKLOCATIONS"): self.getfileblocklocations,
            ("GET", "GET_BLOCK_LOCATIONS"): self.get_block_locations,
            ("GET", "GETHOMEDIRECTORY"): self.gethomedirectory,
            ("GET", "GETTRASHROOT"): self.gettrashroot,
            ("GET", "GETACLSTATUS"): self.getaclstatus,
            ("GET", "GETDELEGATIONTOKEN"): self.getdelegationtoken,
            ("PUT", "CREATE"): self.redirect_write,
            ("PUT", "MKDIRS"): self.mkdirs,
            ("PUT", "RENAME"): self.rename,
            ("PUT", "SETPERMISSION"): self.setpermission,
            ("PUT", "SETOWNER"): self.setowner,
            ("PUT", "SETREPLICATION"): self.setreplication,
            ("PUT", "SETTIMES"): self.settimes,
            ("PUT", "RENEWDELEGATIONTOKEN"): self.renewdelegationtoken,
            ("PUT", "CANCELDELEGATIONTOKEN"): self.canceldelegationtoken,
            ("POST", "APPEND"): self.redirect_write,
            ("POST", "TRUNCATE"): self.truncate,
            ("POST", "CONCAT"): self.concat,
            ("DELETE", "DELETE"): self.delete,
        }

    @property
    def ns(self) -> Namespace:
        return self.server.app.ns

    # -- redirects -----------------------------------------------------------
    def _redirect(self, hp: str, q: dict[str, str]) -> None:
        self.drain()
        params = {k: v for k, v in q.items() if k != "noredirect"}
        params["namenoderpcaddress"] = f"{self.server.app.host}:{self.server.app.namenode_port}"
        location = (f"{self.server.app.datanode_url}{WEBHDFS_PREFIX}{urllib.parse.quote(hp, safe='/')}"
                    f"?{urllib.parse.urlencode(params)}")
        if _bool_param(q, "noredirect", False):
            self.send_json({"Location": location})
            return
        self.server.app.count(self.node, "_redirect")
        self.send_empty(307, {"Location": location})

    def redirect_read(self, hp: str, q: dict[str, str], user: str) -> None:
        _long_param(q, "offset", 0, 0)
        _long_param(q, "length", None, 0)
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp, "FILE")
            self.ns.check(user, hp, "r", traverse=False)
        self._redirect(hp, q)

    def redirect_write(self, hp: str, q: dict[str, str], user: str) -> None:
        _bool_param(q, "overwrite", False)
        _perm_param(q, "permission", 0o644)
        _long_param(q, "blocksize", None, 1)
        _long_param(q, "replication", None, 1)
        if q["op"].upper() == "APPEND":
            with self.ns.lock:
                self.ns.check(user, hp)
                if self.ns.kind(hp) is None:
                    raise RemoteError("FileNotFoundException",
                                      f"Failed to append to non-existent file {hp} for client 127.0.0.1")
                self.ns.require(hp, "FILE")
        self._redirect(hp, q)

    # -- reads ---------------------------------------------------------------
    def getfilestatus(self, hp: str, q: dict[str, str], user: str) -> None:
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp)
            self.send_json({"FileStatus": self.ns.status(hp)})

    def _listing(self, hp: str, user: str) -> list[dict[str, Any]]:
        ns = self.ns
        ns.check(user, hp)
        k = ns.kind(hp)
        if k is None:
            raise RemoteError("FileNotFoundException", f"File {hp} does not exist.")
        if k == "FILE":
            return [ns.status(hp)]
        ns.check(user, hp, "rx", traverse=False)
        out = []
        for name in ns.children(hp):
            try:
                out.append(ns.status(ns.child(hp, name), name))
            except FileNotFoundError:
                continue
        return out

    def liststatus(self, hp: str, q: dict[str, str], user: str) -> None:
        with self.ns.lock:
            self.send_json({"FileStatuses": {"FileStatus": self._listing(hp, user)}})

    def liststatus_batch(self, hp: str, q: dict[str, str], user: str) -> None:
        after = q.get("startafter", "")
        with self.ns.lock:
            entries = [e for e in self._listing(hp, user) if not after or e["pathSuffix"] > after]
        limit = self.server.app.ls_limit
        page = entries[:limit]
        self.send_json({"DirectoryListing": {"partialListing": {"FileStatuses": {"FileStatus": page}},
                                             "remainingEntries": len(entries) - len(page)}})

    def getcontentsummary(self, hp: str, q: dict[str, str], user: str) -> None:
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            k = ns.require(hp)
            dirs = files = length = consumed = 0
            if k == "FILE":
                files, length = 1, os.path.getsize(ns.real(hp))
                consumed = length * ns.inode(hp)["replication"]
            else:
                for base, dnames, fnames in os.walk(ns.real(hp)):
                    if base == ns.root and META_DIR in dnames:
                        dnames.remove(META_DIR)
                    dirs += 1
                    for name in fnames:
                        full = os.path.join(base, name)
                        size = os.path.getsize(full)
                        rel = "/" + os.path.relpath(full, ns.root).replace(os.sep, "/")
                        files += 1
                        length += size
                        consumed += size * ns.inode(rel)["replication"]
        self.send_json({"ContentSummary": {
            "directoryCount": dirs, "fileCount": files, "length": length, "quota": -1,
            "spaceConsumed": consumed, "spaceQuota": -1, "typeQuota": {}}})

    def _file_blocks(self, hp: str, q: dict[str, str], user: str) -> tuple[int, int, list[tuple[int, int]]]:
        offset = _long_param(q, "offset", 0, 0) or 0
        length = _long_param(q, "length", None, 0)
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            ns.require(hp, "FILE")
            ns.check(user, hp, "r", traverse=False)
            size = os.path.getsize(ns.real(hp))
            bs = ns.inode(hp)["blockSize"]
        return size, bs, _blocks(size, bs, offset, length)

    def getfileblocklocations(self, hp: str, q: dict[str, str], user: str) -> None:
        _, _, blocks = self._file_blocks(hp, q, user)
        app = self.server.app
        name = f"{app.host}:{app.datanode_port}"
        self.send_json({"BlockLocations": {"BlockLocation": [
            {"cachedHosts": [], "corrupt": False, "hosts": [app.host], "length": length,
             "names": [name], "offset": off, "storageTypes": ["DISK"],
             "topologyPaths": [f"/default-rack/{name}"]}
            for off, length in blocks]}})

    def get_block_locations(self, hp: str, q: dict[str, str], user: str) -> None:
        size, bs, blocks = self._file_blocks(hp, q, user)
        app = self.server.app
        file_id = os.stat(self.ns.real(hp)).st_ino
        dn = {"ipAddr": app.host, "hostName": app.host, "name": f"{app.host}:{app.datanode_port}",
              "datanodeUuid": app.datanode_uuid, "storageID": app.datanode_uuid,
              "xferPort": app.datanode_port, "infoPort": app.datanode_port, "infoSecurePort": 0,
              "ipcPort": app.datanode_port, "capacity": 0, "dfsUsed": 0, "remaining": 0,
              "blockPoolUsed": 0, "cacheCapacity": 0, "cacheUsed": 0,
              "lastUpdate": int(time.time() * 1000), "lastUpdateMonotonic": 0, "xceiverCount": 1,
              "networkLocation": "/default-rack", "adminState": "NORMAL"}

        def located(off: int, length: int) -> dict[str, Any]:
            return {"block": {"blockPoolId": app.block_pool_id, "blockId": (file_id << 16) + off // bs,
                              "generationStamp": 1001, "numBytes": length},
                    "blockToken": {"urlString": ""}, "cachedLocations": [], "isCorrupt": False,
                    "locations": [dn], "startOffset": off, "storageTypes": ["DISK"]}

        all_blocks = _blocks(size, bs, 0, None)
        self.send_json({"LocatedBlocks": {
            "fileLength": size, "isUnderConstruction": False, "isLastBlockComplete": True,
            "locatedBlocks": [located(o, n) for o, n in blocks],
            "lastLocatedBlock": located(*all_blocks[-1]) if all_blocks else None}})

    def gethomedirectory(self, hp: str, q: dict[str, str], user: str) -> None:
        self.send_json({"Path": f"/user/{user}"})

    def gettrashroot(self, hp: str, q: dict[str, str], user: str) -> None:
        self.send_json({"Path": f"/user/{user}/.Trash"})

    def getaclstatus(self, hp: str, q: dict[str, str], user: str) -> None:
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp)
            node = self.ns.inode(hp)
        self.send_json({"AclStatus": {"entries": [], "owner": node["owner"], "group": node["group"],
                                      "permission": oct(node["permission"] & 0o777)[2:],
                                      "stickyBit": bool(node["permission"] & 0o1000)}})

    def getdelegationtoken(self, hp: str, q: dict[str, str], user: str) -> None:
        token = secrets.token_urlsafe(32)
        self.server.app.tokens[token] = user
        self.send_json({"Token": {"urlString": token}})

    def renewdelegationtoken(self, hp: str, q: dict[str, str], user: str) -> None:
        token = q.get("token", "")
        if token not in self.server.app.tokens:
            raise RemoteError("InvalidToken", f"Renewal request for unknown token {token}")
        self.send_json({"long": int(time.time() * 1000) + 86_400_000})

    def canceldelegationtoken(self, hp: str, q: dict[str, str], user: str) -> None:
        self.server.app.tokens.pop(q.get("token", ""), None)
        self.send_empty()

    # -- writes --------------------------------------------------------------
    def mkdirs(self, hp: str, q: dict[str, str], user: str) -> None:
        perm = _perm_param(q, "permission", 0o755)
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.mkdirs(user, hp, perm)
        self.send_json({"boolean": True})

    def rename(self, hp: str, q: dict[str, str], user: str) -> None:
        raw_dst = q.get("destination")
        if not raw_dst:
            raise RemoteError("IllegalArgumentException", "Invalid value for webhdfs parameter "
                              '"destination": destination is null')
        dst = Namespace.normalize(raw_dst)  # parse_qs already decoded it once, as Hadoop does
        options = {o.strip().upper() for o in q.get("renameoptions", "").split(",") if o.strip()}
        with self.ns.lock:
            if options:
                self._rename2(user, hp, dst, "OVERWRITE" in options)
                self.send_empty()
            else:
                self.send_json({"boolean": self._rename(user, hp, dst)})

    def _rename_checks(self, user: str, src: str, dst: str) -> None:
        ns = self.ns
        ns.check(user, src)
        ns.check(user, dst)
        ns.check(user, ns.parent(src), "w", traverse=False)
        ns.check_sticky(user, src)
        ns.check(user, ns.parent(dst), "w", traverse=False)

    def _move(self, src: str, dst: str) -> None:
        os.rename(self.ns.real(src), self.ns.real(dst))
        self.ns.move_meta(src, dst)

    def _rename(self, user: str, src: str, dst: str) -> bool:
        """FileSystem.rename semantics: False on failure, into an existing directory."""
        ns = self.ns
        if src == "/" or ns.kind(src) is None:
            return False
        if ns.kind(dst) == "DIRECTORY":
            dst = ns.child(dst, src.rsplit("/", 1)[1])
        if dst == src:
            return ns.kind(src) == "FILE"
        if ns.kind(dst) is not None or ns.kind(ns.parent(dst)) != "DIRECTORY":
            return False
        if dst.startswith(src + "/"):
            raise RemoteError("IOException", f"Rename destination {dst} is a directory or file under source {src}")
        self._rename_checks(user, src, dst)
        self._move(src, dst)
        return True

    def _rename2(self, user: str, src: str, dst: str, overwrite: bool) -> None:
        """Rename with options: exceptions instead of False, no moving into directories."""
        ns = self.ns
        if ns.kind(src) is None:
            raise RemoteError("FileNotFoundException", f"rename source {src} is not found.")
        if src == "/" or dst == "/":
            raise RemoteError("IOException", f"rename source or destination cannot be the root: {src} -> {dst}")
        if dst == src:
            raise RemoteError("FileAlreadyExistsException",
                              f"The source {src} and destination {dst} are the same")
        if dst.startswith(src + "/"):
            raise RemoteError("IOException", f"Rename destination {dst} is a directory or file under source {src}")
        parent = ns.parent(dst)
        if ns.kind(parent) is None:
            raise RemoteError("FileNotFoundException", f"rename destination parent {parent} not found.")
        if ns.kind(parent) == "FILE":
            raise RemoteError("ParentNotDirectoryException", f"rename destination parent {parent} is a file.")
        dk = ns.kind(dst)
        if dk is not None:
            if not overwrite:
                raise RemoteError("FileAlreadyExistsException", f"rename destination {dst} already exists.")
            sk = ns.kind(src)
            if dk == "DIRECTORY" and sk != "DIRECTORY":
                raise RemoteError("IOException", f"Source {src} and destination {dst} must both be directories")
            if dk == "FILE" and sk != "FILE":
                raise RemoteError("IOException", f"Source {src} and destination {dst} must both be files")
            if dk == "DIRECTORY" and ns.children(dst):
                raise RemoteError("IOException", f"rename destination directory is not empty: {dst}")
        self._rename_checks(user, src, dst)
        if dk is not None:
            real = ns.real(dst)
            if dk == "DIRECTORY":
                os.rmdir(real)
            else:
                os.remove(real)
            ns.drop_meta(dst)
        self._move(src, dst)

    def delete(self, hp: str, q: dict[str, str], user: str) -> None:
        recursive = _bool_param(q, "recursive", False)
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            k = ns.kind(hp)
            if k is None or hp == "/":
                self.send_json({"boolean": False})
                return
            ns.check(user, ns.parent(hp), "wx", traverse=False)
            ns.check_sticky(user, hp)
            real = ns.real(hp)
            if k == "DIRECTORY":
                if ns.children(hp) and not recursive:
                    raise RemoteError("PathIsNotEmptyDirectoryException",
                                      f"`{hp} is non empty': Directory is not empty")
                shutil.rmtree(real)
            else:
                os.remove(real)
            ns.drop_meta(hp)
        self.send_json({"boolean": True})

    def setpermission(self, hp: str, q: dict[str, str], user: str) -> None:
        perm = _perm_param(q, "permission", 0o755)
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp)
            self.ns.check_owner(user, hp)
            self.ns.set_meta(hp, permission=perm)
        self.send_empty()

    def setowner(self, hp: str, q: dict[str, str], user: str) -> None:
        owner, group = q.get("owner") or None, q.get("group") or None
        if owner is None and group is None:
            raise RemoteError("IllegalArgumentException", "Both owner and group are empty.")
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp)
            if owner is not None and not self.ns.is_super(user):
                raise RemoteError("AccessControlException", "User " + user + " is not a super user "
                                  "(non-super user cannot change owner).")
            self.ns.check_owner(user, hp)
            self.ns.set_meta(hp, owner=owner, group=group)
        self.send_empty()

    def setreplication(self, hp: str, q: dict[str, str], user: str) -> None:
        replication = _long_param(q, "replication", self.ns.replication, 1)
        with self.ns.lock:
            self.ns.check(user, hp)
            if self.ns.kind(hp) != "FILE":
                self.send_json({"boolean": False})
                return
            self.ns.check(user, hp, "w", traverse=False)
            self.ns.set_meta(hp, replication=replication)
        self.send_json({"boolean": True})

    def settimes(self, hp: str, q: dict[str, str], user: str) -> None:
        mtime = _long_param(q, "modificationtime", -1)
        atime = _long_param(q, "accesstime", -1)
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp)
            self.ns.check(user, hp, "w", traverse=False)
            st = os.stat(self.ns.real(hp))
            os.utime(self.ns.real(hp), ns=(
                st.st_atime_ns if atime is None or atime < 0 else atime * 1_000_000,
                st.st_mtime_ns if mtime is None or mtime < 0 else mtime * 1_000_000))
        self.send_empty()

    def truncate(self, hp: str, q: dict[str, str], user: str) -> None:
        newlength = _long_param(q, "newlength", None, 0)
        if newlength is None:
            raise RemoteError("IllegalArgumentException", "newlength is required")
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.require(hp, "FILE")
            self.ns.check(user, hp, "w", traverse=False)
            real = self.ns.real(hp)
            if newlength > os.path.getsize(real):
                raise RemoteError("HadoopIllegalArgumentException",
                                  f"Cannot truncate to a larger file size. Current size: "
                                  f"{os.path.getsize(real)}, truncate size: {newlength}.")
            os.truncate(real, newlength)
        self.send_json({"boolean": True})

    def concat(self, hp: str, q: dict[str, str], user: str) -> None:
        sources = [Namespace.normalize(s) for s in q.get("sources", "").split(",") if s]
        if not sources:
            raise RemoteError("HadoopIllegalArgumentException", "No sources given")
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            ns.require(hp, "FILE")
            ns.check(user, hp, "w", traverse=False)
            for s in sources:
                ns.require(s, "FILE")
                ns.check(user, s, "r")
            with open(ns.real(hp), "ab") as out:
                for s in sources:
                    with open(ns.real(s), "rb") as src:
                        shutil.copyfileobj(src, out, _IO_CHUNK)
            for s in sources:
                os.remove(ns.real(s))
                ns.drop_meta(s)
        self.send_empty()


class DataNodeHandler(_Handler):
    """The DataNode endpoint: file bytes for OPEN, CREATE and APPEND."""

    node = "datanode"

    def ops(self) -> dict[tuple[str, str], Callable[[str, dict[str, str], str], None]]:
        return {
            ("GET", "OPEN"): self.open,
            ("GET", "GETFILECHECKSUM"): self.checksum,
            ("PUT", "CREATE"): self.create,
            ("POST", "APPEND"): self.append,
        }

    @property
    def ns(self) -> Namespace:
        return self.server.app.ns

    def open(self, hp: str, q: dict[str, str], user: str) -> None:
        offset = _long_param(q, "offset", 0, 0) or 0
        length = _long_param(q, "length", None, 0)
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            ns.require(hp, "FILE")
            ns.check(user, hp, "r", traverse=False)
            f = open(ns.real(hp), "rb")  # noqa: SIM115 - opened under the lock, closed below
        with f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:
                raise RemoteError("IOException", f"Offset={offset} out of the range [0, {size}); OPEN, path={hp}")
            count = size - offset if length is None else min(length, size - offset)
            self.drain()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(count))
            self.end_headers()
            if self._reset_after is not None:
                f.seek(offset)
                self.wfile.write(f.read(min(count, self._reset_after)))
                self.abort()
                return
            if count:
                self.connection.sendfile(f, offset, count)

    def checksum(self, hp: str, q: dict[str, str], user: str) -> None:
        ns = self.ns
        with ns.lock:
            ns.check(user, hp)
            ns.require(hp, "FILE")
            ns.check(user, hp, "r", traverse=False)
            f = open(ns.real(hp), "rb")  # noqa: SIM115 - opened under the lock, closed below
        md5 = hashlib.md5()
        with f:
            while data := f.read(_IO_CHUNK):
                md5.update(data)
        raw = struct.pack(">iq", 512, 0) + md5.digest()
        self.send_json({"FileChecksum": {"algorithm": "MD5-of-0MD5-of-512CRC32C",
                                         "bytes": raw.hex(), "length": len(raw)}})

    def _spool(self) -> str:
        """The request body in a temporary file (then the ``late`` fault's wait, if one fired)."""
        tmp = self.ns.new_tmp()
        try:
            with open(tmp, "wb") as out:
                out.writelines(self.iter_body())
        except BaseException:
            _remove_quietly(tmp)
            raise
        if self._late:
            self.server.app.count(self.node, "_fault_late")
            time.sleep(self._late)
        return tmp

    def create(self, hp: str, q: dict[str, str], user: str) -> None:
        overwrite = _bool_param(q, "overwrite", False)
        perm = _perm_param(q, "permission", 0o644)
        block_size = _long_param(q, "blocksize", None, 1)
        replication = _long_param(q, "replication", None, 1)
        create_parent = _bool_param(q, "createparent", True)
        with self.ns.lock:
            self.ns.check(user, hp)
            self.ns.prepare_create(user, hp, overwrite, create_parent)
        tmp = self._spool()
        try:
            self.ns.commit_create(user, hp, tmp, overwrite, perm, block_size, replication, create_parent)
        finally:
            _remove_quietly(tmp)
        app = self.server.app
        self.send_empty(201, {"Location": f"hdfs://{app.host}:{app.namenode_port}{urllib.parse.quote(hp)}"})

    def append(self, hp: str, q: dict[str, str], user: str) -> None:
        ns = self.ns

        def check() -> None:
            ns.check(user, hp)
            if ns.kind(hp) is None:
                raise RemoteError("FileNotFoundException",
                                  f"Failed to append to non-existent file {hp} for client 127.0.0.1")
            ns.require(hp, "FILE")
            ns.check(user, hp, "w", traverse=False)

        with ns.lock:
            check()
        tmp = self._spool()
        try:
            with ns.lock:
                check()
                with open(tmp, "rb") as src, open(ns.real(hp), "ab") as out:
                    shutil.copyfileobj(src, out, _IO_CHUNK)
        finally:
            _remove_quietly(tmp)
        self.send_empty(200)


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown
    allow_reuse_address = True
    request_queue_size = 128
    app: MiniHdfsServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.app.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------
# the server pair
# ---------------------------------------------------------------------------

class MiniHdfsServer:
    """A NameNode and a DataNode endpoint over one directory, served from threads of this process."""

    def __init__(self, root: str, *, host: str = "127.0.0.1", namenode_port: int = 0, datanode_port: int = 0,
                 block_size: int = DEFAULT_BLOCK_SIZE, replication: int = 1, superuser: str | None = None,
                 root_permission: int = 0o755, permissions: bool = True, default_user: str = "dr.who",
                 ls_limit: int = 1000, faults: Any = None, verbose: bool = False) -> None:
        self.ns = Namespace(root, block_size=block_size, replication=replication, superuser=superuser,
                            root_permission=root_permission, permissions=permissions)
        self.host = host
        self.default_user = default_user
        self.ls_limit = ls_limit
        self.verbose = verbose
        self.faults = Faults()
        if faults:
            self.faults.set(faults)
        self.tokens: dict[str, str] = {}
        self.datanode_uuid = str(uuid.uuid4())
        self.block_pool_id = f"BP-{secrets.randbelow(1 << 30)}-{host}-{int(time.time() * 1000)}"
        self._stats_lock = threading.Lock()
        self._counts: dict[str, Counter[str]] = {"namenode": Counter(), "datanode": Counter()}
        self.namenode = _Server((host, namenode_port), NameNodeHandler)
        self.datanode = _Server((host, datanode_port), DataNodeHandler)
        self.namenode.app = self.datanode.app = self
        self._threads: list[threading.Thread] = []

    @property
    def namenode_port(self) -> int:
        return self.namenode.server_address[1]

    @property
    def datanode_port(self) -> int:
        return self.datanode.server_address[1]

    @property
    def namenode_url(self) -> str:
        return f"http://{self.host}:{self.namenode_port}"

    @property
    def datanode_url(self) -> str:
        return f"http://{self.host}:{self.datanode_port}"

    def user_for(self, q: dict[str, str]) -> str:
        token = q.get("delegation")
        if token:
            user = self.tokens.get(token)
            if user is None:
                raise RemoteError("InvalidToken", f"token ({token[:16]}...) can't be found in cache")
        else:
            user = q.get("user.name") or self.default_user
        return q.get("doas") or user

    def count(self, node: str, op: str) -> None:
        with self._stats_lock:
            self._counts[node][op or "(none)"] += 1

    def stats(self) -> dict[str, Any]:
        with self._stats_lock:
            return {node: dict(c) for node, c in self._counts.items()}

    def reset_stats(self) -> None:
        with self._stats_lock:
            for c in self._counts.values():
                c.clear()

    def start(self) -> None:
        for srv in (self.namenode, self.datanode):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        for srv in (self.namenode, self.datanode):
            srv.shutdown()
            srv.server_close()
        self.ns.close()


# ---------------------------------------------------------------------------
# the test-side wrapper: the server as a real subprocess
# ---------------------------------------------------------------------------

class MiniHdfs:
    """Run ``python -m hiveish.minihdfs`` as a subprocess; a context manager for tests.

    >>> with MiniHdfs(tmp_dir, block_size=1024) as hdfs:   # doctest: +SKIP
    ...     hdfs.namenode_url, hdfs.uri("/warehouse")
    """

    def __init__(self, root: str, *, block_size: int | None = None, host: str = "127.0.0.1",
                 namenode_port: int = 0, datanode_port: int = 0, superuser: str | None = None,
                 root_permission: str | None = None, permissions: bool = True,
                 faults: list[dict[str, Any]] | None = None, extra_args: tuple[str, ...] = (),
                 startup_timeout: float = 20.0, verbose: bool = False) -> None:
        self.root = os.path.abspath(root)
        self.host = host
        self._args = ["--root", self.root, "--host", host, "--namenode-port", str(namenode_port),
                      "--datanode-port", str(datanode_port), "--watch-stdin"]
        if block_size is not None:
            self._args += ["--block-size", str(block_size)]
        if superuser:
            self._args += ["--superuser", superuser]
        if root_permission:
            self._args += ["--root-permission", root_permission]
        if not permissions:
            self._args.append("--no-permissions")
        if faults:
            self._args += ["--faults", json.dumps(faults)]
        if verbose:
            self._args.append("--verbose")
        self._args += list(extra_args)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.namenode_url = ""
        self.datanode_url = ""
        self._stderr: Any = None

    # -- lifecycle -----------------------------------------------------------
    def start(self) -> Self:
        env = dict(os.environ)
        project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen([sys.executable, "-m", "hiveish.minihdfs", *self._args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=env, cwd=project)
        line = self._read_ready_line()
        fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        self.namenode_url = fields["namenode"]
        self.datanode_url = fields["datanode"]
        return self

    def _read_ready_line(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.startup_timeout
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail("did not report ready in time")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                data = os.read(fd, 4096)
                if not data:
                    self._fail("exited before reporting ready")
                buf += data
            elif self.proc.poll() is not None:
                self._fail("exited before reporting ready")
        line = buf.split(b"\n", 1)[0].decode()
        if not line.startswith("minihdfs "):
            self._fail(f"printed an unexpected line {line!r}")
        return line

    def _fail(self, why: str) -> None:
        err = self.stderr_text()
        self.stop()
        raise RuntimeError(f"minihdfs {why}; stderr:\n{err}")

    def stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stop(self, timeout: float = 5.0) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                if proc.stdin is not None:
                    proc.stdin.close()  # --watch-stdin: end of input means stop
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout)
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # -- addresses -----------------------------------------------------------
    @property
    def namenode_port(self) -> int:
        return int(self.namenode_url.rsplit(":", 1)[1])

    @property
    def datanode_port(self) -> int:
        return int(self.datanode_url.rsplit(":", 1)[1])

    def uri(self, path: str = "/", scheme: str = "hdfs") -> str:
        """`path` as a filesystem URI served by this namenode (``hdfs://host:port/path``)."""
        return f"{scheme}://{self.host}:{self.namenode_port}/{path.lstrip('/')}"

    # -- control -------------------------------------------------------------
    def _control(self, method: str, what: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.namenode_url}{CONTROL_PREFIX}/{what}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.loads(res.read() or b"null")

    def set_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
        """Replace the fault rules (see the module docstring for their shape)."""
        return self._control("PUT", "faults", rules)["faults"]

    def add_faults(self, rules: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
        return self._control("POST", "faults", rules)["faults"]

    def faults(self) -> list[dict[str, Any]]:
        return self._control("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")

    def stats(self) -> dict[str, dict[str, int]]:
        """Request counts per node and op (plus ``_redirect``, ``_fault_error``, ``_fault_reset``, ``_fault_late``)."""
        return self._control("GET", "stats")

    def reset_stats(self) -> None:
        self._control("DELETE", "stats")


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------

def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hiveish.minihdfs", description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, help="directory served as the HDFS namespace")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument("--namenode-port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--datanode-port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--block-size", type=int, default=DEFAULT_BLOCK_SIZE, help="default block size in bytes")
    p.add_argument("--replication", type=int, default=1, help="default replication reported")
    p.add_argument("--superuser", default=None, help="HDFS superuser (default: the user running the server)")
    p.add_argument("--root-permission", default="755", help="permission of / unless set (octal)")
    p.add_argument("--no-permissions", action="store_true", help="disable permission checks")
    p.add_argument("--default-user", default="dr.who", help="user for requests without user.name")
    p.add_argument("--ls-limit", type=int, default=1000, help="entries per LISTSTATUS_BATCH page")
    p.add_argument("--faults", default=None, help="initial fault rules, as JSON")
    p.add_argument("--datanode-errors", type=int, default=0, help="fail the next N datanode requests")
    p.add_argument("--datanode-error-status", type=int, default=503, help="status for --datanode-errors")
    p.add_argument("--reset-reads", type=int, default=0, help="reset the next N datanode reads mid-body")
    p.add_argument("--reset-after-bytes", type=int, default=1024, help="bytes sent before a reset")
    p.add_argument("--delay", type=float, default=0.0, help="delay every datanode response by SECONDS")
    p.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches end of file")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    rules: list[dict[str, Any]] = json.loads(args.faults) if args.faults else []
    if args.datanode_errors:
        rules.append({"kind": "error", "count": args.datanode_errors, "status": args.datanode_error_status})
    if args.reset_reads:
        rules.append({"kind": "reset", "op": "OPEN", "count": args.reset_reads,
                      "after_bytes": args.reset_after_bytes})
    if args.delay:
        rules.append({"kind": "delay", "count": -1, "seconds": args.delay})
    server = MiniHdfsServer(
        args.root, host=args.host, namenode_port=args.namenode_port, datanode_port=args.datanode_port,
        block_size=args.block_size, replication=args.replication, superuser=args.superuser,
        root_permission=int(args.root_permission, 8), permissions=not args.no_permissions,
        default_user=args.default_user, ls_limit=args.ls_limit, faults=rules, verbose=args.verbose)
    server.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.watch_stdin:
        def watch() -> None:  # raw reads: a buffered reader's lock would stall interpreter exit
            try:
                while os.read(0, 4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()
        threading.Thread(target=watch, daemon=True).start()
    print(f"minihdfs namenode={server.namenode_url} datanode={server.datanode_url} root={server.ns.root}",
          flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
