"""Table, partition and column statistics: ANALYZE TABLE, hive.stats.autogather, DESCRIBE of a column.

Basic statistics are Hive's parameters of a table (unpartitioned) or partition: `numFiles`,
`totalSize`, `numRows`, `rawDataSize` and `COLUMN_STATS_ACCURATE` (Hive 2.x's JSON, e.g.
`{"BASIC_STATS":"true","COLUMN_STATS":{"key":"true"}}`). `rawDataSize` is Hive's serde figure
where hiveish can compute it the same way: uncompressed text (the rows' bytes without line
terminators, as LazySimpleSerDe counts) and Parquet (rows x columns, as ParquetHiveSerDe counts);
for other formats it is left out. Column statistics live in the metastore's `col_stats` table.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING

import pyarrow as pa

from catalog.model import Partition, Table
from catalog.paths import partition_name
from catalog.types import parse_type
from hiveish import errors
from hiveish.ddl import SPEC_BODY, TABLE_NAME, get_table, matching_partitions, parse_spec, unquote

if TYPE_CHECKING:
    from hiveish.session import Result, Session

ACCURATE = "COLUMN_STATS_ACCURATE"
BASIC = "BASIC_STATS"

_ANALYZE = re.compile(
    rf"(?is)\s*analyze\s+table\s+({TABLE_NAME})(?:\s+partition\s*\({SPEC_BODY}\))?\s+compute\s+statistics"
    r"(?:\s+(noscan|partialscan)|\s+(for\s+columns)(?:\s+(.+?))?)?(\s+cache\s+metadata)?\s*;?\s*$")

# Hive's statistics kind per primitive type (GenericUDAFComputeStats); None: not supported
_LONG = {"tinyint", "smallint", "int", "bigint"}
_DOUBLE = {"float", "double"}
_STRING = {"string", "varchar", "char"}


def _kind(typ: str) -> str | None:
    base = parse_type(typ).name.lower()
    if base in _LONG:
        return "long"
    if base in _DOUBLE:
        return "double"
    if base in _STRING:
        return "string"
    if base in ("decimal", "date", "boolean", "binary", "timestamp"):
        return base
    return None


# -- the accuracy flag ----------------------------------------------------------------------------
def _accuracy(params: dict[str, str]) -> tuple[bool, dict[str, str]]:
    try:
        d = json.loads(params.get(ACCURATE) or "{}")
    except ValueError:
        return False, {}
    if not isinstance(d, dict):
        return False, {}
    cols = d.get("COLUMN_STATS") if isinstance(d.get("COLUMN_STATS"), dict) else {}
    return str(d.get(BASIC, "")).lower() == "true", {str(k).lower(): "true" for k, v in cols.items()
                                                      if str(v).lower() == "true"}


def _set_accuracy(params: dict[str, str], basic: bool, cols: dict[str, str]) -> None:
    d: dict = {}
    if basic:
        d[BASIC] = "true"
    if cols:
        d["COLUMN_STATS"] = dict(sorted(cols.items()))
    if d:
        params[ACCURATE] = json.dumps(d, separators=(",", ":"))
    else:
        params.pop(ACCURATE, None)


def basic_stats_accurate(params: dict[str, str]) -> bool:
    return _accuracy(params)[0] and "numRows" in params


# -- measuring a directory --------------------------------------------------------------------------
def _files(s: "Session", location: str) -> list[tuple[str, int]]:
    return s.catalog.data_file_sizes(location)


def _raw_data_size(s: "Session", table: Table, sd, files: list[tuple[str, int]], rows: int) -> int | None:
    """Hive's rawDataSize where hiveish computes it as Hive's serde does, else None."""
    if sd.format == "parquet":
        return rows * len(table.columns)
    if sd.format != "textfile" or "JsonSerDe" in sd.serde or "OpenCSV" in sd.serde or sd.compressed:
        return None
    total = 0
    for path, _size in files:
        if re.search(r"\.(gz|bz2|deflate|snappy|lz4|zst|lzo)$", path):
            return None
        with s.catalog.fs(path).open_read(path) as f:
            data = f.read()
        # LazySimpleSerDe counts each row's bytes; LineRecordReader strips \n, \r and \r\n
        total += len(data) - (data.count(b"\n") + data.count(b"\r"))
    return total


def _written_raw_size(table: Table, sd, added: list[tuple[str, int]], rows: int) -> int | None:
    """rawDataSize of rows a write serialized, as Hive's writers count it: a text row's bytes
    without its newline (hiveish writes one per row), a Parquet row's field count."""
    if sd.format == "parquet":
        return rows * len(table.columns)
    if sd.format != "textfile" or "JsonSerDe" in sd.serde or "OpenCSV" in sd.serde or \
            any(re.search(r"\.(gz|bz2|deflate|snappy|lz4|zst|lzo)$", p) for p, _ in added):
        return None
    return sum(n for _, n in added) - rows


