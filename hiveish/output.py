"""Print query results as the Hive CLI and Beeline print them, batch by batch.

One formatter per output format, all fed Arrow record batches as they arrive, so a
front end (the `hiveish` command, the shell) never holds a whole result:

- `hive`: the Hive CLI's rows, cells joined by TAB, an optional header line;
- Beeline's `--outputformat` values: `table`, `vertical`, `csv2`, `tsv2`, `dsv`,
  the deprecated `csv`/`tsv`, and `json`/`jsonfile`.

Values are the Hive CLI's text (`hiveish.formatting`); Beeline's JDBC client adds
`.0` to whole-second timestamps (`java.sql.Timestamp.toString`), and so do we.

>>> import io
>>> import pyarrow as pa
>>> batch = pa.record_batch({"a": [1, None], "b": ["x", "y,z"]})
>>> out = io.StringIO()
>>> write_result(out, [("a", "int"), ("b", "string")], [batch], OutputOptions("csv2"))
2
>>> print(out.getvalue(), end="")
a,b
1,x
NULL,"y,z"

Deviations from Beeline, on purpose: `csv2`/`tsv2`/`dsv` quote values when needed
(Beeline's `disable.quoting.for.sv` set to false; `quoting=False` gives Beeline's
default) and keep newlines inside quoted values (SuperCSV, as Beeline configures it,
drops them); `json` writes NULL as `null` and non-finite numbers as strings, so the
output is always valid JSON.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from catalog.types import HiveType, TypeParseError, parse_type
from hiveish.formatting import format_column, java_double_to_string

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "BEELINE_FORMATS",
    "FORMATS",
    "OutputOptions",
    "beeline_rows_affected",
    "beeline_rows_selected",
    "hive_time_taken",
    "make_formatter",
    "write_result",
]

BEELINE_FORMATS = ("table", "vertical", "csv2", "tsv2", "dsv", "csv", "tsv", "json", "jsonfile")
FORMATS = ("hive",) + BEELINE_FORMATS


@dataclass(frozen=True)
class OutputOptions:
    """How to print a result.

    `show_header=None` means the format's default: off for `hive` (the CLI reads
    `hive.cli.print.header`), on for Beeline's formats.
    """

    format: str = "hive"
    show_header: bool | None = None
    delimiter_for_dsv: str = "|"
    quoting: bool = True
    null_string: str = "NULL"
    header_interval: int = 100
    max_column_width: int = 50
    buffer_rows: int = 1000

    @property
    def header(self) -> bool:
        return (self.format != "hive") if self.show_header is None else self.show_header


Columns = list[list[str | None]]  # column-major cell texts; None is SQL NULL


def _jlen(text: str) -> int:
    """Java's String.length(): UTF-16 code units (what Beeline pads by)."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


class Formatter:
    """Writes one result: `start()`, `write_batch()` per batch, `finish()`."""

    null_marks = True  # cells of NULL come as None (else as the Hive text "NULL")

    def __init__(self, out: TextIO, names: Sequence[str], types: Sequence[HiveType],
                 options: OutputOptions) -> None:
        self.out = out
        self.names = list(names)
        self.types = list(types)
        self.options = options
        self.null = options.null_string
        self.rows = 0

    def start(self) -> None:
        pass

    def write_batch(self, cols: Columns) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        pass

    def texts(self, cols: Columns) -> Iterable[tuple[str, ...]]:
        """Rows with NULL replaced by the null string."""
        null = self.null
        fixed = [c if None not in c else [null if v is None else v for v in c] for c in cols]
        return zip(*fixed)


class HiveFormatter(Formatter):
    """The Hive CLI: cells joined by TAB, NULL as `NULL`, header only when asked."""

    null_marks = False

    def start(self) -> None:
        if self.options.header:
            self.out.write("\t".join(self.names) + "\n")

    def write_batch(self, cols: Columns) -> None:
        lines = ["\t".join(row) for row in zip(*cols)]
        self.rows += len(lines)
        self.out.write("\n".join(lines) + "\n")


