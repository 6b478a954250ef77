"""HDFS through WebHDFS (``hdfs://`` and ``webhdfs://`` URIs), built on the `hdfs` package (HdfsCLI).

``hdfs://host:port/path`` and ``webhdfs://host:port/path`` name the NameNode's
WebHDFS endpoint ``http://host:port`` (``swebhdfs://`` uses https) unless the
options override it.  Paths come back in the spelling they were given.  Data
moves in large ranges (OPEN with offset/length) and large blocks (CREATE, then
APPEND), since HdfsCLI's own streaming readers are slow; transient failures
(connection errors, timeouts, 5xx, Retriable/StandbyException) are retried with
bounded exponential backoff.

Retries never apply a write twice.  A request the server may have received
without its answer reaching us (a read timeout, a connection dropped after the
request went out) is *in doubt*: it may still be applied, late.  Reads and
other idempotent calls are simply retried; a write in doubt is first settled
against the file's state (GETFILESTATUS, then the bytes): CREATE is always sent
with ``overwrite=false`` and ``createparent=false`` (a replaced file is deleted
first, missing parents made first), so a late CREATE can never clobber a
retried one nor bring back a removed directory, and an APPEND is only taken as done when the file
grew by exactly its bytes, and never re-sent otherwise.  Anything else fails
with an error naming the path, so the statement fails instead of committing
doubled or missing data.  RENAME and DELETE are settled the same way.

Options (the dict passed to ``filesystem_for``):

========================================  ===============================================
``hiveish.hdfs.namenode``                 NameNode URL(s), ``;``-separated for HA
``hiveish.hdfs.user``                     user name (default ``$HADOOP_USER_NAME`` or login)
``hiveish.hdfs.token``                    delegation token (uses ``TokenClient``)
``hiveish.hdfs.auth``                     ``simple`` (default) or ``kerberos``
``hiveish.hdfs.proxy``                    user to impersonate (``doas``)
``hiveish.hdfs.alias``                    HdfsCLI alias from ``~/.hdfscli.cfg``
``hiveish.hdfs.config``                   path of the HdfsCLI config file for the alias
``hiveish.hdfs.timeout``                  read timeout, seconds (default 120)
``hiveish.hdfs.connect_timeout``          connect timeout, seconds (default 10)
``hiveish.hdfs.retries``                  retries of a transient failure (default 5)
``hiveish.hdfs.retry_backoff``            first backoff, seconds (default 0.25)
``hiveish.hdfs.retry_max_backoff``        backoff cap, seconds (default 8)
``hiveish.hdfs.read_buffer``              bytes per ranged read (default 8 MiB)
``hiveish.hdfs.write_buffer``             bytes per CREATE/APPEND request (default 32 MiB)
``hiveish.hdfs.scan.cache_dir``           where the Arrow engine keeps local copies of
                                          scanned files (default: the system temp dir)
``hiveish.hdfs.scan.cache_bytes``         size the copies are trimmed to, least recently
                                          used first, files of running queries kept
                                          (default 4 GiB)
``hiveish.hdfs.scan.columnar``            ``copy`` (default): Parquet/ORC are copied and
                                          read by DuckDB like text; ``arrow``: read in
                                          place through a pyarrow dataset, only the
                                          column chunks a query needs
========================================  ===============================================
"""

from __future__ import annotations

import errno
import getpass
import io
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO, TypeVar, cast

import pyarrow as pa
import pyarrow.fs as pafs
import requests
from hdfs import HdfsError, InsecureClient, TokenClient
from hdfs.client import Client, _Request

from catalog.fs import register_scheme
from catalog.fs.base import (
    BlockLocation,
    FileStatus,
    FileSystem,
    FileSystemError,
    PathExistsError,
    PathNotFoundError,
    PathPermissionError,
)

__all__ = ["SETTINGS", "WebHdfsArrowHandler", "WebHdfsFileSystem", "arrow_filesystem"]

T = TypeVar("T")

#: option key -> (default, help)
SETTINGS: dict[str, tuple[Any, str]] = {
    "hiveish.hdfs.namenode": (None, "NameNode WebHDFS URL(s), ';'-separated for HA"),
    "hiveish.hdfs.user": (None, "user name for simple authentication"),
    "hiveish.hdfs.token": (None, "Hadoop delegation token"),
    "hiveish.hdfs.auth": ("simple", "simple or kerberos"),
    "hiveish.hdfs.proxy": (None, "user to impersonate (doas)"),
    "hiveish.hdfs.alias": (None, "HdfsCLI alias from ~/.hdfscli.cfg"),
    "hiveish.hdfs.config": (None, "HdfsCLI config file for the alias"),
    "hiveish.hdfs.timeout": (120.0, "read timeout in seconds"),
    "hiveish.hdfs.connect_timeout": (10.0, "connect timeout in seconds"),
    "hiveish.hdfs.retries": (5, "retries of a transient failure"),
    "hiveish.hdfs.retry_backoff": (0.25, "first retry backoff in seconds"),
    "hiveish.hdfs.retry_max_backoff": (8.0, "retry backoff cap in seconds"),
    "hiveish.hdfs.read_buffer": (8 << 20, "bytes per ranged read"),
    "hiveish.hdfs.write_buffer": (32 << 20, "bytes per CREATE/APPEND request"),
    "hiveish.hdfs.scan.cache_dir": (None, "directory for the scan's local copies of remote files"),
    "hiveish.hdfs.scan.cache_bytes": (4 << 30, "bytes of local copies kept between queries"),
    "hiveish.hdfs.scan.columnar": ("copy", "copy (DuckDB reads local copies) or arrow (pyarrow dataset in place)"),
}

