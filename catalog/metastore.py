"""The persistent metastore: an embedded SQLite file.

Several processes may share one file: WAL journal, a busy timeout, and one
`BEGIN IMMEDIATE` transaction per statement (`Metastore.transaction()`), so a
failed statement changes nothing. File moves made inside a transaction go
through its commit journal (catalog/journal.py), so they commit or roll back
with it, even when the process is killed in between.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
import time
from typing import Iterator

from catalog.journal import Journal, journal_dir_for, kill_point
from catalog.model import Column, Database, Partition, StorageDescriptor, Table

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dbs (
  name TEXT PRIMARY KEY, location TEXT NOT NULL, comment TEXT, owner TEXT, params TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tbls (
  db TEXT NOT NULL REFERENCES dbs(name), name TEXT NOT NULL, table_type TEXT NOT NULL,
  owner TEXT, create_time INTEGER, comment TEXT, sd TEXT NOT NULL, params TEXT NOT NULL,
  view_original_text TEXT, view_expanded_text TEXT,
  PRIMARY KEY (db, name));
CREATE TABLE IF NOT EXISTS columns (
  db TEXT NOT NULL, tbl TEXT NOT NULL, idx INTEGER NOT NULL, is_partition_key INTEGER NOT NULL,
  name TEXT NOT NULL, type TEXT NOT NULL, comment TEXT,
  PRIMARY KEY (db, tbl, is_partition_key, idx),
  FOREIGN KEY (db, tbl) REFERENCES tbls(db, name) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE IF NOT EXISTS partitions (
  db TEXT NOT NULL, tbl TEXT NOT NULL, name TEXT NOT NULL, vals TEXT NOT NULL,
  sd TEXT NOT NULL, params TEXT NOT NULL, create_time INTEGER,
  PRIMARY KEY (db, tbl, name),
  FOREIGN KEY (db, tbl) REFERENCES tbls(db, name) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE IF NOT EXISTS commit_log (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS col_stats (
  db TEXT NOT NULL, tbl TEXT NOT NULL, part TEXT NOT NULL, col TEXT NOT NULL, type TEXT NOT NULL,
  stats TEXT NOT NULL,
  PRIMARY KEY (db, tbl, part, col),
  FOREIGN KEY (db, tbl) REFERENCES tbls(db, name) ON DELETE CASCADE ON UPDATE CASCADE);
"""
# col_stats (ANALYZE ... FOR COLUMNS) was added without a version bump: CREATE TABLE IF NOT EXISTS
# adds it to older files, and older hiveish versions ignore it. `part` is '' for a table's own
# statistics, else the partition's name.


# what _SCHEMA creates: a store with all of them at SCHEMA_VERSION needs no set-up on open
_SCHEMA_OBJECTS = frozenset(re.findall(r"CREATE\s+(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", _SCHEMA, re.I))


class MetastoreError(Exception):
    pass


