"""ORC through pyarrow (DuckDB has no built-in ORC reader): one split per file."""

from __future__ import annotations

from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats import columnar
from catalog.formats.base import FileScan, Format, ScanContext, some_columns
from catalog.types import HiveType

ORC_SERDE = "org.apache.hadoop.hive.ql.io.orc.OrcSerde"


class OrcFormat(Format):
    name = "orc"
    stored_as = ("orc", "orcfile")
    serde = ORC_SERDE
    serdes = (ORC_SERDE,)
    input_format = "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat"

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return ctx.arrow_sql(scan, columnar.orc_reader(some_columns(scan)))

    arrow_in_place = True

    def arrow_reader(self, scan: FileScan, filesystem=None) -> pa.RecordBatchReader:
        return columnar.orc_reader(some_columns(scan), filesystem=filesystem)

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        import pyarrow.orc as orc

        codec = (options.get("orc.compress") or "zlib").lower()
        codec = {"none": "uncompressed", "uncompressed": "uncompressed"}.get(codec, codec)
        table = pa.Table.from_batches(list(batches), schema=schema)
        orc.write_table(table, out, compression=codec)
        return table.num_rows


FORMAT = OrcFormat()
