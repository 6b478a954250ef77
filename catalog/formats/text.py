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
    if n in ("string", "void"):
        return expr
    if n == "uniontype":  # LazyUnion: "<tag><sep><value>", the value one nesting level deeper
        usep = sql_str(seps[min(level, len(seps) - 1)])
        rest = f"(CASE WHEN strpos({expr}, {usep}) = 0 THEN NULL ELSE substr({expr}, strpos({expr}, {usep}) + 1) END)"
        whens = " ".join(
            f"WHEN {i} THEN CAST(union_value(t{i} := {convert_field(rest, c, level + 1, seps, null, top=False)}) "
            f"AS {t.to_duckdb()})" for i, c in enumerate(t.children))
        return f"(CASE TRY_CAST(split_part({expr}, {usep}, 1) AS INTEGER) {whens} END)"
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
        # HiveDecimal reads exponents (`1E-9`) and rounds to the column's scale; DuckDB's decimal
        # parser refuses an exponent whose digits do not fit the target, so those go through DOUBLE
        v = f"trim({expr})"
        return (f"(CASE WHEN strpos(lower({v}), 'e') > 0 THEN TRY_CAST(TRY_CAST({v} AS DOUBLE) AS {t.to_duckdb()}) "
                f"ELSE TRY_CAST({v} AS {t.to_duckdb()}) END)")
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
        h = _java_hash(f"split_part({var}, {kv}, 1)", k, t.children[0])
        e = f"e{level}"
        entries = (f"list_filter(list_transform(string_split({expr}, {sep}), "
                   f"lambda {var}: {{'h': {h}, 'key': {k}, 'value': {v}}}), lambda {e}: {e}.key IS NOT NULL)")
        return (f"(CASE WHEN {expr} IS NULL THEN NULL WHEN {expr} = '' THEN MAP()::{t.to_duckdb()} ELSE "
                f"map_from_entries(list_transform({_hash_map_order(entries, level)}, "
                f"lambda {e}: {{'key': {e}.key, 'value': {e}.value}})) END)")
    if n == "struct":
        # LazySimpleSerDe's struct inspector lower-cases field names: they print lower case
        fields = ", ".join(
            f'"{fname.lower()}" := '
            + convert_field(f"list_extract(string_split({expr}, {sep}), {i + 1})", ft, level + 1, seps, null, top=False)
            for i, (fname, ft) in enumerate(zip(t.field_names, t.children)))
        return f"(CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({fields}) END)"
    return expr


def _java_hash(raw: str, key: str, t: HiveType) -> str:
    """SQL for the Java hashCode (as unsigned 32 bits) of a LazyMap key, NULL where not modelled.

    A string key hashes as Hadoop's Text (31 * h + byte over its UTF-8 bytes, from 1), an
    integer as its Writable (the value; a bigint folds its halves).
    """
    m32 = 4294967296
    if t.is_string:
        hx = f"hex(encode({raw}))"
        byte = f"((('0x' || substr({hx}, __i + 1, 2))::INTEGER + 128) % 256 - 128)"
        return (f"list_reduce(list_transform(range(0, length({hx}), 2), lambda __i: {byte}), "
                f"lambda __a, __b: (((__a * 31 + __b) % {m32}) + {m32}) % {m32}, 1::BIGINT)")
    if t.name in ("tinyint", "smallint", "int"):
        return f"(({key}::BIGINT % {m32}) + {m32}) % {m32}"
    if t.name == "bigint":
        return f"(((xor({key}, {key} >> 32)) % {m32}) + {m32}) % {m32}"
    return "NULL::BIGINT"


def _hash_map_order(entries: str, level: int) -> str:
    """`entries` ({h, key, value} structs, in file order) in the order Hive's LazyMap iterates them:
    a java.util.HashMap's, by bucket ((h ^ h >>> 16) & (capacity - 1), capacity 16 doubling past 3/4
    full), then by insertion. Entries without a modelled hash keep the file order."""
    n = f"(CASE WHEN len({entries}) <= 12 THEN 16 ELSE (2 ** ceil(log2(len({entries}) / 0.75)))::BIGINT END)"
    e, i, x = f"__e{level}", f"__i{level}", f"__x{level}"
    bucket = f"coalesce(xor({e}.h, {e}.h >> 16) & ({n} - 1), 0)"
    slots = f"list_sort(list_transform({entries}, lambda {e}, {i}: {bucket} * 1048576 + {i}))"
    return f"list_transform({slots}, lambda {x}: ({entries})[{x} % 1048576])"


_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "iso-8859-1": "latin-1", "iso8859-1": "latin-1", "latin1": "latin-1",
              "latin-1": "latin-1", "utf-16": "utf-16", "utf16": "utf-16"}


def encoding_option(params: dict[str, str]) -> str:
    """`serialization.encoding` (Hive's LazySimpleSerDe property) as DuckDB's read_csv encoding."""
    name = (params.get("serialization.encoding") or "").strip().lower()
    if not name or name in ("utf-8", "utf8"):
        return ""
    if name not in _ENCODINGS:
        raise ValueError(f"Unsupported serialization.encoding '{params['serialization.encoding']}' "
                         f"(supported: UTF-8, ISO-8859-1, UTF-16)")
    # DuckDB's decoding buffer is 16 lines of max_line_size by default (1 GiB here): keep it to two
    return f", encoding='{_ENCODINGS[name]}', buffer_size=134217728"


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
    footer = int(scan.table_params.get("skip.footer.line.count", "0") or 0)

    def read(files: list[str]) -> str:
        names = "[" + ", ".join(sql_str(f) for f in files) + "]"
        return (f"read_csv({names}, columns={{'line': 'VARCHAR'}}, delim=chr(0), quote='', escape='', "
                f"header=false, auto_detect=false, strict_mode=false, null_padding=true, skip={skip}, "
                f"max_line_size=67108864, parallel=true{encoding_option({**scan.table_params, **params})})")

    reader = read(scan.files)
    if footer > 0 and scan.files:  # the last lines of every file are dropped: each file counted apart
        reader = "(" + " UNION ALL ".join(
            f"(SELECT line FROM {read([f])} LIMIT greatest((SELECT count(*) FROM {read([f])}) - {footer}, 0))"
            for f in scan.files) + ")"
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
