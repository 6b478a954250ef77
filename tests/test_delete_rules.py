"""What hiveish deletes, and what it refuses to (issue 19, item 3): path games in scratch directories.

Hive's rules: INSERT OVERWRITE, TRUNCATE, LOAD ... OVERWRITE and CTAS replace only the visible
entries of their target (names not starting with `.` or `_`); ALTER TABLE ... RENAME moves a managed
table's directory only when it is the database's own `<db>/<name>` (a LOCATION the user chose stays);
a managed table or partition LOCATION that is or contains the warehouse root, the metastore, its
commit journal or another database's, table's or partition's directory is refused (it would be
deleted with the table), as is an INSERT OVERWRITE [LOCAL] DIRECTORY onto any of them. Every
scenario ends by checking that the warehouse, the metastore and every file Hive keeps are intact.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalog.fs import filesystem_for
from catalog.journal import journal_dir_for
from hiveish import errors
from hiveish.session import Session
from tests.helpers import rows

MINIHDFS_OPTIONS = {"root_permission": "777"}


@pytest.fixture
def env(tmp_path):
    """A session whose warehouse holds two tables with data, and a scratch area beside it."""
    wh, ms = tmp_path / "wh", tmp_path / "meta" / "ms.db"
    s = Session(warehouse=str(wh), metastore=str(ms), settings={"hive.execution.engine": "arrow"})
    s.execute("CREATE TABLE keep1 (a INT)")
    s.execute("INSERT INTO keep1 VALUES (1), (2)")
    s.execute("CREATE TABLE keep2 (a STRING) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO keep2 PARTITION (ds='x') VALUES ('p')")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    yield s, wh, ms, scratch
    s.close()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def intact(s: Session, wh: Path, ms: Path, kept: dict[Path, bytes] | None = None) -> None:
    """The warehouse's tables read as before, the metastore is whole, and every kept file is there."""
    assert wh.is_dir() and ms.is_file()
    assert s.metastore.integrity_check() == []
    assert sorted(rows(s, "SELECT a FROM keep1")) == [(1,), (2,)]
    assert rows(s, "SELECT a, ds FROM keep2") == [("p", "x")]
    for path, data in (kept or {}).items():
        assert path.is_file() and path.read_bytes() == data, path


