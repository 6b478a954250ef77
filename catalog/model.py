"""Catalog objects: databases, tables, columns, partitions, storage descriptors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from catalog.formats.jsonserde import JSON_SERDE
from catalog.formats.lazy_simple import LAZY_SIMPLE_SERDE
from catalog.formats.opencsv import OPEN_CSV_SERDE
from catalog.formats.orc import ORC_SERDE
from catalog.formats.parquet import PARQUET_SERDE
from catalog.formats.rcfile import LAZY_BINARY_COLUMNAR as LAZY_BINARY_COLUMNAR_SERDE
from catalog.formats.textfile import TEXT_INPUT_FORMAT, TEXT_OUTPUT_FORMAT
from catalog.types import HiveType, parse_type

__all__ = ["JSON_SERDE", "LAZY_BINARY_COLUMNAR_SERDE", "LAZY_SIMPLE_SERDE", "OPEN_CSV_SERDE", "ORC_SERDE",
           "PARQUET_SERDE"]

MANAGED = "MANAGED_TABLE"
EXTERNAL = "EXTERNAL_TABLE"
VIEW = "VIRTUAL_VIEW"


@dataclass
class Column:
    name: str
    type: str
    comment: str | None = None

    @property
    def hive_type(self) -> HiveType:
        return parse_type(self.type)


@dataclass
class StorageDescriptor:
    location: str = ""
    format: str = "textfile"
    serde: str = LAZY_SIMPLE_SERDE
    serde_params: dict[str, str] = field(default_factory=dict)
    input_format: str = TEXT_INPUT_FORMAT
    output_format: str = TEXT_OUTPUT_FORMAT
    num_buckets: int = -1
    bucket_cols: list[str] = field(default_factory=list)
    sort_cols: list[tuple[str, int]] = field(default_factory=list)  # (col, 1 asc / 0 desc)
    compressed: bool = False
    # a partition's own data columns (name, type) when they differ from its table's: Hive keeps a
    # partition's schema through ALTER TABLE ... (ADD|REPLACE|CHANGE) COLUMNS without CASCADE
    cols: list[tuple[str, str]] | None = None

    def to_json(self) -> dict:
        d = {"location": self.location, "format": self.format, "serde": self.serde,
             "serde_params": self.serde_params, "input_format": self.input_format,
             "output_format": self.output_format, "num_buckets": self.num_buckets,
             "bucket_cols": self.bucket_cols, "sort_cols": [list(c) for c in self.sort_cols],
             "compressed": self.compressed}
        if self.cols is not None:
            d["cols"] = [list(c) for c in self.cols]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "StorageDescriptor":
        d = dict(d)
        d["sort_cols"] = [tuple(c) for c in d.get("sort_cols", [])]
        if d.get("cols") is not None:
            d["cols"] = [tuple(c) for c in d["cols"]]
        return cls(**d)

    def copy(self, **changes) -> "StorageDescriptor":
        changes.setdefault("cols", None if self.cols is None else list(self.cols))
        return replace(self, serde_params=dict(self.serde_params), bucket_cols=list(self.bucket_cols),
                       sort_cols=list(self.sort_cols), **changes)

    @staticmethod
    def for_format(name: str, location: str = "") -> "StorageDescriptor":
        """A storage descriptor of the registered format `name` (its SerDe and classes)."""
        from catalog.formats.registry import format_named

        f = format_named(name)
        return StorageDescriptor(location=location, format=f.name, serde=f.serde, input_format=f.input_format,
                                 output_format=f.output_format)


@dataclass
class Database:
    name: str
    location: str
    comment: str | None = None
    owner: str = ""
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Partition:
    values: list[str]
    sd: StorageDescriptor
    params: dict[str, str] = field(default_factory=dict)
    create_time: int = 0

    def spec(self, keys: list[Column]) -> dict[str, str]:
        return {k.name: v for k, v in zip(keys, self.values)}


@dataclass
class Table:
    db: str
    name: str
    table_type: str
    columns: list[Column]
    partition_keys: list[Column] = field(default_factory=list)
    sd: StorageDescriptor = field(default_factory=StorageDescriptor)
    params: dict[str, str] = field(default_factory=dict)
    owner: str = ""
    create_time: int = 0
    comment: str | None = None
    view_original_text: str | None = None
    view_expanded_text: str | None = None
    temporary: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.db}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.table_type == VIEW

    @property
    def is_external(self) -> bool:
        return self.table_type == EXTERNAL

    @property
    def is_partitioned(self) -> bool:
        return bool(self.partition_keys)

    @property
    def all_columns(self) -> list[Column]:
        return self.columns + self.partition_keys

    def column(self, name: str) -> Column | None:
        lname = name.lower()
        for c in self.all_columns:
            if c.name.lower() == lname:
                return c
        return None
