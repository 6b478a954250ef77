"""Statements and table properties hiveish does not honour are refused by name, and change nothing.

Each case runs on a real session (SQLite metastore, files in a temporary warehouse); the
metastore's tables, their properties and storage, the partitions and the warehouse's files are
compared before and after the refused statement.
"""

from __future__ import annotations

import os

import pytest

from hiveish import errors
from hiveish.session import Session


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("refusals")
    s = Session(warehouse=str(root / "wh"), metastore=str(root / "ms.db"))
    s.execute("CREATE TABLE t (a INT, b STRING)")
    s.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y')")
    s.execute("CREATE TABLE p (a INT) PARTITIONED BY (ds STRING) STORED AS ORC")
    s.execute("INSERT INTO p PARTITION (ds='1') VALUES (1)")
    yield s
    s.close()


def state(s: Session) -> tuple:
    """Everything a refused statement must leave as it was."""
    tables = []
    for db in s.metastore.list_databases():
        for name in s.metastore.list_tables(db):
            t = s.metastore.get_table(db, name)
            params = {k: v for k, v in t.params.items() if k != "transient_lastDdlTime"}
            parts = [(p.values, p.sd.location, p.sd.format) for p in s.metastore.list_partitions(db, name)]
            tables.append((db, name, t.table_type, [(c.name, c.type) for c in t.columns], params, t.sd.format,
                           t.sd.serde, t.sd.num_buckets, t.sd.bucket_cols, parts))
    files = sorted(os.path.relpath(os.path.join(d, f), s.catalog.warehouse)
                   for d, _, fs in os.walk(s.catalog.warehouse) for f in fs)
    rows = s.execute("SELECT a, b FROM t ORDER BY a")
    return tuple(tables), tuple(files), tuple(tuple(r.values()) for b in rows.batches for r in b.to_pylist())


def refused(s: Session, sql: str, *words: str) -> str:
    before = state(s)
    with pytest.raises(errors.SemanticException) as info:
        s.execute(sql)
    message = info.value.hive_message()
    assert message.startswith("SemanticException"), message
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    assert "Traceback" not in message and "duckdb" not in message.lower()
    assert state(s) == before, f"{sql!r} changed the warehouse or metastore"
    return message


