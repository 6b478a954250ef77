"""Statements and table properties hiveish parses but does not honour: each is refused, by name.

A Hive script that relies on ACID tables, authorization, locks, statistics, indexes or Java
classes must fail loudly here rather than answer OK and do something else. Where Hive itself
has an error for the case under its default configuration (DummyTxnManager, no lock manager),
its words are used; otherwise the message names the feature and why it cannot run.
The README's "Not supported (refused)" list mirrors `STATEMENTS` and `check_table_properties`.
"""

from __future__ import annotations

import re

from hiveish import errors

# Hive 2.x's ErrorMsg.ACID_OP_ON_NONACID_TXNMGR, what UPDATE/DELETE/MERGE give under its default
# transaction manager (DummyTxnManager), before any table is looked up
ACID_TXNMGR = ("Attempt to do update or delete using transaction manager that does not support these "
               "operations.")
NO_ACID = "hiveish has no transactional (ACID) tables"
NO_AUTH = "hiveish has no authorization model (access is decided by the warehouse files' permissions)"
NO_LOCKS = "hiveish has no lock manager (each statement is one metastore transaction)"
NO_STATS = "hiveish does not take statistics by hand; ANALYZE TABLE ... COMPUTE STATISTICS computes them"
NO_CLASSES = "hiveish cannot load Java classes or resources"


def _refuse(feature: str, why: str, code: int | None = None) -> errors.SemanticException:
    return errors.SemanticException(f"{feature} is not supported: {why}", code=code)


# (pattern over the statement's text from its first word, feature named in the message, reason)
STATEMENTS: list[tuple[re.Pattern, str, str]] = [(re.compile(p, re.I | re.S), f, w) for p, f, w in [
    (r"show\s+transactions\b", "SHOW TRANSACTIONS", NO_ACID),
    (r"show\s+compactions\b", "SHOW COMPACTIONS", NO_ACID),
    (r"abort\s+transactions?\b", "ABORT TRANSACTIONS", NO_ACID),
    (r"(start\s+transaction|commit|rollback)\b", "START TRANSACTION/COMMIT/ROLLBACK",
     NO_ACID + "; each statement commits on its own"),
    (r"show\s+locks\b", "SHOW LOCKS", NO_LOCKS),
    (r"(lock|unlock)\s+(table|database|schema)\b", "LOCK/UNLOCK TABLE or DATABASE", NO_LOCKS),
    (r"(grant|revoke)\b", "GRANT/REVOKE", NO_AUTH),
    (r"(create|drop)\s+role\b", "CREATE/DROP ROLE", NO_AUTH),
    (r"set\s+role(\s|$)", "SET ROLE", NO_AUTH),
    (r"show\s+(grant|roles|current\s+roles|role\s+grant|principals)\b", "SHOW GRANT/ROLES/PRINCIPALS", NO_AUTH),
    (r"(create|alter)\s+(or\s+replace\s+)?materialized\s+view\b", "CREATE/ALTER MATERIALIZED VIEW",
     "hiveish has no materialized views (use CREATE TABLE AS SELECT, or a view)"),
    (r"drop\s+materialized\s+view\b", "DROP MATERIALIZED VIEW", "hiveish has no materialized views"),
    (r"create\s+(or\s+replace\s+)?(global\s+)?temporary\s+view\b", "CREATE TEMPORARY VIEW",
     "Hive has no temporary views (a Spark SQL statement); use CREATE VIEW"),
    (r"(create|drop|alter)\s+index\b", "CREATE/DROP/ALTER INDEX", "hiveish has no indexes (removed in Hive 3.0)"),
    (r"show\s+(formatted\s+)?(index|indexes)\b", "SHOW INDEXES", "hiveish has no indexes (removed in Hive 3.0)"),
    (r"(add|list|delete)\s+(file|jar|archive)s?\b", "ADD/LIST/DELETE FILE, JAR or ARCHIVE",
     NO_CLASSES + "; there is no distributed cache (TRANSFORM scripts and Java UDFs cannot run)"),
    (r"create\s+(temporary\s+)?function\b", "CREATE FUNCTION",
     NO_CLASSES + " (a UDF's class cannot run); use the built-in functions or CREATE TEMPORARY MACRO"),
    (r"reload\s+(function|functions)\b", "RELOAD FUNCTION", NO_CLASSES),
    (r"(export|import)\s+(external\s+)?table\b", "EXPORT/IMPORT TABLE",
     "copy the table's files and use CREATE TABLE ... LOCATION or LOAD DATA"),
    (r"dfs\b", "dfs", "hiveish has no Hadoop shell; use `hdfs dfs` (or WebHDFS) outside hiveish"),
]]
ACID_STATEMENTS = re.compile(r"(update\s+\S|delete\s+from\b|merge\s+into\b)", re.I | re.S)


