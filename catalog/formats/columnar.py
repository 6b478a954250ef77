"""Parquet (DuckDB's own reader) and ORC: scan SQL and Arrow readers."""

from __future__ import annotations

import pyarrow as pa

from catalog.formats.base import FileScan
from catalog.formats.text import sql_str
from catalog.types import HiveType, parse_type


def _file_list(scan: FileScan) -> str:
    return "[" + ", ".join(sql_str(f) for f in scan.files) + "]"


def parquet_file_columns(path: str) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def _has_struct(t: HiveType) -> bool:
    return t.name == "struct" or any(_has_struct(c) for c in t.children)


def declared_field_names(expr: str, t: HiveType, depth: int = 0) -> str:
    """`expr` (already of type `t`) with every struct field named as the table declares it.

    Parquet and ORC match struct fields by name ignoring case and Hive prints the
    declared spelling; DuckDB's casts keep the file's spelling, so rebuild the structs.
    """
    if not _has_struct(t):
        return expr
    v = f"__e{depth}"
    if t.name == "struct":
        fields = ", ".join(
            f'"{n}" := ' + declared_field_names(f"struct_extract({expr}, {sql_str(n)})", c, depth + 1)
            for n, c in zip(t.field_names, t.children))
        return f"(CASE WHEN {expr} IS NULL THEN NULL ELSE struct_pack({fields}) END)"
    if t.name == "array":
        return f"list_transform({expr}, lambda {v}: {declared_field_names(v, t.children[0], depth + 1)})"
    if t.name == "map":
        k = declared_field_names(f"{v}.key", t.children[0], depth + 1)
        val = declared_field_names(f"{v}.value", t.children[1], depth + 1)
        return f"map_from_entries(list_transform(map_entries({expr}), lambda {v}: {{'key': {k}, 'value': {val}}}))"
    return expr


def parquet_scan_sql(scan: FileScan, file_columns: list[str]) -> str:
    """Read Parquet by column name (or by position with parquet.column.index.access)."""
    by_index = scan.table_params.get("parquet.column.index.access", "false").lower() == "true"
    lower = {c.lower(): c for c in file_columns}
    positions = {name.lower(): i for i, (name, _) in enumerate(scan.table_columns or scan.columns)}
    selects = []
    for name, typ in scan.columns:
        duck = parse_type(typ).to_duckdb()
        if by_index:
            i = positions.get(name.lower(), -1)
            src = file_columns[i] if 0 <= i < len(file_columns) else None
        else:
            src = lower.get(name.lower())
        if src is None:
            selects.append(f'CAST(NULL AS {duck}) AS "{name}"')
        else:
            cast = f'TRY_CAST("{src}" AS {duck})'
            selects.append(f'{declared_field_names(cast, parse_type(typ))} AS "{name}"')
    union = ", union_by_name=true" if len(scan.files) > 1 else ""
    return f"SELECT {', '.join(selects) or 'NULL AS __dummy'} FROM read_parquet({_file_list(scan)}{union})"


def orc_reader(scan: FileScan, filesystem=None) -> pa.RecordBatchReader:
    """ORC through pyarrow (DuckDB has no built-in ORC reader), streamed batch by batch."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(scan.files, format="orc", filesystem=filesystem)
    file_cols = {n.lower(): n for n in dataset.schema.names}
    wanted = [file_cols[n.lower()] for n, _ in scan.columns if n.lower() in file_cols]
    return dataset.scanner(columns=wanted).to_reader()
