"""OpenCSVSerde: each line parsed as Hive's OpenCSVSerde parses it (opencsv 2.3's CSVParser), every
column read as a string (then cast to its declared type); rows written with opencsv's CSVWriter.

Reading: a field may be quoted (`quoteChar`, default `"`); inside quotes a
doubled quote is one quote (RFC 4180: `said ""hi""` inside quotes is `said "hi"`) and the
escape character (`escapeChar`; `\\` when unset or `"`, as Hive passes opencsv
its default then) escapes a quote or itself. A line with fewer fields gives
NULLs; an unterminated quoted field is dropped, as Hive's reader drops it.
Writing: every non-NULL field quoted, a quote or escape character inside
preceded by the escape character (`"`, so doubled, by default); NULL is an
empty unquoted field.
"""

from __future__ import annotations

from typing import BinaryIO, Iterable, Iterator

import pyarrow as pa

from catalog.formats.base import FileScan, RowSerDe, ScanContext
from catalog.formats.lines import read_lines
from catalog.formats.text import sql_str
from catalog.types import HiveType

OPEN_CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
WRITER_ESCAPE = '"'  # opencsv CSVWriter.DEFAULT_ESCAPE_CHARACTER, Hive's default escapeChar
BATCH = 8192


def file_list(scan: FileScan) -> str:
    return "[" + ", ".join(sql_str(f) for f in scan.files) + "]"


def _chars(params: dict[str, str]) -> tuple[str, str, str]:
    sep = (params.get("separatorChar") or ",")[0]
    quote = (params.get("quoteChar") or '"')[0]
    esc = (params.get("escapeChar") or WRITER_ESCAPE)[0]
    return sep, quote, esc


def parse_line(line: str, sep: str, quote: str, esc: str) -> list[str]:
    """One line's fields as opencsv 2.3's CSVReader.readNext gives them for a single line."""
    if quote not in line and esc not in line:
        return line.split(sep)
    tokens: list[str] = []
    sb: list[str] = []
    in_quotes = in_field = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == esc:
            if (in_quotes or in_field) and i + 1 < n and line[i + 1] in (quote, esc):
                sb.append(line[i + 1])
                i += 1
        elif c == quote:
            if (in_quotes or in_field) and i + 1 < n and line[i + 1] == quote:
                sb.append(quote)
                i += 1
            else:
                # a quote inside a field (a,bc"d"ef,g) is kept, unless only white space precedes it
                if i > 2 and line[i - 1] != sep and i + 1 < n and line[i + 1] != sep:
                    if sb and "".join(sb).isspace():
                        sb = []
                    else:
                        sb.append(c)
                in_quotes = not in_quotes
            in_field = not in_field
        elif c == sep and not in_quotes:
            tokens.append("".join(sb))
            sb = []
            in_field = False
        else:
            sb.append(c)
            in_field = True
        i += 1
    if in_quotes:  # pending at the end of the row's only line: the reader returns the fields before it
        return tokens
    tokens.append("".join(sb))
    return tokens


def csv_reader(scan: FileScan) -> pa.RecordBatchReader:
    schema = scan.table_columns or scan.columns
    sep, quote, esc = _chars(scan.serde_params)
    if esc == WRITER_ESCAPE:
        esc = "\\"  # Hive then builds opencsv's reader without an escape: the parser's default applies
    width = len(schema)
    arrow = pa.schema([pa.field(n, pa.string()) for n, _ in schema])

    def batches() -> Iterator[pa.RecordBatch]:
        cols: list[list] = [[] for _ in range(width)]
        count = 0
        for line in read_lines(scan):
            fields = parse_line(line, sep, quote, esc)
            for i in range(width):
                cols[i].append(fields[i] if i < len(fields) else None)
            count += 1
            if count >= BATCH:
                yield pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in cols], schema=arrow)
                cols, count = [[] for _ in range(width)], 0
        if count:
            yield pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in cols], schema=arrow)

    return pa.RecordBatchReader.from_batches(arrow, batches())


def _field(v: str, quote: str, esc: str) -> str:
    if quote in v or esc in v:
        v = "".join(esc + ch if ch in (quote, esc) else ch for ch in v)
    return quote + v + quote


def write_csv(out: BinaryIO, batches: Iterable[pa.RecordBatch], params: dict[str, str]) -> int:
    sep, quote, esc = _chars(params)
    rows = 0
    for batch in batches:
        lines = [sep.join("" if v is None else _field(str(v), quote, esc) for v in rec)
                 for rec in zip(*[c.to_pylist() for c in batch.columns])]
        if lines:
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
        rows += len(lines)
    return rows


class OpenCSVSerde(RowSerDe):
    name = "opencsv"
    classes = (OPEN_CSV_SERDE,)

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        return ctx.arrow_sql(scan, csv_reader(scan))

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        return write_csv(out, batches, params)


SERDE = OpenCSVSerde()
