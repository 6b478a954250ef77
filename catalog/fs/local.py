"""The local filesystem (`file://` URIs and plain absolute paths)."""

from __future__ import annotations

import os
import shutil
from typing import BinaryIO

from catalog.fs.base import BlockLocation, FileStatus, FileSystem

LOCAL_BLOCK_SIZE = 128 << 20


def strip_file_scheme(path: str) -> str:
    if path.startswith("file://"):
        path = path[len("file://"):]
        # file://localhost/x and file:///x both mean /x
        if not path.startswith("/"):
            path = "/" + path.split("/", 1)[1] if "/" in path else "/"
    elif path.startswith("file:"):
        path = path[len("file:"):]
    return path


class LocalFileSystem(FileSystem):
    scheme = "file"

    def _p(self, path: str) -> str:
        return strip_file_scheme(path)

    def _status(self, real: str, shown: str) -> FileStatus:
        st = os.stat(real)
        is_dir = os.path.isdir(real)
        return FileStatus(
            path=shown,
            is_dir=is_dir,
            size=0 if is_dir else st.st_size,
            modification_time=st.st_mtime,
            block_size=LOCAL_BLOCK_SIZE,
            permission=oct(st.st_mode & 0o777)[2:],
        )

    def status(self, path: str) -> FileStatus:
        real = self._p(path)
        if not os.path.exists(real):
            raise FileNotFoundError(f"File does not exist: {path}")
        return self._status(real, path)

    def list(self, path: str) -> list[FileStatus]:
        real = self._p(path)
        if not os.path.isdir(real):
            raise FileNotFoundError(f"Directory does not exist: {path}")
        out = []
        for name in sorted(os.listdir(real)):
            try:
                out.append(self._status(os.path.join(real, name), self.join(path, name)))
            except FileNotFoundError:  # vanished between listdir and stat
                continue
        return out

    def open_read(self, path: str) -> BinaryIO:
        return open(self._p(path), "rb")

    def block_locations(self, path: str, offset: int = 0, length: int | None = None) -> list[BlockLocation]:
        """The file cut into LOCAL_BLOCK_SIZE blocks, all on "localhost" (one per default split)."""
        size = self.status(path).size
        end = size if length is None else min(size, offset + length)
        out = []
        start = (offset // LOCAL_BLOCK_SIZE) * LOCAL_BLOCK_SIZE
        while start < end:
            out.append(BlockLocation(start, min(LOCAL_BLOCK_SIZE, size - start), ("localhost",)))
            start += LOCAL_BLOCK_SIZE
        return out

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with open(self._p(path), "rb") as f:
            f.seek(offset)
            return f.read(length)

    def open_write(self, path: str, overwrite: bool = True) -> BinaryIO:
        real = self._p(path)
        os.makedirs(os.path.dirname(real) or ".", exist_ok=True)
        return open(real, "wb" if overwrite else "xb")

    def append_bytes(self, path: str, data: bytes) -> None:
        with open(self._p(path), "ab") as f:
            f.write(data)

    def mkdirs(self, path: str) -> None:
        os.makedirs(self._p(path), exist_ok=True)

    def rename(self, src: str, dst: str) -> None:
        real_dst = self._p(dst)
        if os.path.exists(real_dst):
            raise FileExistsError(f"Destination exists: {dst}")
        os.makedirs(os.path.dirname(real_dst) or ".", exist_ok=True)
        os.rename(self._p(src), real_dst)

    def delete(self, path: str, recursive: bool = False) -> bool:
        real = self._p(path)
        if os.path.isdir(real) and not os.path.islink(real):
            if recursive:
                shutil.rmtree(real)
            else:
                os.rmdir(real)
            return True
        try:
            os.remove(real)
            return True
        except FileNotFoundError:
            return False

    def copy_from_local(self, local_path: str, path: str) -> None:
        real = self._p(path)
        os.makedirs(os.path.dirname(real) or ".", exist_ok=True)
        shutil.copyfile(local_path, real)

    def copy_to_local(self, path: str, local_path: str, size: int | None = None) -> int:
        shutil.copyfile(self._p(path), local_path)
        return os.path.getsize(local_path)

    def local_path(self, path: str) -> str | None:
        return self._p(path)