def hidden_entries(d: Path) -> dict[Path, bytes]:
    """Hidden files and a hidden directory inside `d`, which Hive never replaces."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "_logs").mkdir(exist_ok=True)
    files = {d / ".marker": b"dot", d / "_SUCCESS": b"", d / "_logs" / "history": b"log"}
    for p, data in files.items():
        p.write_bytes(data)
    return files


def refused(s: Session, sql: str, *words: str) -> str:
    with pytest.raises(errors.SemanticException) as e:
        s.execute(sql)
    msg = e.value.hive_message()
    for w in words:
        assert w in msg, msg
    return msg


# -- overwrite replaces only visible entries ----------------------------------------------------------


def test_insert_overwrite_keeps_hidden_entries(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (7)")
    kept = hidden_entries(wh / "t")
    (wh / "t" / "sub").mkdir()
    (wh / "t" / "sub" / "old").write_bytes(b"8\n")  # visible: data Hive reads, and replaces
    s.execute("INSERT OVERWRITE TABLE t SELECT 9")
    assert rows(s, "SELECT a FROM t") == [(9,)]
    assert not (wh / "t" / "sub").exists()
    intact(s, wh, ms, kept)


def test_insert_overwrite_partition_keeps_hidden_entries(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1)")
    kept = hidden_entries(wh / "p" / "ds=1")
    s.execute("INSERT OVERWRITE TABLE p PARTITION (ds='1') SELECT 2")
    assert rows(s, "SELECT a FROM p") == [(2,)]
    intact(s, wh, ms, kept)


def test_truncate_keeps_hidden_entries(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (7)")
    kept = hidden_entries(wh / "t")
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1)")
    kept |= hidden_entries(wh / "p" / "ds=1")
    s.execute("TRUNCATE TABLE t")
    s.execute("TRUNCATE TABLE p")
    assert rows(s, "SELECT count(*) FROM t") == [(0,)]
    assert rows(s, "SELECT count(*) FROM p") == [(0,)]
    assert [f.name for f in (wh / "t").iterdir() if not f.name.startswith((".", "_"))] == []
    intact(s, wh, ms, kept)


def test_load_overwrite_keeps_hidden_entries(env):
    s, wh, ms, scratch = env
    s.execute("CREATE TABLE t (a INT)")
    s.execute("INSERT INTO t VALUES (7)")
    kept = hidden_entries(wh / "t")
    src = scratch / "in.txt"
    src.write_text("5\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{src}' OVERWRITE INTO TABLE t")
    assert rows(s, "SELECT a FROM t") == [(5,)]
    intact(s, wh, ms, kept)


def test_ctas_location_keeps_hidden_entries(env):
    s, wh, ms, scratch = env
    target = scratch / "ctas"
    kept = hidden_entries(target)
    s.execute(f"CREATE TABLE c LOCATION '{target}' AS SELECT 3 AS a")
    assert rows(s, "SELECT a FROM c") == [(3,)]
    intact(s, wh, ms, kept)


def test_insert_overwrite_directory_keeps_hidden_entries(env):
    s, wh, ms, scratch = env
    out = scratch / "out"
    kept = hidden_entries(out)
    (out / "stale").write_bytes(b"old\n")
    s.execute(f"INSERT OVERWRITE LOCAL DIRECTORY '{out}' SELECT a FROM keep1")
    assert not (out / "stale").exists()
    assert sorted(b"".join(p.read_bytes() for p in out.iterdir() if p.is_file() and p.name[0] not in "._")
                  .split()) == [b"1", b"2"]
    intact(s, wh, ms, kept)


# -- RENAME leaves a user LOCATION ------------------------------------------------------------------------


def test_rename_keeps_a_user_location_in_place(env):
    s, wh, ms, scratch = env
    home = scratch / "mine"
    home.mkdir()
    unrelated = {home / "notes.md": b"not table data?", home / ".git-like": b"x"}
    s.execute(f"CREATE TABLE u (a INT) LOCATION '{home}'")
    s.execute("INSERT INTO u VALUES (4)")
    for p, data in unrelated.items():
        p.write_bytes(data)
    s.execute("ALTER TABLE u RENAME TO u2")
    assert s.metastore.get_table("default", "u2").sd.location == str(home)
    assert not (wh / "u2").exists()
    assert rows(s, "SELECT count(*) FROM u2 WHERE a = 4") == [(1,)]
    intact(s, wh, ms, unrelated)


def test_rename_moves_a_table_in_its_database_directory(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE m (a INT)")
    s.execute("INSERT INTO m VALUES (6)")
    s.execute("ALTER TABLE m RENAME TO m2")
    assert not (wh / "m").exists() and (wh / "m2").is_dir()
    assert rows(s, "SELECT a FROM m2") == [(6,)]
    intact(s, wh, ms)


def test_rename_onto_an_existing_directory_fails_and_moves_nothing(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE m (a INT)")
    s.execute("INSERT INTO m VALUES (6)")
    (wh / "m2").mkdir()
    (wh / "m2" / "someone_elses").write_bytes(b"1\n")
    with pytest.raises(errors.ExecutionError, match="New location for this table default.m2 already exists"):
        s.execute("ALTER TABLE m RENAME TO m2")
    assert rows(s, "SELECT a FROM m") == [(6,)]
    intact(s, wh, ms, {wh / "m2" / "someone_elses": b"1\n"})


def test_partition_rename_onto_an_existing_directory_fails_and_moves_nothing(env):
    s, wh, ms, _ = env
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1)")
    (wh / "p" / "ds=2").mkdir()
    (wh / "p" / "ds=2" / "stray").write_bytes(b"9\n")
    with pytest.raises(errors.ExecutionError, match="already exists"):
        s.execute("ALTER TABLE p PARTITION (ds='1') RENAME TO PARTITION (ds='2')")
    assert rows(s, "SELECT a, ds FROM p") == [(1, "1")]
    intact(s, wh, ms, {wh / "p" / "ds=2" / "stray": b"9\n"})


# -- managed LOCATIONs that would delete what they hold ------------------------------------------------------


def test_managed_location_at_the_warehouse_root_is_refused(env):
    s, wh, ms, _ = env
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh}'", "the warehouse root", str(wh), "default.bad")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh.parent}'", "the warehouse root")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh}/sub/..'", "the warehouse root")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION 'file://{wh}'", "the warehouse root")
    assert s.metastore.get_table("default", "bad") is None
    s.execute("DROP TABLE IF EXISTS bad")
    intact(s, wh, ms)


def test_managed_location_through_a_symlink_is_refused(env):
    s, wh, ms, scratch = env
    link = scratch / "link"
    os.symlink(wh, link)
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{link}'", "the warehouse root")
    intact(s, wh, ms)


def test_managed_location_holding_the_metastore_is_refused(env):
    s, wh, ms, _ = env
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{ms.parent}'", "the metastore", str(ms))
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{ms}'", "the metastore")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{journal_dir_for(str(ms))}'", "commit journal")
    refused(s, f"CREATE TABLE bad LOCATION '{ms.parent}' AS SELECT 1 AS a", "the metastore")
    assert s.metastore.get_table("default", "bad") is None
    intact(s, wh, ms)


def test_managed_location_of_another_table_is_refused(env):
    s, wh, ms, scratch = env
    ext = scratch / "data" / "ext"
    ext.mkdir(parents=True)
    (ext / "f").write_bytes(b"1\n")
    s.execute(f"CREATE EXTERNAL TABLE ext (a INT) LOCATION '{ext}'")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{ext}'", "table default.ext")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{ext.parent}'", "table default.ext")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh}/keep1'", "table default.keep1")
    refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh}/keep2/ds=x'", "partition ds=x of table default.keep2")
    # beside them is fine, and an external table may share a directory (DROP deletes nothing)
    s.execute(f"CREATE TABLE fine (a INT) LOCATION '{scratch / 'data' / 'fine'}'")
    s.execute(f"CREATE EXTERNAL TABLE ext2 (a INT) LOCATION '{wh}'")
    s.execute("DROP TABLE ext2")
    intact(s, wh, ms, {ext / "f": b"1\n"})


def test_alter_to_a_dangerous_managed_location_is_refused(env):
    s, wh, ms, scratch = env
    s.execute("CREATE TABLE t (a INT) PARTITIONED BY (ds STRING)")
    s.execute("INSERT INTO t PARTITION (ds='1') VALUES (1)")
    refused(s, f"ALTER TABLE t SET LOCATION '{wh}'", "the warehouse root")
    refused(s, f"ALTER TABLE t PARTITION (ds='1') SET LOCATION '{wh}/t'", "table default.t")
    refused(s, f"ALTER TABLE t ADD PARTITION (ds='2') LOCATION '{ms.parent}'", "the metastore")
    s.execute(f"CREATE EXTERNAL TABLE e (a INT) LOCATION '{wh}'")
    refused(s, "ALTER TABLE e SET TBLPROPERTIES ('EXTERNAL'='FALSE')", "the warehouse root")
    s.execute("DROP TABLE e")
    s.execute(f"ALTER TABLE t SET LOCATION '{scratch / 'moved'}'")  # a directory of its own is fine
    intact(s, wh, ms)


def test_overwrite_directory_onto_what_must_be_kept_is_refused(env):
    s, wh, ms, scratch = env
    refused(s, f"INSERT OVERWRITE LOCAL DIRECTORY '{wh}' SELECT 1", "the warehouse root")
    refused(s, f"INSERT OVERWRITE LOCAL DIRECTORY '{wh.parent}' SELECT 1", "the warehouse root")
    refused(s, f"INSERT OVERWRITE LOCAL DIRECTORY '{ms.parent}' SELECT 1", "the metastore")
    refused(s, f"INSERT OVERWRITE LOCAL DIRECTORY '{wh}/keep1' SELECT 1", "table default.keep1")
    refused(s, f"INSERT OVERWRITE DIRECTORY '{wh}/keep2' SELECT 1", "table default.keep2")
    intact(s, wh, ms)


def test_a_legacy_managed_table_at_the_warehouse_root_is_never_deleted(env):
    """A table an older hiveish let through (LOCATION = the warehouse root): DROP, TRUNCATE and
    INSERT OVERWRITE refuse rather than delete every other table."""
    s, wh, ms, _ = env
    s.execute("CREATE TABLE legacy (a INT)")
    with s.metastore.transaction():
        t = s.metastore.get_table("default", "legacy")
        t.sd.location = str(wh)
        s.metastore.alter_table(t)
    refused(s, "DROP TABLE legacy", "Cannot delete", "the warehouse root")
    refused(s, "TRUNCATE TABLE legacy", "Cannot delete", "table default.keep1")
    refused(s, "INSERT OVERWRITE TABLE legacy SELECT 1", "Cannot overwrite", "table default.keep1")
    intact(s, wh, ms)
    s.execute("ALTER TABLE legacy SET TBLPROPERTIES ('EXTERNAL'='TRUE')")
    s.execute("DROP TABLE legacy")  # now external: only the metadata goes
    intact(s, wh, ms)


def test_drop_database_located_at_the_warehouse_root_is_refused(env):
    s, wh, ms, _ = env
    s.execute(f"CREATE DATABASE odd LOCATION '{wh}'")
    refused(s, "DROP DATABASE odd CASCADE", "the warehouse root")
    intact(s, wh, ms)


# -- HDFS: the same rules over WebHDFS -------------------------------------------------------------------------


def test_hdfs_delete_rules(hdfs, tmp_path):
    base = hdfs.uri("/delete_rules")
    wh = f"{base}/wh"
    fs = filesystem_for(base)
    s = Session(warehouse=wh, metastore=str(tmp_path / "ms.db"), settings={"hive.execution.engine": "arrow"})
    try:
        s.execute("CREATE TABLE t (a INT)")
        s.execute("INSERT INTO t VALUES (1)")
        for name in (".marker", "_SUCCESS"):
            fs.write_bytes(f"{wh}/t/{name}", b"keep")
        s.execute("INSERT OVERWRITE TABLE t SELECT 2")
        s.execute("TRUNCATE TABLE t")
        s.execute("INSERT INTO t VALUES (3)")
        assert rows(s, "SELECT a FROM t") == [(3,)]
        for name in (".marker", "_SUCCESS"):
            assert fs.read_bytes(f"{wh}/t/{name}") == b"keep"
        refused(s, f"CREATE TABLE bad (a INT) LOCATION '{wh}'", "the warehouse root")
        refused(s, f"CREATE TABLE bad (a INT) LOCATION '{base}'", "the warehouse root")
        refused(s, "CREATE TABLE bad (a INT) LOCATION 'hdfs:///delete_rules/wh/t'", "table default.t")
        refused(s, f"INSERT OVERWRITE DIRECTORY '{wh}' SELECT 1", "the warehouse root")
        s.execute(f"CREATE TABLE u (a INT) LOCATION '{base}/mine'")
        s.execute("INSERT INTO u VALUES (4)")
        fs.write_bytes(f"{base}/mine/notes", b"n")
        s.execute("ALTER TABLE u RENAME TO u2")
        assert fs.read_bytes(f"{base}/mine/notes") == b"n" and not fs.exists(f"{wh}/u2")
        assert rows(s, "SELECT count(*) FROM u2 WHERE a = 4") == [(1,)]
        assert rows(s, "SELECT a FROM t") == [(3,)]
    finally:
        s.close()
