"""Paths that a delete, or a managed table's LOCATION (deleted with the table), must never cover:
the warehouse root, the metastore file and its commit journal, and the directories of databases,
tables and partitions. Locations are compared as (filesystem, absolute normalized path): local
paths with symlinks resolved, `hdfs://`/`webhdfs://` on one NameNode alike, `hdfs:///x` on the
warehouse's NameNode.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit

from catalog.fs import scheme_of

_HDFS = ("hdfs", "webhdfs", "swebhdfs")


@dataclass(frozen=True)
class PathKey:
    store: str  # "file" or "hdfs://<namenode>"
    path: str


def path_key(location: str, default_namenode: str = "") -> PathKey:
    scheme = scheme_of(location)
    if scheme == "file":
        local = "/" + location[5:].lstrip("/") if location.startswith("file:") else location
        return PathKey("file", os.path.realpath(os.path.abspath(local)))
    parts = urlsplit(location)
    store = f"{'hdfs' if scheme in _HDFS else scheme}://{(parts.netloc or default_namenode).lower()}"
    return PathKey(store, posixpath.normpath("/" + parts.path.lstrip("/")))


def covers(outer: PathKey, inner: PathKey) -> bool:
    """`inner` is `outer` or lies under it."""
    if outer.store != inner.store:
        return False
    if outer.path == inner.path or outer.path == "/":
        return True
    return inner.path.startswith(outer.path.rstrip("/") + "/")


class Protected:
    """Named paths to keep; `conflict(location)` names the first one the location covers."""

    def __init__(self, default_namenode: str = "") -> None:
        self.default_namenode = default_namenode
        self._entries: list[tuple[str, PathKey]] = []

    def add(self, description: str, location: str) -> None:
        if location:
            self._entries.append((description, path_key(location, self.default_namenode)))

    def conflict(self, location: str) -> str | None:
        key = path_key(location, self.default_namenode)
        for description, kept in self._entries:
            if covers(key, kept):
                return description
        return None
