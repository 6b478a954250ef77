"""Filesystems behind the catalog, chosen by URI scheme."""

from __future__ import annotations

from typing import Callable

from catalog.fs.base import BlockLocation, FileStatus, FileSystem, FileSystemError
from catalog.fs.local import LocalFileSystem

__all__ = ["BlockLocation", "FileStatus", "FileSystem", "FileSystemError", "LocalFileSystem",
           "filesystem_for", "register_scheme", "scheme_of"]

# scheme -> factory(uri, options) ; remote filesystems register themselves here
_FACTORIES: dict[str, Callable[[str, dict], FileSystem]] = {}
_LOCAL = LocalFileSystem()


def register_scheme(scheme: str, factory: Callable[[str, dict], FileSystem]) -> None:
    _FACTORIES[scheme] = factory


def scheme_of(uri: str) -> str:
    head, sep, _ = uri.partition("://")
    if sep and head.isalpha():
        return head.lower()
    return "file"


def filesystem_for(uri: str, options: dict | None = None) -> FileSystem:
    """The filesystem serving `uri` (`file://`, bare path, `hdfs://`, `webhdfs://`)."""
    scheme = scheme_of(uri)
    if scheme == "file":
        return _LOCAL
    if scheme in ("hdfs", "webhdfs") and scheme not in _FACTORIES:
        try:
            import catalog.fs.webhdfs  # noqa: F401  registers itself
        except ImportError as e:  # pragma: no cover - depends on install
            raise FileSystemError(f"No filesystem for scheme '{scheme}': {e}") from e
    factory = _FACTORIES.get(scheme)
    if factory is None:
        raise FileSystemError(f"No filesystem for scheme '{scheme}' in {uri}")
    return factory(uri, options or {})
