"""SEQUENCEFILE: Hadoop's SequenceFile (version 6), values read by the table's line SerDe.

Layout (org.apache.hadoop.io.SequenceFile): `SEQ` and the version byte; the key
and value class names (Text.writeString: a vint length and UTF-8 bytes); two
booleans, compressed and block-compressed; the codec class name if compressed;
the metadata (a 4-byte count of Text name/value pairs); a 16-byte sync marker.
Records follow: a 4-byte record length (key + value), a 4-byte key length, the
key and the value bytes; a record length of -1 is a sync marker. With record
compression each value is a codec stream; with block compression each block
(after a sync) is a vint record count and four codec-compressed buffers: key
lengths, keys, value lengths, values (lengths as vints).

Hive writes an empty BytesWritable key and the row as a Text value (the
LazySimpleSerDe line) through HiveSequenceFileOutputFormat. Reading, a Text or
BytesWritable value is one record of the table's SerDe: the values are
decoded once into a local text file which that SerDe's reader scans.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import replace
from typing import BinaryIO, Iterable, Iterator

import pyarrow as pa

from catalog.formats import lazy_simple
from catalog.formats.base import SPLIT_WHOLE, FileScan, Format, RowSerDe, ScanContext
from catalog.formats.codecs import OUTPUT_SETTINGS, Codec, codec_named, output_codec
from catalog.types import HiveType

MAGIC = b"SEQ"
VERSION = 6
TEXT = "org.apache.hadoop.io.Text"
BYTES = "org.apache.hadoop.io.BytesWritable"
SYNC_INTERVAL = 100 * 20  # bytes between sync markers when writing records (SequenceFile.SYNC_INTERVAL)
BLOCK_SIZE = 1_000_000  # io.seqfile.compress.blocksize


class SequenceFileError(ValueError):
    """A file that is not a SequenceFile hiveish reads (bad header, unknown codec or value class, truncated)."""


# -- Hadoop's variable-length integers (WritableUtils.writeVLong / readVLong) ----------------------
def write_vint(out: BinaryIO, i: int) -> None:
    if -112 <= i <= 127:
        out.write(struct.pack(">b", i))
        return
    length = -112
    if i < 0:
        i = ~i
        length = -120
    tmp, n = i, 0
    while tmp:
        tmp >>= 8
        n += 1
    out.write(struct.pack(">b", length - n))
    out.write(i.to_bytes(n, "big"))


def read_vint(buf: bytes, pos: int) -> tuple[int, int]:
    """The vint at `pos` and the position after it."""
    first = struct.unpack_from(">b", buf, pos)[0]
    if first >= -112:
        return first, pos + 1
    negative = first < -120
    n = -(first + 120) if negative else -(first + 112)
    if pos + 1 + n > len(buf):
        raise SequenceFileError("truncated variable-length integer")
    v = int.from_bytes(buf[pos + 1:pos + 1 + n], "big")
    return (~v if negative else v), pos + 1 + n


def _text(buf: bytes, pos: int) -> tuple[bytes, int]:
    n, pos = read_vint(buf, pos)
    return buf[pos:pos + n], pos + n


def _write_text(out: BinaryIO, data: bytes) -> None:
    write_vint(out, len(data))
    out.write(data)


# -- reading ---------------------------------------------------------------------------------------
def _value_bytes(raw: bytes, value_class: str) -> bytes:
    """The payload of one serialized value: Text (vint length) or BytesWritable (4-byte length)."""
    if value_class == TEXT:
        data, _ = _text(raw, 0)
        return data
    (n,) = struct.unpack_from(">i", raw, 0)
    return raw[4:4 + n]


def read_values(data: bytes) -> Iterator[bytes]:
    """Every value of a SequenceFile's bytes, in order."""
    if data[:3] != MAGIC or len(data) < 4:
        raise SequenceFileError("not a SequenceFile (no SEQ header)")
    version = data[3]
    if version < 5:
        raise SequenceFileError(f"SequenceFile version {version} is not supported (5 and 6 are)")
    pos = 4
    key_class, pos = _text(data, pos)
    value_class_b, pos = _text(data, pos)
    value_class = value_class_b.decode()
    if value_class not in (TEXT, BYTES):
        raise SequenceFileError(f"SequenceFile values of class {value_class} (hiveish reads Text and BytesWritable)")
    compressed, block = bool(data[pos]), bool(data[pos + 1])
    pos += 2
    codec: Codec | None = None
    if compressed:
        name, pos = _text(data, pos)
        codec = codec_named(name.decode())
        if codec is None:
            raise SequenceFileError(f"SequenceFile codec {name.decode()} is not supported")
    if version >= 6:
        (count,) = struct.unpack_from(">i", data, pos)
        pos += 4
        for _ in range(count * 2):
            _, pos = _text(data, pos)
    sync = data[pos:pos + 16]
    pos += 16
    n = len(data)
    if block:
        assert codec is not None
        while pos < n:
            (esc,) = struct.unpack_from(">i", data, pos)
            if esc != -1 or data[pos + 4:pos + 20] != sync:
                raise SequenceFileError(f"corrupt block at byte {pos} (no sync marker)")
            pos += 20
            records, pos = read_vint(data, pos)
            bufs = []
            for _ in range(4):
                size, pos = read_vint(data, pos)
                bufs.append(codec.decompress(data[pos:pos + size]))
                pos += size
            _, _, value_lengths, values = bufs
            vp, lp = 0, 0
            for _ in range(records):
                length, lp = read_vint(value_lengths, lp)
                yield _value_bytes(values[vp:vp + length], value_class)
                vp += length
        return
    while pos < n:
        if pos + 8 > n:
            raise SequenceFileError(f"truncated record at byte {pos}")
        record_len, key_len = struct.unpack_from(">ii", data, pos)
        if record_len == -1:
            pos += 20
            continue
        start = pos + 8 + key_len
        raw = data[start:pos + 8 + record_len]
        if len(raw) != record_len - key_len:
            raise SequenceFileError(f"truncated record at byte {pos}")
        pos += 8 + record_len
        yield _value_bytes(codec.decompress(raw) if codec is not None else raw, value_class)


