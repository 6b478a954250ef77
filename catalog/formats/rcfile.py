"""RCFile (Hive's record-columnar file), read and written from the format's documented layout.

A file is a header and row groups separated by sync markers, as in a SequenceFile:

    header     "RCF" 0x01 | bool compressed | [Text codec class] | metadata | 16-byte sync
    metadata   int32 count, then count (Text key, Text value) pairs; Hive stores
               "hive.io.rcfile.column.number"
    row group  [int32 -1 + sync, at most every 2000 bytes] int32 record length |
               int32 key length | int32 stored key length | key | column buffers
    key        vlong rows, then per column: vlong stored length, vlong plain length,
               vlong length of the cell-length run, the cell lengths (vlongs; a
               negative value ~n repeats the previous length n more times)
    columns    per column the cells of every row back to back, each column
               compressed on its own when the file is (key too)

Integers (vint/vlong) are Hadoop's WritableUtils zero-compressed encoding; Text is a
vint length then UTF-8. Cells follow the table's SerDe: LazyBinaryColumnarSerDe (Hive's
default for STORED AS RCFILE: binary cells, an empty cell is NULL, an empty string is the
single byte 0xBF) or ColumnarSerDe (LazySimpleSerDe text cells, NULL as `\\N`).
Compression codecs: DefaultCodec (zlib) and GzipCodec.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import os
import struct
import zlib
from typing import BinaryIO, Iterable, Iterator

import pyarrow as pa

from catalog.formats.base import FileScan, Format, ScanContext
from catalog.types import HiveType, parse_type

MAGIC = b"RCF\x01"
SYNC_ESCAPE = -1
SYNC_INTERVAL = 100 * (4 + 16)  # as Hive's RCFile.Writer: a sync at most every 2000 bytes
COLUMN_NUMBER = "hive.io.rcfile.column.number"
LAZY_BINARY_COLUMNAR = "org.apache.hadoop.hive.serde2.columnar.LazyBinaryColumnarSerDe"
COLUMNAR_TEXT = "org.apache.hadoop.hive.serde2.columnar.ColumnarSerDe"
DEFAULT_CODEC = "org.apache.hadoop.io.compress.DefaultCodec"
GZIP_CODEC = "org.apache.hadoop.io.compress.GzipCodec"
EMPTY_STRING = b"\xbf"  # LazyBinaryColumnarSerDe's empty string: an invalid single UTF-8 byte
EPOCH = datetime.date(1970, 1, 1)
EPOCH_TS = datetime.datetime(1970, 1, 1)


class RCFileError(ValueError):
    """A file that is not a readable RCFile (bad magic, truncated row group, unknown codec)."""


# -- Hadoop variable-length integers -----------------------------------------------------------


def write_vlong(out: bytearray, v: int) -> None:
    if -112 <= v <= 127:
        out.append(v & 0xFF)
        return
    length = -112
    if v < 0:
        v = ~v
        length = -120
    tmp = v
    while tmp:
        tmp >>= 8
        length -= 1
    out.append(length & 0xFF)
    n = -(length + 120) if length < -120 else -(length + 112)
    for idx in range(n, 0, -1):
        out.append((v >> ((idx - 1) * 8)) & 0xFF)


def read_vlong(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """(value, next position)."""
    first = buf[pos]
    first = first - 256 if first > 127 else first
    if first >= -112:
        return first, pos + 1
    n = (-119 - first) if first < -120 else (-111 - first)
    v = 0
    for i in range(1, n):
        v = (v << 8) | buf[pos + i]
    negative = first < -120
    return (~v if negative else v), pos + n


def _text(out: bytearray, s: str) -> None:
    b = s.encode("utf-8")
    write_vlong(out, len(b))
    out += b


# -- cells -----------------------------------------------------------------------------------------


def _supported(t: HiveType, serde: str) -> None:
    if t.is_complex or t.name in ("interval_year_month", "interval_day_time"):
        raise RCFileError(f"RCFile columns of type {t} are not supported by hiveish")


def _binary_cell(v, t: HiveType) -> bytes:
    """One non-NULL value in LazyBinary form (top level of a columnar row: no length prefix)."""
    n = t.name
    if n in ("string", "varchar", "char"):
        b = v.encode("utf-8") if isinstance(v, str) else bytes(v)
        return b if b or n != "string" else EMPTY_STRING
    if n == "binary":
        return bytes(v)
    if n == "boolean":
        return b"\x01" if v else b"\x00"
    if n == "tinyint":
        return struct.pack(">b", v)
    if n == "smallint":
        return struct.pack(">h", v)
    if n == "float":
        return struct.pack(">f", v)
    if n == "double":
        return struct.pack(">d", v)
    out = bytearray()
    if n in ("int", "bigint", "void"):
        write_vlong(out, int(v))
    elif n == "date":
        write_vlong(out, (v - EPOCH).days)
    elif n == "decimal":
        sign, digits, exp = decimal.Decimal(v).as_tuple()
        scale = max(0, -int(exp))
        unscaled = int("".join(map(str, digits)) or "0") * (10 ** max(0, int(exp)))
        unscaled = -unscaled if sign else unscaled
        raw = unscaled.to_bytes(max(1, (unscaled.bit_length() + 8) // 8), "big", signed=True)
        write_vlong(out, scale)
        write_vlong(out, len(raw))
        out += raw
    elif n == "timestamp":
        out += _timestamp_bytes(v)
    else:
        raise RCFileError(f"RCFile columns of type {t} are not supported by hiveish")
    return bytes(out)


def _reverse_digits(v: int) -> int:
    return int(str(v)[::-1]) if v else 0


def _timestamp_bytes(v: datetime.datetime) -> bytes:
    """TimestampWritable: int32 seconds (high bit: more follows), [vint reversed nanos, [vlong seconds >> 31]]."""
    delta = v - EPOCH_TS
    seconds = delta.days * 86400 + delta.seconds
    nanos = delta.microseconds * 1000
    big = not (0 <= seconds < 2**31)
    head = seconds & 0x7FFFFFFF
    if not nanos and not big:
        return struct.pack(">I", head)
    out = bytearray(struct.pack(">I", head | 0x80000000))
    rev = _reverse_digits(nanos)
    write_vlong(out, ~rev if big else rev)
    if big:
        write_vlong(out, seconds >> 31)
    return bytes(out)


def _timestamp_value(b: bytes) -> datetime.datetime:
    head = struct.unpack(">I", b[:4])[0]
    seconds, nanos = head & 0x7FFFFFFF, 0
    if head & 0x80000000:
        rev, pos = read_vlong(b, 4)
        if rev < 0:
            rev = ~rev
            high, _ = read_vlong(b, pos)
            seconds |= high << 31
        if rev:
            digits = len(str(rev))
            nanos = _reverse_digits(rev) * 10 ** (9 - digits)
    return EPOCH_TS + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)


def _binary_value(b: bytes, t: HiveType):
    n = t.name
    if n in ("string", "varchar", "char"):
        return "" if b == EMPTY_STRING and n == "string" else b.decode("utf-8", "replace")
    if n == "binary":
        return b
    if n == "boolean":
        return b[0] != 0
    if n == "tinyint":
        return struct.unpack(">b", b)[0]
    if n == "smallint":
        return struct.unpack(">h", b)[0]
    if n == "float":
        return struct.unpack(">f", b)[0]
    if n == "double":
        return struct.unpack(">d", b)[0]
    if n in ("int", "bigint", "void"):
        return read_vlong(b, 0)[0]
    if n == "date":
        return EPOCH + datetime.timedelta(days=read_vlong(b, 0)[0])
    if n == "decimal":
        scale, pos = read_vlong(b, 0)
        size, pos = read_vlong(b, pos)
        unscaled = int.from_bytes(b[pos:pos + size], "big", signed=True)
        return decimal.Decimal(unscaled).scaleb(-scale)
    if n == "timestamp":
        return _timestamp_value(b)
    raise RCFileError(f"RCFile columns of type {t} are not supported by hiveish")


def _text_cell(v, t: HiveType, null: str) -> bytes:
    from catalog.formats.text import separators
    from catalog.formats.writers import text_value

    return text_value(v, t, 1, separators({}), null).encode("utf-8")


# -- writing ------------------------------------------------------------------------------------


def _compress(data: bytes, codec: str | None) -> bytes:
    if codec is None:
        return data
    if codec == GZIP_CODEC:
        return gzip.compress(data)
    return zlib.compress(data)


def _decompress(data: bytes, codec: str | None) -> bytes:
    if codec is None:
        return data
    if codec == GZIP_CODEC:
        return gzip.decompress(data)
    if codec == DEFAULT_CODEC:
        return zlib.decompress(data)
    raise RCFileError(f"RCFile compressed with {codec} cannot be read (DefaultCodec and GzipCodec only)")


def codec_for(options: dict[str, str]) -> str | None:
    """The codec Hive's writer would use: none unless hive.exec.compress.output, then the job's codec."""
    if (options.get("hive.exec.compress.output") or "false").lower() != "true":
        return None
    name = options.get("mapreduce.output.fileoutputformat.compress.codec") or \
        options.get("mapred.output.compression.codec") or DEFAULT_CODEC
    return GZIP_CODEC if "gzip" in name.lower() else DEFAULT_CODEC


class _Writer:
    def __init__(self, out: BinaryIO, types: list[HiveType], serde: str, codec: str | None,
                 rows_per_group: int, buffer_size: int) -> None:
        self.out, self.types, self.codec = out, types, codec
        self.binary = serde != COLUMNAR_TEXT
        self.null = "\\N"
        self.rows_per_group, self.buffer_size = max(1, rows_per_group), max(1, buffer_size)
        self.sync = os.urandom(16)
        self.pos = 0
        self.last_sync = 0
        for t in types:
            _supported(t, serde)
        self._reset()
        header = bytearray(MAGIC)
        header.append(1 if codec else 0)
        if codec:
            _text(header, codec)
        header += struct.pack(">i", 1)
        _text(header, COLUMN_NUMBER)
        _text(header, str(len(types)))
        header += self.sync
        self._write(bytes(header))
        self.last_sync = self.pos

    def _reset(self) -> None:
        self.cells: list[bytearray] = [bytearray() for _ in self.types]
        self.lengths: list[list[int]] = [[] for _ in self.types]
        self.rows = 0
        self.size = 0

    def _write(self, b: bytes) -> None:
        self.out.write(b)
        self.pos += len(b)

    def append(self, row: list) -> None:
        for i, (v, t) in enumerate(zip(row, self.types)):
            if self.binary:
                cell = b"" if v is None else _binary_cell(v, t)
            else:
                cell = self.null.encode() if v is None else _text_cell(v, t, self.null)
            self.cells[i] += cell
            self.lengths[i].append(len(cell))
            self.size += len(cell)
        self.rows += 1
        if self.rows >= self.rows_per_group or self.size >= self.buffer_size:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        key = bytearray()
        write_vlong(key, self.rows)
        values = []
        for cells, lengths in zip(self.cells, self.lengths):
            stored = _compress(bytes(cells), self.codec)
            values.append(stored)
            runs = _run_lengths(lengths)
            write_vlong(key, len(stored))
            write_vlong(key, len(cells))
            write_vlong(key, len(runs))
            key += runs
        stored_key = _compress(bytes(key), self.codec)
        if self.pos >= self.last_sync + SYNC_INTERVAL:
            self._write(struct.pack(">i", SYNC_ESCAPE) + self.sync)
            self.last_sync = self.pos
        value_len = sum(len(v) for v in values)
        self._write(struct.pack(">iii", len(key) + value_len, len(key), len(stored_key)))
        self._write(stored_key)
        for v in values:
            self._write(v)
        self._reset()


def _run_lengths(lengths: list[int]) -> bytes:
    out = bytearray()
    i = 0
    while i < len(lengths):
        j = i + 1
        while j < len(lengths) and lengths[j] == lengths[i]:
            j += 1
        write_vlong(out, lengths[i])
        if j - i > 1:
            write_vlong(out, ~(j - i - 1))
        i = j
    return bytes(out)


def write_rcfile(out: BinaryIO, batches: Iterable[pa.RecordBatch], types: list[HiveType], serde: str,
                 options: dict[str, str]) -> int:
    """Write Arrow batches as one RCFile; returns rows written."""
    w = _Writer(out, types, serde, codec_for(options),
                int(options.get("hive.io.rcfile.record.interval") or 2**31 - 1),
                int(options.get("hive.io.rcfile.record.buffer.size") or 4 * 1024 * 1024))
    rows = 0
    for batch in batches:
        cols = [c.to_pylist() for c in batch.columns]
        for row in zip(*cols):
            w.append(list(row))
            rows += 1
    w.flush()
    return rows


# -- reading ------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.path = data, path
        if data[:4] != MAGIC:
            if data[:3] == b"SEQ":
                raise RCFileError(f"{path}: an RCFile in the old SequenceFile layout is not supported")
            raise RCFileError(f"{path}: not an RCFile (bad magic)")
        pos = 4
        compressed = data[pos] != 0
        pos += 1
        self.codec = None
        if compressed:
            n, pos = read_vlong(data, pos)
            self.codec = data[pos:pos + n].decode("utf-8")
            pos += n
        (count,) = struct.unpack_from(">i", data, pos)
        pos += 4
        self.metadata: dict[str, str] = {}
        for _ in range(count):
            n, pos = read_vlong(data, pos)
            k = data[pos:pos + n].decode("utf-8")
            pos += n
            n, pos = read_vlong(data, pos)
            self.metadata[k] = data[pos:pos + n].decode("utf-8")
            pos += n
        self.sync = data[pos:pos + 16]
        self.pos = pos + 16

    def groups(self, wanted: list[int]) -> Iterator[tuple[int, dict[int, list[bytes]]]]:
        """(rows, {column index: cells}) of each row group, only the wanted columns decoded."""
        data = self.data
        while self.pos < len(data):
            if len(data) - self.pos < 12:
                raise RCFileError(f"{self.path}: truncated row group at byte {self.pos}")
            (record_len,) = struct.unpack_from(">i", data, self.pos)
            if record_len == SYNC_ESCAPE:
                if data[self.pos + 4:self.pos + 20] != self.sync:
                    raise RCFileError(f"{self.path}: sync marker mismatch at byte {self.pos}")
                self.pos += 20
                continue
            _, key_len, stored_key_len = struct.unpack_from(">iii", data, self.pos)
            pos = self.pos + 12
            key = _decompress(bytes(data[pos:pos + stored_key_len]), self.codec)
            pos += stored_key_len
            rows, k = read_vlong(key, 0)
            columns = []
            ncols = int(self.metadata.get(COLUMN_NUMBER) or 0)
            while k < len(key) and (not ncols or len(columns) < ncols):
                stored, k = read_vlong(key, k)
                plain, k = read_vlong(key, k)
                runs_len, k = read_vlong(key, k)
                columns.append((stored, plain, key[k:k + runs_len]))
                k += runs_len
            out: dict[int, list[bytes]] = {}
            for i, (stored, plain, runs) in enumerate(columns):
                if i in wanted:
                    raw = _decompress(bytes(data[pos:pos + stored]), self.codec)
                    out[i] = _split_cells(raw, runs, rows)
                pos += stored
            self.pos = pos
            yield rows, out


def _split_cells(raw: bytes, runs: bytes, rows: int) -> list[bytes]:
    cells = []
    k, at, prev = 0, 0, 0
    while k < len(runs) and len(cells) < rows:
        n, k = read_vlong(runs, k)
        if n < 0:  # ~count: the previous length repeats count more times
            for _ in range(~n):
                cells.append(raw[at:at + prev])
                at += prev
            continue
        cells.append(raw[at:at + n])
        at += n
        prev = n
    return cells


def read_rcfile(path: str, schema: list[tuple[str, str]], columns: list[tuple[str, str]], serde: str,
                null: str = "\\N") -> Iterator[pa.RecordBatch]:
    """Batches (one per row group) of `columns`, found by name among the file's `schema` (by position)."""
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return
    reader = _Reader(data, path)
    positions = {name.lower(): i for i, (name, _) in enumerate(schema)}
    wanted = [positions.get(n.lower()) for n, _ in columns]
    types = [parse_type(t) for _, t in columns]
    binary = serde != COLUMNAR_TEXT
    arrow = pa.schema([pa.field(n, t.to_arrow() if binary else pa.string()) for (n, _), t in zip(columns, types)])
    for t in types:
        _supported(t, serde)
    for rows, cells in reader.groups([i for i in wanted if i is not None]):
        arrays = []
        for i, t, field in zip(wanted, types, arrow):
            col = cells.get(i) if i is not None else None
            if col is None:
                arrays.append(pa.nulls(rows, field.type))
            elif binary:
                arrays.append(pa.array([None if not c else _binary_value(c, t) for c in col], type=field.type))
            else:
                texts = [c.decode("utf-8", "replace") for c in col]
                arrays.append(pa.array([None if s == null else s for s in texts], type=pa.string()))
        yield pa.RecordBatch.from_arrays(arrays, schema=arrow)


