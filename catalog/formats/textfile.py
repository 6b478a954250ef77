"""TEXTFILE (and JSONFILE): lines of text, optionally compressed, each line a record of the table's SerDe."""

from __future__ import annotations

import bz2
import codecs
import gzip
import os
import shutil
from collections import OrderedDict
from dataclasses import replace
from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats import jsonserde, lazy_simple
from catalog.formats.base import SPLIT_LINES, SPLIT_WHOLE, FileScan, Format, RowSerDe, ScanContext
from catalog.formats.codecs import OUTPUT_SETTINGS, CompressedWriter, codec_for_path, output_codec
from catalog.formats.lines import file_bytes
from catalog.types import HiveType

TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# file extensions of compressed text: never split (a codec stream is read from its start)
COMPRESSED = (".gz", ".bz2", ".deflate", ".snappy", ".zst", ".lz4", ".xz")


_UTF8_CHECKED: OrderedDict[tuple[str, int, int], bool] = OrderedDict()  # (path, mtime, size) -> valid UTF-8


def _decompress(src: str, dest: str) -> None:
    """A compressed file decompressed by its extension's codec (gzip and bzip2 streamed)."""
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(os.path.splitext(src)[1].lower())
    with open(dest, "wb") as out:
        if opener is not None:
            with opener(src, "rb") as f:
                shutil.copyfileobj(f, out, 8 << 20)
        else:
            out.write(file_bytes(src))


def _replace_invalid_utf8(src: str, dest: str) -> None:
    """The file with each invalid UTF-8 sequence replaced by U+FFFD, as Hadoop's Text.toString() reads it."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with open(src, "rb") as f, open(dest, "wb") as out:
        while chunk := f.read(8 << 20):
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))


def _valid_utf8(path: str) -> bool:
    """True if the file is valid UTF-8 (checked once per path, modification time and size)."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    if key in _UTF8_CHECKED:
        _UTF8_CHECKED.move_to_end(key)
        return _UTF8_CHECKED[key]
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    valid = True
    with open(path, "rb") as f:
        try:
            while chunk := f.read(8 << 20):
                if not (chunk.isascii() and not decoder.getstate()[0]):  # ASCII: valid, no decoding
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            valid = False
    _UTF8_CHECKED[key] = valid
    while len(_UTF8_CHECKED) > 4096:
        _UTF8_CHECKED.popitem(last=False)
    return valid


def plain_text_files(scan: FileScan, ctx: ScanContext) -> FileScan:
    """The scan over plain files DuckDB's text reader opens: compressed files (by extension: gzip,
    bzip2, zstd, Hadoop's .deflate/.snappy/.lz4) decompressed once into the engine's private cache
    (DuckDB's own gzip reader needs a GiB buffer for 64 MB lines), and files with invalid UTF-8 (for
    UTF-8 tables) copied there with U+FFFD for each bad sequence, as Hive's Text reads them."""
    utf8 = (scan.serde_params.get("serialization.encoding") or scan.table_params.get("serialization.encoding")
            or "utf-8").strip().lower() in ("utf-8", "utf8")
    files = []
    for f in scan.files:
        if codec_for_path(f) is not None:
            f = ctx.derived_file(f, "unz", _decompress)
        if utf8 and not _valid_utf8(f):
            f = ctx.derived_file(f, "utf8", _replace_invalid_utf8)
        files.append(f)
    return replace(scan, files=files)


class TextFileFormat(Format):
    line_based = True
    input_format = TEXT_INPUT_FORMAT
    output_format = TEXT_OUTPUT_FORMAT
    input_formats = ("org.apache.hadoop.mapreduce.lib.input.TextInputFormat",)
    output_formats = ("org.apache.hadoop.mapred.TextOutputFormat",)  # Hive substitutes its own
    writer_settings = OUTPUT_SETTINGS

    def __init__(self, name: str, stored_as: tuple[str, ...], serde: RowSerDe, fixed: bool = False) -> None:
        self.name = name
        self.stored_as = stored_as
        self.serde = serde.classes[0]
        self._serde = serde
        self._fixed = fixed  # the format always reads with its own SerDe (JSONFILE)

    def row_serde(self, serde: str) -> RowSerDe | None:
        from catalog.formats.registry import row_serde_named

        if self._fixed or not serde:
            return self._serde
        rs = row_serde_named(serde)
        if rs is None:  # never read with another SerDe's rules
            from catalog.formats.registry import unsupported_serde

            raise unsupported_serde(serde)
        return rs

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        rs = self.row_serde(scan.serde)
        assert rs is not None
        return rs.scan_sql(plain_text_files(scan, ctx), ctx)

    def split_kind(self, scan: FileScan, path: str) -> str:
        rs = self.row_serde(scan.serde)
        if (rs is None or not rs.splittable(scan.serde_params) or path.lower().endswith(COMPRESSED)
                or (scan.table_params.get("skip.footer.line.count") or "0").strip() not in ("", "0")):
            return SPLIT_WHOLE  # a footer to skip needs the file's end
        return SPLIT_LINES

    def file_extension(self, options: dict[str, str]) -> str:
        codec = output_codec(options)
        return codec.extension if codec is not None else ""

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        rs = self.row_serde(serde)
        assert rs is not None
        codec = output_codec(options)
        if codec is None:
            return rs.write(out, schema, batches, types, params, options)
        sink = CompressedWriter(out, codec)
        rows = rs.write(sink, schema, batches, types, params, options)  # type: ignore[arg-type]
        sink.finish()
        return rows


TEXTFILE = TextFileFormat("textfile", ("textfile",), lazy_simple.SERDE)
JSONFILE = TextFileFormat("jsonfile", ("jsonfile",), jsonserde.SERDE, fixed=True)
