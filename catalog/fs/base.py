"""The filesystem seam: everything the catalog and the writers need from storage.

Paths handed to a filesystem are URIs or plain absolute paths; each
implementation accepts the schemes it serves (`file://` and bare paths for the
local filesystem, `hdfs://` / `webhdfs://` for WebHDFS) and returns paths in
the same spelling it was given, so callers can join with `/`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator


@dataclass(frozen=True)
class FileStatus:
    path: str
    is_dir: bool
    size: int = 0
    modification_time: float = 0.0
    block_size: int = 0
    replication: int = 1
    owner: str = ""
    group: str = ""
    permission: str = ""


@dataclass(frozen=True)
class BlockLocation:
    offset: int
    length: int
    hosts: tuple[str, ...] = field(default_factory=tuple)


class _Plain:
    """`str()` is the message alone: it already names the path and host (no `[Errno N]` prefix)."""

    def __str__(self) -> str:
        strerror = getattr(self, "strerror", None)
        return strerror if strerror else OSError.__str__(self)  # type: ignore[arg-type]


class FileSystemError(_Plain, OSError):
    """A storage failure, with the path (and host, for remote stores) named."""


class PathNotFoundError(_Plain, FileNotFoundError):
    """A missing file or directory on a remote store; the message names path and host."""


class PathPermissionError(_Plain, PermissionError):
    """Access refused by a remote store; the message names path, user and host."""


class PathExistsError(_Plain, FileExistsError):
    """The path exists on a remote store; the message names path and host."""


class FileSystem(abc.ABC):
    """Abstract storage. Local and WebHDFS implement it."""

    scheme: str = ""

    # -- reading -----------------------------------------------------------
    @abc.abstractmethod
    def status(self, path: str) -> FileStatus:
        """Status of `path`; raises FileNotFoundError if it does not exist."""

    def exists(self, path: str) -> bool:
        try:
            self.status(path)
            return True
        except FileNotFoundError:
            return False

    def is_dir(self, path: str) -> bool:
        try:
            return self.status(path).is_dir
        except FileNotFoundError:
            return False

    @abc.abstractmethod
    def list(self, path: str) -> list[FileStatus]:
        """Direct children of directory `path` (sorted by name)."""

    def walk_files(self, path: str) -> Iterator[FileStatus]:
        """All files below `path` (or `path` itself if it is a file), sorted."""
        st = self.status(path)
        if not st.is_dir:
            yield st
            return
        for child in self.list(path):
            if child.is_dir:
                yield from self.walk_files(child.path)
            else:
                yield child

    @abc.abstractmethod
    def open_read(self, path: str) -> BinaryIO:
        """A seekable binary stream over the file."""

    @abc.abstractmethod
    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """`length` bytes from `offset` (fewer at end of file)."""

    def read_bytes(self, path: str) -> bytes:
        return self.read_range(path, 0, self.status(path).size)

    def block_locations(self, path: str, offset: int = 0, length: int | None = None) -> list[BlockLocation]:
        """Blocks of a file with the hosts holding them; one block by default."""
        size = self.status(path).size
        return [BlockLocation(0, size, ("localhost",))]

    # -- writing -----------------------------------------------------------
    @abc.abstractmethod
    def open_write(self, path: str, overwrite: bool = True) -> BinaryIO:
        """A binary stream that creates (or replaces) the file; parents are created."""

    def write_bytes(self, path: str, data: bytes, overwrite: bool = True) -> None:
        with self.open_write(path, overwrite=overwrite) as f:
            f.write(data)

    @abc.abstractmethod
    def append_bytes(self, path: str, data: bytes) -> None:
        """Append to an existing file."""

    @abc.abstractmethod
    def mkdirs(self, path: str) -> None:
        """Create `path` and its parents; no error if it exists."""

    @abc.abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Atomically move `src` to `dst` (dst must not exist)."""

    @abc.abstractmethod
    def delete(self, path: str, recursive: bool = False) -> bool:
        """Delete a file or directory; returns False if it did not exist."""

    def copy_from_local(self, local_path: str, path: str) -> None:
        """Upload a local file to `path` (for LOAD DATA LOCAL)."""
        with open(local_path, "rb") as src, self.open_write(path) as dst:
            while chunk := src.read(8 << 20):
                dst.write(chunk)

    def copy_to_local(self, path: str, local_path: str, size: int | None = None) -> int:
        """Download `path` into the local file `local_path` (created or replaced); returns bytes copied.

        Memory stays bounded by one chunk; remote filesystems override this with
        a streaming read that resumes after a transient failure.
        """
        n = 0
        with self.open_read(path) as src, open(local_path, "wb") as dst:
            while chunk := src.read(8 << 20):
                dst.write(chunk)
                n += len(chunk)
        return n

    # -- paths ---------------------------------------------------------------
    @staticmethod
    def join(base: str, *parts: str) -> str:
        out = base.rstrip("/")
        for p in parts:
            out = f"{out}/{p.strip('/')}"
        return out

    def local_path(self, path: str) -> str | None:
        """A path DuckDB's native readers can open directly, or None."""
        return None