def rcfile_reader(files: list[str], schema: list[tuple[str, str]], columns: list[tuple[str, str]],
                  serde: str) -> pa.RecordBatchReader:
    """An Arrow stream over RCFiles (local paths) for a scan."""
    binary = serde != COLUMNAR_TEXT
    cols = columns or schema[:1]
    arrow = pa.schema([pa.field(n, parse_type(t).to_arrow() if binary else pa.string()) for n, t in cols])

    def gen() -> Iterator[pa.RecordBatch]:
        for f in files:
            yield from read_rcfile(f, schema, cols, serde)

    return pa.RecordBatchReader.from_batches(arrow, gen())


class RCFileFormat(Format):
    name = "rcfile"
    stored_as = ("rcfile",)
    serde = LAZY_BINARY_COLUMNAR
    serdes = (LAZY_BINARY_COLUMNAR, COLUMNAR_TEXT)
    input_format = "org.apache.hadoop.hive.ql.io.RCFileInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.RCFileOutputFormat"
    writer_settings = ("hive.exec.compress.output", "mapreduce.output.fileoutputformat.compress.codec",
                       "mapred.output.compression.codec", "hive.io.rcfile.record.interval",
                       "hive.io.rcfile.record.buffer.size")

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return ctx.arrow_sql(scan, rcfile_reader(scan.files, scan.table_columns, scan.columns, scan.serde))

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        return write_rcfile(out, batches, types, serde, options)


FORMAT = RCFileFormat()

__all__ = ["FORMAT", "RCFileError", "codec_for", "rcfile_reader", "read_rcfile", "write_rcfile"]
