"""What a scan of files is, independent of format: plain data for the executors."""

from __future__ import annotations

from dataclasses import dataclass, field


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
