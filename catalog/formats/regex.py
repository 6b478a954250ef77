"""RegexSerDe (`org.apache.hadoop.hive.serde2.RegexSerDe` and the contrib class): each line matched
whole against `input.regex`, capturing group i giving column i.

As Hive does: a line that does not match is a row of NULLs; a group that did
not take part in the match is NULL; a group that does not parse as its
column's type is NULL. The contrib class takes STRING columns only and
writes rows with `output.format.string`; the serde2 class takes primitive
columns and cannot write. Patterns are Java regular expressions, matched
here by Python's `re` (named groups `(?<n>...)` included); a pattern it
cannot compile is refused at CREATE.
"""

from __future__ import annotations

import datetime
import re
from typing import BinaryIO, Iterable, Iterator

import pyarrow as pa

from catalog.formats.base import FileScan, RowSerDe, ScanContext
from catalog.formats.lines import read_lines
from catalog.types import HiveType, parse_type

SERDE2_REGEX = "org.apache.hadoop.hive.serde2.RegexSerDe"
CONTRIB_REGEX = "org.apache.hadoop.hive.contrib.serde2.RegexSerDe"
BATCH = 8192
_PRIMITIVE = ("string", "tinyint", "smallint", "int", "bigint", "float", "double", "boolean", "timestamp", "date",
              "decimal", "char", "varchar")
_INT_RANGE = {"tinyint": 7, "smallint": 15, "int": 31, "bigint": 63}
_JAVA_FLOAT = re.compile(r"\s*[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)\s*")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TIMESTAMP = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{0,9})?")


def _errors():
    from hiveish import errors  # the kernel

    return errors


