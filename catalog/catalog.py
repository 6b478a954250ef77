"""The catalog: metastore + storage, the seam between planning and files."""

from __future__ import annotations

import os
import re
import uuid
from urllib.parse import urlsplit

from catalog.formats.base import FileScan
from catalog.formats.registry import format_named
from catalog.fs import FileSystem, check_scheme, filesystem_for, scheme_of
from catalog.journal import journal_dir_for
from catalog.locations import Protected
from catalog.metastore import Metastore
from catalog.model import Database, Partition, StorageDescriptor, Table
from catalog.paths import partition_name

_WEBHDFS = ("hdfs", "webhdfs", "swebhdfs")


def is_hidden(name: str) -> bool:
    """Hive ignores files starting with '.' or '_' (staging, _SUCCESS, .crc)."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    return base.startswith(".") or base.startswith("_")


class Catalog:
    def __init__(self, metastore: Metastore, warehouse: str, fs_options: dict[str, str] | None = None) -> None:
        self.metastore = metastore
        self.warehouse = warehouse.rstrip("/") or "/"
        self.fs_options = fs_options or {}
        metastore.journal.fs_for = self.fs
        # what a killed writer left: finish or undo its commit, delete its staging directories
        self.recovered = metastore.recover()

    def fs(self, path: str) -> FileSystem:
        return filesystem_for(path, self.options_for(path))

    def options_for(self, path: str) -> dict[str, str]:
        """Filesystem options for `path`: an `hdfs:///x` path without a namenode uses the warehouse's."""
        if scheme_of(path) in _WEBHDFS and not urlsplit(path).netloc and scheme_of(self.warehouse) in _WEBHDFS \
                and not self.fs_options.get("hiveish.hdfs.namenode") and not self.fs_options.get("hiveish.hdfs.alias"):
            nn = urlsplit(self.warehouse).netloc
            if nn:
                http = "https" if scheme_of(self.warehouse) == "swebhdfs" else "http"
                return {**self.fs_options, "hiveish.hdfs.namenode": f"{http}://{nn}"}
        return self.fs_options

    # -- locations --------------------------------------------------------------------
    def database_location(self, name: str) -> str:
        if name.lower() == "default":
            return self.warehouse
        return f"{self.warehouse}/{name.lower()}.db"

    def default_table_location(self, db: Database, table: str) -> str:
        # as Hive's Warehouse.getDatabasePath: the default database lives at the current warehouse root
        # (so `--warehouse hdfs://...` or SET hive.metastore.warehouse.dir moves its new tables there)
        base = self.warehouse if db.name.lower() == "default" else db.location
        return f"{base.rstrip('/')}/{encode_table_name(table.lower())}"

    def partition_location(self, table: Table, values: list[str]) -> str:
        return f"{table.sd.location.rstrip('/')}/{partition_name([k.name for k in table.partition_keys], values)}"

    # -- changing files (inside the statement's metastore transaction) ---------------------------
    def move(self, src: str, dst: str) -> None:
        """Rename as part of the open transaction: undone if it rolls back or the process dies first."""
        if not self.metastore.in_transaction:
            raise RuntimeError("file moves belong inside a metastore transaction")
        self.metastore.journal.move(src, dst)

    def begin_staging(self, path: str) -> None:
        """Register and create a statement's staging directory, then clear what failed or dead
        statements left beside it (see catalog/journal.py; never a live statement's)."""
        journal = self.metastore.journal
        journal.register_staging(path)  # first: a later session removes it if this one dies
        self.fs(path).mkdirs(path)
        parent = path.rstrip("/").rsplit("/", 1)[0]
        try:
            journal.sweep_leftovers(parent)
            journal.sweep_orphans(parent, float(self.fs_options.get("hiveish.staging.max_age") or 86400))
        except (OSError, ValueError):
            pass  # best effort: the statement's own writes report a failing store

    def delete_after_commit(self, path: str) -> None:
        """Delete a temporary path (staging, trash) once the open transaction ended."""
        self.metastore.journal.delete_after(path)

    def trash(self, path: str, protected: Protected | None = None) -> None:
        """Remove `path` (a table or partition directory) with the open transaction.

        The directory is renamed to a hidden sibling at once and deleted after COMMIT, so a
        crash leaves it either in place (rolled back) or gone (committed), never half deleted.
        A path that is or contains the warehouse root, the metastore or another object's
        directory (`protected`, by default as the metastore now stands) is refused.
        """
        fs = self.fs(path)
        if not path or not fs.exists(path):
            return
        self.check_delete(path, protected)
        clean = path.rstrip("/")
        parent, _, base = clean.rpartition("/")
        dst = f"{parent}/.hive-trash_{uuid.uuid4().hex[:12]}_{base}"
        self.move(clean, dst)
        self.delete_after_commit(dst)

    # -- what must never be deleted --------------------------------------------------------
    def protected(self, skip_table: tuple[str, str] | None = None, skip_partition: str | None = None) -> Protected:
        """The warehouse root, the metastore and its journal, and every database's, table's and
        partition's directory; `skip_table` (db, name) leaves out that table's own directories,
        `skip_partition` (`k=v of table d.t`) one partition's."""
        nn = urlsplit(self.warehouse).netloc if scheme_of(self.warehouse) in _WEBHDFS else ""
        p = Protected(nn)
        p.add(f"the warehouse root {self.warehouse}", self.warehouse)
        ms = self.metastore.path
        if ms and ms != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                p.add(f"the metastore {ms}", ms + suffix)
            journal = journal_dir_for(ms)
            if journal:
                p.add(f"the metastore's commit journal {journal}", journal)
        own = f"{skip_table[0]}.{skip_table[1]}".lower() if skip_table else None
        for what, loc in self.metastore.all_locations():
            if own and (what == f"table {own}" or what.endswith(f" of table {own}")):
                continue
            if skip_partition and what == f"partition {skip_partition}":
                continue
            p.add(f"the location of {what}", loc)
        return p

    def check_managed_location(self, location: str, owner: str, **skip) -> None:
        """Refuse a managed LOCATION (deleted with its table or partition) covering what must be kept."""
        conflict = self.protected(**skip).conflict(location)
        if conflict:
            from hiveish.errors import SemanticException

            raise SemanticException(f"Location '{location}' of managed {owner} is or contains {conflict}: it "
                                    "would be deleted with it; give it a directory of its own or make the table "
                                    "EXTERNAL")

    def check_delete(self, path: str, protected: Protected | None = None, action: str = "delete") -> None:
        """Refuse to delete (or overwrite) `path` if it is or contains what must be kept."""
        conflict = (protected or self.protected()).conflict(path)
        if conflict:
            from hiveish.errors import SemanticException

            raise SemanticException(f"Cannot {action} {path}: it is or contains {conflict}")

    # -- files --------------------------------------------------------------------------
    def data_files(self, location: str) -> list[str]:
        """Visible data files under a table or partition location (recursively, as Hive does)."""
        return [path for path, size in self.data_file_sizes(location) if not (size == 0 and not path)]

    def data_file_sizes(self, location: str) -> list[tuple[str, int]]:
        """(path, size) of every visible file under a location; none when it does not exist."""
        if not location:
            return []
        fs = self.fs(location)
        try:
            if not fs.exists(location):
                return []
            out = []
            for st in fs.walk_files(location):
                rel = st.path[len(location):] if st.path.startswith(location) else st.path
                if not any(is_hidden(p) for p in rel.split("/") if p):
                    out.append((st.path, st.size))
            return out
        except FileNotFoundError:
            return []

    def file_scan(self, table: Table, sd: StorageDescriptor, columns: list[tuple[str, str]],
                  constants: list[tuple[str, str | None, str]]) -> FileScan:
        files = self.data_files(sd.location)
        fs = self.fs(sd.location) if sd.location else None
        local = fs is not None and fs.local_path(sd.location) is not None
        if local and fs is not None:
            files = [fs.local_path(f) or f for f in files]
        schema = [(c.name, c.type) for c in table.columns]
        if sd.cols is not None and format_named(sd.format).fields_by_position(sd.serde):
            # a partition with its own schema: its fields map to the table's columns by position,
            # and table columns past the partition's read NULL
            schema = [(name, typ) for (name, _), (_, typ) in zip(schema, sd.cols)]
        return FileScan(format=sd.format, files=files, columns=columns, serde=sd.serde,
                        serde_params=dict(sd.serde_params),
                        table_columns=schema, constants=constants,
                        table_params=dict(table.params), local=local,
                        fs_options=dict(self.options_for(sd.location) if sd.location else self.fs_options))

    def partitions(self, table: Table) -> list[Partition]:
        return self.metastore.list_partitions(table.db, table.name)

    def local_path(self, path: str) -> str | None:
        return self.fs(path).local_path(path)


def encode_table_name(name: str) -> str:
    """A table name as its directory name: as Hive's encodeTableName, `-<code>-` for each character
    other than a letter, digit or underscore (so `c/b/o_t1` never nests directories)."""
    return "".join(ch if ch.isalnum() or ch == "_" else f"-{ord(ch)}-" for ch in name)


def absolute_location(path: str) -> str:
    """Turn a user-given LOCATION into an absolute URI/path.

    URIs keep their scheme and authority (`hdfs://nn:9870/w/t`); Hadoop's
    short spelling `hdfs:/w/t` becomes `hdfs:///w/t` (the namenode of the
    warehouse, see `Catalog.options_for`); bare paths are local.
    """
    check_scheme(path)
    m = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):(/[^/].*|/)$", path)
    if m and m.group(1).lower() in _WEBHDFS:
        path = f"{m.group(1)}://{m.group(2)}"
    if "://" in path or path.startswith("file:"):
        head, sep, rest = path.partition("://")
        if sep and rest.rstrip("/") == rest.split("/", 1)[0]:  # scheme://authority only: its root
            return f"{head}://{rest.rstrip('/')}/"
        return path.rstrip("/") or path
    return os.path.abspath(path).rstrip("/") or "/"