class Metastore:
    """Databases, tables, columns and partitions in one SQLite file."""

    def __init__(self, path: str, warehouse: str) -> None:
        self.path = path
        self.warehouse = warehouse.rstrip("/") or "/"
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
        self._conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 60000")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.RLock()
        self._depth = 0
        from catalog.fs import filesystem_for

        self.journal = Journal(journal_dir_for(path), filesystem_for)
        self._init_schema()

    def close(self) -> None:
        self._conn.close()
        self.journal.close()

    def recover(self) -> list[str]:
        """Finish or undo what killed writers left (see catalog/journal.py); cheap when nothing did."""
        if not self.journal.pending() and not self._x("SELECT 1 FROM commit_log LIMIT 1").fetchone():
            return []
        with self._lock:
            self._begin()
            try:
                done = self.journal.recover(
                    lambda cid: self._conn.execute("SELECT 1 FROM commit_log WHERE id=?", (cid,)).fetchone() is not None)
                live = self.journal.live_commit_ids()
                for (cid,) in self._conn.execute("SELECT id FROM commit_log").fetchall():
                    if cid not in live:
                        self._conn.execute("DELETE FROM commit_log WHERE id=?", (cid,))
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return done

    # -- transactions ------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin()
            self._depth = 1
            self.journal.stranded = []
            try:
                yield
                if self.journal.active:  # the commit point of the statement's file moves
                    self._conn.execute("INSERT INTO commit_log VALUES (?)", (self.journal.commit_id,))
            except BaseException as e:
                self._depth = 0
                stranded = self.journal.rolled_back() if self.journal.active else []
                self._conn.execute("ROLLBACK")
                if stranded and isinstance(e, Exception):
                    raise MetastoreError(
                        f"{e}; the commit could not be undone for {len(stranded)} file(s) (e.g. {stranded[0]}); "
                        "the next session start retries") from e
                raise
            self._depth = 0
            try:
                if self.journal.active:
                    kill_point("commit")
                self._conn.execute("COMMIT")
            except BaseException:
                if self.journal.active:
                    self.journal.rolled_back()
                self._conn.execute("ROLLBACK")
                raise
            if self.journal.active:
                self.journal.committed()

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """Hold off commits while a query lists its partitions and files (no commit is half done then)."""
        if self.path == ":memory:":
            return contextlib.nullcontext()
        return self.transaction()

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def _begin(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                    raise MetastoreError(f"Metastore is locked: {e}") from e
                time.sleep(0.05)

    def _x(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, args)

    def _schema_current(self) -> bool:
        """The store already has this version's schema and the default database: a read, no write lock."""
        try:
            row = self._conn.execute(
                "SELECT (SELECT max(version) FROM schema_version), EXISTS(SELECT 1 FROM dbs WHERE name='default')"
            ).fetchone()
            have = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master")}
        except sqlite3.OperationalError:  # no such table: a new store
            return False
        return row == (SCHEMA_VERSION, 1) and _SCHEMA_OBJECTS <= have

    def _init_schema(self) -> None:
        if self._schema_current():
            return
        with self.transaction():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._conn.execute(stmt)
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise MetastoreError(
                    f"Metastore {self.path} has schema version {row[0]}, newer than this hiveish ({SCHEMA_VERSION})")
            if not self._conn.execute("SELECT 1 FROM dbs WHERE name='default'").fetchone():
                self._conn.execute("INSERT INTO dbs VALUES ('default', ?, 'Default Hive database', 'public', '{}')",
                                   (self.warehouse,))

    def schema_version(self) -> int:
        return self._x("SELECT version FROM schema_version").fetchone()[0]

    def integrity_check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign key checks (empty if sound)."""
        rows = [r[0] for r in self._x("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        rows += [f"foreign key violation in {r[0]}" for r in self._x("PRAGMA foreign_key_check").fetchall()]
        return rows

    # -- databases ----------------------------------------------------------------
    def get_database(self, name: str) -> Database | None:
        row = self._x("SELECT name, location, comment, owner, params FROM dbs WHERE name=?",
                      (name.lower(),)).fetchone()
        if not row:
            return None
        return Database(row[0], row[1], row[2], row[3] or "", json.loads(row[4]))

    def list_databases(self) -> list[str]:
        return [r[0] for r in self._x("SELECT name FROM dbs ORDER BY name")]

    def create_database(self, db: Database) -> None:
        self._x("INSERT INTO dbs VALUES (?,?,?,?,?)",
                (db.name.lower(), db.location, db.comment, db.owner, json.dumps(db.params)))

    def alter_database(self, db: Database) -> None:
        self._x("UPDATE dbs SET location=?, comment=?, owner=?, params=? WHERE name=?",
                (db.location, db.comment, db.owner, json.dumps(db.params), db.name.lower()))

    def drop_database(self, name: str) -> None:
        self._x("DELETE FROM dbs WHERE name=?", (name.lower(),))

    # -- tables -------------------------------------------------------------------
    def get_table(self, db: str, name: str) -> Table | None:
        db, name = db.lower(), name.lower()
        row = self._x(
            "SELECT db, name, table_type, owner, create_time, comment, sd, params, view_original_text,"
            " view_expanded_text FROM tbls WHERE db=? AND name=?", (db, name)).fetchone()
        if not row:
            return None
        cols: list[Column] = []
        keys: list[Column] = []
        for is_key, cname, ctype, ccomment in self._x(
                "SELECT is_partition_key, name, type, comment FROM columns WHERE db=? AND tbl=?"
                " ORDER BY is_partition_key, idx", (db, name)):
            (keys if is_key else cols).append(Column(cname, ctype, ccomment))
        return Table(db=row[0], name=row[1], table_type=row[2], columns=cols, partition_keys=keys,
                     sd=StorageDescriptor.from_json(json.loads(row[6])), params=json.loads(row[7]),
                     owner=row[3] or "", create_time=row[4] or 0, comment=row[5],
                     view_original_text=row[8], view_expanded_text=row[9])

    def list_tables(self, db: str) -> list[str]:
        return [r[0] for r in self._x("SELECT name FROM tbls WHERE db=? ORDER BY name", (db.lower(),))]

    def create_table(self, t: Table) -> None:
        self._x("INSERT INTO tbls VALUES (?,?,?,?,?,?,?,?,?,?)",
                (t.db.lower(), t.name.lower(), t.table_type, t.owner, t.create_time or int(time.time()),
                 t.comment, json.dumps(t.sd.to_json()), json.dumps(t.params), t.view_original_text,
                 t.view_expanded_text))
        self._write_columns(t)

    def _write_columns(self, t: Table) -> None:
        self._x("DELETE FROM columns WHERE db=? AND tbl=?", (t.db.lower(), t.name.lower()))
        for is_key, cols in ((0, t.columns), (1, t.partition_keys)):
            for i, c in enumerate(cols):
                self._x("INSERT INTO columns VALUES (?,?,?,?,?,?,?)",
                        (t.db.lower(), t.name.lower(), i, is_key, c.name, c.type, c.comment))

    def alter_table(self, t: Table, old_db: str | None = None, old_name: str | None = None) -> None:
        """Replace a table's definition (and rename it if old_db/old_name differ)."""
        odb, oname = (old_db or t.db).lower(), (old_name or t.name).lower()
        # column statistics of a column dropped, renamed or retyped no longer describe anything
        for col, typ in self._x("SELECT DISTINCT col, type FROM col_stats WHERE db=? AND tbl=?", (odb, oname)).fetchall():
            if not any(c.name.lower() == col and c.type == typ for c in t.columns):
                self._x("DELETE FROM col_stats WHERE db=? AND tbl=? AND col=?", (odb, oname, col))
        self._x("UPDATE tbls SET db=?, name=?, table_type=?, owner=?, comment=?, sd=?, params=?,"
                " view_original_text=?, view_expanded_text=? WHERE db=? AND name=?",
                (t.db.lower(), t.name.lower(), t.table_type, t.owner, t.comment, json.dumps(t.sd.to_json()),
                 json.dumps(t.params), t.view_original_text, t.view_expanded_text, odb, oname))
        self._write_columns(t)

    def drop_table(self, db: str, name: str) -> None:
        self._x("DELETE FROM partitions WHERE db=? AND tbl=?", (db.lower(), name.lower()))
        self._x("DELETE FROM col_stats WHERE db=? AND tbl=?", (db.lower(), name.lower()))
        self._x("DELETE FROM columns WHERE db=? AND tbl=?", (db.lower(), name.lower()))
        self._x("DELETE FROM tbls WHERE db=? AND name=?", (db.lower(), name.lower()))

    def all_locations(self) -> list[tuple[str, str]]:
        """(what, location) of every database, table and partition: `database d`, `table d.t`,
        `partition k=v of table d.t`."""
        out = [(f"database {n}", loc) for n, loc in self._x("SELECT name, location FROM dbs").fetchall()]
        out += [(f"table {db}.{name}", loc or "") for db, name, loc in
                self._x("SELECT db, name, json_extract(sd, '$.location') FROM tbls").fetchall()]
        out += [(f"partition {name} of table {db}.{tbl}", loc or "") for db, tbl, name, loc in
                self._x("SELECT db, tbl, name, json_extract(sd, '$.location') FROM partitions").fetchall()]
        return out

    # -- partitions -----------------------------------------------------------------
    def list_partitions(self, db: str, tbl: str) -> list[Partition]:
        rows = self._x("SELECT vals, sd, params, create_time FROM partitions WHERE db=? AND tbl=? ORDER BY name",
                       (db.lower(), tbl.lower())).fetchall()
        return [Partition(json.loads(v), StorageDescriptor.from_json(json.loads(sd)), json.loads(p), ct or 0)
                for v, sd, p, ct in rows]

    def get_partition(self, db: str, tbl: str, name: str) -> Partition | None:
        row = self._x("SELECT vals, sd, params, create_time FROM partitions WHERE db=? AND tbl=? AND name=?",
                      (db.lower(), tbl.lower(), name)).fetchone()
        if not row:
            return None
        return Partition(json.loads(row[0]), StorageDescriptor.from_json(json.loads(row[1])),
                         json.loads(row[2]), row[3] or 0)

    def add_partition(self, db: str, tbl: str, name: str, p: Partition) -> None:
        self._x("INSERT INTO partitions VALUES (?,?,?,?,?,?,?)",
                (db.lower(), tbl.lower(), name, json.dumps(p.values), json.dumps(p.sd.to_json()),
                 json.dumps(p.params), p.create_time or int(time.time())))

    def alter_partition(self, db: str, tbl: str, name: str, p: Partition, new_name: str | None = None) -> None:
        if new_name and new_name != name:
            self._x("UPDATE col_stats SET part=? WHERE db=? AND tbl=? AND part=?", (new_name, db.lower(), tbl.lower(), name))
        self._x("UPDATE partitions SET name=?, vals=?, sd=?, params=? WHERE db=? AND tbl=? AND name=?",
                (new_name or name, json.dumps(p.values), json.dumps(p.sd.to_json()), json.dumps(p.params),
                 db.lower(), tbl.lower(), name))

    def drop_partition(self, db: str, tbl: str, name: str) -> None:
        self._x("DELETE FROM col_stats WHERE db=? AND tbl=? AND part=?", (db.lower(), tbl.lower(), name))
        self._x("DELETE FROM partitions WHERE db=? AND tbl=? AND name=?", (db.lower(), tbl.lower(), name))

    def set_table_params(self, db: str, name: str, params: dict[str, str]) -> None:
        self._x("UPDATE tbls SET params=? WHERE db=? AND name=?", (json.dumps(params), db.lower(), name.lower()))

    def set_partition_params(self, db: str, tbl: str, name: str, params: dict[str, str]) -> None:
        self._x("UPDATE partitions SET params=? WHERE db=? AND tbl=? AND name=?",
                (json.dumps(params), db.lower(), tbl.lower(), name))

    # -- column statistics (part '' = the table's own) ------------------------------------------
    def put_column_stats(self, db: str, tbl: str, part: str, col: str, typ: str, stats: dict) -> None:
        self._x("INSERT OR REPLACE INTO col_stats VALUES (?,?,?,?,?,?)",
                (db.lower(), tbl.lower(), part, col.lower(), typ, json.dumps(stats)))

    def column_stats(self, db: str, tbl: str, col: str, part: str | None = None) -> list[tuple[str, str, dict]]:
        """(part, type, stats) rows of one column: of `part` only, or of every partition and the table."""
        sql = "SELECT part, type, stats FROM col_stats WHERE db=? AND tbl=? AND col=?"
        args: tuple = (db.lower(), tbl.lower(), col.lower())
        if part is not None:
            sql, args = sql + " AND part=?", args + (part,)
        return [(p, t, json.loads(st)) for p, t, st in self._x(sql + " ORDER BY part", args).fetchall()]
