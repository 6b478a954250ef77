"""A table's storage from its DDL clauses (STORED AS, INPUTFORMAT/OUTPUTFORMAT, ROW FORMAT SERDE),
resolved through the format registry: a class or combination hiveish cannot honour is refused."""

from __future__ import annotations

from catalog.formats import registry
from catalog.formats.jsonserde import SERDE as JSON
from catalog.model import StorageDescriptor


def _fresh(name: str, sd: StorageDescriptor) -> StorageDescriptor:
    new = StorageDescriptor.for_format(name, sd.location)
    new.num_buckets, new.bucket_cols, new.sort_cols = sd.num_buckets, sd.bucket_cols, sd.sort_cols
    return new


def apply_storage_clauses(sd: StorageDescriptor, stored_as: str | None = None,
                          io_pair: tuple[str, str] | None = None, serde: str | None = None) -> StorageDescriptor:
    """`sd` (the default or LIKE table's storage) with the clauses applied."""
    explicit = None
    if stored_as:
        explicit = registry.stored_as(stored_as)
    elif io_pair:
        explicit = registry.format_for_io(*io_pair)
    if explicit is not None:
        sd = _fresh(explicit.name, sd)
        if io_pair:  # as declared (DESCRIBE FORMATTED shows them)
            sd.input_format, sd.output_format = io_pair
    if not serde:
        return sd
    implied = registry.format_for_serde(serde)  # refuses an unknown class
    if implied is not None:  # a columnar SerDe names its format
        if explicit is not None and explicit is not implied:
            raise registry.cannot_read(serde, explicit)
        if explicit is None and sd.format != implied.name:
            sd = _fresh(implied.name, sd)
    else:  # a SerDe of text lines
        if not registry.format_named(sd.format).line_based:
            if explicit is not None:
                raise registry.cannot_read(serde, explicit)
            sd = _fresh("textfile", sd)  # a default format of another kind: text, as the SerDe reads lines
        if serde in JSON.classes and sd.format == "textfile":
            sd.format = "jsonfile"
    sd.serde = serde
    return sd


def check_table(sd: StorageDescriptor, columns: list[tuple[str, str]]) -> None:
    """Refuse a table (or partition) whose SerDe hiveish cannot honour with these columns."""
    registry.check_storage(registry.format_named(sd.format), sd.serde, columns, sd.serde_params)
