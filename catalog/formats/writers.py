"""LazySimpleSerDe's text writer, and `write_file`: one file in any registered format."""

from __future__ import annotations

import datetime
import decimal
import io
from typing import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from catalog.formats.text import null_format, separators
from catalog.fs.base import FileSystem
from catalog.types import HiveType, parse_type


def _java_double(x: float) -> str:
    from hiveish.formatting import java_double_to_string

    return java_double_to_string(x)


def _java_float(x: float) -> str:
    from hiveish.formatting import java_float_to_string

    return java_float_to_string(x)


def text_value(v, t: HiveType, level: int, seps: list[str], null: str) -> str:
    """One value in LazySimpleSerDe's text form; `level` is its separator index."""
    if v is None:
        return null
    n = t.name
    cap = len(seps) - 1
    if n == "array":
        return seps[min(level, cap)].join(text_value(x, t.children[0], level + 1, seps, null) for x in v)
    if n == "map":
        kv = seps[min(level + 1, cap)]
        items = v.items() if isinstance(v, dict) else v
        return seps[min(level, cap)].join(
            text_value(k, t.children[0], level + 2, seps, null) + kv + text_value(x, t.children[1], level + 2, seps, null)
            for k, x in items)
    if n == "struct":
        vals = v.values() if isinstance(v, dict) else v
        return seps[min(level, cap)].join(text_value(x, ft, level + 1, seps, null) for x, ft in zip(vals, t.children))
    if n == "boolean":
        return "true" if v else "false"
    if n == "double":
        return _java_double(v)
    if n == "float":
        return _java_float(v)
    if n == "decimal":
        return format(v, "f") if isinstance(v, decimal.Decimal) else str(v)
    if n == "timestamp":
        s = v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime.datetime) else str(v)
        if isinstance(v, datetime.datetime) and v.microsecond:
            s += ("." + f"{v.microsecond:06d}").rstrip("0")
        return s
    if n == "binary":
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _text_column(arr: pa.Array, t: HiveType, seps: list[str], null: str) -> list[str]:
    if t.name in ("string", "varchar", "char", "tinyint", "smallint", "int", "bigint", "date"):
        return pc.fill_null(pc.cast(arr, pa.string()), null).to_pylist()
    return [text_value(v, t, 1, seps, null) for v in arr.to_pylist()]


def write_text(out: io.RawIOBase, batches: Iterable[pa.RecordBatch], types: list[HiveType],
               params: dict[str, str]) -> int:
    seps = separators(params)
    null = null_format(params)
    line_end = params.get("line.delim", "\n") or "\n"
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        cols = [_text_column(batch.column(i), types[i], seps, null) for i in range(batch.num_columns)]
        lines = [seps[0].join(cells) for cells in zip(*cols)] if cols else [""] * batch.num_rows
        out.write((line_end.join(lines) + line_end).encode("utf-8"))
        rows += batch.num_rows
    return rows


def write_file(fs: FileSystem, path: str, fmt: str, serde: str, serde_params: dict[str, str],
               schema: pa.Schema, types: list[str], batches: Iterable[pa.RecordBatch],
               options: dict[str, str]) -> int:
    """Write `batches` as one file at `path` in the registered format `fmt`; returns rows written."""
    from catalog.formats.registry import format_named

    f = format_named(fmt)
    with fs.open_write(path) as out:
        return f.write(out, schema, batches, [parse_type(t) for t in types], serde, serde_params, options)
