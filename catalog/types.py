"""Hive's type system: parse type strings, map them to DuckDB and Arrow.

A `HiveType` prints exactly as Hive prints it in DESCRIBE (`int`,
`decimal(10,2)`, `array<string>`, `map<string,int>`, `struct<a:int,b:string>`).

>>> str(parse_type("MAP<STRING, ARRAY<INT>>"))
'map<string,array<int>>'
>>> parse_type("decimal").to_duckdb()
'DECIMAL(10,0)'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyarrow as pa

PRIMITIVES = {
    "tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "string", "char",
    "varchar", "boolean", "date", "timestamp", "binary", "void",
    "interval_year_month", "interval_day_time",
}
ALIASES = {"integer": "int", "real": "float", "double precision": "double", "numeric": "decimal",
           "dec": "decimal", "text": "string", "long": "bigint", "short": "smallint", "byte": "tinyint",
           "bool": "boolean", "datetime": "timestamp", "null": "void", "union": "uniontype"}
INTEGRAL = ("tinyint", "smallint", "int", "bigint")
NUMERIC_ORDER = ("tinyint", "smallint", "int", "bigint", "decimal", "float", "double")

_DUCK = {"tinyint": "TINYINT", "smallint": "SMALLINT", "int": "INTEGER", "bigint": "BIGINT",
         "float": "FLOAT", "double": "DOUBLE", "string": "VARCHAR", "varchar": "VARCHAR",
         "char": "VARCHAR", "boolean": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP",
         "binary": "BLOB", "void": "VARCHAR", "interval_year_month": "INTERVAL",
         "interval_day_time": "INTERVAL"}


class TypeParseError(ValueError):
    pass


@dataclass(frozen=True)
class HiveType:
    name: str
    params: tuple[int, ...] = ()
    # array: (element,), map: (key, value), struct: field types (names in field_names)
    children: tuple["HiveType", ...] = ()
    field_names: tuple[str, ...] = field(default=())

    # -- printing ---------------------------------------------------------------
    def __str__(self) -> str:
        if self.name == "array":
            return f"array<{self.children[0]}>"
        if self.name == "map":
            return f"map<{self.children[0]},{self.children[1]}>"
        if self.name == "struct":
            inner = ",".join(f"{n}:{t}" for n, t in zip(self.field_names, self.children))
            return f"struct<{inner}>"
        if self.name == "uniontype":
            return f"uniontype<{','.join(str(c) for c in self.children)}>"
        if self.params:
            return f"{self.name}({','.join(str(p) for p in self.params)})"
        return self.name

    # -- classification ---------------------------------------------------------
    @property
    def is_complex(self) -> bool:
        return self.name in ("array", "map", "struct", "uniontype")

    @property
    def is_integral(self) -> bool:
        return self.name in INTEGRAL

    @property
    def is_numeric(self) -> bool:
        return self.name in NUMERIC_ORDER

    @property
    def is_string(self) -> bool:
        return self.name in ("string", "varchar", "char")

    @property
    def precision(self) -> int:
        return self.params[0] if self.params else 10

    @property
    def scale(self) -> int:
        return self.params[1] if len(self.params) > 1 else 0

    # -- mapping ------------------------------------------------------------------
    def to_duckdb(self) -> str:
        if self.name == "decimal":
            return f"DECIMAL({self.precision},{self.scale})"
        if self.name == "array":
            return f"{self.children[0].to_duckdb()}[]"
        if self.name == "map":
            return f"MAP({self.children[0].to_duckdb()}, {self.children[1].to_duckdb()})"
        if self.name == "struct":
            inner = ", ".join(f'"{n}" {t.to_duckdb()}' for n, t in zip(self.field_names, self.children))
            return f"STRUCT({inner})"
        if self.name == "uniontype":  # member i is tagged "t<i>", as Hive tags members by position
            return "UNION(" + ", ".join(f'"t{i}" {c.to_duckdb()}' for i, c in enumerate(self.children)) + ")"
        return _DUCK[self.name]

    def to_arrow(self) -> pa.DataType:
        n = self.name
        simple = {"tinyint": pa.int8(), "smallint": pa.int16(), "int": pa.int32(), "bigint": pa.int64(),
                  "float": pa.float32(), "double": pa.float64(), "string": pa.string(),
                  "varchar": pa.string(), "char": pa.string(), "boolean": pa.bool_(),
                  "date": pa.date32(), "timestamp": pa.timestamp("us"), "binary": pa.binary(),
                  "void": pa.null(), "interval_year_month": pa.month_day_nano_interval(),
                  "interval_day_time": pa.month_day_nano_interval()}
        if n in simple:
            return simple[n]
        if n == "decimal":
            return pa.decimal128(self.precision, self.scale)
        if n == "array":
            return pa.list_(self.children[0].to_arrow())
        if n == "map":
            return pa.map_(self.children[0].to_arrow(), self.children[1].to_arrow())
        if n == "struct":
            return pa.struct([pa.field(fn, t.to_arrow()) for fn, t in zip(self.field_names, self.children)])
        if n == "uniontype":
            return pa.sparse_union([pa.field(f"t{i}", c.to_arrow()) for i, c in enumerate(self.children)])
        return pa.string()


def primitive(name: str, *params: int) -> HiveType:
    return HiveType(name, tuple(params))


STRING = primitive("string")
INT = primitive("int")
BIGINT = primitive("bigint")
DOUBLE = primitive("double")
BOOLEAN = primitive("boolean")

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_ ]*?(?=\s*[<>(),:]|\s*$)|`[^`]*`|[<>(),:]|\d+)")


def parse_type(text: str) -> HiveType:
    """Parse a Hive type string (case-insensitive, spaces allowed)."""
    tokens = [t for t in _TOKEN.findall(text.strip()) if t.strip()]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise TypeParseError(f"Unexpected end of type string: {text!r}")
        tok = tokens[pos]
        if expected is not None and tok != expected:
            raise TypeParseError(f"Expected '{expected}' but found '{tok}' in type {text!r}")
        pos += 1
        return tok

    def parse() -> HiveType:
        raw = take().strip()
        name = " ".join(raw.lower().split())
        name = ALIASES.get(name, name)
        if name == "array":
            take("<")
            elem = parse()
            take(">")
            return HiveType("array", children=(elem,))
        if name == "map":
            take("<")
            k = parse()
            take(",")
            v = parse()
            take(">")
            return HiveType("map", children=(k, v))
        if name == "struct":
            take("<")
            names, types = [], []
            while peek() != ">":
                fname = take().strip().strip("`")
                take(":")
                names.append(fname)
                types.append(parse())
                if peek() == ",":
                    take(",")
            take(">")
            return HiveType("struct", children=tuple(types), field_names=tuple(names))
        if name == "uniontype":
            take("<")
            kids = [parse()]
            while peek() == ",":
                take(",")
                kids.append(parse())
            take(">")
            return HiveType("uniontype", children=tuple(kids))
        if name not in PRIMITIVES:
            raise TypeParseError(f"Unknown type '{raw}'")
        params: list[int] = []
        if peek() == "(":
            take("(")
            params.append(int(take()))
            while peek() == ",":
                take(",")
                params.append(int(take()))
            take(")")
        if name == "decimal":
            p = params[0] if params else 10
            s = params[1] if len(params) > 1 else 0
            if not 1 <= p <= 38 or not 0 <= s <= p:
                raise TypeParseError(f"Invalid decimal precision/scale in {text!r}")
            params = [p, s]
        elif name in ("char", "varchar") and not params:
            raise TypeParseError(f"{name} requires a length: {text!r}")
        return HiveType(name, tuple(params))

    result = parse()
    if pos != len(tokens):
        raise TypeParseError(f"Trailing characters in type {text!r}")
    return result


def from_arrow(t: pa.DataType) -> HiveType:
    """The Hive type a result column of Arrow type `t` reports."""
    if pa.types.is_int8(t) or pa.types.is_uint8(t):
        return primitive("tinyint")
    if pa.types.is_int16(t) or pa.types.is_uint16(t):
        return primitive("smallint")
    if pa.types.is_int32(t) or pa.types.is_uint32(t):
        return primitive("int")
    if pa.types.is_integer(t):
        return primitive("bigint")
    if pa.types.is_float32(t):
        return primitive("float")
    if pa.types.is_floating(t):
        return primitive("double")
    if pa.types.is_decimal(t):
        return primitive("decimal", min(t.precision, 38), t.scale)
    if pa.types.is_boolean(t):
        return primitive("boolean")
    if pa.types.is_date(t):
        return primitive("date")
    if pa.types.is_timestamp(t):
        return primitive("timestamp")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return primitive("binary")
    if pa.types.is_interval(t) or pa.types.is_duration(t):
        return primitive("interval_day_time")
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return HiveType("array", children=(from_arrow(t.value_type),))
    if pa.types.is_map(t):
        return HiveType("map", children=(from_arrow(t.key_type), from_arrow(t.item_type)))
    if pa.types.is_struct(t):
        return HiveType("struct", children=tuple(from_arrow(t.field(i).type) for i in range(t.num_fields)),
                        field_names=tuple(t.field(i).name for i in range(t.num_fields)))
    if pa.types.is_union(t):
        return HiveType("uniontype", children=tuple(from_arrow(t.field(i).type) for i in range(t.num_fields)))
    if pa.types.is_null(t):
        return primitive("void")
    return STRING


def duck_to_hive(duck_type: str) -> HiveType:
    """The Hive type for a DuckDB type name (as DuckDB prints it)."""
    import duckdb

    try:
        arrow = duckdb.sql(f"SELECT CAST(NULL AS {duck_type}) AS x LIMIT 0").to_arrow_table().schema.field(0).type
        return from_arrow(arrow)
    except Exception:
        return STRING