_SCHEMES = {"hdfs": "http", "webhdfs": "http", "swebhdfs": "https"}
_DEFAULT_PORT = {"http": 9870, "https": 9871}
_STREAM_CHUNK = 1 << 20
_TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
_TRANSIENT_EXCEPTIONS = {"RetriableException", "StandbyException"}
_PERMISSION_EXCEPTIONS = {"AccessControlException", "InvalidToken", "SecurityException", "AuthorizationException"}
_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError, ConnectionError, TimeoutError,
)
_CONNECT_ERRORS: tuple[type[BaseException], ...] = ()
try:  # urllib3 errors can escape requests while a body is being read
    import urllib3.exceptions as _u3

    _TRANSIENT_ERRORS += (_u3.ProtocolError, _u3.ReadTimeoutError)
    _CONNECT_ERRORS = (_u3.NewConnectionError, _u3.ConnectTimeoutError)
except ImportError:  # pragma: no cover
    pass

# WebHDFS operations, as HdfsCLI's request handlers (HA host rotation, auth params, error parsing)
_OPS: dict[str, Callable[..., requests.Response]] = {
    op: _Request(method, **kw).to_method(op)
    for op, method, kw in [
        ("GETFILESTATUS", "GET", {}), ("LISTSTATUS", "GET", {}), ("GETCONTENTSUMMARY", "GET", {}),
        ("GETFILEBLOCKLOCATIONS", "GET", {}), ("GET_BLOCK_LOCATIONS", "GET", {}),
        ("OPEN", "GET", {"stream": True}),
        ("CREATE", "PUT", {"allow_redirects": False}), ("APPEND", "POST", {"allow_redirects": False}),
        ("MKDIRS", "PUT", {}), ("RENAME", "PUT", {}), ("DELETE", "DELETE", {}),
        ("SETPERMISSION", "PUT", {}), ("SETOWNER", "PUT", {}),
    ]
}


# calls a retry cannot harm even if the first one is applied late (reads, MKDIRS, attribute sets)
_IDEMPOTENT = {"GETFILESTATUS", "LISTSTATUS", "GETCONTENTSUMMARY", "GETFILEBLOCKLOCATIONS", "GET_BLOCK_LOCATIONS",
               "OPEN", "MKDIRS", "SETPERMISSION", "SETOWNER"}


class _Transient(Exception):
    """A failure worth retrying; `host` is the endpoint that failed, if known.

    `in_doubt`: the request may have been applied (in part): no answer arrived, or a DataNode
    answered a write with an error; not so after a refused connection or a NameNode's error.
    `answered`: the server answered, so it will not apply the request later.
    """

    def __init__(self, message: str, host: str = "", unreachable: bool = False, in_doubt: bool = False,
                 answered: bool = False) -> None:
        super().__init__(message)
        self.host = host
        self.unreachable = unreachable
        self.in_doubt = in_doubt
        self.answered = answered


def _never_sent(e: BaseException) -> bool:
    """True if `e` happened before the request left (no connection made): the server never saw it."""
    seen: set[int] = set()
    stack: list[Any] = [e]
    while stack:
        x = stack.pop()
        if not isinstance(x, BaseException) or id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, (requests.ConnectTimeout, ConnectionRefusedError) + _CONNECT_ERRORS):
            return True
        stack += [getattr(x, "reason", None), x.__cause__, *getattr(x, "args", ())]
    return False


