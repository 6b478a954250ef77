"""Hive fidelity of DDL, binding and storage: each behaviour as a Hive user sees it, in the CLI's printed form."""

from __future__ import annotations

import os
import struct

import pytest

from catalog.formats import rcfile
from hiveish import errors
from hiveish.session import Session
from tests.helpers import new_session, printed


@pytest.fixture
def s(tmp_path):
    session = new_session(tmp_path, **{"hive.local.time.zone": "UTC"})
    yield session
    session.close()


def write(path, text: str) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def load_kv(s: Session, tmp_path, table: str = "kv", rows: int = 5) -> None:
    data = write(tmp_path / "in" / "kv.txt", "".join(f"{i}\x01val_{i}\n" for i in range(rows)))
    s.execute(f"CREATE TABLE {table} (key STRING, value STRING)")
    s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE {table}")


# -- types ---------------------------------------------------------------------------------------


def test_uniontype_text_columns_print_tag_and_value(s, tmp_path):
    s.execute("CREATE TABLE u (v UNIONTYPE<INT, DOUBLE, ARRAY<STRING>, STRUCT<a:INT,b:STRING>>)")
    data = write(tmp_path / "in" / "u.txt", "0\x021\n1\x022.5\n2\x02x\x03y\n3\x025\x03five\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE u")
    assert printed(s, "SELECT v FROM u") == ['{0:1}', '{1:2.5}', '{2:["x","y"]}', '{3:{"a":5,"b":"five"}}']
    assert printed(s, "DESCRIBE u")[0].split("\t")[1].strip() == "uniontype<int,double,array<string>,struct<a:int,b:string>>"


def test_struct_field_names_lower_case_in_text_declared_case_in_parquet(s, tmp_path):
    s.execute("CREATE TABLE t (st STRUCT<A:STRING, bC:INT>) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
              "COLLECTION ITEMS TERMINATED BY ','")
    data = write(tmp_path / "in" / "t.txt", "x,1\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE t")
    assert printed(s, "SELECT st FROM t") == ['{"a":"x","bc":1}']
    s.execute("CREATE TABLE p (st STRUCT<A:STRING, bC:INT>) STORED AS PARQUET")
    s.execute("INSERT OVERWRITE TABLE p SELECT st FROM t")  # the file holds lower-case names
    assert printed(s, "SELECT st FROM p") == ['{"A":"x","bC":1}']


def test_parquet_column_index_access_as_a_session_setting(s):
    s.execute("CREATE TABLE p (a STRING, b INT) STORED AS PARQUET")
    s.execute("INSERT INTO p VALUES ('x', 1)")
    s.execute("ALTER TABLE p REPLACE COLUMNS (a1 STRING, b1 INT)")
    assert printed(s, "SELECT * FROM p") == ["NULL\tNULL"]  # by name: no such columns in the file
    s.execute("SET parquet.column.index.access=true")
    assert printed(s, "SELECT * FROM p") == ["x\t1"]


# -- partitions ------------------------------------------------------------------------------------


def test_alter_partition_column_type(s):
    s.execute("CREATE TABLE t (v STRING) PARTITIONED BY (ts STRING)")
    s.execute("INSERT INTO t PARTITION (ts='6.30') VALUES ('a')")
    assert printed(s, "SELECT ts FROM t") == ["6.30"]
    s.execute("ALTER TABLE t PARTITION COLUMN (ts DOUBLE)")
    assert printed(s, "SELECT ts FROM t WHERE ts = 6.3") == ["6.3"]
    assert "double" in " ".join(printed(s, "DESCRIBE t"))
    with pytest.raises(errors.SemanticException, match="Invalid column reference"):
        s.execute("ALTER TABLE t PARTITION COLUMN (nope INT)")