class TableFormatter(Formatter):
    """Beeline's `table`, as its incremental mode prints it.

    Rows are buffered `buffer_rows` at a time; each buffer's column widths are the
    longest cell (or header) plus one, capped at `max_column_width`, and longer
    values overflow their column. The header block (centered names between
    `+---+` lines, taken from the first buffer) repeats every `header_interval` rows.
    """

    def start(self) -> None:
        self._buffer: list[tuple[str, ...]] = []
        self._border: str | None = None
        self._header_block = ""

    def write_batch(self, cols: Columns) -> None:
        size = self.options.buffer_rows
        for row in self.texts(cols):
            self._buffer.append(row)
            if len(self._buffer) >= size:
                self._flush()

    def _widths(self) -> list[int]:
        cap = self.options.max_column_width
        widths = [0] * len(self.names)
        for row in [tuple(self.names)] + self._buffer:
            for j, v in enumerate(row):
                widths[j] = min(max(widths[j], _jlen(v) + 1), cap)
        return widths

    def _flush(self) -> None:
        widths = self._widths()
        lines: list[str] = []
        if self._border is None:
            self._border = "+-" + "-+-".join("-" * w for w in widths) + "-+"
            header = " | ".join(_center(n, w) for n, w in zip(self.names, widths))
            self._header_block = f"{self._border}\n| {header} |\n{self._border}"
            lines.append(self._header_block if self.options.header else self._border)
        interval = self.options.header_interval
        for row in self._buffer:
            self.rows += 1
            if self.options.header and self.rows > 1 and interval > 0 and (self.rows - 1) % interval == 0:
                lines.append(self._header_block)
            cells = " | ".join(v + " " * (w - _jlen(v)) for v, w in zip(row, widths))
            lines.append(f"| {cells} |")
        self._buffer = []
        self.out.write("\n".join(lines) + "\n")

    def finish(self) -> None:
        if self._buffer or self._border is None:
            self._flush()
        self.out.write(f"{self._border}\n")