def check_statement(text: str) -> None:
    """Raise the refusal for a statement kind hiveish does not honour (text: comments stripped)."""
    text = text.lstrip()
    if ACID_STATEMENTS.match(text):
        first = text.split(None, 1)[0].upper()
        raise errors.SemanticException(f"{ACID_TXNMGR} ({first} needs transactional tables; {NO_ACID})",
                                       code=10294)
    for pattern, feature, why in STATEMENTS:
        if pattern.match(text):
            raise _refuse(feature, why)


# ALTER TABLE operations accepted by Hive that would change nothing here (after the table name)
ALTER_OPERATIONS: list[tuple[re.Pattern, str, str]] = [(re.compile(p, re.I | re.S), f, w) for p, f, w in [
    (r"compact\b", "ALTER TABLE ... COMPACT", NO_ACID),
    (r"update\s+statistics\b", "ALTER TABLE ... UPDATE STATISTICS", NO_STATS),
    (r"(archive|unarchive)\b", "ALTER TABLE ... ARCHIVE/UNARCHIVE", "hiveish has no Hadoop archives (HAR)"),
    (r"concatenate\b", "ALTER TABLE ... CONCATENATE", "hiveish does not merge a table's files"),
    (r"(enable|disable)\b", "ALTER TABLE ... ENABLE/DISABLE", "protection modes (NO_DROP, OFFLINE) were removed "
     "in Hive 2.0 and are not kept by hiveish"),
    (r"(not\s+)?skewed\b|set\s+skewed\b", "ALTER TABLE ... SKEWED BY", "hiveish keeps no skew information"),
    (r"exchange\s+partition\b", "ALTER TABLE ... EXCHANGE PARTITION", "move the files and use ADD PARTITION"),
]]


def check_alter(operation: str) -> None:
    """Raise the refusal for an ALTER TABLE operation hiveish does not honour, else return."""
    for pattern, feature, why in ALTER_OPERATIONS:
        if pattern.match(operation.lstrip()):
            raise _refuse(feature, why)


def check_table_properties(params: dict[str, str], table: str) -> None:
    """TBLPROPERTIES whose meaning hiveish does not implement (user-defined keys are kept as they are)."""
    lowered = {k.lower(): v for k, v in params.items()}
    if (lowered.get("transactional") or "false").strip().lower() != "false":
        raise _refuse(f"TBLPROPERTIES ('transactional'='{lowered['transactional']}') on table {table}", NO_ACID)
    if "transactional_properties" in lowered:
        raise _refuse(f"TBLPROPERTIES ('transactional_properties'='{lowered['transactional_properties']}') on "
                      f"table {table}", NO_ACID)
    if (lowered.get("immutable") or "false").strip().lower() == "true":
        raise _refuse(f"TBLPROPERTIES ('immutable'='true') on table {table}",
                      "hiveish does not check INSERT INTO against a table's immutability")
    if lowered.get("storage_handler"):
        raise storage_handler(lowered["storage_handler"], table)


def storage_handler(name: str, table: str) -> errors.SemanticException:
    """`STORED BY <handler>`: the table's data would live in another system (HBase, Iceberg, Kafka, ...)."""
    return _refuse(f"STORED BY {name} (table {table})",
                   "hiveish has no storage handlers; use STORED AS TEXTFILE, PARQUET, ORC, JSONFILE or RCFILE")


__all__ = ["check_alter", "check_statement", "check_table_properties", "storage_handler"]
