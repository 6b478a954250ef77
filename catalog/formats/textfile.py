"""TEXTFILE (and JSONFILE): lines of text, optionally compressed, each line a record of the table's SerDe."""

from __future__ import annotations

import bz2
import shutil
from dataclasses import replace
from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats import jsonserde, lazy_simple
from catalog.formats.base import SPLIT_LINES, SPLIT_WHOLE, FileScan, Format, RowSerDe, ScanContext
from catalog.types import HiveType

TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# file extensions of compressed text: never split (a codec stream is read from its start)
COMPRESSED = (".gz", ".bz2", ".deflate", ".snappy", ".zst", ".lz4", ".xz")


def _bunzip(src: str, dest: str) -> None:
    with bz2.open(src, "rb") as f, open(dest, "wb") as out:
        shutil.copyfileobj(f, out, 8 << 20)


def plain_text_files(scan: FileScan, ctx: ScanContext) -> FileScan:
    """The scan over files DuckDB's text readers open: bzip2 files (which it cannot read) decompressed
    once into the engine's private cache; gzip and zstd it reads itself by extension."""
    if not any(f.endswith(".bz2") for f in scan.files):
        return scan
    return replace(scan, files=[ctx.derived_file(f, "bz2", _bunzip) if f.endswith(".bz2") else f
                                for f in scan.files])


class TextFileFormat(Format):
    line_based = True
    input_format = TEXT_INPUT_FORMAT
    output_format = TEXT_OUTPUT_FORMAT
    input_formats = ("org.apache.hadoop.mapreduce.lib.input.TextInputFormat",)
    output_formats = ("org.apache.hadoop.mapred.TextOutputFormat",)  # Hive substitutes its own

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

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        rs = self.row_serde(serde)
        assert rs is not None
        return rs.write(out, schema, batches, types, params, options)


TEXTFILE = TextFileFormat("textfile", ("textfile",), lazy_simple.SERDE)
JSONFILE = TextFileFormat("jsonfile", ("jsonfile",), jsonserde.SERDE, fixed=True)