def _root_cause(e: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error ("[Errno 111] Connection refused"), not its wrappers."""
    text = str(e)
    m = re.search(r"(\[Errno -?\d+\] [^'\")]+)", text)
    if m:
        return m.group(1).strip()
    m = re.search(r"(Read timed out[^'\")]*|timed out|Connection reset by peer|Connection aborted)", text)
    return m.group(1) if m else text


def _opt(options: Mapping[str, Any], key: str) -> Any:
    v = options.get(key)
    return SETTINGS[key][0] if v is None or v == "" else v


def _default_user() -> str:
    return os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


def _host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _make_client(namenode: str, options: Mapping[str, Any]) -> Client:
    """An HdfsCLI client for `namenode` configured from `options`."""
    alias = options.get("hiveish.hdfs.alias")
    if alias:
        from hdfs.config import Config

        return Config(options.get("hiveish.hdfs.config") or None).get_client(alias)
    timeout = (float(_opt(options, "hiveish.hdfs.connect_timeout")), float(_opt(options, "hiveish.hdfs.timeout")))
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=8, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    common: dict[str, Any] = {"timeout": timeout, "session": session, "proxy": options.get("hiveish.hdfs.proxy")}
    token = options.get("hiveish.hdfs.token")
    if token:
        return TokenClient(namenode, token, **common)
    if str(_opt(options, "hiveish.hdfs.auth")).lower() == "kerberos":
        try:
            from hdfs.ext.kerberos import KerberosClient
        except ImportError as e:
            raise FileSystemError(f"Kerberos authentication for {namenode} needs requests-kerberos: {e}") from e
        return KerberosClient(namenode, **common)
    return InsecureClient(namenode, user=options.get("hiveish.hdfs.user") or _default_user(), **common)


class WebHdfsFileSystem(FileSystem):
    """The :class:`FileSystem` seam over WebHDFS."""

    scheme = "hdfs"

    def __init__(self, uri: str = "hdfs:///", options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        parts = urllib.parse.urlsplit(uri)
        self.scheme = (parts.scheme or "hdfs").lower()
        if self.scheme not in _SCHEMES:
            raise FileSystemError(f"Not a WebHDFS URI: {uri}")
        #: the URI prefix paths are given in, e.g. ``hdfs://nn:9870``
        self.prefix = f"{self.scheme}://{parts.netloc}"
        namenode = options.get("hiveish.hdfs.namenode")
        if not namenode and not options.get("hiveish.hdfs.alias"):
            if not parts.hostname:
                raise FileSystemError(f"No namenode in {uri}: give hdfs://host:port/... or hiveish.hdfs.namenode")
            http = _SCHEMES[self.scheme]
            namenode = f"{http}://{parts.hostname}:{parts.port or _DEFAULT_PORT[http]}"
        self.client: Client = _make_client(str(namenode or ""), options)
        self.namenodes: list[str] = list(self.client.urls)
        self.retries = int(_opt(options, "hiveish.hdfs.retries"))
        self.backoff = float(_opt(options, "hiveish.hdfs.retry_backoff"))
        self.max_backoff = float(_opt(options, "hiveish.hdfs.retry_max_backoff"))
        self.read_buffer = int(_opt(options, "hiveish.hdfs.read_buffer"))
        self.write_buffer = int(_opt(options, "hiveish.hdfs.write_buffer"))

    def __repr__(self) -> str:
        return f"WebHdfsFileSystem({self.prefix!r}, namenode={';'.join(self.namenodes)!r})"

    @property
    def namenode_hosts(self) -> str:
        return ";".join(_host_of(u) for u in self.namenodes)

    # -- paths ---------------------------------------------------------------
    def _hpath(self, path: str) -> str:
        """The HDFS path of a URI or bare absolute path."""
        if "://" in path:
            parts = urllib.parse.urlsplit(path)
            if parts.scheme.lower() not in _SCHEMES:
                raise FileSystemError(f"Not a WebHDFS path: {path}")
            if parts.netloc and f"{parts.scheme.lower()}://{parts.netloc}" != self.prefix:
                raise FileSystemError(f"{path} is not on this filesystem ({self.prefix})")
            hp = parts.path or "/"
        else:
            hp = path
        if not hp.startswith("/"):
            raise FileSystemError(f"HDFS paths must be absolute: {path}")
        return "/" + "/".join(p for p in hp.split("/") if p)

    # -- requests, retries and errors ------------------------------------------
    def _request(self, op: str, path: str, hp: str, data: Any = None, **params: Any) -> requests.Response:
        """One WebHDFS call (any HA namenode); raises _Transient or a mapped error unless 2xx/3xx."""
        params = {k: v for k, v in params.items() if v is not None}
        try:
            res = _OPS[op](self.client, hp, data=data, strict=False, **params)
        except HdfsError as e:  # Retriable/StandbyException from every namenode, or 401
            if getattr(e, "exception", None) in _TRANSIENT_EXCEPTIONS:
                raise _Transient(f"{e.exception}: {e}", self.namenode_hosts) from e
            if "Authentication failure" in str(e):
                raise PathPermissionError(errno.EACCES, f"{path}: {op} authentication failed at namenode "
                                          f"{self.namenode_hosts}") from e
            raise FileSystemError(f"{op} {path} failed at namenode {self.namenode_hosts}: {e}") from e
        except _TRANSIENT_ERRORS as e:
            raise _Transient(str(e), self._failed_host(e), unreachable=True, in_doubt=not _never_sent(e)) from e
        except KeyError as e:  # an error body that is JSON but not a RemoteException
            raise FileSystemError(f"{op} {path} failed at namenode {self.namenode_hosts}: bad error body") from e
        self._check(op, path, res)
        return res

    def _failed_host(self, e: BaseException) -> str:
        req = getattr(e, "request", None)
        url = getattr(req, "url", None)
        return _host_of(url) if url else self.namenode_hosts

    def _check(self, op: str, path: str, res: requests.Response) -> None:
        if res.status_code < 400:
            return
        exception, message = "", ""
        try:
            body = res.json()["RemoteException"]
            exception, message = body.get("exception", ""), body.get("message", "")
        except (ValueError, KeyError, TypeError, AttributeError):
            message = res.text[:500].strip()
        host = _host_of(res.url)
        where = f"namenode {self.namenode_hosts}"
        if host not in self.namenode_hosts:
            where += f", datanode {host}"
        detail = f"HTTP {res.status_code} {exception or res.reason}: {message} ({where})"
        if res.status_code in _TRANSIENT_STATUS or exception in _TRANSIENT_EXCEPTIONS:
            raise _Transient(detail, host)
        why = f"({exception}: {message}; {where})"
        if exception == "FileNotFoundException" or res.status_code == 404:
            raise PathNotFoundError(errno.ENOENT, f"No such file or directory: {path} ({op}: {message}; {where})",
                                    path)
        if exception in _PERMISSION_EXCEPTIONS or res.status_code == 401:
            # the session prefixes "Permission denied: ", so the text starts with the path
            detail = message.removeprefix("Permission denied: ") or exception
            raise PathPermissionError(errno.EACCES, f"{path} ({op}: {detail}; {exception} at {where})", path)
        if exception == "FileAlreadyExistsException":
            raise PathExistsError(errno.EEXIST, f"File exists: {path} {why}", path)
        if exception == "PathIsNotEmptyDirectoryException":
            raise FileSystemError(errno.ENOTEMPTY, f"Directory not empty: {path} {why}", path)
        if exception == "ParentNotDirectoryException":
            raise NotADirectoryError(errno.ENOTDIR, f"Not a directory {why}", path)
        raise FileSystemError(errno.EIO, f"HDFS {op} {path} failed: {detail}")

    def _retry(self, what: str, path: str, attempt: Callable[[], T],
               settle: Callable[[_Transient], tuple[bool, T | None]] | None = None) -> T:
        """Run `attempt`, retrying _Transient failures with bounded exponential backoff.

        A failure in doubt (the request may still be applied) is retried as is only for an
        idempotent `what`; otherwise `settle(failure)` looks at the path's state and answers
        (True, result) if the request was applied, (False, None) if re-sending it is safe, or
        raises; without `settle` the failure in doubt is raised at once.
        """
        delay = self.backoff
        for n in range(self.retries + 1):
            try:
                return attempt()
            except _Transient as e:
                last = e
                if e.in_doubt and what not in _IDEMPOTENT:
                    if settle is None:
                        raise self._doubt_error(what, path, e) from e
                    done, result = settle(e)
                    if done:
                        return cast(T, result)
                if n == self.retries:
                    break
                time.sleep(min(delay, self.max_backoff) * (0.5 + random.random() / 2))
                delay *= 2
        tries = self.retries + 1
        if last.unreachable:
            raise FileSystemError(
                errno.EHOSTUNREACH,
                f"Cannot reach HDFS at {last.host or self.namenode_hosts} for {what} {path} "
                f"(namenode {self.namenode_hosts}; {tries} attempts): {_root_cause(last)}") from last
        raise FileSystemError(errno.EIO, f"HDFS {what} {path} failed after {tries} attempts: {last}") from last

    def _doubt_error(self, what: str, path: str, e: _Transient, state: str = "") -> FileSystemError:
        """The error for a write whose outcome cannot be known: never retried, never committed."""
        timeout = self.client._timeout[1] if isinstance(self.client._timeout, tuple) else self.client._timeout
        return FileSystemError(
            errno.EIO,
            f"HDFS {what} {path} is in doubt: no answer from {e.host or self.namenode_hosts} "
            f"({_root_cause(e)}; hiveish.hdfs.timeout={timeout}s) and it may still be applied"
            f"{'; ' + state if state else ''}. Not retried, so that it cannot apply twice")

    def _call(self, op: str, path: str, data: Any = None, **params: Any) -> requests.Response:
        hp = self._hpath(path)
        return self._retry(op, path, lambda: self._request(op, path, hp, data=data, **params))

    def _json(self, op: str, path: str, settle: Callable[[_Transient], tuple[bool, Any]] | None = None,
              **params: Any) -> Any:
        def attempt() -> Any:
            res = self._request(op, path, self._hpath(path), **params)
            try:
                return res.json() if res.content else None
            except _TRANSIENT_ERRORS as e:
                raise _Transient(str(e), _host_of(res.url), in_doubt=True) from e
        return self._retry(op, path, attempt, settle)

    # -- reading -------------------------------------------------------------
    def _status(self, path: str, st: Mapping[str, Any], shown: str | None = None) -> FileStatus:
        is_dir = st.get("type") == "DIRECTORY"
        return FileStatus(
            path=shown if shown is not None else path,
            is_dir=is_dir,
            size=0 if is_dir else int(st.get("length", 0)),
            modification_time=int(st.get("modificationTime", 0)) / 1000.0,
            block_size=int(st.get("blockSize", 0)),
            replication=int(st.get("replication", 0)),
            owner=str(st.get("owner", "")),
            group=str(st.get("group", "")),
            permission=str(st.get("permission", "")),
        )

    def status(self, path: str) -> FileStatus:
        return self._status(path, self._json("GETFILESTATUS", path)["FileStatus"])

    def list(self, path: str) -> list[FileStatus]:
        entries = self._json("LISTSTATUS", path)["FileStatuses"]["FileStatus"]
        if len(entries) == 1 and entries[0].get("pathSuffix") == "" and entries[0].get("type") != "DIRECTORY":
            raise PathNotFoundError(errno.ENOENT, f"Directory does not exist: {path} (it is a file)", path)
        entries.sort(key=lambda e: e["pathSuffix"])
        return [self._status(path, e, self.join(path, e["pathSuffix"])) for e in entries]

    def content_summary(self, path: str) -> dict[str, Any]:
        """GETCONTENTSUMMARY: directoryCount, fileCount, length, spaceConsumed, quotas."""
        return dict(self._json("GETCONTENTSUMMARY", path)["ContentSummary"])

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        return self._read(path, offset, length)

    def read_bytes(self, path: str) -> bytes:
        return self._read(path, 0, None)

    def _read(self, path: str, offset: int, length: int | None) -> bytes:
        """OPEN with offset/length (following the redirect to a datanode), whole body or retry."""
        hp = self._hpath(path)

        def attempt() -> bytes:
            res = self._request("OPEN", path, hp, offset=offset, length=length)
            try:
                # 1 MiB chunks: requests' own .content reads 10 KiB at a time, several times slower
                data = b"".join(res.iter_content(_STREAM_CHUNK))
            except _TRANSIENT_ERRORS as e:
                raise _Transient(f"read interrupted: {e}", _host_of(res.url)) from e
            finally:
                res.close()
            expected = res.headers.get("Content-Length")
            if expected is not None and len(data) != int(expected):
                raise _Transient(f"short read ({len(data)} of {expected} bytes)", _host_of(res.url))
            return data

        return self._retry("OPEN", path, attempt)

    def open_read(self, path: str) -> BinaryIO:
        return cast(BinaryIO, WebHdfsReader(self, path, self.status(path).size))

    def copy_to_local(self, path: str, local_path: str, size: int | None = None) -> int:
        """Download `path` into `local_path` with one streamed OPEN, resuming at the offset reached.

        One long response read in 1 MiB chunks moves data several times faster
        than a series of ranged OPENs (each a NameNode redirect plus a DataNode
        request) and holds one chunk in memory.  A transient failure (reset
        connection, 5xx, timeout) re-opens at the current offset, with the
        usual bounded backoff; the retry budget restarts whenever data arrived.
        """
        if size is None:
            size = self.status(path).size
        hp = self._hpath(path)
        with open(local_path, "wb") as out:
            pos = 0

            def attempt() -> int:
                nonlocal pos
                start = pos
                res = self._request("OPEN", path, hp, offset=pos or None)
                try:
                    for chunk in res.iter_content(_STREAM_CHUNK):
                        out.write(chunk)
                        pos += len(chunk)
                except _TRANSIENT_ERRORS as e:
                    raise _Transient(f"read interrupted at byte {pos}: {e}", _host_of(res.url)) from e
                finally:
                    res.close()
                if pos < size:
                    raise _Transient(f"short read ({pos} of {size} bytes)", _host_of(res.url))
                return pos - start

            while True:
                before = pos
                try:
                    self._retry("OPEN", path, attempt)
                    break
                except FileSystemError:
                    if pos == before:  # no progress through a whole retry budget
                        raise
                    # progress was made: keep going with a fresh budget (never loops without progress)
        return pos

    def block_locations(self, path: str, offset: int = 0, length: int | None = None) -> list[BlockLocation]:
        try:
            body = self._json("GETFILEBLOCKLOCATIONS", path, offset=offset, length=length)
            return [BlockLocation(int(b["offset"]), int(b["length"]), tuple(b.get("hosts") or ()))
                    for b in body["BlockLocations"]["BlockLocation"]]
        except FileSystemError as e:
            if "GETFILEBLOCKLOCATIONS" not in str(e) or "No enum constant" not in str(e):
                raise
        # older NameNodes (before Hadoop 3.3/3.4) only answer GET_BLOCK_LOCATIONS
        body = self._json("GET_BLOCK_LOCATIONS", path, offset=offset, length=length)["LocatedBlocks"]
        return [BlockLocation(int(b["startOffset"]), int(b["block"]["numBytes"]),
                              tuple(loc.get("hostName") or loc.get("ipAddr", "") for loc in b.get("locations", [])))
                for b in body.get("locatedBlocks", [])]

    # -- writing -------------------------------------------------------------
    def _upload(self, op: str, path: str, hp: str, data: bytes, **params: Any) -> None:
        """One two-step CREATE/APPEND: NameNode redirect, then the bytes to the DataNode.

        The NameNode step only redirects, so only a DataNode step without an answer is in doubt.
        """
        method = "PUT" if op == "CREATE" else "POST"
        try:
            res = self._request(op, path, hp, **params)
            location = res.headers.get("Location")
            if not location:
                location = res.json()["Location"]  # noredirect=true style
        except _Transient as e:
            e.in_doubt = False
            raise
        try:
            put = self.client._request(method=method, url=location, data=data)
        except _TRANSIENT_ERRORS as e:
            raise _Transient(f"upload interrupted: {e}", _host_of(location),
                             unreachable=isinstance(e, requests.ConnectionError),
                             in_doubt=not _never_sent(e)) from e
        try:
            self._check(op, path, put)
        except _Transient as e:  # an error answer: nothing will land later, but some bytes may have
            e.in_doubt = e.answered = True
            raise

    def _holds(self, path: str, offset: int, data: bytes) -> bool:
        """Whether the file ends, at `offset`, with exactly `data` (a write in doubt that was applied)."""
        try:
            st = self.status(path)
        except FileNotFoundError:
            return False
        return not st.is_dir and st.size == offset + len(data) and self.read_range(path, offset, len(data)) == data

    def _create(self, path: str, data: bytes, overwrite: bool, **params: Any) -> None:
        """CREATE `path` holding `data`, exactly once.

        Always sent with ``overwrite=false`` (an existing file is deleted first when `overwrite`)
        and ``createparent=false`` (missing parents are made first), so a CREATE applied late can
        neither truncate the file we went on writing nor bring back a directory since removed.
        """
        hp = self._hpath(path)
        doubt: list[_Transient] = []
        fixed: set[str] = set()  # the one-time fixes made: "replaced", "parent"

        def attempt() -> None:
            while True:
                try:
                    self._upload("CREATE", path, hp, data, overwrite="false", createparent="false", **params)
                    return
                except PathExistsError:
                    if doubt:  # our own earlier CREATE may have landed meanwhile
                        if self._holds(path, 0, data):
                            return
                        raise self._doubt_error("CREATE", path, doubt[-1], "the file exists with other contents")
                    if not overwrite or "replaced" in fixed:
                        raise
                    fixed.add("replaced")
                    self.delete(path)
                except PathNotFoundError:
                    parent = hp.rsplit("/", 1)[0]
                    if "parent" in fixed or not parent:
                        raise
                    fixed.add("parent")
                    self.mkdirs(self.prefix + parent if "://" in path else parent)

        def settle(e: _Transient) -> tuple[bool, None]:
            doubt.append(e)
            try:
                st = self.status(path)
            except FileNotFoundError:
                return False, None  # not there: re-sending is safe, a late one fails on the existing file
            if not st.is_dir and st.size == len(data) and self.read_range(path, 0, len(data)) == data:
                return True, None
            raise self._doubt_error("CREATE", path, e, f"the file holds {st.size} of {len(data)} bytes")

        self._retry("CREATE", path, attempt, settle)

    def _append(self, path: str, data: bytes, offset: int) -> None:
        """APPEND `data` to a file `offset` bytes long, exactly once.

        Re-sent only after an error answer that left the file as it was; an APPEND without an
        answer that has not shown up may still land, so it is never re-sent.
        """
        hp = self._hpath(path)

        def settle(e: _Transient) -> tuple[bool, None]:
            if self._holds(path, offset, data):
                return True, None
            try:
                st = self.status(path)
                size = f"holds {st.size} bytes"
                if e.answered and st.size == offset:
                    return False, None  # refused, nothing written, nothing to come: re-sending is safe
            except FileNotFoundError:
                size = "is gone"
            raise self._doubt_error("APPEND", path, e,
                                    f"the file {size}, {offset} before and {offset + len(data)} after the APPEND")

        self._retry("APPEND", path, lambda: self._upload("APPEND", path, hp, data), settle)

    def create_bytes(self, path: str, data: bytes, overwrite: bool = True, permission: str | None = None,
                     block_size: int | None = None, replication: int | None = None) -> None:
        """CREATE `path` holding `data` (sent in write_buffer blocks: CREATE then APPENDs)."""
        view = memoryview(data)
        first = bytes(view[: self.write_buffer])
        self._create(path, first, overwrite, permission=permission, blocksize=block_size, replication=replication)
        if len(view) > self.write_buffer:
            self._append_from(path, view[self.write_buffer:], len(first))

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        self.create_bytes(path, data, overwrite=overwrite)

    def append_bytes(self, path: str, data: bytes) -> None:
        self._append_from(path, memoryview(data), self.status(path).size)

    def _append_from(self, path: str, view: memoryview, offset: int) -> int:
        """APPEND `view` in write_buffer blocks to a file `offset` bytes long; returns the new length."""
        for start in range(0, len(view), self.write_buffer):
            block = bytes(view[start:start + self.write_buffer])
            self._append(path, block, offset)
            offset += len(block)
        return offset

    def open_write(self, path: str, overwrite: bool = True) -> BinaryIO:
        if not overwrite and self.exists(path):
            raise PathExistsError(errno.EEXIST, f"File exists: {path}", path)
        return cast(BinaryIO, WebHdfsWriter(self, path, overwrite))

    def mkdirs(self, path: str) -> None:
        body = self._json("MKDIRS", path)
        if not body or not body.get("boolean"):
            raise FileSystemError(f"HDFS MKDIRS {path} returned false (namenode {self.namenode_hosts})")

    def rename(self, src: str, dst: str) -> None:
        """Atomic RENAME; fails with FileExistsError if `dst` exists (rename options NONE)."""
        dst_hp = self._hpath(dst)
        src_hp = self._hpath(src)
        parent = dst_hp.rsplit("/", 1)[0] or "/"
        if parent != "/":
            self.mkdirs(self.prefix + parent if "://" in dst else parent)
        doubt: list[_Transient] = []

        def applied() -> bool | None:
            """True if src moved to dst, False if it has not moved yet, None if neither."""
            at_src, at_dst = self.exists(src), self.exists(dst)
            return True if at_dst and not at_src else False if at_src and not at_dst else None

        def settle(e: _Transient) -> tuple[bool, Any]:
            doubt.append(e)
            state = applied()
            if state is None:
                raise self._doubt_error("RENAME", src, e, f"both or neither of it and {dst} exist")
            return state, None  # not moved yet: re-sending is safe, only one of the two can move it

        def attempt() -> Any:
            try:
                res = self._request("RENAME", src, src_hp, destination=dst_hp, renameoptions="NONE")
            except (PathNotFoundError, PathExistsError):
                if doubt and applied():  # our earlier RENAME landed meanwhile
                    return None
                raise
            if res.content and "json" in res.headers.get("Content-Type", ""):
                return res.json()
            return None

        body = self._retry("RENAME", src, attempt, settle)
        if isinstance(body, dict) and body.get("boolean") is False:  # a server ignoring renameoptions
            if not self.exists(src):
                raise PathNotFoundError(errno.ENOENT, f"No such file or directory: {src} (namenode {self.namenode_hosts})", src)
            raise FileSystemError(f"HDFS RENAME {src} -> {dst} returned false (namenode {self.namenode_hosts})")

    def delete(self, path: str, recursive: bool = False) -> bool:
        def settle(e: _Transient) -> tuple[bool, Any]:
            return (False, None) if self.exists(path) else (True, {"boolean": True})

        body = self._json("DELETE", path, settle, recursive=str(recursive).lower())
        return bool(body and body.get("boolean"))

    def set_permission(self, path: str, permission: str) -> None:
        """SETPERMISSION with an octal string such as ``"750"``."""
        self._call("SETPERMISSION", path, permission=permission)

    def set_owner(self, path: str, owner: str | None = None, group: str | None = None) -> None:
        """SETOWNER (changing the owner needs the HDFS superuser)."""
        self._call("SETOWNER", path, owner=owner, group=group)

    def local_path(self, path: str) -> str | None:
        return None


class WebHdfsReader(io.RawIOBase):
    """A seekable binary stream over an HDFS file, reading ranges of `read_buffer` bytes."""

    def __init__(self, fs: WebHdfsFileSystem, path: str, size: int) -> None:
        super().__init__()
        self.fs = fs
        self.name = path
        self.size = size
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._lock = threading.Lock()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(errno.EINVAL, f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        with self._lock:
            end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
            if end <= self._pos:
                return b""
            buf_end = self._buf_start + len(self._buf)
            if self._buf_start <= self._pos and end <= buf_end:
                out = self._buf[self._pos - self._buf_start:end - self._buf_start]
            else:
                want = end - self._pos
                fetch = min(max(want, self.fs.read_buffer), self.size - self._pos)
                data = self.fs.read_range(self.name, self._pos, fetch)
                want = min(want, len(data))  # fewer if the file shrank under us
                self._buf, self._buf_start = data, self._pos
                out = data[:want]
            self._pos += len(out)
            return out

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b: Any) -> int:
        data = self.read(len(memoryview(b)))
        memoryview(b).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._buf = b""
        super().close()


class WebHdfsWriter(io.RawIOBase):
    """A write stream that buffers and uploads: CREATE with the first block, APPEND for the rest."""

    def __init__(self, fs: WebHdfsFileSystem, path: str, overwrite: bool = True) -> None:
        super().__init__()
        self.fs = fs
        self.name = path
        self.overwrite = overwrite
        self._buf = bytearray()
        self._created = False
        self._written = 0
        self._size = 0  # bytes the file holds on HDFS: where the next APPEND must land

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        data = memoryview(b).cast("B")
        self._buf += data
        self._written += len(data)
        while len(self._buf) >= self.fs.write_buffer:
            self._ship(bytes(self._buf[: self.fs.write_buffer]))
            del self._buf[: self.fs.write_buffer]
        return len(data)

    def _ship(self, data: bytes) -> None:
        if self._created:
            self._size = self.fs._append_from(self.name, memoryview(data), self._size)
        else:
            self.fs.create_bytes(self.name, data, overwrite=self.overwrite)
            self._created = True
            self._size = len(data)

    def flush(self) -> None:
        """Buffered data is uploaded on close (HDFS has no cheap small appends)."""

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._buf or not self._created:
                self._ship(bytes(self._buf))
            self._buf = bytearray()
        finally:
            super().close()

    def abort(self) -> None:
        """Close without uploading what is still buffered."""
        self._buf = bytearray()
        self._created = True
        super().close()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None and not self._created:
            self.abort()
        else:
            self.close()


# ---------------------------------------------------------------------------
# pyarrow
# ---------------------------------------------------------------------------

class WebHdfsArrowHandler(pafs.FileSystemHandler):
    """A ``pyarrow.fs.FileSystemHandler`` over a :class:`WebHdfsFileSystem`.

    Arrow paths are the HDFS paths (``/warehouse/t/part-0.parquet``); full URIs
    on the same filesystem are accepted too.
    """

    def __init__(self, fs: WebHdfsFileSystem) -> None:
        self.fs = fs

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebHdfsArrowHandler) and other.fs.prefix == self.fs.prefix

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.fs.prefix)

    def _uri(self, path: str) -> str:
        if "://" in path:
            return path
        return self.fs.prefix + "/" + path.lstrip("/")

    @staticmethod
    def _arrow_path(path: str) -> str:
        if "://" in path:
            path = urllib.parse.urlsplit(path).path
        return "/" + path.strip("/")

    def get_type_name(self) -> str:
        return "webhdfs"

    def normalize_path(self, path: str) -> str:
        return self._arrow_path(path)

    def _info(self, st: FileStatus, shown: str) -> pafs.FileInfo:
        if st.is_dir:
            return pafs.FileInfo(shown, pafs.FileType.Directory, mtime=st.modification_time)
        return pafs.FileInfo(shown, pafs.FileType.File, mtime=st.modification_time, size=st.size)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        out = []
        for p in paths:
            try:
                out.append(self._info(self.fs.status(self._uri(p)), p))
            except FileNotFoundError:
                out.append(pafs.FileInfo(p, pafs.FileType.NotFound))
        return out

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        base = self._arrow_path(selector.base_dir)
        out: list[pafs.FileInfo] = []
        try:
            st = self.fs.status(self._uri(base))
        except FileNotFoundError:
            if selector.allow_not_found:
                return out
            raise
        if not st.is_dir:
            raise NotADirectoryError(errno.ENOTDIR, f"Not a directory: {base}", base)
        pending = [base]
        while pending:
            d = pending.pop()
            for child in self.fs.list(self._uri(d)):
                shown = d.rstrip("/") + "/" + child.path.rsplit("/", 1)[1]
                out.append(self._info(child, shown))
                if child.is_dir and selector.recursive:
                    pending.append(shown)
        return out

    def create_dir(self, path: str, recursive: bool) -> None:
        self.fs.mkdirs(self._uri(path))

    def delete_dir(self, path: str) -> None:
        self.fs.delete(self._uri(path), recursive=True)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        try:
            children = self.fs.list(self._uri(path))
        except FileNotFoundError:
            if missing_dir_ok:
                return
            raise
        for child in children:
            self.fs.delete(child.path, recursive=True)

    def delete_root_dir_contents(self) -> None:
        self.delete_dir_contents("/")

    def delete_file(self, path: str) -> None:
        uri = self._uri(path)
        if self.fs.status(uri).is_dir:
            raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path}", path)
        self.fs.delete(uri)

    def move(self, src: str, dest: str) -> None:
        dst = self._uri(dest)
        if self.fs.exists(dst) and not self.fs.is_dir(dst):
            self.fs.delete(dst)
        self.fs.rename(self._uri(src), dst)

    def copy_file(self, src: str, dest: str) -> None:
        with self.fs.open_read(self._uri(src)) as r, self.fs.open_write(self._uri(dest)) as w:
            while chunk := r.read(self.fs.read_buffer):
                w.write(chunk)

    def open_input_stream(self, path: str) -> Any:
        return self.open_input_file(path)

    def open_input_file(self, path: str) -> Any:
        return pa.PythonFile(self.fs.open_read(self._uri(path)), mode="r")

    def open_output_stream(self, path: str, metadata: Any = None) -> Any:
        return pa.PythonFile(self.fs.open_write(self._uri(path)), mode="w")

    def open_append_stream(self, path: str, metadata: Any = None) -> Any:
        return pa.PythonFile(_AppendStream(self.fs, self._uri(path)), mode="w")


class _AppendStream(WebHdfsWriter):
    """Buffers, then APPENDs (creating the file if missing)."""

    def __init__(self, fs: WebHdfsFileSystem, path: str) -> None:
        super().__init__(fs, path, overwrite=False)
        try:
            self._size = fs.status(path).size
            self._created = True
        except FileNotFoundError:
            self._created = False


def arrow_filesystem(fs: WebHdfsFileSystem) -> pafs.PyFileSystem:
    """A pyarrow filesystem reading and writing through `fs` (for datasets and Parquet)."""
    return pafs.PyFileSystem(WebHdfsArrowHandler(fs))


# ---------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------

_CACHE: dict[tuple[Any, ...], WebHdfsFileSystem] = {}
_CACHE_LOCK = threading.Lock()


def _factory(uri: str, options: dict) -> WebHdfsFileSystem:
    """One filesystem (and HTTP session) per scheme, authority and hiveish.hdfs.* options."""
    parts = urllib.parse.urlsplit(uri)
    relevant = tuple(sorted((k, str(v)) for k, v in (options or {}).items() if k.startswith("hiveish.hdfs.")))
    key = (parts.scheme.lower(), parts.netloc, relevant)
    with _CACHE_LOCK:
        fs = _CACHE.get(key)
        if fs is None:
            fs = _CACHE[key] = WebHdfsFileSystem(f"{parts.scheme}://{parts.netloc}/", options)
        return fs


for _scheme in _SCHEMES:
    register_scheme(_scheme, _factory)
