"""The format registry: every STORED AS / SerDe / InputFormat name resolves through it, and what it
does not hold is refused at CREATE and ALTER, naming the class, never read with another SerDe's rules."""

from __future__ import annotations

import pytest

from catalog.formats import registry
from catalog.formats.base import SPLIT_LINES, SPLIT_ROW_GROUPS, SPLIT_WHOLE, FileScan
from hiveish import errors
from tests.helpers import new_session, rows


@pytest.fixture(params=["arrow", "mr"])
def s(request, tmp_path):
    session = new_session(tmp_path, **{"hive.execution.engine": request.param})
    yield session
    session.close()


def test_each_stored_as_name_maps_to_one_registered_format():
    for f in registry.FORMATS:
        for k in f.stored_as:
            assert registry.stored_as(k) is f
        assert registry.format_named(f.name) is f
    assert registry.stored_as("ORCFILE") is registry.stored_as("orc")


def test_split_kinds_come_from_the_format():
    text = FileScan(format="textfile", files=[], columns=[])
    assert registry.format_named("textfile").split_kind(text, "f") == SPLIT_LINES
    assert registry.format_named("textfile").split_kind(text, "f.gz") == SPLIT_WHOLE
    csv = FileScan(format="textfile", files=[], columns=[], serde="org.apache.hadoop.hive.serde2.OpenCSVSerde")
    assert registry.format_named("textfile").split_kind(csv, "f") == SPLIT_LINES  # a record is a line, as in Hive
    escaped = FileScan(format="textfile", files=[], columns=[], serde_params={"escape.delim": "\\"})
    assert registry.format_named("textfile").split_kind(escaped, "f") == SPLIT_WHOLE
    assert registry.format_named("sequencefile").split_kind(text, "f") == SPLIT_WHOLE
    assert registry.format_named("parquet").split_kind(text, "f") == SPLIT_ROW_GROUPS


@pytest.mark.parametrize("ddl, name", [
    ("CREATE TABLE t (a INT) ROW FORMAT SERDE 'com.example.MySerDe'", "com.example.MySerDe"),
    ("CREATE TABLE t (a INT) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'", "org.openx.data.jsonserde.JsonSerDe"),
    ("CREATE TABLE t (a INT) STORED AS INPUTFORMAT 'com.example.In' OUTPUTFORMAT 'com.example.Out'", "com.example.In"),
    ("CREATE TABLE t (a INT) STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat' "
     "OUTPUTFORMAT 'com.example.Out'", "com.example.Out"),
    ("CREATE TABLE t (a INT) STORED BY 'org.apache.hadoop.hive.hbase.HBaseStorageHandler' "
     "WITH SERDEPROPERTIES ('hbase.columns.mapping'=':key')", "org.apache.hadoop.hive.hbase.HBaseStorageHandler"),
    ("CREATE TABLE t (a INT) ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' "
     "STORED AS ORC", "ParquetHiveSerDe"),
])
def test_a_class_hiveish_cannot_honour_is_refused_at_create(s, ddl, name):
    with pytest.raises(errors.SemanticException, match=name):
        s.execute(ddl)
    assert rows(s, "SHOW TABLES") == []


def test_alter_set_serde_or_fileformat_to_something_unknown_is_refused_and_changes_nothing(s):
    s.execute("CREATE TABLE t (a INT, b STRING)")
    s.execute("INSERT INTO t VALUES (1, 'x')")
    with pytest.raises(errors.SemanticException, match="com.example.MySerDe"):
        s.execute("ALTER TABLE t SET SERDE 'com.example.MySerDe'")
    with pytest.raises(errors.NotSupportedError, match="AVRO"):
        s.execute("ALTER TABLE t SET FILEFORMAT AVRO")
    with pytest.raises(errors.SemanticException, match="Unrecognized file format"):
        s.execute("ALTER TABLE t SET FILEFORMAT NOSUCHFORMAT")
    assert rows(s, "SELECT * FROM t") == [(1, "x")]


def test_a_known_inputformat_pair_makes_a_table_of_that_format(s):
    s.execute("CREATE TABLE p (a INT) ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' "
              "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat' "
              "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'")
    s.execute("CREATE TABLE x (a INT) STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat' "
              "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'")
    s.execute("INSERT INTO p VALUES (1), (2)")
    s.execute("INSERT INTO x SELECT a + 10 FROM p")
    assert sorted(rows(s, "SELECT * FROM x")) == [(11,), (12,)]
    t = s.metastore.get_table("default", "p")
    assert t.sd.format == "parquet"


def test_a_table_whose_serde_was_never_validated_is_not_read_as_text(s, tmp_path):
    """A metastore written before the registry may hold a SerDe hiveish never read: reading fails."""
    s.execute("CREATE TABLE t (a STRING)")
    s.execute("INSERT INTO t VALUES ('x')")
    t = s.metastore.get_table("default", "t")
    t.sd.serde = "com.example.MySerDe"
    s.metastore.alter_table(t)
    with pytest.raises(errors.Error, match="com.example.MySerDe"):
        rows(s, "SELECT * FROM t")


def test_stored_as_orcfile_is_orc(s):
    s.execute("CREATE TABLE o (k INT, v STRING) STORED AS ORCFILE")
    s.execute("INSERT INTO o VALUES (1, 'a')")
    assert rows(s, "SELECT * FROM o") == [(1, "a")]
    assert s.metastore.get_table("default", "o").sd.input_format == "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat"


@pytest.mark.parametrize("ddl", [
    "(a INT)", "(a INT) STORED AS SEQUENCEFILE", "(a INT) STORED AS ORC", "(a INT) STORED AS PARQUET",
    "(a INT) STORED AS RCFILE", "(a INT) STORED AS JSONFILE",
    "(a STRING) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'",
    "(a STRING) ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe' WITH SERDEPROPERTIES ('input.regex'='(.*)')",
])
def test_show_create_table_output_recreates_the_same_storage(tmp_path, ddl):
    """SHOW CREATE TABLE spells storage as ROW FORMAT SERDE + INPUTFORMAT/OUTPUTFORMAT: it must run again."""
    s = new_session(tmp_path)
    s.execute(f"CREATE TABLE t {ddl}")
    text = "\n".join(r[0] for r in rows(s, "SHOW CREATE TABLE t")).replace("`default.t`", "t")
    before = s.metastore.get_table("default", "t").sd
    s.execute("DROP TABLE t")
    s.execute(text)
    after = s.metastore.get_table("default", "t").sd
    for field in ("format", "serde", "input_format", "output_format", "serde_params"):
        assert getattr(after, field) == getattr(before, field), field
    s.close()
