"""Text compression: INSERT output compressed with the session's codec (`hive.exec.compress.output`),
files named with the codec's extension as Hive names them; Hadoop-codec files read by extension."""

from __future__ import annotations

import os
import struct
import zlib

import cramjam
import pytest

from catalog.formats.codecs import codec_named
from hiveish import errors
from tests.helpers import new_session, rows


@pytest.fixture(params=["arrow", "mr"])
def s(request, tmp_path):
    session = new_session(tmp_path, **{"hive.execution.engine": request.param})
    yield session
    session.close()


def data_files(loc: str) -> list[str]:
    return sorted(f for f in os.listdir(loc) if not f.startswith((".", "_")))


@pytest.mark.parametrize("codec, ext", [
    ("org.apache.hadoop.io.compress.DefaultCodec", ".deflate"), ("org.apache.hadoop.io.compress.GzipCodec", ".gz"),
    ("org.apache.hadoop.io.compress.BZip2Codec", ".bz2"), ("org.apache.hadoop.io.compress.SnappyCodec", ".snappy"),
    ("org.apache.hadoop.io.compress.Lz4Codec", ".lz4"), ("org.apache.hadoop.io.compress.ZStandardCodec", ".zst")])
def test_insert_writes_compressed_text_named_by_codec_and_reads_back(s, codec, ext):
    s.execute("CREATE TABLE t (k INT, v STRING)")
    s.execute("SET hive.exec.compress.output=true")
    s.execute(f"SET mapreduce.output.fileoutputformat.compress.codec={codec}")
    s.execute("INSERT INTO t SELECT 1, 'a' UNION ALL SELECT 2, NULL")
    s.execute("INSERT INTO t SELECT 3, 'c'")
    loc = s.metastore.get_table("default", "t").sd.location
    assert data_files(loc) == [f"000000_0{ext}", f"000000_0_copy_1{ext}"]
    raw = open(os.path.join(loc, f"000000_0{ext}"), "rb").read()
    assert codec_named(codec).decompress(raw) in (b"1\x01a\n2\x01\\N\n", b"2\x01\\N\n1\x01a\n")
    s.execute("SET hive.exec.compress.output=false")
    assert rows(s, "SELECT * FROM t ORDER BY k") == [(1, "a"), (2, None), (3, "c")]


def test_default_codec_is_deflate_and_an_unknown_codec_fails(s):
    s.execute("CREATE TABLE t (k INT)")
    s.execute("SET hive.exec.compress.output=true")
    s.execute("INSERT INTO t SELECT 1")
    assert data_files(s.metastore.get_table("default", "t").sd.location) == ["000000_0.deflate"]
    s.execute("SET mapreduce.output.fileoutputformat.compress.codec=com.example.NoCodec")
    with pytest.raises(errors.Error, match="com.example.NoCodec"):
        s.execute("INSERT INTO t SELECT 2")
    s.execute("SET hive.exec.compress.output=false")
    assert rows(s, "SELECT * FROM t") == [(1,)]


def hadoop_block(data: bytes, raw) -> bytes:
    """Hadoop's BlockCompressorStream framing: uncompressed length, then length-prefixed chunks."""
    half = len(data) // 2
    chunks = [raw(data[:half]), raw(data[half:])]
    return struct.pack(">I", len(data)) + b"".join(struct.pack(">I", len(c)) + c for c in chunks)


def test_hadoop_codec_files_made_by_hand_are_read_by_extension(s, tmp_path):
    text = "".join(f"{i}\x01v{i}\n" for i in range(1000)).encode()
    loc = tmp_path / "ext"
    os.makedirs(loc)
    (loc / "a.deflate").write_bytes(zlib.compress(text))
    (loc / "b.snappy").write_bytes(hadoop_block(text, lambda b: bytes(cramjam.snappy.compress_raw(b))))
    (loc / "c.lz4").write_bytes(hadoop_block(text, lambda b: bytes(cramjam.lz4.compress_block(b, store_size=False))))
    s.execute(f"CREATE EXTERNAL TABLE e (k INT, v STRING) LOCATION '{loc}'")
    assert rows(s, "SELECT count(*), sum(k), count(DISTINCT v) FROM e") == [(3000, 3 * sum(range(1000)), 1000)]
