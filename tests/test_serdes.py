"""Row SerDes beyond LazySimpleSerDe, on both engines: RegexSerDe (both classes)."""

from __future__ import annotations

import gzip
import os

import pytest

from hiveish import errors
from tests.helpers import new_session, printed, rows

SERDE2 = "org.apache.hadoop.hive.serde2.RegexSerDe"
CONTRIB = "org.apache.hadoop.hive.contrib.serde2.RegexSerDe"
LOG_REGEX = r'([^ ]*) ([^ ]*) ([^ ]*) (-|\\[[^\\]]*\\]) ([^ \"]*|\"[^\"]*\") (-|[0-9]*) (-|[0-9]*)'
LOG = (
    '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
    'this line does not match\n'
    '10.1.2.3 - - [10/Oct/2000:13:55:37 -0700] "POST /form HTTP/1.1" 404 -\n'
)


@pytest.fixture(params=["arrow", "mr"])
def s(request, tmp_path):
    session = new_session(tmp_path, **{"hive.execution.engine": request.param,
                                       "mapreduce.input.fileinputformat.split.maxsize": "64"})
    yield session
    session.close()


def write(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return str(os.path.dirname(path))


def log_table(s, location: str, serde: str = SERDE2, types: str = "INT", extra: str = "") -> None:
    s.execute(f"""CREATE EXTERNAL TABLE logs (host STRING, identity STRING, usr STRING, ts STRING, request STRING,
                  status {types}, size {types})
                  ROW FORMAT SERDE '{serde}' WITH SERDEPROPERTIES ('input.regex' = '{LOG_REGEX}'{extra})
                  LOCATION '{location}'""")


def test_regex_serde_reads_the_access_log_example_and_a_non_matching_line_is_nulls(s, tmp_path):
    log_table(s, write(tmp_path / "logs" / "access.log", LOG.encode()))
    assert printed(s, "SELECT * FROM logs") == [
        '127.0.0.1\t-\tfrank\t[10/Oct/2000:13:55:36 -0700]\t"GET /apache_pb.gif HTTP/1.0"\t200\t2326',
        "NULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL",
        '10.1.2.3\t-\t-\t[10/Oct/2000:13:55:37 -0700]\t"POST /form HTTP/1.1"\t404\tNULL',
    ]
    assert rows(s, "SELECT count(*), count(host), sum(size) FROM logs") == [(3, 2, 2326)]
    assert rows(s, "SELECT status, count(*) FROM logs WHERE status IS NOT NULL GROUP BY status ORDER BY status") == [
        (200, 1), (404, 1)]


def test_typed_columns_parse_as_hive_parses_each_group(s, tmp_path):
    data = ("1|2.5|true|2024-03-15|2024-03-15 10:11:12.5|12.345|abcdef\n"
            "x|NaN|yes|2024-13-01|nope|1e2|ab\n"
            "99999999999|-Infinity|TRUE|2024-1-5|2024-01-05 01:02:03|-0.5|\n")
    loc = write(tmp_path / "typed" / "t.txt", data.encode())
    s.execute(f"""CREATE EXTERNAL TABLE t (i INT, d DOUBLE, b BOOLEAN, dt DATE, ts TIMESTAMP, dec DECIMAL(5,2),
                  v VARCHAR(3)) ROW FORMAT SERDE '{SERDE2}'
                  WITH SERDEPROPERTIES ('input.regex'='([^|]*)\\\\|([^|]*)\\\\|([^|]*)\\\\|([^|]*)\\\\|([^|]*)\\\\|([^|]*)\\\\|([^|]*)')
                  LOCATION '{loc}'""")
    assert printed(s, "SELECT * FROM t") == [
        "1\t2.5\ttrue\t2024-03-15\t2024-03-15 10:11:12.5\t12.35\tabc",
        "NULL\tNaN\tfalse\tNULL\tNULL\t100.00\tab",
        "NULL\t-Infinity\ttrue\t2024-01-05\t2024-01-05 01:02:03\t-0.50\t",
    ]


def test_case_insensitive_regex_and_groups_that_take_no_part_are_null(s, tmp_path):
    loc = write(tmp_path / "ci" / "t.txt", b"KEY=1\nkey=2;extra\nother\n")
    s.execute(f"""CREATE EXTERNAL TABLE ci (k STRING, extra STRING) ROW FORMAT SERDE '{SERDE2}'
                  WITH SERDEPROPERTIES ('input.regex'='key=([0-9]+)(?:;(.*))?', 'input.regex.case.insensitive'='true')
                  LOCATION '{loc}'""")
    assert rows(s, "SELECT * FROM ci") == [("1", None), ("2", "extra"), (None, None)]


def test_compressed_files_header_lines_and_invalid_utf8(s, tmp_path):
    path = tmp_path / "gz" / "t.txt.gz"
    os.makedirs(path.parent)
    with gzip.open(path, "wb") as f:
        f.write(b"header\na\xffb 1\nc 2\n")
    s.execute(f"""CREATE EXTERNAL TABLE g (w STRING, n INT) ROW FORMAT SERDE '{SERDE2}'
                  WITH SERDEPROPERTIES ('input.regex'='(\\\\S+) (\\\\d+)') LOCATION '{path.parent}'
                  TBLPROPERTIES ('skip.header.line.count'='1')""")
    assert rows(s, "SELECT * FROM g") == [("a\ufffdb", 1), ("c", 2)]


def test_a_regex_with_fewer_groups_than_columns_fails_the_query(s, tmp_path):
    loc = write(tmp_path / "few" / "t.txt", b"a b\n")
    s.execute(f"""CREATE EXTERNAL TABLE few (a STRING, b STRING) ROW FORMAT SERDE '{SERDE2}'
                  WITH SERDEPROPERTIES ('input.regex'='(\\\\S+) \\\\S+') LOCATION '{loc}'""")
    with pytest.raises(errors.Error, match="Number of matching groups doesn't match the number of columns"):
        rows(s, "SELECT * FROM few")


def test_serde2_regex_cannot_be_written_and_the_table_keeps_its_files(s, tmp_path):
    log_table(s, write(tmp_path / "logs" / "access.log", LOG.encode()))
    with pytest.raises(errors.Error, match="doesn't support the serialize"):
        s.execute("INSERT INTO logs SELECT * FROM logs")
    assert os.listdir(tmp_path / "logs") == ["access.log"]
    assert rows(s, "SELECT count(*) FROM logs") == [(3,)]


def test_create_refuses_what_regex_serde_refuses(s):
    with pytest.raises(errors.SemanticException, match='does not have serde property "input.regex"'):
        s.execute(f"CREATE TABLE r (a STRING) ROW FORMAT SERDE '{SERDE2}'")
    with pytest.raises(errors.SemanticException, match="only accepts string columns"):
        s.execute(f"CREATE TABLE r (a INT) ROW FORMAT SERDE '{CONTRIB}' WITH SERDEPROPERTIES ('input.regex'='(.*)')")
    with pytest.raises(errors.SemanticException, match="doesn't allow column"):
        s.execute(f"CREATE TABLE r (a ARRAY<STRING>) ROW FORMAT SERDE '{SERDE2}' "
                  "WITH SERDEPROPERTIES ('input.regex'='(.*)')")
    with pytest.raises(errors.SemanticException, match="regular expression"):
        s.execute(f"CREATE TABLE r (a STRING) ROW FORMAT SERDE '{SERDE2}' WITH SERDEPROPERTIES ('input.regex'='(a')")


def test_contrib_regex_writes_with_output_format_string_and_reads_back(s, tmp_path):
    s.execute(f"""CREATE TABLE kv (k STRING, v STRING) ROW FORMAT SERDE '{CONTRIB}'
                  WITH SERDEPROPERTIES ('input.regex'='([^:]*):(.*)', 'output.format.string'='%1$s:%2$s')""")
    s.execute("INSERT INTO kv VALUES ('a', 'x:y'), ('b', NULL)")
    assert sorted(rows(s, "SELECT * FROM kv")) == [("a", "x:y"), ("b", "null")]
    s.execute(f"""CREATE TABLE nofmt (k STRING) ROW FORMAT SERDE '{CONTRIB}'
                  WITH SERDEPROPERTIES ('input.regex'='(.*)')""")
    with pytest.raises(errors.Error, match="output.format.string"):
        s.execute("INSERT INTO nofmt VALUES ('a')")


def test_many_lines_split_by_mapreduce_read_every_line_once(s, tmp_path):
    data = "".join(f"k{i} {i}\n" for i in range(500)).encode()
    loc = write(tmp_path / "many" / "t.txt", data)
    s.execute(f"""CREATE EXTERNAL TABLE many (k STRING, n INT) ROW FORMAT SERDE '{SERDE2}'
                  WITH SERDEPROPERTIES ('input.regex'='(\\\\S+) (\\\\d+)') LOCATION '{loc}'""")
    assert rows(s, "SELECT count(*), count(DISTINCT k), sum(n) FROM many") == [(500, 500, sum(range(500)))]


# -- OpenCSVSerde ------------------------------------------------------------------------------------
CSV = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


def test_opencsv_reads_rfc4180_doubled_quotes_escapes_and_short_lines(s, tmp_path):
    data = ('"1","said ""hi""","x"\n'
            '"2","a\\"b","back\\\\slash"\n'
            '3,plain,"with,comma"\n'
            '4,only two\n'
            '5,"",\n').encode()
    loc = write(tmp_path / "csv" / "f.csv", data)
    s.execute(f"CREATE EXTERNAL TABLE c (k INT, v STRING, w STRING) ROW FORMAT SERDE '{CSV}' LOCATION '{loc}'")
    assert rows(s, "SELECT * FROM c ORDER BY k") == [
        (1, 'said "hi"', "x"), (2, 'a"b', "back\\slash"), (3, "plain", "with,comma"), (4, "only two", None),
        (5, "", "")]


def test_opencsv_separator_quote_and_escape_chars(s, tmp_path):
    loc = write(tmp_path / "tsv" / "f.tsv", b"'a\tb'\t'it|'s'\n'c''d'\tplain\n")
    s.execute(f"""CREATE EXTERNAL TABLE t (x STRING, y STRING) ROW FORMAT SERDE '{CSV}'
                  WITH SERDEPROPERTIES ('separatorChar'='\\t', 'quoteChar'="'", 'escapeChar'='|')
                  LOCATION '{loc}'""")
    assert rows(s, "SELECT * FROM t ORDER BY x") == [("a\tb", "it's"), ("c'd", "plain")]


def test_opencsv_writes_as_hive_and_reads_back(s, tmp_path):
    s.execute(f"CREATE TABLE w (k STRING, v STRING) ROW FORMAT SERDE '{CSV}'")
    s.execute("""INSERT INTO w VALUES ('1', 'said "hi"'), ('2', NULL), ('3', 'a,b\\\\c')""")
    loc = s.metastore.get_table("default", "w").sd.location
    [name] = [f for f in os.listdir(loc) if not f.startswith((".", "_"))]
    assert sorted(open(os.path.join(loc, name), encoding="utf-8").read().splitlines()) == [
        '"1","said ""hi"""', '"2",', '"3","a,b\\c"']
    # Hive writes with escape '"' but reads with opencsv's default escape '\\', which drops a backslash
    # that escapes nothing: the round trip loses it, in Hive as here
    assert rows(s, "SELECT * FROM w ORDER BY k") == [("1", 'said "hi"'), ("2", ""), ("3", "a,bc")]


# -- invalid UTF-8 ------------------------------------------------------------------------------------


def test_one_invalid_byte_in_a_large_text_table_reads_as_replacement_character(s, tmp_path):
    s.execute("SET mapreduce.input.fileinputformat.split.maxsize=400000")  # a few splits, one holding the byte
    lines = [f"{i}\x01v{i}".encode() for i in range(100_000)]
    lines[50_000] = b"50000\x01bad\xff\xfebyte"
    loc = write(tmp_path / "utf" / "f.txt", b"\n".join(lines) + b"\n")
    s.execute(f"CREATE EXTERNAL TABLE u (k INT, v STRING) LOCATION '{loc}'")
    assert rows(s, "SELECT count(*) FROM u") == [(100_000,)]
    assert rows(s, "SELECT v FROM u WHERE k = 50000") == [("bad\ufffd\ufffdbyte",)]