@pytest.mark.parametrize("sql, words", [
    # transactional (ACID) tables and their statements
    ("CREATE TABLE tx (a INT) STORED AS ORC TBLPROPERTIES ('transactional'='true')", ["'transactional'='true'", "ACID"]),
    ("CREATE TABLE tx (a INT) TBLPROPERTIES ('transactional'='true', 'transactional_properties'='insert_only')",
     ["transactional", "ACID"]),
    ("CREATE TABLE tx (a INT) TBLPROPERTIES ('transactional_properties'='default')", ["transactional_properties"]),
    ("CREATE TABLE tx TBLPROPERTIES ('transactional'='TRUE') AS SELECT * FROM t", ["transactional"]),
    ("CREATE TABLE tx LIKE t TBLPROPERTIES ('transactional'='true')", ["transactional"]),
    ("ALTER TABLE t SET TBLPROPERTIES ('transactional'='true')", ["transactional", "default.t"]),
    ("ALTER TABLE t SET TBLPROPERTIES ('immutable'='true')", ["immutable"]),
    ("UPDATE t SET a = 3 WHERE a = 1", ["[Error 10294]", "update or delete", "UPDATE"]),
    ("DELETE FROM t WHERE a = 1", ["[Error 10294]", "update or delete", "DELETE"]),
    ("MERGE INTO t USING t s ON t.a = s.a WHEN MATCHED THEN DELETE", ["[Error 10294]", "MERGE"]),
    ("SHOW TRANSACTIONS", ["SHOW TRANSACTIONS"]),
    ("SHOW COMPACTIONS", ["SHOW COMPACTIONS"]),
    ("ABORT TRANSACTIONS 1 2", ["ABORT TRANSACTIONS"]),
    ("START TRANSACTION", ["START TRANSACTION"]),
    ("COMMIT", ["COMMIT"]),
    ("ALTER TABLE t COMPACT 'major'", ["COMPACT"]),
    ("ALTER TABLE p PARTITION (ds='1') COMPACT 'minor'", ["COMPACT"]),
    # storage handlers
    ("CREATE TABLE ice (a INT) STORED BY ICEBERG", ["STORED BY iceberg", "default.ice"]),
    ("CREATE TABLE hb (a INT) STORED BY 'org.apache.hadoop.hive.hbase.HBaseStorageHandler' "
     "WITH SERDEPROPERTIES ('hbase.columns.mapping'=':key')", ["STORED BY org.apache.hadoop.hive.hbase.HBaseStorageHandler"]),
    ("CREATE EXTERNAL TABLE k (a INT) STORED BY 'org.apache.hadoop.hive.kafka.KafkaStorageHandler'", ["STORED BY"]),
    # materialized views, indexes
    ("CREATE MATERIALIZED VIEW mv AS SELECT a FROM t", ["MATERIALIZED VIEW"]),
    ("ALTER MATERIALIZED VIEW mv REBUILD", ["MATERIALIZED VIEW"]),
    ("DROP MATERIALIZED VIEW mv", ["MATERIALIZED VIEW"]),
    ("CREATE TEMPORARY VIEW tv AS SELECT a FROM t", ["TEMPORARY VIEW"]),
    ("CREATE INDEX ix ON TABLE t (a) AS 'COMPACT' WITH DEFERRED REBUILD", ["INDEX"]),
    ("DROP INDEX ix ON t", ["INDEX"]),
    ("SHOW INDEXES ON t", ["INDEXES"]),
    # locks and authorization
    ("SHOW LOCKS", ["SHOW LOCKS"]),
    ("SHOW LOCKS t EXTENDED", ["SHOW LOCKS"]),
    ("LOCK TABLE t SHARED", ["LOCK"]),
    ("UNLOCK TABLE t", ["LOCK"]),
    ("LOCK DATABASE default EXCLUSIVE", ["LOCK"]),
    ("GRANT SELECT ON TABLE t TO USER bob", ["GRANT"]),
    ("REVOKE SELECT ON TABLE t FROM USER bob", ["REVOKE"]),
    ("CREATE ROLE analysts", ["ROLE"]),
    ("DROP ROLE analysts", ["ROLE"]),
    ("SET ROLE admin", ["SET ROLE"]),
    ("SHOW GRANT USER bob ON TABLE t", ["SHOW GRANT"]),
    ("SHOW ROLES", ["ROLES"]),
    ("SHOW CURRENT ROLES", ["ROLES"]),
    ("SHOW ROLE GRANT USER bob", ["ROLE"]),
    # statistics
    ("ANALYZE TABLE t COMPUTE STATISTICS PARTIALSCAN", ["PARTIALSCAN"]),
    ("ANALYZE TABLE t COMPUTE STATISTICS CACHE METADATA", ["CACHE METADATA"]),
    ("ALTER TABLE t UPDATE STATISTICS SET ('numRows'='5')", ["UPDATE STATISTICS"]),
    # resources and Java classes
    ("ADD JAR /tmp/udfs.jar", ["JAR"]),
    ("ADD FILE /tmp/script.py", ["FILE"]),
    ("ADD ARCHIVE /tmp/a.tgz", ["ARCHIVE"]),
    ("LIST JARS", ["JAR"]),
    ("DELETE JAR /tmp/udfs.jar", ["JAR"]),
    ("CREATE TEMPORARY FUNCTION f AS 'com.example.MyUDF'", ["CREATE FUNCTION", "class"]),
    ("CREATE FUNCTION db.f AS 'com.example.MyUDF' USING JAR 'hdfs:///u.jar'", ["CREATE FUNCTION"]),
    ("RELOAD FUNCTION", ["RELOAD FUNCTION"]),
    ("dfs -ls /", ["dfs"]),
    ("EXPORT TABLE t TO '/tmp/export'", ["EXPORT"]),
    ("IMPORT TABLE t2 FROM '/tmp/export'", ["IMPORT"]),
    # ALTER TABLE operations that used to answer OK and do nothing
    ("ALTER TABLE t CONCATENATE", ["CONCATENATE"]),
    ("ALTER TABLE p ARCHIVE PARTITION (ds='1')", ["ARCHIVE"]),
    ("ALTER TABLE t ENABLE NO_DROP", ["ENABLE"]),
    ("ALTER TABLE t SKEWED BY (a) ON (1)", ["SKEWED"]),
    ("ALTER TABLE t NOT SKEWED", ["SKEWED"]),
    # EXPLAIN modes that printed the plain plan
    ("EXPLAIN FORMATTED SELECT * FROM t", ["EXPLAIN FORMATTED"]),
    ("EXPLAIN DEPENDENCY SELECT * FROM t", ["EXPLAIN DEPENDENCY"]),
    ("EXPLAIN AUTHORIZATION SELECT * FROM t", ["EXPLAIN AUTHORIZATION"]),
    ("EXPLAIN VECTORIZATION SELECT * FROM t", ["EXPLAIN VECTORIZATION"]),
    ("EXPLAIN DELETE FROM t", ["[Error 10294]"]),
])
def test_refused_by_name_and_nothing_changes(session, sql, words):
    refused(session, sql, *words)


