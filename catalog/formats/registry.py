"""The one registry of storage formats and line SerDes: a new format is a module plus a line here.

Everything that depends on a table's format (the Arrow engine's scan, MapReduce's
splits, the writers, CREATE/ALTER's STORED AS, ROW FORMAT SERDE and
INPUTFORMAT/OUTPUTFORMAT) asks this module; a SerDe, format or class name
that is not registered is refused, never read with another SerDe's rules.
"""

from __future__ import annotations

from catalog.formats import jsonserde, lazy_simple, opencsv, orc, parquet, rcfile, regex, sequencefile
from catalog.formats.base import Format, RowSerDe
from catalog.formats.textfile import JSONFILE, TEXTFILE

# storage formats, by the metastore's format name
FORMATS: tuple[Format, ...] = (TEXTFILE, JSONFILE, sequencefile.FORMAT, parquet.FORMAT, orc.FORMAT, rcfile.FORMAT)
# SerDes of records that are text lines (TEXTFILE, SEQUENCEFILE values)
ROW_SERDES: tuple[RowSerDe, ...] = (lazy_simple.SERDE, opencsv.SERDE, jsonserde.SERDE, regex.SERDE2, regex.CONTRIB)
# STORED AS names Hive knows and hiveish does not read or write
UNSUPPORTED_STORED_AS = ("avro", "avrofile")

_BY_NAME = {f.name: f for f in FORMATS}
_BY_KEYWORD = {k: f for f in FORMATS for k in f.stored_as}
FORMAT_KEYWORDS = frozenset(_BY_KEYWORD)  # every STORED AS name hiveish reads and writes
_ROW_SERDES = {c: s for s in ROW_SERDES for c in s.classes}
_FORMAT_SERDES = {c: f for f in FORMATS for c in f.serdes}


def _errors():
    from hiveish import errors  # the kernel: the one module every layer may import

    return errors


def format_named(name: str) -> Format:
    """The format of a table or partition (its storage descriptor's format name)."""
    f = _BY_NAME.get((name or "textfile").lower())
    if f is None:
        raise _errors().ExecutionError(f"hiveish cannot read or write file format '{name}'")
    return f


def stored_as(keyword: str, clause: str = "STORED AS clause") -> Format:
    """The format a STORED AS keyword names (also ALTER TABLE ... SET FILEFORMAT)."""
    f = _BY_KEYWORD.get(keyword.lower())
    if f is not None:
        return f
    if keyword.lower() in UNSUPPORTED_STORED_AS:
        raise _errors().NotSupportedError(f"STORED AS {keyword.upper()} is not supported; use "
                                          + ", ".join(sorted({k.upper() for k in _BY_KEYWORD})))
    raise _errors().SemanticException(f"Unrecognized file format in {clause}: '{keyword.upper()}'")


def row_serde_named(cls: str) -> RowSerDe | None:
    return _ROW_SERDES.get(cls)


def supported_serdes() -> list[str]:
    return sorted(set(_ROW_SERDES) | set(_FORMAT_SERDES))


def unsupported_serde(cls: str) -> Exception:
    return _errors().SemanticException(
        f"Cannot validate serde: {cls}: hiveish cannot read or write with this SerDe "
        f"(supported: {', '.join(supported_serdes())})")


def cannot_read(serde: str, fmt: Format) -> Exception:
    return _errors().SemanticException(
        f"Cannot validate serde: {serde}: hiveish cannot read {fmt.name.upper()} files with it")


def format_for_serde(cls: str) -> Format | None:
    """The format a non-line SerDe implies (ParquetHiveSerDe: PARQUET), None for a line SerDe;
    an unknown class is refused."""
    if cls in _FORMAT_SERDES:
        return _FORMAT_SERDES[cls]
    if cls in _ROW_SERDES:
        return None
    raise unsupported_serde(cls)


def format_for_io(input_format: str, output_format: str) -> Format:
    """The format a STORED AS INPUTFORMAT ... OUTPUTFORMAT pair names; a pair hiveish cannot honour is refused."""
    for f in FORMATS:
        if f.name == "jsonfile":
            continue  # the same classes as TEXTFILE
        if input_format in (f.input_format, *f.input_formats):
            if output_format in (f.output_format, *f.output_formats):
                return f
            raise _errors().SemanticException(
                f"OUTPUTFORMAT {output_format} does not go with INPUTFORMAT {input_format}: "
                f"hiveish writes {f.name.upper()} with {f.output_format}")
    raise _errors().SemanticException(
        f"Cannot find class '{input_format}': hiveish cannot read INPUTFORMAT {input_format} "
        f"(supported: {', '.join(sorted({f.input_format for f in FORMATS}))})")


def check_storage(fmt: Format, serde: str, columns: list[tuple[str, str]], params: dict[str, str]) -> None:
    """Refuse a table hiveish cannot honour: a SerDe the format cannot read, or that refuses the columns."""
    if fmt.line_based:
        if serde in _FORMAT_SERDES:
            raise cannot_read(serde, fmt)
        rs = fmt.row_serde(serde)  # refuses an unknown class
        if rs is not None:
            rs.validate(columns, params)
    elif serde and serde not in fmt.serdes:
        if serde in _ROW_SERDES or serde in _FORMAT_SERDES:
            raise cannot_read(serde, fmt)
        raise unsupported_serde(serde)
    fmt.validate(serde, columns, params)


def writer_settings() -> tuple[str, ...]:
    """Session settings some format's writer follows (compression, record intervals)."""
    return tuple(dict.fromkeys(k for f in FORMATS for k in f.writer_settings))
