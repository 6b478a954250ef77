"""Filesystems behind the catalog, chosen by URI scheme."""

from __future__ import annotations

import re
from typing import Callable

from catalog.fs.base import BlockLocation, FileStatus, FileSystem, FileSystemError
from catalog.fs.local import LocalFileSystem

__all__ = ["BlockLocation", "FileStatus", "FileSystem", "FileSystemError", "LocalFileSystem",
           "check_scheme", "filesystem_for", "register_scheme", "scheme_of"]

# scheme -> factory(uri, options) ; remote filesystems register themselves here
_FACTORIES: dict[str, Callable[[str, dict], FileSystem]] = {}
_LOCAL = LocalFileSystem()


def register_scheme(scheme: str, factory: Callable[[str, dict], FileSystem]) -> None:
    _FACTORIES[scheme] = factory


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
KNOWN_SCHEMES = ("file", "hdfs", "webhdfs", "swebhdfs")  # besides those registered


def scheme_of(uri: str) -> str:
    """The URI's scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`), `file` for a bare path."""
    m = _SCHEME.match(uri)
    return m.group(1).lower() if m else "file"


def check_scheme(uri: str) -> None:
    """Refuse a URI whose scheme no filesystem serves (`s3a://bucket/path`), before anything is written."""
    scheme = scheme_of(uri)
    if scheme not in KNOWN_SCHEMES and scheme not in _FACTORIES:
        from hiveish import errors  # the kernel

        have = ", ".join(sorted(set(KNOWN_SCHEMES) | set(_FACTORIES)))
        raise errors.ExecutionError(f"java.io.IOException: No FileSystem for scheme: {scheme} (in {uri}); "
                                    f"hiveish has filesystems for {have}")


def filesystem_for(uri: str, options: dict | None = None) -> FileSystem:
    """The filesystem serving `uri` (`file://`, bare path, `hdfs://`, `webhdfs://`)."""
    scheme = scheme_of(uri)
    if scheme == "file":
        return _LOCAL
    if scheme in ("hdfs", "webhdfs", "swebhdfs") and scheme not in _FACTORIES:
        try:
            import catalog.fs.webhdfs  # noqa: F401  registers itself
        except ImportError as e:  # pragma: no cover - depends on install
            raise FileSystemError(f"No filesystem for scheme '{scheme}': {e}") from e
    factory = _FACTORIES.get(scheme)
    if factory is None:
        raise FileSystemError(f"No filesystem for scheme '{scheme}' in {uri}")
    return factory(uri, options or {})
