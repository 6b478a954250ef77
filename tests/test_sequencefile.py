"""STORED AS SEQUENCEFILE: written as Hive writes it, read back on both engines, and files made from
Hadoop's documented byte layout (record- and block-compressed, Text and BytesWritable values) read."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest

from catalog.formats import sequencefile as sf
from catalog.formats.codecs import codec_named
from hiveish import errors
from tests.helpers import new_session, rows


@pytest.fixture(params=["arrow", "mr"])
def s(request, tmp_path):
    session = new_session(tmp_path, **{"hive.execution.engine": request.param})
    yield session
    session.close()


def vint(i: int) -> bytes:
    out = io.BytesIO()
    sf.write_vint(out, i)
    return out.getvalue()


def text(b: bytes) -> bytes:
    return vint(len(b)) + b


SYNC = bytes(range(16))


def header(value_class: str, codec: str | None = None, block: bool = False) -> bytes:
    """A version-6 header as SequenceFile.Writer writes it, with one metadata pair."""
    h = b"SEQ\x06" + text(sf.BYTES.encode()) + text(value_class.encode())
    h += bytes([codec is not None, block])
    if codec:
        h += text(codec.encode())
    return h + struct.pack(">i", 1) + text(b"k") + text(b"v") + SYNC


EMPTY_KEY = struct.pack(">i", 0)


def record(value: bytes, compress=None) -> bytes:
    body = compress(value) if compress else value
    return struct.pack(">ii", len(EMPTY_KEY) + len(body), len(EMPTY_KEY)) + EMPTY_KEY + body


def put(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return str(os.path.dirname(path))


def test_vints_round_trip_as_hadoop_encodes_them():
    for i in (0, 1, -1, 127, -112, -113, 128, 255, 256, 65535, -65536, 2**31 - 1, -(2**31), 2**40):
        v, pos = sf.read_vint(vint(i), 0)
        assert (v, pos) == (i, len(vint(i)))
    assert vint(127) == b"\x7f" and vint(128) == b"\x8f\x80" and vint(-113) == b"\x87\x70"


def test_create_insert_select_and_the_file_is_laid_out_as_hive_writes_it(s, tmp_path):
    s.execute("CREATE TABLE seq (key INT, value STRING) STORED AS SEQUENCEFILE")
    s.execute("INSERT OVERWRITE TABLE seq SELECT * FROM (SELECT 1, 'val_1' UNION ALL SELECT 2, NULL) t")
    assert sorted(rows(s, "SELECT * FROM seq")) == [(1, "val_1"), (2, None)]
    t = s.metastore.get_table("default", "seq")
    assert t.sd.input_format == "org.apache.hadoop.mapred.SequenceFileInputFormat"
    assert t.sd.output_format == "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat"
    [name] = [f for f in os.listdir(t.sd.location) if not f.startswith((".", "_"))]
    data = open(os.path.join(t.sd.location, name), "rb").read()
    assert data.startswith(b"SEQ\x06" + text(b"org.apache.hadoop.io.BytesWritable") + text(b"org.apache.hadoop.io.Text")
                           + b"\x00\x00" + struct.pack(">i", 0))
    values = sorted(sf.read_values(data))
    assert values == [b"1\x01val_1", b"2\x01\\N"]
    assert struct.pack(">ii", 4 + 8, 4) + EMPTY_KEY + text(b"1\x01val_1") in data


def test_partitioned_sequencefile_table_and_alter(s):
    s.execute("CREATE TABLE p (col1 STRING) PARTITIONED BY (pcol1 STRING) STORED AS SEQUENCEFILE")
    s.execute("INSERT OVERWRITE TABLE p PARTITION (pcol1='a') SELECT 'x'")
    s.execute("ALTER TABLE p PARTITION (pcol1='a') RENAME TO PARTITION (pcol1='b')")
    s.execute("CREATE TABLE p_like LIKE p")
    s.execute("INSERT INTO p_like PARTITION (pcol1='c') SELECT col1 FROM p")
    assert rows(s, "SELECT * FROM p_like") == [("x", "c")]


@pytest.mark.parametrize("codec_name", ["deflate", "gzip", "snappy", "lz4", "zstd", "bzip2"])
def test_record_compressed_files_are_read(s, tmp_path, codec_name):
    codec = codec_named(codec_name)
    data = header(sf.TEXT, codec.hadoop_class) + b"".join(
        record(text(f"{i}\x01v{i}".encode()), codec.compress) for i in range(50))
    loc = put(tmp_path / "rec" / "000000_0", data)
    s.execute(f"CREATE EXTERNAL TABLE r (k INT, v STRING) STORED AS SEQUENCEFILE LOCATION '{loc}'")
    assert rows(s, "SELECT count(*), sum(k), max(v) FROM r") == [(50, sum(range(50)), "v9")]


def test_block_compressed_files_with_several_blocks_are_read(s, tmp_path):
    def block(values: list[bytes]) -> bytes:
        key_lens = b"".join(vint(4) for _ in values)
        keys = EMPTY_KEY * len(values)
        vals = [text(v) for v in values]
        parts = [key_lens, keys, b"".join(vint(len(v)) for v in vals), b"".join(vals)]
        out = struct.pack(">i", -1) + SYNC + vint(len(values))
        for p in parts:
            c = zlib.compress(p)
            out += vint(len(c)) + c
        return out

    data = header(sf.TEXT, "org.apache.hadoop.io.compress.DefaultCodec", block=True)
    data += block([b"1\x01a", b"2\x01b"]) + block([b"3\x01c"])
    loc = put(tmp_path / "blk" / "000000_0", data)
    s.execute(f"CREATE EXTERNAL TABLE b (k INT, v STRING) STORED AS SEQUENCEFILE LOCATION '{loc}'")
    assert rows(s, "SELECT * FROM b ORDER BY k") == [(1, "a"), (2, "b"), (3, "c")]


def test_bytes_writable_values_and_sync_markers_between_records(s, tmp_path):
    def bw(b: bytes) -> bytes:
        return struct.pack(">i", len(b)) + b

    data = header(sf.BYTES) + record(bw(b"1,a")) + struct.pack(">i", -1) + SYNC + record(bw(b"2,b"))
    loc = put(tmp_path / "bw" / "f", data)
    s.execute(f"CREATE EXTERNAL TABLE w (k INT, v STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' "
              f"STORED AS SEQUENCEFILE LOCATION '{loc}'")
    assert rows(s, "SELECT * FROM w ORDER BY k") == [(1, "a"), (2, "b")]


def test_writing_with_the_session_codec_block_and_record(s):
    s.execute("CREATE TABLE c (k INT, v STRING) STORED AS SEQUENCEFILE")
    s.execute("SET hive.exec.compress.output=true")
    s.execute("SET mapreduce.output.fileoutputformat.compress.codec=org.apache.hadoop.io.compress.SnappyCodec")
    s.execute("INSERT INTO c SELECT 1, 'a'")
    s.execute("SET mapreduce.output.fileoutputformat.compress.type=BLOCK")
    s.execute("SET mapreduce.output.fileoutputformat.compress.codec=org.apache.hadoop.io.compress.GzipCodec")
    s.execute("INSERT INTO c SELECT 2, 'b'")
    assert rows(s, "SELECT * FROM c ORDER BY k") == [(1, "a"), (2, "b")]
    loc = s.metastore.get_table("default", "c").sd.location
    heads = sorted(open(os.path.join(loc, f), "rb").read()[:120] for f in os.listdir(loc))
    assert any(b"SnappyCodec" in h and b"\x01\x00" in h for h in heads)
    assert any(b"GzipCodec" in h and b"\x01\x01" in h for h in heads)


def test_a_file_that_is_not_a_sequencefile_fails_naming_it(s, tmp_path):
    loc = put(tmp_path / "bad" / "notseq", b"1\x01a\n")
    s.execute(f"CREATE EXTERNAL TABLE bad (k INT, v STRING) STORED AS SEQUENCEFILE LOCATION '{loc}'")
    with pytest.raises(errors.Error, match="notseq"):
        rows(s, "SELECT * FROM bad")


def test_set_fileformat_sequencefile_keeps_the_delimiters(s):
    s.execute("CREATE TABLE d (k INT, v STRING) ROW FORMAT DELIMITED FIELDS TERMINATED BY ','")
    s.execute("ALTER TABLE d SET FILEFORMAT SEQUENCEFILE")
    s.execute("INSERT INTO d SELECT 1, 'a'")
    assert rows(s, "SELECT * FROM d") == [(1, "a")]
    loc = s.metastore.get_table("default", "d").sd.location
    [name] = [f for f in os.listdir(loc) if not f.startswith((".", "_"))]
    assert list(sf.read_values(open(os.path.join(loc, name), "rb").read())) == [b"1,a"]