def decode_to_lines(path: str, dest: str) -> None:
    """The values of SequenceFile `path` as the lines of text file `dest`."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        with open(dest, "wb") as out:
            for v in read_values(data):
                if b"\n" in v or b"\r" in v:
                    raise SequenceFileError("a value holds a line break, which hiveish's line SerDes cannot read")
                out.write(v + b"\n")
    except (SequenceFileError, struct.error, IndexError, ValueError) as e:
        from hiveish import errors

        raise errors.ExecutionError(f"java.io.IOException: {path} is not a SequenceFile hiveish can read: {e}") from e


# -- writing ---------------------------------------------------------------------------------------
def write_sequencefile(out: BinaryIO, values: Iterable[bytes], codec: Codec | None = None, block: bool = False,
                       sync: bytes | None = None) -> int:
    """Write `values` as Text values with empty BytesWritable keys, as Hive does; returns their number."""
    sync = sync or os.urandom(16)
    head = io.BytesIO()
    head.write(MAGIC + bytes([VERSION]))
    _write_text(head, BYTES.encode())
    _write_text(head, TEXT.encode())
    head.write(bytes([codec is not None, codec is not None and block]))
    if codec is not None:
        _write_text(head, codec.hadoop_class.encode())
    head.write(struct.pack(">i", 0))
    head.write(sync)
    out.write(head.getvalue())
    pos, last_sync, n = len(head.getvalue()), len(head.getvalue()), 0
    empty_key = struct.pack(">i", 0)
    if codec is not None and block:
        pending: list[bytes] = []
        size = 0

        def flush() -> int:
            buffers = [io.BytesIO() for _ in range(4)]
            for v in pending:
                write_vint(buffers[0], len(empty_key))
                buffers[1].write(empty_key)
                write_vint(buffers[2], len(v))
                buffers[3].write(v)
            block_out = io.BytesIO()
            block_out.write(struct.pack(">i", -1) + sync)
            write_vint(block_out, len(pending))
            for b in buffers:
                c = codec.compress(b.getvalue())
                write_vint(block_out, len(c))
                block_out.write(c)
            out.write(block_out.getvalue())
            return len(block_out.getvalue())

        for value in values:
            t = io.BytesIO()
            _write_text(t, value)
            pending.append(t.getvalue())
            size += len(pending[-1]) + 4
            n += 1
            if size >= BLOCK_SIZE:
                flush()
                pending, size = [], 0
        if pending:
            flush()
        return n
    for value in values:
        if pos - last_sync >= SYNC_INTERVAL:
            out.write(struct.pack(">i", -1) + sync)
            pos += 20
            last_sync = pos
        t = io.BytesIO()
        _write_text(t, value)
        body = codec.compress(t.getvalue()) if codec is not None else t.getvalue()
        rec = struct.pack(">ii", len(empty_key) + len(body), len(empty_key)) + empty_key + body
        out.write(rec)
        pos += len(rec)
        n += 1
    return n


def session_codec(options: dict[str, str]) -> tuple[Codec | None, bool]:
    """The codec and block mode the session asks for (`hive.exec.compress.output`, and
    `mapreduce.output.fileoutputformat.compress.type` RECORD or BLOCK), uncompressed by default."""
    codec = output_codec(options)
    kind = (options.get("mapreduce.output.fileoutputformat.compress.type")
            or options.get("mapred.output.compression.type") or "RECORD").strip().upper()
    return codec, codec is not None and kind == "BLOCK"


class SequenceFileFormat(Format):
    name = "sequencefile"
    stored_as = ("sequencefile",)
    serde = lazy_simple.LAZY_SIMPLE_SERDE
    input_format = "org.apache.hadoop.mapred.SequenceFileInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveSequenceFileOutputFormat"
    output_formats = ("org.apache.hadoop.mapred.SequenceFileOutputFormat",)
    line_based = True
    writer_settings = (*OUTPUT_SETTINGS, "mapreduce.output.fileoutputformat.compress.type",
                       "mapred.output.compression.type")

    def row_serde(self, serde: str) -> RowSerDe | None:
        from catalog.formats.registry import row_serde_named, unsupported_serde

        if not serde:
            return lazy_simple.SERDE
        rs = row_serde_named(serde)
        if rs is None:
            raise unsupported_serde(serde)
        return rs

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        rs = self.row_serde(scan.serde)
        assert rs is not None
        files = [ctx.derived_file(f, "seq", decode_to_lines) for f in scan.files]
        return rs.scan_sql(replace(scan, files=files), ctx)

    def split_kind(self, scan: FileScan, path: str) -> str:
        return SPLIT_WHOLE

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        rs = self.row_serde(serde)
        assert rs is not None
        codec, block = session_codec(options)
        counted = [0]

        def values() -> Iterator[bytes]:
            for batch in batches:
                buf = io.BytesIO()
                rows = rs.write(buf, schema, [batch], types, {**params, "line.delim": "\n"}, options)
                lines = buf.getvalue().split(b"\n")[:-1] if rows else []
                if len(lines) != rows:
                    from hiveish import errors

                    raise errors.ExecutionError("a value holds a line break, which hiveish cannot write into a "
                                                "SequenceFile record")
                counted[0] += rows
                yield from lines

        write_sequencefile(out, values(), codec, block)
        return counted[0]


FORMAT = SequenceFileFormat()