def test_alter_columns_restrict_keeps_partition_schema_and_cascade_changes_it(s, tmp_path):
    s.execute("CREATE TABLE r (a STRING) PARTITIONED BY (p STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    s.execute("CREATE TABLE c (a STRING) PARTITIONED BY (p STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    data = write(tmp_path / "in" / "two.txt", "x,1\n")
    for t in ("r", "c"):
        s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE {t} PARTITION (p='old')")
    s.execute("ALTER TABLE r ADD COLUMNS (b INT)")  # RESTRICT is the default
    s.execute("ALTER TABLE c ADD COLUMNS (b INT) CASCADE")
    for t in ("r", "c"):
        s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE {t} PARTITION (p='new')")
    # the old partition of r still has one column, so its second field is not read
    assert sorted(printed(s, "SELECT * FROM r")) == ["x\t1\tnew", "x\tNULL\told"]
    assert sorted(printed(s, "SELECT * FROM c")) == ["x\t1\tnew", "x\t1\told"]
    s.execute("ALTER TABLE r PARTITION (p='old') ADD COLUMNS (b INT)")
    assert sorted(printed(s, "SELECT * FROM r")) == ["x\t1\tnew", "x\t1\told"]


def test_default_partition_reads_its_name_for_string_keys_and_null_otherwise(s):
    s.execute("SET hive.exec.dynamic.partition.mode=nonstrict")
    s.execute("CREATE TABLE d (v STRING) PARTITIONED BY (ps STRING, pi INT)")
    s.execute("INSERT INTO d PARTITION (ps, pi) SELECT 'a', CAST(NULL AS STRING), CAST(NULL AS INT)")
    assert printed(s, "SELECT * FROM d") == ["a\t__HIVE_DEFAULT_PARTITION__\tNULL"]
    assert printed(s, "SELECT v FROM d WHERE ps = '__HIVE_DEFAULT_PARTITION__'") == ["a"]
    assert printed(s, "SELECT v FROM d WHERE pi IS NULL") == ["a"]
    assert printed(s, "SELECT v FROM d WHERE ps IS NULL") == []  # Hive 2.1.1 (HIVE-29637 changed it later)


def test_backquoted_partition_keys_with_special_characters(s):
    s.execute("CREATE TABLE q (`x+1` STRING) PARTITIONED BY (`!@#$%^&*()_q` STRING)")
    s.execute("ALTER TABLE q ADD IF NOT EXISTS PARTITION (`!@#$%^&*()_q`='b')")
    s.execute("ALTER TABLE q PARTITION (`!@#$%^&*()_q`='b') RENAME TO PARTITION (`!@#$%^&*()_q`='c')")
    assert printed(s, "SHOW PARTITIONS q") == ["!@%23$%25%5E&%2A()_q=c"]


def test_load_into_special_character_table_names_gets_its_own_directory(s, tmp_path):
    load_kv(s, tmp_path, "kv")
    s.execute("CREATE TABLE `//kv` (key STRING, value STRING)")
    s.execute(f"LOAD DATA LOCAL INPATH '{tmp_path / 'in' / 'kv.txt'}' INTO TABLE `//kv`")
    assert os.path.isdir(tmp_path / "wh" / "-47--47-kv")
    assert len(printed(s, "SELECT * FROM kv")) == 5  # not mixed into kv's directory
    assert len(printed(s, "SELECT `//kv`.key FROM `//kv`")) == 5


def test_skip_header_and_footer_lines_per_file(s, tmp_path):
    s.execute("CREATE TABLE f (a INT) TBLPROPERTIES ('skip.header.line.count'='1', 'skip.footer.line.count'='2')")
    for name in ("one.txt", "two.txt"):
        data = write(tmp_path / "in" / name, "h\n1\n2\n3\nf1\nf2\n")
        s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE f")
    assert sorted(printed(s, "SELECT a FROM f")) == ["1", "1", "2", "2", "3", "3"]


# -- views -------------------------------------------------------------------------------------------


def test_partitioned_view_and_table_like_view(s, tmp_path):
    load_kv(s, tmp_path)
    s.execute("CREATE VIEW v PARTITIONED ON (value) AS SELECT key, value FROM kv WHERE key = 3")
    assert printed(s, "SELECT * FROM v") == ["3\tval_3"]
    s.execute("ALTER VIEW v ADD PARTITION (value='val_3') PARTITION (value='val_x')")
    s.execute("ALTER VIEW v DROP PARTITION (value='val_x')")
    assert printed(s, "SHOW PARTITIONS v") == ["value=val_3"]
    s.execute("CREATE TABLE t LIKE v")
    s.execute("INSERT INTO t PARTITION (value='z') VALUES ('k')")
    assert printed(s, "SELECT * FROM t") == ["k\tz"]
    with pytest.raises(errors.SemanticException, match="PARTITIONED ON"):
        s.execute("CREATE VIEW w PARTITIONED ON (key) AS SELECT key, value FROM kv")


def test_view_over_cte_star_keeps_column_names(s, tmp_path):
    load_kv(s, tmp_path)
    s.execute("CREATE VIEW v AS WITH q AS (SELECT key, value FROM kv) SELECT * FROM q")
    assert printed(s, "SELECT value FROM v WHERE key = '2'") == ["val_2"]


# -- binding ------------------------------------------------------------------------------------------


def test_cte_may_name_a_later_cte(s, tmp_path):
    load_kv(s, tmp_path)
    sql = ("WITH q1 AS (SELECT key FROM q2 WHERE key > '2'), q2 AS (SELECT key FROM kv) "
           "SELECT count(*) FROM q1")
    assert printed(s, sql) == ["2"]


def test_column_names_with_leading_and_trailing_spaces(s):
    s.execute("CREATE TABLE sp (` left` STRING, ` middle ` STRING, `right ` STRING)")
    s.execute("INSERT INTO sp VALUES ('1', '2', '3')")
    s.execute("INSERT INTO sp (` middle `) VALUES ('m')")
    assert sorted(printed(s, "SELECT * FROM sp ORDER BY ` left`")) == ["1\t2\t3", "NULL\tm\tNULL"]


def test_regex_column_specs_with_quoted_identifiers_none(s, tmp_path):
    s.execute("CREATE TABLE rp (key STRING, value STRING) PARTITIONED BY (ds STRING, hr STRING)")
    s.execute("INSERT INTO rp PARTITION (ds='d1', hr='11') VALUES ('1', 'v1')")
    s.execute("SET hive.support.quoted.identifiers=none")
    assert printed(s, "SELECT `(ds|hr)?+.+` FROM rp") == ["1\tv1"]
    assert printed(s, "SELECT b.`..` FROM rp a JOIN rp b ON a.key = b.key") == ["d1\t11"]
    assert printed(s, "SELECT `K.Y` FROM (SELECT key, value FROM rp) t") == ["1"]  # whole match, any case
    s.execute("SET hive.support.quoted.identifiers=column")
    with pytest.raises(errors.Error):
        s.execute("SELECT `..` FROM rp")


def test_noop_ptfs_return_their_input_rows(s, tmp_path):
    load_kv(s, tmp_path)
    sql = ("SELECT key, rank() OVER (PARTITION BY value ORDER BY key) FROM "
           "noopstreaming(ON noopwithmap(ON (SELECT * FROM kv WHERE key < '3') j PARTITION BY j.value "
           "ORDER BY j.key) DISTRIBUTE BY value SORT BY key) abc")
    assert sorted(printed(s, sql)) == ["0\t1", "1\t1", "2\t1"]
    assert sorted(printed(s, "SELECT p.key FROM noop(ON kv PARTITION BY key) p JOIN kv ON p.key = kv.key "
                          "WHERE kv.key = '4'")) == ["4"]
    with pytest.raises(errors.SemanticException, match="Invalid function"):
        s.execute("SELECT * FROM nosuchptf(ON kv PARTITION BY key)")


# -- RCFile ------------------------------------------------------------------------------------------


def test_vlong_matches_hadoop_writable_utils():
    for v, encoded in [(0, b"\x00"), (127, b"\x7f"), (-112, b"\x90"), (128, b"\x8f\x80"), (-113, b"\x87\x70"),
                       (65536, b"\x8d\x01\x00\x00"), (-(2**40), b"\x83\xff\xff\xff\xff\xff")]:
        out = bytearray()
        rcfile.write_vlong(out, v)
        assert bytes(out) == encoded, v
        assert rcfile.read_vlong(encoded, 0) == (v, len(encoded))


def test_rcfile_round_trip_with_every_primitive_and_nulls(s, tmp_path):
    s.execute("CREATE TABLE src (a INT)")
    s.execute("INSERT INTO src VALUES (1)")
    cols = ("t TINYINT, si SMALLINT, i INT, b BIGINT, f FLOAT, d DOUBLE, dec DECIMAL(10,3), s STRING, "
            "e STRING, vc VARCHAR(5), bo BOOLEAN, dt DATE, ts TIMESTAMP")
    s.execute(f"CREATE TABLE rc ({cols}) STORED AS RCFILE")
    s.execute("INSERT INTO rc SELECT -3, 300, -70000, 5000000000, 1.5, -2.25, 12.345, 'héllo', '', 'abc', true, "
              "CAST('2014-01-02' AS DATE), CAST('2012-01-01 10:00:00.1' AS TIMESTAMP) FROM src")
    s.execute("INSERT INTO rc SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL "
              "FROM src")
    assert sorted(printed(s, "SELECT * FROM rc")) == sorted([
        "-3\t300\t-70000\t5000000000\t1.5\t-2.25\t12.345\théllo\t\tabc\ttrue\t2014-01-02\t2012-01-01 10:00:00.1",
        "\t".join(["NULL"] * 13)])
    files = [f for f in os.listdir(tmp_path / "wh" / "rc") if not f.startswith((".", "_"))]
    with open(tmp_path / "wh" / "rc" / files[0], "rb") as fh:
        head = fh.read(64)
    assert head[:4] == b"RCF\x01" and head[4] == 0  # magic, version 1, not compressed
    assert b"hive.io.rcfile.column.number" in head
    assert printed(s, "SELECT count(*), count(s) FROM rc") == ["2\t1"]


def test_rcfile_compressed_small_row_groups_and_columnar_serde(s, tmp_path):
    load_kv(s, tmp_path, rows=50)
    s.execute("SET hive.exec.compress.output=true")
    s.execute("SET hive.io.rcfile.record.interval=7")
    s.execute("CREATE TABLE rz (key INT, value STRING) STORED AS RCFILE")
    s.execute("INSERT OVERWRITE TABLE rz SELECT * FROM kv")
    assert printed(s, "SELECT count(*), sum(key), max(value) FROM rz") == ["50\t1225\tval_9"]
    path = tmp_path / "wh" / "rz"
    data = open(path / sorted(f for f in os.listdir(path) if not f.startswith("."))[0], "rb").read()
    assert data[4] == 1 and b"org.apache.hadoop.io.compress.DefaultCodec" in data[:80]
    groups = list(rcfile._Reader(data, "x").groups([0, 1]))
    assert [n for n, _ in groups] == [7] * 7 + [1]
    s.execute("SET hive.exec.compress.output=false")
    s.execute("CREATE TABLE rt (key INT, value STRING) ROW FORMAT SERDE "
              "'org.apache.hadoop.hive.serde2.columnar.ColumnarSerDe' STORED AS RCFILE")
    s.execute("INSERT OVERWRITE TABLE rt SELECT key, IF(key = 3, NULL, value) FROM kv WHERE key < 5")
    assert sorted(printed(s, "SELECT * FROM rt")) == ["0\tval_0", "1\tval_1", "2\tval_2", "3\tNULL", "4\tval_4"]
    raw = open(tmp_path / "wh" / "rt" / sorted(f for f in os.listdir(tmp_path / "wh" / "rt")
                                                if not f.startswith("."))[0], "rb").read()
    assert b"val_0val_1val_2\\Nval_4" in raw  # text cells, NULL as \N, stored column by column


def test_rcfile_rejects_a_file_that_is_not_one(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"SEQ\x06" + struct.pack(">i", 0))
    with pytest.raises(rcfile.RCFileError, match="SequenceFile"):
        list(rcfile.read_rcfile(str(path), [("a", "int")], [("a", "int")], rcfile.LAZY_BINARY_COLUMNAR))


def test_text_decimal_fields_read_exponents_and_round_to_the_scale(s, tmp_path):
    """HiveDecimal parses `1E-9` and rounds half-up to the column's scale; too many digits read as NULL."""
    s.execute("CREATE TABLE dec11 (d DECIMAL(1,1)) STORED AS TEXTFILE")
    data = write(tmp_path / "d.txt", "1E-9\n-1E-9\n0.25\n0.35\n1.5E-1\n12.3\n5E0\nabc\n")
    s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE dec11")
    assert printed(s, "SELECT d FROM dec11") == ["0.0", "0.0", "0.3", "0.4", "0.2", "NULL", "NULL", "NULL"]


def test_char_columns_of_different_lengths_join_without_their_padding(s, tmp_path):
    """Hive compares CHAR values without trailing spaces: char(10) 'abc' joins char(20) 'abc' and equals 'abc'."""
    s.execute("CREATE TABLE ch10 (k INT, c CHAR(10))")
    s.execute("CREATE TABLE ch20 (k INT, c CHAR(20))")
    data = write(tmp_path / "c.txt", "1\x01abc\n2\x01 abc\n")
    for t in ("ch10", "ch20"):
        s.execute(f"LOAD DATA LOCAL INPATH '{data}' INTO TABLE {t}")
    assert sorted(printed(s, "SELECT a.k, b.k FROM ch10 a JOIN ch20 b ON a.c = b.c")) == ["1\t1", "2\t2"]
    assert printed(s, "SELECT k FROM ch20 WHERE c = 'abc'") == ["1"]
