"""Hive delimited text (LazySimpleSerDe): DuckDB reads the fields as strings, SQL converts them.

A field that does not parse as its column's type reads as NULL, extra fields
are ignored and missing ones are NULL, as Hive does.
"""

from __future__ import annotations

import re

from catalog.formats.base import FileScan
from catalog.types import HiveType, parse_type

DEFAULT_NULL = "\\N"
# LazySimpleSerDe separators by nesting level: field, collection, map key, then 4..8
DEFAULT_SEPARATORS = ["\x01", "\x02", "\x03", "\x04", "\x05", "\x06", "\x07", "\x08"]


def sql_str(s: str) -> str:
    """A DuckDB string literal for any text (control characters via chr())."""
    parts: list[str] = []
    buf = ""
    for ch in s:
        if ord(ch) < 32 or ch == "\x7f":
            if buf:
                parts.append("'" + buf.replace("'", "''") + "'")
                buf = ""
            parts.append(f"chr({ord(ch)})")
        else:
            buf += ch
    if buf or not parts:
        parts.append("'" + buf.replace("'", "''") + "'")
    return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"


def _delim(value: str | None, default: str) -> str:
    """Hive takes a delimiter as a byte code ('9' = TAB) if it parses as one, else its first character."""
    if value is None or value == "":
        return default
    try:
        code = int(value)
        if -128 <= code <= 127:
            return chr(code % 256)
    except ValueError:
        pass
    return value[0]


def separators(params: dict[str, str]) -> list[str]:
    seps = list(DEFAULT_SEPARATORS)
    seps[0] = _delim(params.get("field.delim", params.get("serialization.format")), seps[0])
    seps[1] = _delim(params.get("collection.delim", params.get("colelction.delim")), seps[1])
    seps[2] = _delim(params.get("mapkey.delim"), seps[2])
    return seps


def null_format(params: dict[str, str]) -> str:
    return params.get("serialization.null.format", DEFAULT_NULL)


def convert_field(expr: str, t: HiveType, level: int, seps: list[str], null: str, top: bool = True) -> str:
    """SQL turning the string `expr` into Hive type `t` (NULL if unparsable).

    `level` is the separator index a complex value uses for its items (1 for a
    column, deeper for nested values), as LazySimpleSerDe nests them.
    """
    if not top and not t.is_complex:
        return f"(CASE WHEN {expr} = {sql_str(null)} THEN NULL ELSE {convert_field(expr, t, level, seps, null)} END)"
    n = t.name
    if n in ("string", "void", "uniontype"):
        return expr
    if n == "varchar":
        return f"left({expr}, {t.params[0]})"
    if n == "char":
        return f"rpad(left({expr}, {t.params[0]}), {t.params[0]}, ' ')"
    if n in ("tinyint", "smallint", "int", "bigint"):
        # Hive's LazyInteger: optional sign, digits, optionally a fraction that is dropped
        return f"TRY_CAST(regexp_extract({expr}, '^([+-]?[0-9]+)(\\.[0-9]*)?$', 1) AS {t.to_duckdb()})"
    if n in ("float", "double"):
        return f"TRY_CAST({expr} AS {t.to_duckdb()})"
    if n == "decimal":
        return f"TRY_CAST(trim({expr}) AS {t.to_duckdb()})"
    if n == "boolean":
        return f"(CASE lower({expr}) WHEN 'true' THEN true WHEN 'false' THEN false END)"
    if n == "date":
        return f"TRY_CAST({expr} AS DATE)"
    if n == "timestamp":
        return f"TRY_CAST({expr} AS TIMESTAMP)"
    if n == "binary":
        return f"encode({expr})"
    cap = len(seps) - 1
    sep = sql_str(seps[min(level, cap)])
    var = f"x{level}"
    if n == "array":
        elem = convert_field(var, t.children[0], level + 1, seps, null, top=False)
        return (f"(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} = '' THEN []::{t.to_duckdb()} "
                f"ELSE list_transform(string_split({expr}, {sep}), lambda {var}: {elem}) END)")
    if n == "map":
        kv = sql_str(seps[min(level + 1, cap)])
        k = convert_field(f"split_part({var}, {kv}, 1)", t.children[0], level + 2, seps, null, top=False)
        v_raw = f"(CASE WHEN strpos({var}, {kv}) = 0 THEN NULL ELSE substr({var}, strpos({var}, {kv}) + 1) END)"
        v = convert_field(v_raw, t.children[1], level + 2, seps, null, top=False)
        return (f"(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} = '' THEN MAP()::{t.to_duckdb()} ELSE "
                f"map_from_entries(list_filter(list_transform(string_split({expr}, {sep}), "
                f"lambda {var}: {{'key': {k}, 'value': {v}}}), lambda e{level}: e{level}.key IS NOT NULL)) END)")
    if n == "struct":
        fields = ", ".join(
            f'"{fname}" := '
            + convert_field(f"list_extract(string_split({expr}, {sep}), {i + 1})", ft, level + 1, seps, null, top=False)
            for i, (fname, ft) in enumerate(zip(t.field_names, t.children)))
        return f"(CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({fields}) END)"
    return expr