def _sql_name(table: Table) -> str:
    return f"`{table.db}`.`{table.name}`"


def _where(s: "Session", table: Table, part: Partition | None) -> str:
    if part is None:
        return ""
    default = s.settings.get("hive.exec.default.partition.name") or "__HIVE_DEFAULT_PARTITION__"
    conds = []
    for k, v in zip(table.partition_keys, part.values):
        if v == default:
            conds.append(f"`{k.name}` IS NULL")
        else:
            conds.append(f"`{k.name}` = '" + v.replace("\\", "\\\\").replace("'", "\\'") + "'")
    return " WHERE " + " AND ".join(conds)


def _query_rows(s: "Session", sql: str) -> list[tuple]:
    res = s.run_query(s.parse(sql), sql)  # always a scan, never an answer from statistics
    out: list[tuple] = []
    for b in res.batches:
        out.extend(zip(*[c.to_pylist() for c in b.columns]))
    return out


def _count_rows(s: "Session", table: Table, part: Partition | None) -> int:
    rows = _query_rows(s, f"SELECT count(*) FROM {_sql_name(table)}{_where(s, table, part)}")
    return int(rows[0][0]) if rows else 0


def basic_params(s: "Session", table: Table, part: Partition | None, noscan: bool) -> dict[str, str]:
    """The params of `part` (or the table) with fresh basic statistics."""
    params = dict(part.params if part is not None else table.params)
    sd = part.sd if part is not None else table.sd
    files = _files(s, sd.location)
    size = sum(n for _, n in files)
    basic, cols = _accuracy(params)
    unchanged = params.get("numFiles") == str(len(files)) and params.get("totalSize") == str(size)
    params["numFiles"], params["totalSize"] = str(len(files)), str(size)
    if noscan:
        basic = basic and unchanged
    else:
        rows = _count_rows(s, table, part)
        params["numRows"] = str(rows)
        raw = _raw_data_size(s, table, sd, files, rows)
        if raw is None:
            params.pop("rawDataSize", None)
        else:
            params["rawDataSize"] = str(raw)
        basic = True
        if not unchanged:
            cols = {}
    _set_accuracy(params, basic, cols)
    return params


# -- column statistics ------------------------------------------------------------------------------
def _column_stats(s: "Session", table: Table, part: Partition | None, cols: list) -> dict[str, dict]:
    import duckdb

    names = ", ".join(f"`{c.name}`" for c in cols)
    sql = f"SELECT {names} FROM {_sql_name(table)}{_where(s, table, part)}"
    res = s.run_query(s.parse(sql), sql)
    renamed = [f"c{i}" for i in range(len(cols))]
    batches = (pa.RecordBatch.from_arrays(b.columns, names=renamed) for b in res.batches)
    first = next(batches, None)
    aggs: list[str] = []
    spec: list[tuple[str, str, list[str]]] = []
    for i, c in enumerate(cols):
        kind = _kind(c.type)
        x = f"c{i}"
        fields = ["num_nulls"]
        aggs.append(f"count(*) - count({x})")
        if kind in ("long", "double", "decimal", "date", "string"):
            fields.append("distinct_count")
            aggs.append(f"approx_count_distinct({x})")
        if kind in ("long", "double", "decimal", "date"):
            fields += ["min", "max"]
            aggs += [f"min({x})", f"max({x})"]
        if kind in ("string", "binary"):
            ln = f"length({x})" if kind == "string" else f"octet_length({x})"
            fields += ["avg_col_len", "max_col_len"]
            aggs += [f"coalesce(avg({ln}), 0)", f"coalesce(max({ln}), 0)"]
        if kind == "timestamp":
            fields.append("distinct_count")
            aggs.append(f"approx_count_distinct({x})")
        if kind == "boolean":
            fields += ["num_trues", "num_falses"]
            aggs += [f"count(*) FILTER (WHERE {x})", f"count(*) FILTER (WHERE NOT {x})"]
        spec.append((c.name, kind or "", fields))
    con = duckdb.connect()
    try:
        if first is not None:  # streamed: DuckDB aggregates the batches as they come
            data = pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], batches))
        else:  # no rows: every aggregate is over nothing
            data = pa.table({f"c{i}": pa.array([], type=parse_type(c.type).to_arrow()) for i, c in enumerate(cols)})
        con.register("data", data)
        row = con.execute(f"SELECT {', '.join(aggs)} FROM data").fetchone()
    finally:
        con.close()
    out: dict[str, dict] = {}
    it = iter(row or ())
    for name, kind, fields in spec:
        d: dict = {"kind": kind}
        for f in fields:
            v = next(it)
            if f in ("min", "max") and v is not None:
                v = _text(v, kind)
            elif f == "avg_col_len":
                v = float(v)
            elif v is not None:
                v = int(v)
            d[f] = v
        out[name.lower()] = d
    return out


