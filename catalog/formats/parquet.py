"""PARQUET: DuckDB's own reader over local files, pyarrow datasets in place, split by row groups."""

from __future__ import annotations

from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats import columnar
from catalog.formats.base import SPLIT_ROW_GROUPS, FileScan, Format, ScanContext, some_columns
from catalog.types import HiveType

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
CODECS = {"uncompressed": "none", "none": "none", "snappy": "snappy", "gzip": "gzip",
          "zstd": "zstd", "lz4": "lz4", "brotli": "brotli"}


def parquet_reader(scan: FileScan, filesystem=None) -> pa.RecordBatchReader:
    """Parquet as an Arrow stream (local files, or remote ones through `filesystem`), needed columns only."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(scan.files, format="parquet", filesystem=filesystem)
    file_cols = {n.lower(): n for n in dataset.schema.names}
    wanted = list(dict.fromkeys(file_cols[n.lower()] for n, _ in scan.columns if n.lower() in file_cols))
    return dataset.scanner(columns=wanted).to_reader()


class ParquetFormat(Format):
    name = "parquet"
    stored_as = ("parquet", "parquetfile")
    serde = PARQUET_SERDE
    serdes = (PARQUET_SERDE, "parquet.hive.serde.ParquetHiveSerDe")
    input_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    input_formats = ("parquet.hive.DeprecatedParquetInputFormat",)
    output_formats = ("parquet.hive.DeprecatedParquetOutputFormat",)

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        if scan.local:
            return columnar.parquet_scan_sql(scan, columnar.parquet_file_columns(scan.files[0]))
        return ctx.arrow_sql(scan, parquet_reader(some_columns(scan)))

    arrow_in_place = True

    def arrow_reader(self, scan: FileScan, filesystem=None) -> pa.RecordBatchReader:
        return parquet_reader(some_columns(scan), filesystem)

    def split_kind(self, scan: FileScan, path: str) -> str:
        return SPLIT_ROW_GROUPS

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        import pyarrow.parquet as pq

        codec = CODECS.get((options.get("parquet.compression") or "snappy").lower(), "snappy")
        rows = 0
        with pq.ParquetWriter(out, schema, compression=codec) as w:
            for b in batches:
                w.write_batch(b)
                rows += b.num_rows
        return rows


FORMAT = ParquetFormat()
