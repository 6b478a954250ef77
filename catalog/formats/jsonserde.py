"""JsonSerDe (HCatalog's and Hive 3's class): one JSON object a line, fields matched by name."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats.base import FileScan, RowSerDe, ScanContext
from catalog.formats.opencsv import file_list
from catalog.types import HiveType, parse_type

JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
JSON_SERDE_HIVE3 = "org.apache.hadoop.hive.serde2.JsonSerDe"


def json_scan_sql(scan: FileScan) -> str:
    cols = "{" + ", ".join(f"'{n.lower()}': '{parse_type(t).to_duckdb()}'" for n, t in scan.table_columns or scan.columns) + "}"
    selects = ", ".join(f'"{n.lower()}" AS "{n}"' for n, _ in scan.columns) or "NULL AS __dummy"
    return (f"SELECT {selects} FROM read_json({file_list(scan)}, format='newline_delimited', columns={cols}, "
            f"ignore_errors=true, maximum_object_size=67108864)")


def _plain(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        if v and isinstance(v[0], tuple) and len(v[0]) == 2:
            return {str(k): _plain(x) for k, x in v}
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def write_json(out: BinaryIO, batches: Iterable[pa.RecordBatch], names: list[str]) -> int:
    rows = 0
    for batch in batches:
        buf = []
        for rec in batch.to_pylist():
            buf.append(json.dumps({n: _plain(rec[k]) for n, k in zip(names, batch.schema.names)
                                   if rec[k] is not None}, ensure_ascii=False))
            rows += 1
        if buf:
            out.write(("\n".join(buf) + "\n").encode("utf-8"))
    return rows


class JsonSerDe(RowSerDe):
    name = "json"
    classes = (JSON_SERDE, JSON_SERDE_HIVE3)
    fields_by_position = False

    def splittable(self, params: dict[str, str]) -> bool:
        return False

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return json_scan_sql(scan)

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        return write_json(out, batches, list(schema.names))


SERDE = JsonSerDe()