def _center(text: str, width: int) -> str:
    """Beeline's ColorBuffer.center: spaces added right, then left, alternately."""
    extra = width - _jlen(text)
    if extra <= 0:
        return text
    return " " * (extra // 2) + text + " " * (extra - extra // 2)


class VerticalFormatter(Formatter):
    """Beeline's `vertical`: `name  value` lines, a blank line after each row."""

    def start(self) -> None:
        width = max((_jlen(n) for n in self.names), default=0) + 2
        self._labels = [n + " " * (width - _jlen(n)) for n in self.names]

    def write_batch(self, cols: Columns) -> None:
        lines: list[str] = []
        for row in self.texts(cols):
            self.rows += 1
            lines.extend(label + v for label, v in zip(self._labels, row))
            lines.append("")
        self.out.write("\n".join(lines) + "\n")


class SeparatedFormatter(Formatter):
    """Beeline's `csv2`, `tsv2` and `dsv`: a header line, `"`-quoting when needed."""

    def __init__(self, out: TextIO, names: Sequence[str], types: Sequence[HiveType],
                 options: OutputOptions) -> None:
        super().__init__(out, names, types, options)
        fmt = options.format
        self.delimiter = {"csv2": ",", "tsv2": "\t"}.get(fmt, options.delimiter_for_dsv or "|")

    def _encode(self, value: str) -> str:
        if self.options.quoting and ('"' in value or self.delimiter in value or "\n" in value or "\r" in value):
            return '"' + value.replace('"', '""') + '"'
        return value

    def _line(self, row: Iterable[str]) -> str:
        return self.delimiter.join(self._encode(v) for v in row)

    def start(self) -> None:
        if self.options.header:
            self.out.write(self._line(self.names) + "\n")

    def write_batch(self, cols: Columns) -> None:
        lines = [self._line(row) for row in self.texts(cols)]
        self.rows += len(lines)
        self.out.write("\n".join(lines) + "\n")


class DeprecatedSeparatedFormatter(SeparatedFormatter):
    """Beeline's deprecated `csv` and `tsv`: every value in single quotes, no escaping."""

    def __init__(self, out: TextIO, names: Sequence[str], types: Sequence[HiveType],
                 options: OutputOptions) -> None:
        super().__init__(out, names, types, options)
        self.delimiter = "," if options.format == "csv" else "\t"

    def _encode(self, value: str) -> str:
        return f"'{value}'"


# Jackson's string escapes: `"`, `\`, \b \t \n \f \r, other controls as \u00XX.
_JSON_ESCAPES = {i: f"\\u{i:04X}" for i in range(0x20)}
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"})
_JSON_NUMBERS = ("tinyint", "smallint", "int", "bigint", "float", "double", "decimal")


def _json_string(text: str) -> str:
    return '"' + text.translate(_JSON_ESCAPES) + '"'


class JsonFormatter(Formatter):
    """Beeline's `json`: `{"resultset":[{...},{...}]}` on one line (`jsonfile`: a row per line)."""

    def start(self) -> None:
        self._keys = [_json_string(n) + ":" for n in self.names]
        self._kinds = [t.name if t.name in _JSON_NUMBERS or t.name in ("boolean", "void") else "string"
                       for t in self.types]
        self._lines = self.options.format == "jsonfile"
        if not self._lines:
            self.out.write('{"resultset":[')

    def _value(self, value: str | None, kind: str) -> str:
        if value is None or kind == "void":
            return "null"
        if kind == "string":
            return _json_string(value)
        if kind == "boolean":
            return "true" if value.lower() == "true" else "false"
        if value in ("NaN", "Infinity", "-Infinity"):
            return _json_string(value)
        return value

    def write_batch(self, cols: Columns) -> None:
        parts: list[str] = []
        kinds = self._kinds
        for row in zip(*cols):
            body = ",".join(k + self._value(v, kind) for k, v, kind in zip(self._keys, row, kinds))
            if self._lines:
                parts.append("{" + body + "}\n")
            else:
                parts.append(("," if self.rows else "") + "{" + body + "}")
            self.rows += 1
        self.out.write("".join(parts))

    def finish(self) -> None:
        if not self._lines:
            self.out.write("]}\n")
        elif not self.rows:
            self.out.write("\n")


_FORMATTERS: dict[str, type[Formatter]] = {
    "hive": HiveFormatter,
    "table": TableFormatter,
    "vertical": VerticalFormatter,
    "csv2": SeparatedFormatter,
    "tsv2": SeparatedFormatter,
    "dsv": SeparatedFormatter,
    "csv": DeprecatedSeparatedFormatter,
    "tsv": DeprecatedSeparatedFormatter,
    "json": JsonFormatter,
    "jsonfile": JsonFormatter,
}


def _hive_type(text: str) -> HiveType:
    try:
        return parse_type(text)
    except (TypeParseError, ValueError):
        return parse_type("string")


def make_formatter(out: TextIO, columns: Sequence[tuple[str, str]], options: OutputOptions) -> Formatter:
    """A formatter for result columns given as (name, Hive type) pairs."""
    try:
        cls = _FORMATTERS[options.format]
    except KeyError:
        raise ValueError(f"Unknown output format \"{options.format}\". Possible values: "
                         + ", ".join(FORMATS)) from None
    return cls(out, [n for n, _ in columns], [_hive_type(t) for _, t in columns], options)


def batch_columns(batch: "pa.RecordBatch", types: Sequence[HiveType], null_marks: bool) -> Columns:
    """Cell texts of a batch, column by column; NULL as None when `null_marks`."""
    cols: Columns = []
    for i, htype in enumerate(types):
        array = batch.column(i)
        texts: list[str | None] = format_column(array, htype)  # type: ignore[assignment]
        if null_marks:
            if array.null_count:
                for j, valid in enumerate(array.is_valid().to_pylist()):
                    if not valid:
                        texts[j] = None
            if htype.name == "timestamp":
                texts = [v if v is None or "." in v else v + ".0" for v in texts]
        cols.append(texts)
    return cols


def write_result(out: TextIO, columns: Sequence[tuple[str, str]], batches: Iterable["pa.RecordBatch"],
                 options: OutputOptions) -> int:
    """Print a result in `options.format`, batch by batch; returns the number of rows."""
    fmt = make_formatter(out, columns, options)
    fmt.start()
    for batch in batches:
        if batch.num_rows:
            fmt.write_batch(batch_columns(batch, fmt.types, fmt.null_marks))
    fmt.finish()
    return fmt.rows


# -- status lines -------------------------------------------------------------------------------


def hive_time_taken(seconds: float, fetched: int = 0) -> str:
    """The Hive CLI's `Time taken: 0.58 seconds, Fetched: 2 row(s)` (no Fetched for 0 rows).

    >>> hive_time_taken(0.5804, 2)
    'Time taken: 0.58 seconds, Fetched: 2 row(s)'
    >>> hive_time_taken(12.0)
    'Time taken: 12.0 seconds'
    """
    text = f"Time taken: {java_double_to_string(round(seconds * 1000) / 1000.0)} seconds"
    return text + (f", Fetched: {fetched} row(s)" if fetched else "")


def _beeline_seconds(seconds: float) -> str:
    """`({0,number,#.###} seconds)`: at most three decimals, half-even, no trailing zeros."""
    if not math.isfinite(seconds):
        return "0"
    d = decimal.Decimal(repr(max(seconds, 0.0))).quantize(decimal.Decimal("0.001"), rounding=decimal.ROUND_HALF_EVEN)
    text = format(d, "f").rstrip("0").rstrip(".")
    return text or "0"


def _beeline_count(count: int, noun: str, verb: str) -> str:
    if count <= 0:
        return f"No {noun}s {verb}"
    if count == 1:
        return f"1 {noun} {verb}"
    return f"{count:,} {noun}s {verb}"


def beeline_rows_selected(count: int, seconds: float) -> str:
    """Beeline's `2 rows selected (0.1 seconds)`.

    >>> beeline_rows_selected(1, 0.1234)
    '1 row selected (0.123 seconds)'
    >>> beeline_rows_selected(1234, 2.0)
    '1,234 rows selected (2 seconds)'
    """
    return f"{_beeline_count(count, 'row', 'selected')} ({_beeline_seconds(seconds)} seconds)"


def beeline_rows_affected(count: int, seconds: float) -> str:
    """Beeline's `No rows affected (0.05 seconds)` after a statement without a result."""
    return f"{_beeline_count(count, 'row', 'affected')} ({_beeline_seconds(seconds)} seconds)"