def _text(v, kind: str) -> str:
    from hiveish.formatting import java_double_to_string

    if kind == "double":
        return java_double_to_string(float(v))
    if kind == "decimal":  # HiveDecimal's text: no trailing zeros
        text = format(v, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(v)


# -- ANALYZE ----------------------------------------------------------------------------------------
def cmd_analyze(s: "Session", text: str, _second: str) -> "Result":
    """ANALYZE TABLE t [PARTITION (spec)] COMPUTE STATISTICS [NOSCAN | FOR COLUMNS [c, ...]]."""
    from hiveish.ddl import _ok

    m = _ANALYZE.match(text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'analyze' 'table'", 1, 0)
    name, spec_text, scan, for_cols, col_list, cache = m.groups()
    if cache:
        raise errors.SemanticException("ANALYZE TABLE ... CACHE METADATA is not supported: hiveish has no "
                                       "metadata cache (the ORC file footer cache of Hive's LLAP)")
    if scan and scan.lower() == "partialscan":
        raise errors.SemanticException("ANALYZE TABLE ... PARTIALSCAN is not supported: it reads RCFile block "
                                       "headers only; use COMPUTE STATISTICS (a full scan) or NOSCAN")
    # measured and stored under the metastore's write lock: no write commits in between, so what
    # is stored as accurate describes the files as they are
    with s.metastore.transaction():
        _analyze(s, name, spec_text, scan, for_cols, col_list)
    return _ok()


def _analyze(s: "Session", name: str, spec_text: str | None, scan: str | None, for_cols: str | None,
             col_list: str | None) -> None:
    table = get_table(s, name)
    if table.is_view:
        raise errors.SemanticException(f"[Error 10091]: ANALYZE is not supported for views ({table.qualified_name})")
    parts: list[Partition | None] = [None]
    if spec_text is not None and not table.is_partitioned:
        raise errors.SemanticException(f"[Error 10098]: Non-Partition column appears in the partition "
                                       f"specification: table {table.name} is not partitioned")
    if table.is_partitioned:
        spec = parse_spec(spec_text or "")
        key_names = {k.name.lower() for k in table.partition_keys}
        for k, _op, _v in spec:
            if k not in key_names:
                raise errors.SemanticException(f"[Error 10098]: Non-Partition column appears in the partition "
                                               f"specification: {k}")
        fixed = [(k, op or "=", v) for k, op, v in spec if v is not None]
        from hiveish.ddl import normalize_value

        by_name = {k.name.lower(): k for k in table.partition_keys}
        fixed = [(k, op, normalize_value(s, by_name[k], v)) for k, op, v in fixed]
        found = matching_partitions(s, table, fixed) if fixed else s.metastore.list_partitions(table.db, table.name)
        if fixed and len(fixed) == len(key_names) and not found:
            raise errors.SemanticException(f"[Error 10006]: Partition not found {{{spec_text.strip()}}}")
        parts = list(found)
    cols = []
    if for_cols:
        if scan:
            raise errors.ParseException("cannot recognize input near 'for' 'columns'", 1, 0)
        wanted = [unquote(c.strip()) for c in col_list.split(",")] if col_list else [c.name for c in table.columns]
        for w in wanted:
            c = table.column(w)
            if c is None or c in table.partition_keys:
                raise errors.SemanticException(f"[Error 10002]: Invalid column reference {w}")
            if _kind(c.type) is None:
                raise errors.SemanticException(
                    f"[Error 30009]: Encountered parse error while parsing rewritten query: Only primitive type "
                    f"arguments are accepted but {c.type} is passed (column {c.name})", code=30009)
            if c not in cols:
                cols.append(c)
    keys = [k.name for k in table.partition_keys]
    for p in parts:
        pname = partition_name(keys, p.values) if p is not None else ""
        if for_cols:
            stats = _column_stats(s, table, p, cols)
            params = dict(p.params if p is not None else table.params)
            basic, accurate = _accuracy(params)
            accurate.update({c.name.lower(): "true" for c in cols})
            _set_accuracy(params, basic, accurate)
            for c in cols:
                s.metastore.put_column_stats(table.db, table.name, pname, c.name, c.type, stats[c.name.lower()])
        else:
            params = basic_params(s, table, p, bool(scan))
        if p is not None:
            s.metastore.set_partition_params(table.db, table.name, pname, params)
        else:
            s.metastore.set_table_params(table.db, table.name, params)


# -- hive.stats.autogather ----------------------------------------------------------------------------
def after_write(s: "Session", table: Table, part_name: str | None, location: str, overwrite: bool,
                rows: int | None, added: list[tuple[str, int]]) -> None:
    """Update the basic statistics of what a write (INSERT, CTAS, LOAD) just committed files into,
    inside its transaction. `rows` is None when the write does not know its row count (LOAD);
    `added` is the (staged path, size) of each file it moved in."""
    if not s.settings.get_bool("hive.stats.autogather"):
        # as Hive: the old figures no longer hold
        _invalidate(s, table, part_name)
        return
    current = s.metastore.get_partition(table.db, table.name, part_name) if part_name else \
        s.metastore.get_table(table.db, table.name)
    if current is None:
        return
    params = dict(current.params)
    files = _files(s, location)
    basic, _cols = _accuracy(params)
    params["numFiles"], params["totalSize"] = str(len(files)), str(sum(n for _, n in files))
    overwrite = overwrite or len(files) == len(added)  # nothing was there before: like an overwrite
    if rows is not None and (overwrite or basic and "numRows" in params):
        params["numRows"] = str(rows if overwrite else int(params["numRows"]) + rows)
        raw = _written_raw_size(table, current.sd, added, rows)
        if raw is not None and not overwrite:
            raw = int(params["rawDataSize"]) + raw if params.get("rawDataSize", "").isdigit() else None
        if raw is None:
            params.pop("rawDataSize", None)
        else:
            params["rawDataSize"] = str(raw)
        basic = True
    else:
        basic = False
        if rows is None:
            params.setdefault("numRows", "0")
            params.setdefault("rawDataSize", "0")
    _set_accuracy(params, basic, {})  # new rows: the column statistics no longer hold
    if part_name:
        s.metastore.set_partition_params(table.db, table.name, part_name, params)
    else:
        s.metastore.set_table_params(table.db, table.name, params)


def after_truncate(s: "Session", table: Table, parts: list[Partition] | None) -> None:
    """TRUNCATE TABLE emptied the table or these partitions: no files, no rows."""
    keys = [k.name for k in table.partition_keys]
    for p in parts if parts is not None else [None]:
        name = partition_name(keys, p.values) if p is not None else None
        after_write(s, table, name, p.sd.location if p is not None else table.sd.location, True, 0, [])


def mark_unknown(params: dict[str, str]) -> None:
    """The files behind these params changed in a way not measured: nothing is accurate any more."""
    params.pop(ACCURATE, None)


def _invalidate(s: "Session", table: Table, part_name: str | None) -> None:
    current = s.metastore.get_partition(table.db, table.name, part_name) if part_name else \
        s.metastore.get_table(table.db, table.name)
    if current is None or ACCURATE not in current.params:
        return
    params = dict(current.params)
    params.pop(ACCURATE)
    if part_name:
        s.metastore.set_partition_params(table.db, table.name, part_name, params)
    else:
        s.metastore.set_table_params(table.db, table.name, params)


# -- DESCRIBE FORMATTED t [PARTITION (...)] col -------------------------------------------------------------
COLUMN_HEADERS = ["col_name", "data_type", "min", "max", "num_nulls", "distinct_count", "avg_col_len",
                  "max_col_len", "num_trues", "num_falses", "comment"]


def describe_column(s: "Session", table: Table, part: Partition | None, col) -> "Result":
    """Hive 2.x's DESCRIBE FORMATTED of one column: its statistics (of the partition, or aggregated
    over the partitions of a partitioned table), blank where there are none."""
    from hiveish.formatting import java_double_to_string
    from hiveish.session import Result

    if col in table.partition_keys:
        rows = []
    elif part is not None:
        pname = partition_name([k.name for k in table.partition_keys], part.values)
        rows = s.metastore.column_stats(table.db, table.name, col.name, pname)
    elif table.is_partitioned:
        rows = [r for r in s.metastore.column_stats(table.db, table.name, col.name) if r[0]]
    else:
        rows = s.metastore.column_stats(table.db, table.name, col.name, "")
    rows = [r for r in rows if r[1] == col.type]
    st = _aggregate([r[2] for r in rows]) if rows else None
    cells = [col.name, col.type]
    for f in COLUMN_HEADERS[2:-1]:
        v = st.get(f) if st else None
        cells.append("" if v is None else java_double_to_string(v) if isinstance(v, float) else str(v))
    cells.append(col.comment or "from deserializer")
    header = tuple(h.ljust(20) for h in COLUMN_HEADERS)
    out = [("# " + header[0],) + header[1:], ("",) + (None,) * 10, tuple(c.ljust(20) for c in cells)]
    return Result.rows(COLUMN_HEADERS, out)


def _aggregate(stats: list[dict]) -> dict:
    """Partitions' statistics of one column combined as Hive's aggregators do (no NDV density
    function: the largest partition NDV)."""
    if len(stats) == 1:
        return stats[0]
    kind = stats[0].get("kind")
    out: dict = {"kind": kind}
    for f in ("num_nulls", "num_trues", "num_falses"):
        vals = [d[f] for d in stats if d.get(f) is not None]
        if vals:
            out[f] = sum(vals)
    for f in ("distinct_count", "max_col_len", "avg_col_len"):
        vals = [d[f] for d in stats if d.get(f) is not None]
        if vals:
            out[f] = max(vals)
    for f, pick in (("min", min), ("max", max)):
        vals = [d[f] for d in stats if d.get(f) is not None]
        if vals:
            key = (lambda v: float(v)) if kind in ("long", "double", "decimal") else (lambda v: v)
            out[f] = pick(vals, key=key)
    return out


# -- answers from statistics (hive.compute.query.using.stats, Hive's StatsOptimizer) ------------------------
def answer_from_stats(s: "Session", tree) -> "Result | None":
    """`SELECT count(*) [, count(1) ...] FROM t` answered from numRows when the setting is on and the
    table's (or every partition's) basic statistics are accurate; None: the query must run."""
    from sqlglot import exp

    from hiveish.session import Result

    if not s.settings.get_bool("hive.compute.query.using.stats") or type(tree) is not exp.Select:
        return None
    if any(tree.args.get(k) for k in tree.args if k not in ("expressions", "from_", "from")):
        return None  # WHERE, GROUP BY, joins, LIMIT, DISTINCT, CTEs, hints, ...
    frm = tree.args.get("from_") or tree.args.get("from")
    src = frm.this if frm is not None else None
    if not isinstance(src, exp.Table) or any(src.args.get(k) for k in src.args if k not in ("this", "db", "alias")):
        return None
    names = []
    for i, e in enumerate(tree.expressions):
        inner = e.this if isinstance(e, exp.Alias) else e
        if not isinstance(inner, exp.Count) or isinstance(inner.this, exp.Distinct) or not (
                isinstance(inner.this, exp.Star) or isinstance(inner.this, exp.Literal)):
            return None
        names.append(e.alias if isinstance(e, exp.Alias) else f"_c{i}")
    db = src.db.lower() if src.db else s.current_db
    table = s.catalog_view().get_table(db, src.name.lower())
    if table is None or table.is_view or table.temporary or (db, table.name) not in _stored(s, table):
        return None
    if table.is_partitioned:
        figures = [p.params for p in s.metastore.list_partitions(table.db, table.name)]
    else:
        figures = [table.params]
    if not all(basic_stats_accurate(p) for p in figures):
        return None
    try:
        total = sum(int(p["numRows"]) for p in figures)
    except ValueError:
        return None
    batch = pa.RecordBatch.from_arrays([pa.array([total], pa.int64()) for _ in names], names=names)
    return Result(columns=[(n, "bigint") for n in names], batches=iter([batch]))


def _stored(s: "Session", table: Table) -> set[tuple[str, str]]:
    """The table as the metastore has it (a registered in-memory table of the same name has no statistics)."""
    return {(table.db, table.name)} if s.metastore.get_table(table.db, table.name) == table else set()


__all__ = ["after_write", "answer_from_stats", "basic_stats_accurate", "cmd_analyze", "describe_column"]
