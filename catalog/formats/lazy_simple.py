"""LazySimpleSerDe: Hive's delimited text (the reading SQL is in `text.py`, the writer in `writers.py`)."""

from __future__ import annotations

from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats import text
from catalog.formats.base import FileScan, RowSerDe, ScanContext
from catalog.types import HiveType

LAZY_SIMPLE_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"


class LazySimpleSerDe(RowSerDe):
    name = "lazysimple"
    classes = (LAZY_SIMPLE_SERDE,)

    def splittable(self, params: dict[str, str]) -> bool:
        return not text.needs_line_reader(params)

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return text.scan_sql(scan)

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        from catalog.formats.writers import write_text

        return write_text(out, batches, types, params)


SERDE = LazySimpleSerDe()