def scan_sql(scan: FileScan) -> str:
    """A DuckDB query reading the files of a LazySimpleSerDe text table.

    Lines are read whole and split in SQL, so rows with too many or too few
    fields keep their other values (missing fields are NULL, extras ignored).
    """
    params = scan.serde_params
    seps = separators(params)
    null = null_format(params)
    schema = scan.table_columns or scan.columns
    positions = {name.lower(): i for i, (name, _) in enumerate(schema)}
    skip = int(scan.table_params.get("skip.header.line.count", "0") or 0)
    files = "[" + ", ".join(sql_str(f) for f in scan.files) + "]"
    reader = (f"read_csv({files}, columns={{'line': 'VARCHAR'}}, delim=chr(0), quote='', escape='', "
              f"header=false, auto_detect=false, strict_mode=false, null_padding=true, skip={skip}, "
              f"max_line_size=67108864, parallel=true)")
    selects = []
    for name, typ in scan.columns:
        i = positions.get(name.lower())
        t = parse_type(typ)
        if i is None:
            selects.append(f'CAST(NULL AS {t.to_duckdb()}) AS "{name}"')
            continue
        field = f"NULLIF({_unescape(f'__f[{i + 1}]', params)}, {sql_str(null)})"
        selects.append(f'{convert_field(field, t, 1, seps, null)} AS "{name}"')
    line = _protect_escapes("coalesce(line, '')", seps[0], params)
    inner = f"SELECT string_split({line}, {sql_str(seps[0])}) AS __f FROM {reader}"
    return f"SELECT {', '.join(selects) or 'NULL AS __dummy'} FROM ({inner})"


# private-use characters standing for an escaped escape character and an escaped field delimiter
_ESC_ESC, _ESC_DELIM = "chr(57345)", "chr(57344)"


def _protect_escapes(line: str, delim: str, params: dict[str, str]) -> str:
    """With ESCAPED BY, an escaped delimiter must not split the line."""
    esc = params.get("escape.delim")
    if not esc:
        return line
    e, d = sql_str(esc[0]), sql_str(delim)
    return f"replace(replace({line}, {e} || {e}, {_ESC_ESC}), {e} || {d}, {_ESC_DELIM})"


def _unescape(field: str, params: dict[str, str]) -> str:
    """Undo ESCAPED BY in one field: `\\x` becomes `x`."""
    esc = params.get("escape.delim")
    if not esc:
        return field
    delim = separators(params)[0]
    pattern = sql_str(re.escape(esc[0]) + "(.)")
    return (f"replace(replace(regexp_replace({field}, {pattern}, '\\1', 'g'), {_ESC_DELIM}, {sql_str(delim)}), "
            f"{_ESC_ESC}, {sql_str(esc[0])})")


def needs_line_reader(params: dict[str, str]) -> bool:
    """True if the layout needs Python-side line parsing (escapes, multi-byte newlines)."""
    return bool(params.get("escape.delim")) or params.get("line.delim", "\n") not in ("\n", "")
