"""What a scan of files is (plain data for the executors), and what a format and a line SerDe answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterable, Protocol

import pyarrow as pa

if TYPE_CHECKING:
    from catalog.types import HiveType


class CorruptFileError(ValueError):
    """A data file its format's reader cannot decode (truncated, overwritten); the message names it."""

    def __init__(self, path: str, fmt: str, cause: Exception) -> None:
        super().__init__(f"{fmt} file {path} is truncated or corrupt: {str(cause).splitlines()[0] if str(cause) else cause!r}")
        self.path = path


@dataclass
class FileScan:
    """Files of one format and layout, read as a table with the given columns.

    `columns` are (name, hive type string) of the data columns to produce, in
    order; `constants` are partition columns with their (string) value and type,
    appended after the data columns.
    """

    format: str
    files: list[str]
    columns: list[tuple[str, str]]
    serde: str = ""
    serde_params: dict[str, str] = field(default_factory=dict)
    table_columns: list[tuple[str, str]] = field(default_factory=list)  # full data schema (by position)
    constants: list[tuple[str, str | None, str]] = field(default_factory=list)  # (name, value, type)
    table_params: dict[str, str] = field(default_factory=dict)
    local: bool = True  # files are local paths DuckDB can open
    fs_options: dict[str, str] = field(default_factory=dict)


def some_columns(scan: FileScan) -> FileScan:
    """`scan` reading at least one column: a stream without columns carries no row count (count(*))."""
    if scan.columns or not scan.table_columns:
        return scan
    from dataclasses import replace

    return replace(scan, columns=scan.table_columns[:1])


class ScanContext(Protocol):
    """What the engine lends a format while it builds a scan (implemented by the Arrow executor)."""

    def arrow_sql(self, scan: FileScan, reader: pa.RecordBatchReader) -> str:
        """SQL over an Arrow stream registered for this query, columns matched by name and cast."""
        ...

    def derived_file(self, path: str, kind: str, produce: Callable[[str, str], None]) -> str:
        """A local file made from the local file `path` by `produce(path, dest)` (decompressed,
        decoded), cached privately by path, modification time, size and `kind`."""
        ...


# how MapReduce cuts a file into input splits
SPLIT_LINES = "lines"  # at line boundaries (TextInputFormat)
SPLIT_ROW_GROUPS = "row_groups"  # by Parquet row groups
SPLIT_WHOLE = "whole"  # one split per file


class RowSerDe:
    """A SerDe for records that are lines of text (in a text file or a SequenceFile's values).

    `scan_sql` reads local plain-text files (already decompressed or decoded);
    `write` serializes rows as lines.
    """

    name = ""
    classes: tuple[str, ...] = ()  # SerDe class names it answers to (the first is written)
    fields_by_position = True  # a partition's own schema maps its fields to the table's by position

    def splittable(self, params: dict[str, str]) -> bool:
        """True if a split may start at any line (no record spans lines)."""
        return True

    def validate(self, columns: list[tuple[str, str]], params: dict[str, str]) -> None:
        """Refuse at CREATE/ALTER what this SerDe cannot honour (Hive's initialize() checks)."""

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        raise NotImplementedError

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        raise NotImplementedError


class Format:
    """One storage format (Hive's InputFormat/OutputFormat pair and its SerDe): how the engines read
    it, how MapReduce splits it, how it is written, and the names it answers to."""

    name = ""  # the metastore's format name
    stored_as: tuple[str, ...] = ()  # STORED AS keywords, lower case
    serde = ""  # the SerDe class a table of this format gets
    serdes: tuple[str, ...] = ()  # ROW FORMAT SERDE classes that make a table of this format
    input_format = ""
    output_format = ""
    input_formats: tuple[str, ...] = ()  # further InputFormat classes answered to
    output_formats: tuple[str, ...] = ()  # further OutputFormat classes answered to
    line_based = False  # records are text lines read by a RowSerDe (the table's SerDe)
    writer_settings: tuple[str, ...] = ()  # session settings its writer follows

    def row_serde(self, serde: str) -> RowSerDe | None:
        """The SerDe that reads this format's records (line-based formats only)."""
        return None

    def fields_by_position(self, serde: str) -> bool:
        rs = self.row_serde(serde)
        return rs.fields_by_position if rs is not None else False

    def validate(self, serde: str, columns: list[tuple[str, str]], params: dict[str, str]) -> None:
        """Refuse at CREATE/ALTER a table this format (with `serde`) cannot honour."""

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        """DuckDB SQL reading the scan's (local) files as its columns."""
        raise NotImplementedError

    arrow_in_place = False  # `arrow_reader` reads the files in place through a pyarrow filesystem

    def arrow_reader(self, scan: FileScan, filesystem=None) -> pa.RecordBatchReader:
        """An Arrow stream over the files, read in place through `filesystem` (see `arrow_in_place`)."""
        raise NotImplementedError

    def split_kind(self, scan: FileScan, path: str) -> str:
        return SPLIT_WHOLE

    def file_extension(self, options: dict[str, str]) -> str:
        """The extension of a file written with these writer options (`.deflate` for compressed text)."""
        return ""

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              serde: str, params: dict[str, str], options: dict[str, str]) -> int:
        """Write `batches` as one file into `out`; returns rows written."""
        raise NotImplementedError