def test_refusal_is_the_cli_failure_line(session):
    err = errors.failure_message(pytest.raises(errors.SemanticException, session.execute, "SHOW LOCKS").value)
    assert err == ("FAILED: SemanticException SHOW LOCKS is not supported: hiveish has no lock manager "
                   "(each statement is one metastore transaction)")


def test_properties_hiveish_honours_or_keeps_still_work(session):
    session.execute("CREATE TABLE ok1 (a INT) TBLPROPERTIES ('transactional'='false', 'my.key'='v', "
                    "'orc.compress'='SNAPPY', 'immutable'='false')")
    session.execute("ALTER TABLE ok1 SET TBLPROPERTIES ('other'='1')")
    r = session.execute("SHOW TBLPROPERTIES ok1")
    props = dict(row["prpt_name"].split("\t", 1) for b in r.batches for row in b.to_pylist())
    assert props["my.key"] == "v" and props["transactional"] == "false" and props["other"] == "1"
    session.execute("ALTER TABLE ok1 TOUCH")
    session.execute("DROP TABLE ok1")


def test_show_conf_answers_from_the_settings_table(session):
    r = session.execute("SHOW CONF 'hive.exec.drop.ignorenonexistent'")
    assert [c for c, _ in r.columns] == ["default", "type", "desc"]
    rows = [tuple(row.values()) for b in r.batches for row in b.to_pylist()]
    assert rows[0][:2] == ("true", "BOOLEAN") and "DROP" in rows[0][2]
    with pytest.raises(errors.ExecutionError, match="invalid configuration name no.such.key"):
        session.execute("SHOW CONF 'no.such.key'")


def test_alter_clustered_by_changes_the_bucketing_metadata(session):
    """Once a silent no-op; now as Hive: the table's bucketing changes, files already written stay."""
    session.execute("CREATE TABLE bk (a INT, b STRING)")
    session.execute("ALTER TABLE bk CLUSTERED BY (a) SORTED BY (b DESC, a) INTO 4 BUCKETS")
    sd = session.metastore.get_table("default", "bk").sd
    assert (sd.bucket_cols, sd.sort_cols, sd.num_buckets) == (["a"], [("b", 0), ("a", 1)], 4)
    session.execute("ALTER TABLE bk INTO 8 BUCKETS")
    session.execute("ALTER TABLE bk NOT SORTED")
    sd = session.metastore.get_table("default", "bk").sd
    assert (sd.bucket_cols, sd.sort_cols, sd.num_buckets) == (["a"], [], 8)
    session.execute("ALTER TABLE bk NOT CLUSTERED")
    sd = session.metastore.get_table("default", "bk").sd
    assert (sd.bucket_cols, sd.num_buckets) == ([], -1)
    with pytest.raises(errors.SemanticException, match=r"\[Error 10002\]: Invalid column reference nope"):
        session.execute("ALTER TABLE bk CLUSTERED BY (nope) INTO 2 BUCKETS")
    session.execute("DROP TABLE bk")


def test_temporary_tables_end_with_their_session(tmp_path):
    """CREATE TEMPORARY TABLE used to make a permanent table: a script run twice then failed."""
    paths = dict(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"))
    for _ in range(2):
        s = Session(**paths)
        s.execute("CREATE TEMPORARY TABLE tmp1 (a INT)")
        s.execute("INSERT INTO tmp1 VALUES (1)")
        s.execute("CREATE TEMPORARY TABLE tmp2 AS SELECT a + 1 AS b FROM tmp1")
        rows = s.execute("SELECT b FROM tmp2")
        assert [r for b in rows.batches for r in b.to_pylist()] == [{"b": 2}]
        location = s.metastore.get_table("default", "tmp1").sd.location
        s.close()
        assert not os.path.exists(location)
    with Session(**paths) as s:
        assert s.metastore.list_tables("default") == []
        with pytest.raises(errors.SemanticException, match="Partition columns are not supported on temporary"):
            s.execute("CREATE TEMPORARY TABLE tp (a INT) PARTITIONED BY (p STRING)")
        s.execute("CREATE TEMPORARY TABLE gone (a INT)")
        s.execute("DROP TABLE gone")
        other = Session(**paths)
        other.execute("CREATE TABLE gone (a INT)")  # another session's table of the same name: not ours
        other.close()
    with Session(**paths) as s:
        assert s.metastore.list_tables("default") == ["gone"]
