"""OpenCSVSerde: every column is read as a string (then cast); quote and escape characters apply."""

from __future__ import annotations

import io
from typing import BinaryIO, Iterable

import pyarrow as pa

from catalog.formats.base import FileScan, RowSerDe, ScanContext
from catalog.formats.text import sql_str
from catalog.types import HiveType, parse_type

OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"


def file_list(scan: FileScan) -> str:
    return "[" + ", ".join(sql_str(f) for f in scan.files) + "]"


def csv_scan_sql(scan: FileScan) -> str:
    p = scan.serde_params
    sep = p.get("separatorChar", ",")
    quote = p.get("quoteChar", '"')
    esc = p.get("escapeChar", "\\")
    schema = scan.table_columns or scan.columns
    positions = {name.lower(): i for i, (name, _) in enumerate(schema)}
    cols = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(max(len(schema), 1))) + "}"
    skip = int(scan.table_params.get("skip.header.line.count", "0") or 0)
    reader = (f"read_csv({file_list(scan)}, columns={cols}, delim={sql_str(sep)}, quote={sql_str(quote)}, "
              f"escape={sql_str(esc)}, header=false, auto_detect=false, null_padding=true, strict_mode=false, "
              f"skip={skip})")
    selects = []
    for name, typ in scan.columns:
        i = positions.get(name.lower())
        duck = parse_type(typ).to_duckdb()
        selects.append(f'TRY_CAST(c{i} AS {duck}) AS "{name}"' if i is not None else f'CAST(NULL AS {duck}) AS "{name}"')
    return f"SELECT {', '.join(selects) or 'NULL AS __dummy'} FROM {reader}"


def write_csv(out: BinaryIO, batches: Iterable[pa.RecordBatch], params: dict[str, str]) -> int:
    import csv

    sep = params.get("separatorChar", ",")
    quote = params.get("quoteChar", '"')
    esc = params.get("escapeChar", "\\")
    rows = 0
    text = io.StringIO()
    w = csv.writer(text, delimiter=sep, quotechar=quote, escapechar=esc, quoting=csv.QUOTE_ALL,
                   lineterminator="\n", doublequote=False)
    for batch in batches:
        for rec in zip(*[c.to_pylist() for c in batch.columns]):
            w.writerow(["" if v is None else v for v in rec])
            rows += 1
        out.write(text.getvalue().encode("utf-8"))
        text.seek(0)
        text.truncate()
    return rows


class OpenCSVSerde(RowSerDe):
    name = "opencsv"
    classes = (OPEN_CSV_SERDE,)

    def splittable(self, params: dict[str, str]) -> bool:
        return False  # a quoted field may hold a newline

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return csv_scan_sql(scan)

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        return write_csv(out, batches, params)


SERDE = OpenCSVSerde()