def compile_regex(params: dict[str, str], serde: str) -> re.Pattern:
    regex = params.get("input.regex")
    if regex is None:
        raise _errors().SemanticException(f'Cannot validate serde: {serde}: This table does not have serde property '
                                          f'"input.regex"!')
    flags = re.IGNORECASE if (params.get("input.regex.case.insensitive") or "").lower() == "true" else 0
    try:  # Java's named groups (?<name>...) are Python's (?P<name>...)
        return re.compile(re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", regex), flags)
    except re.error as e:
        raise _errors().SemanticException(f"Cannot validate serde: {serde}: input.regex {regex!r} is not a regular "
                                          f"expression hiveish can match: {e}") from None


def _convert(text: str | None, t: HiveType):
    """A group's text as the column's value, None where Hive's parse of it fails."""
    if text is None:
        return False if t.name == "boolean" else None  # Boolean.valueOf(null) is false
    n = t.name
    if n == "string":
        return text
    if n in _INT_RANGE:
        if not re.fullmatch(r"[+-]?\d+", text):
            return None
        v = int(text)
        bits = _INT_RANGE[n]
        return v if -(1 << bits) <= v < (1 << bits) else None
    if n in ("float", "double"):
        m = _JAVA_FLOAT.fullmatch(text)
        if not m:
            return None
        s = text.strip().rstrip("fFdD")
        return float(s.replace("Infinity", "inf"))
    if n == "boolean":
        return text.lower() == "true"
    if n == "varchar":
        return text[: t.params[0]]
    if n == "char":
        return text[: t.params[0]].ljust(t.params[0])
    if n == "date":
        m = _DATE.fullmatch(text)
        try:
            return datetime.date(*map(int, m.groups())) if m else None
        except ValueError:
            return None
    if n == "timestamp":
        m = _TIMESTAMP.fullmatch(text)
        if not m:
            return None
        frac = (m.group(7) or ".")[1:]
        try:
            return datetime.datetime(*map(int, m.groups()[:6]), int((frac + "000000")[:6]))
        except ValueError:
            return None
    if n == "decimal":
        return text  # parsed and rounded to the column's scale by the scan's cast
    return None


def _arrow_type(t: HiveType) -> pa.DataType:
    return pa.string() if t.name in ("decimal", "varchar", "char", "string") else t.to_arrow()


class RegexSerDe(RowSerDe):
    def __init__(self, cls: str, contrib: bool) -> None:
        self.classes = (cls,)
        self.name = "regex-contrib" if contrib else "regex"
        self.contrib = contrib

    def validate(self, columns: list[tuple[str, str]], params: dict[str, str]) -> None:
        compile_regex(params, self.classes[0])
        for i, (name, typ) in enumerate(columns):
            t = parse_type(typ)
            if self.contrib and t.name != "string":
                raise _errors().SemanticException(
                    f"Cannot validate serde: {self.classes[0]}: {self.classes[0]} only accepts string columns, "
                    f"but column[{i}] named {name} has type {typ}")
            if not self.contrib and t.name not in _PRIMITIVE:
                raise _errors().SemanticException(
                    f"Cannot validate serde: {self.classes[0]}: {self.classes[0]} doesn't allow column [{i}] named "
                    f"{name} with type {typ}")

    def scan_sql(self, scan: FileScan, ctx: ScanContext) -> str:
        schema = scan.table_columns or scan.columns
        pattern = compile_regex(scan.serde_params, self.classes[0])
        if pattern.groups != len(schema):
            raise _errors().ExecutionError(
                f"org.apache.hadoop.hive.serde2.SerDeException: Number of matching groups doesn't match the number "
                f"of columns (table columns: {len(schema)}, groups in input.regex: {pattern.groups})")
        types = [parse_type(t) for _, t in schema]
        arrow = pa.schema([pa.field(n, _arrow_type(t)) for (n, _), t in zip(schema, types)])

        def batches() -> Iterator[pa.RecordBatch]:
            rows: list[tuple] = []
            nulls = tuple([None] * len(schema))
            for line in read_lines(scan):
                m = pattern.fullmatch(line)
                rows.append(tuple(_convert(g, t) for g, t in zip(m.groups(), types)) if m else nulls)
                if len(rows) >= BATCH:
                    yield _batch(rows, arrow)
                    rows = []
            if rows:
                yield _batch(rows, arrow)

        return ctx.arrow_sql(scan, pa.RecordBatchReader.from_batches(arrow, batches()))

    def write(self, out: BinaryIO, schema: pa.Schema, batches: Iterable[pa.RecordBatch], types: list[HiveType],
              params: dict[str, str], options: dict[str, str]) -> int:
        if not self.contrib:
            raise _errors().ExecutionError(f"{self.classes[0]}: Regex SerDe doesn't support the serialize() method: "
                                           "a table of this SerDe cannot be written")
        fmt = params.get("output.format.string")
        if fmt is None:
            raise _errors().ExecutionError(
                'Cannot write data into table because "output.format.string" is not specified in serde properties '
                "of the table.")
        rows = 0
        for batch in batches:
            lines = [java_format(fmt, ["null" if v is None else str(v) for v in rec])
                     for rec in zip(*[c.to_pylist() for c in batch.columns])]
            if lines:
                out.write(("\n".join(lines) + "\n").encode("utf-8"))
            rows += len(lines)
        return rows


def java_format(fmt: str, args: list[str]) -> str:
    """Java's String.format for the `%s` / `%n$s` / `%%` / `%n` specifiers output.format.string uses."""
    it = iter(range(len(args)))

    def sub(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        if m.group(0) == "%n":
            return "\n"
        i = int(m.group(1)) - 1 if m.group(1) else next(it, len(args))
        if not 0 <= i < len(args):
            raise _errors().ExecutionError(f"MissingFormatArgumentException: Format specifier '{m.group(0)}'")
        return args[i]

    return re.sub(r"%%|%n|%(?:(\d+)\$)?s", sub, fmt)


def _batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    cols = list(zip(*rows))
    return pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema)], schema=schema)


SERDE2 = RegexSerDe(SERDE2_REGEX, contrib=False)
CONTRIB = RegexSerDe(CONTRIB_REGEX, contrib=True)
