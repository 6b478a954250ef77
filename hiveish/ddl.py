"""DDL: databases, tables, views, partitions; MSCK REPAIR; TRUNCATE."""

from __future__ import annotations

import dataclasses
import getpass
import re
import time
from typing import TYPE_CHECKING

from sqlglot import exp

from catalog.catalog import absolute_location, encode_table_name, is_hidden
from catalog.formats.clauses import apply_storage_clauses, check_table
from catalog.formats.registry import FORMAT_KEYWORDS
from catalog.model import (
    EXTERNAL,
    JSON_SERDE,
    MANAGED,
    VIEW,
    Column,
    Database,
    Partition,
    StorageDescriptor,
    Table,
)
from catalog.paths import parse_partition_name, partition_name
from catalog.types import TypeParseError, from_arrow, parse_type
from hiveish import errors

if TYPE_CHECKING:
    from hiveish.session import Result, Session


def _ok():
    from hiveish.session import Result

    return Result()


def unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] in "'\"" and s[-1] == s[0]:
        body = s[1:-1]
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(m.group(1), m.group(1)), body)
    if len(s) >= 2 and s[0] == "`" and s[-1] == "`":
        return s[1:-1]
    return s


def hive_type_of(dt: exp.DataType) -> str:
    try:
        return str(parse_type(dt.sql("hive")))
    except TypeParseError as e:
        raise errors.SemanticException(str(e)) from None


# a table name as statements spell it: [db.]name, either part backquoted (then any characters but `)
TABLE_NAME = r"(?:`[^`]+`|\w+)(?:\s*\.\s*(?:`[^`]+`|\w+))?"
# the inside of PARTITION (...): quoted values and backquoted keys may hold parentheses
SPEC_BODY = r"((?:[^()'\"`]|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`)*)"


def split_name(s: "Session", name: str) -> tuple[str, str]:
    parts = [a or b for a, b in re.findall(r"`([^`]+)`|([^.`\s]+)", name)]
    if len(parts) >= 2:
        return parts[0].lower(), parts[1].lower()
    return s.current_db, (parts[0] if parts else name).lower()


def get_table(s: "Session", name: str) -> Table:
    db, tbl = split_name(s, name)
    t = s.metastore.get_table(db, tbl)
    if t is None:
        raise errors.TableNotFound(name.replace("`", ""))
    return t


def _lit(e: exp.Expression | None) -> str | None:
    if e is None:
        return None
    if isinstance(e, exp.Literal):
        return e.this
    return e.name


# -- CREATE ---------------------------------------------------------------------------------


def cmd_create_text(s: "Session", text: str, second: str) -> "Result | None":
    if second in ("database", "schema"):
        return create_database(s, text)
    if re.match(r"(?is)\s*create\s+temporary\s+macro\b", text):
        from hiveish import macros

        return macros.create_macro(s, text)
    if re.match(r"(?is)\s*create\s+(or\s+replace\s+)?view", text):
        return create_view_text(s, text)
    return None


def create_database(s: "Session", text: str) -> "Result":
    m = re.match(r"(?is)\s*create\s+(?:database|schema)\s+(if\s+not\s+exists\s+)?`?(\w+)`?(.*)$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'create' 'database'", 1, 0)
    name = m.group(2).lower()
    rest = m.group(3)
    comment = re.search(r"(?is)comment\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", rest)
    location = re.search(r"(?is)location\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", rest)
    props = re.search(r"(?is)with\s+dbproperties\s*\((.*)\)", rest)
    with s.metastore.transaction():
        if s.metastore.get_database(name) is not None:
            if m.group(1):
                return _ok()
            raise errors.AlreadyExists(f"Database {name} already exists", code=10242)
        loc = absolute_location(unquote(location.group(1))) if location else s.catalog.database_location(name)
        db = Database(name, loc, unquote(comment.group(1)) if comment else None, getpass.getuser(),
                      _props(props.group(1)) if props else {})
        s.metastore.create_database(db)
        s.catalog.fs(loc).mkdirs(loc)
    return _ok()


def _props(text: str) -> dict[str, str]:
    pairs = re.findall(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*=\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", text)
    return {unquote(k): unquote(v) for k, v in pairs}


def _column_defs(schema: exp.Schema) -> list[Column]:
    cols = []
    for cd in schema.expressions:
        if isinstance(cd, exp.Identifier):
            cols.append(Column(cd.name, "string"))
            continue
        if not isinstance(cd, exp.ColumnDef):
            continue
        comment = None
        for c in cd.args.get("constraints") or []:
            if isinstance(c.kind, exp.CommentColumnConstraint):
                comment = _lit(c.kind.this)
        kind = cd.args.get("kind")
        cols.append(Column(cd.name, hive_type_of(kind) if kind is not None else "string", comment))
    return cols


def storage_from_properties(s: "Session", props: list[exp.Expression], sd: StorageDescriptor,
                            params: dict[str, str]) -> tuple[StorageDescriptor, bool, str | None]:
    """Apply ROW FORMAT / STORED AS / LOCATION / TBLPROPERTIES; returns (sd, external, comment)."""
    external = False
    comment = None
    fmt_name = None
    io_pair: tuple[str, str] | None = None
    serde = None
    serde_params: dict[str, str] = {}
    for p in props:
        if isinstance(p, exp.ExternalProperty):
            external = True
        elif isinstance(p, exp.SchemaCommentProperty):
            comment = _lit(p.this)
        elif isinstance(p, exp.FileFormatProperty):
            io = p.this if isinstance(p.this, exp.InputOutputFormat) else None
            if io is not None:
                io_pair = (_lit(io.args.get("input_format")), _lit(io.args.get("output_format")))
            elif p.this is None and p.expressions:  # older sqlglot: the two classes as expressions
                io_pair = (_lit(p.expressions[0]), _lit(p.expressions[-1]))
            else:
                fmt_name = (p.name or _lit(p.this) or "").lower()
        elif isinstance(p, exp.StorageHandlerProperty):
            handler = _lit(p.this)
            raise errors.SemanticException(f"Cannot find class '{handler}': hiveish has no storage handlers "
                                           "(STORED BY); declare a STORED AS format")
        elif isinstance(p, exp.RowFormatDelimitedProperty):
            mapping = {"fields": "field.delim", "collection_items": "collection.delim", "map_keys": "mapkey.delim",
                       "lines": "line.delim", "null": "serialization.null.format", "escaped": "escape.delim"}
            for arg, key in mapping.items():
                v = p.args.get(arg)
                if v is not None:
                    serde_params[key] = _lit(v)
            if "field.delim" in serde_params:
                serde_params["serialization.format"] = serde_params["field.delim"]
        elif isinstance(p, exp.RowFormatSerdeProperty):
            serde = _lit(p.this)
            sp = p.args.get("serde_properties")
            if sp is not None:
                for prop in sp.expressions:
                    serde_params[_lit(prop.this)] = _lit(prop.args.get("value"))
        elif isinstance(p, exp.LocationProperty):
            sd.location = absolute_location(_lit(p.this))
        elif isinstance(p, exp.ClusteredByProperty):
            sd.bucket_cols = [c.name for c in p.expressions]
            sd.sort_cols = [(o.this.name, 0 if o.args.get("desc") else 1) for o in (p.args.get("sorted_by") or [])]
            sd.num_buckets = int(_lit(p.args.get("buckets")) or -1)
        elif isinstance(p, exp.Property) and not isinstance(p, (exp.TemporaryProperty,)):
            key = _lit(p.this) if isinstance(p.this, exp.Literal) else p.name
            if key:
                params[str(key)] = str(_lit(p.args.get("value")))
    sd = apply_storage_clauses(sd, fmt_name, io_pair, serde)
    sd.serde_params.update(serde_params)
    return sd, external, comment


def _default_sd(s: "Session") -> StorageDescriptor:
    name = (s.settings.get("hive.default.fileformat") or "textfile").lower()
    return StorageDescriptor.for_format(name if name in FORMAT_KEYWORDS else "textfile")


def run_create(s: "Session", tree: exp.Create, text: str) -> "Result":
    kind = (tree.args.get("kind") or "").upper()
    if kind == "VIEW":
        return create_view(s, tree, text)
    if kind not in ("TABLE", ""):
        raise errors.NotSupportedError(f"CREATE {kind} is not supported")
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    db_name = (target.db or s.current_db).lower()
    name = target.name.lower()
    props = list(tree.args["properties"].expressions) if tree.args.get("properties") else []
    like = next((p for p in props if isinstance(p, exp.LikeProperty)), None)
    temporary = any(isinstance(p, exp.TemporaryProperty) for p in props)
    handler = next((p for p in props if isinstance(p, exp.StorageHandlerProperty)), None)
    if handler is not None:
        from hiveish import refusals

        raise refusals.storage_handler(_lit(handler.this), f"{db_name}.{name}")
    with s.metastore.transaction():
        db = s.metastore.get_database(db_name)
        if db is None:
            raise errors.DatabaseNotFound(db_name)
        if s.metastore.get_table(db_name, name) is not None:
            if tree.args.get("exists"):
                return _ok()
            raise errors.AlreadyExists(f"Table {db_name}.{name} already exists", code=10073)
        params: dict[str, str] = {}
        if like is not None:
            src = get_table(s, like.this.sql("hive"))
            sd = _default_sd(s) if src.is_view else src.sd.copy(location="")
            sd, external, comment = storage_from_properties(s, props, sd, params)
            table = Table(db_name, name, EXTERNAL if external else MANAGED, [Column(c.name, c.type, c.comment) for c in src.columns],
                          [Column(c.name, c.type, c.comment) for c in src.partition_keys], sd,
                          {k: v for k, v in src.params.items() if k not in ("transient_lastDdlTime",)} | params)
        else:
            sd, external, comment = storage_from_properties(s, props, _default_sd(s), params)
            cols = _column_defs(tree.this) if isinstance(tree.this, exp.Schema) else []
            parts: list[Column] = []
            for p in props:
                if isinstance(p, exp.PartitionedByProperty):
                    parts = _column_defs(p.this)
            seen = set()
            for c in cols + parts:
                if c.name.lower() in seen:
                    raise errors.SemanticException(f"[Error 10036]: Duplicate column name: {c.name}")
                seen.add(c.name.lower())
            table = Table(db_name, name, EXTERNAL if external else MANAGED, cols, parts, sd, params, comment=comment)
        from hiveish import refusals

        refusals.check_table_properties(table.params, f"{db_name}.{name}")
        table.owner = getpass.getuser()
        table.create_time = int(time.time())
        table.temporary = temporary
        if temporary and table.partition_keys:
            raise errors.SemanticException("Partition columns are not supported on temporary tables")
        if not table.sd.location:
            table.sd.location = s.catalog.default_table_location(db, name)
        if not table.is_external:  # deleted on DROP: it must not hold the warehouse, the metastore, others
            s.catalog.check_managed_location(table.sd.location, f"table {db_name}.{name}")
        if table.is_external:
            table.params["EXTERNAL"] = "TRUE"
        query = tree.args.get("expression")
        if query is not None:
            if table.is_external:
                raise errors.SemanticException("[Error 10070]: CREATE-TABLE-AS-SELECT cannot create external table")
        elif not table.columns and not table.is_view:
            raise errors.SemanticException(f"[Error 10043]: Either list of columns or a custom serializer should be specified for table {name}")
        if query is None:
            check_table(table.sd, [(c.name, c.type) for c in table.columns])
            s.metastore.create_table(table)
            s.catalog.fs(table.sd.location).mkdirs(table.sd.location)
            if temporary:
                s.temporary_tables.append((db_name, name, table.sd.location))
            return _ok()
    # CTAS: the query runs outside the metastore transaction (other sessions' statements go on
    # meanwhile); the table and its files appear together in one commit at the end
    from hiveish import dml

    result = dml.create_table_as(s, table, query, text)
    if temporary:
        s.temporary_tables.append((db_name, name, table.sd.location))
    return result


_PARTITIONED_ON = re.compile(r"(?is)\bpartitioned\s+on\s*\(([^()]*)\)")


def create_view_text(s: "Session", text: str) -> "Result":
    # PARTITIONED ON (cols) names the view's last output columns as its partition keys
    query = re.search(r"(?is)\bas\s+(?:select|with|from|\()", text)
    head = text[:query.start()] if query else text
    partitioned = _PARTITIONED_ON.search(head)
    keys: list[str] = []
    if partitioned:
        keys = [unquote(k.strip()) for k in partitioned.group(1).split(",") if k.strip()]
        text = text[:partitioned.start()] + text[partitioned.end():]
    tree = s.parse(text)
    if not isinstance(tree, exp.Create):
        raise errors.ParseException("cannot recognize input near 'create' 'view'", 1, 0)
    return create_view(s, tree, text, keys)


def _query_text(text: str) -> str:
    m = re.search(r"(?is)\bas\s+((?:select|with|from|\()[\s\S]*)$", text)
    return m.group(1).strip() if m else text


def _result_columns(s: "Session", plan) -> tuple[list[str], list[str]]:
    """Names and Hive types of a query's result columns, from a run that reads no rows.

    Names the binder could not tell (`SELECT *` over a CTE or subquery) are DuckDB's.
    """
    probe = dataclasses.replace(plan, sql=f"SELECT * FROM ({plan.sql}) AS __cols LIMIT 0")
    running = s.executor.run(probe)
    try:
        schema = running.schema
    finally:
        running.close()
    types = [str(from_arrow(f.type)) for f in schema]
    names = plan.column_names if len(plan.column_names) == len(types) else list(schema.names)
    return [n or f"_c{i}" for i, n in enumerate(names)], types


def create_view(s: "Session", tree: exp.Create, text: str, partition_keys: list[str] | None = None) -> "Result":
    target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
    db_name = (target.db or s.current_db).lower()
    name = target.name.lower()
    query = tree.args.get("expression")
    view_text = _query_text(text)
    with s.metastore.transaction():
        if s.metastore.get_database(db_name) is None:
            raise errors.DatabaseNotFound(db_name)
        existing = s.metastore.get_table(db_name, name)
        if existing is not None:
            if tree.args.get("exists"):
                return _ok()
            if not tree.args.get("replace"):
                raise errors.AlreadyExists(f"Table {db_name}.{name} already exists", code=10073)
            if not existing.is_view:
                raise errors.SemanticException(f"Existing table is not a view: {name}")
        # plan the query once: checks tables/columns and gives the column types
        plan = s.plan(query, view_text)
        names, types = _result_columns(s, plan)
        declared = _column_defs(tree.this) if isinstance(tree.this, exp.Schema) else []
        if declared:
            if len(declared) != len(names):
                raise errors.SemanticException("[Error 10059]: The number of columns produced by the SELECT clause does not match the number of column names specified by CREATE VIEW")
            cols = [Column(d.name, t, d.comment) for d, t in zip(declared, types)]
        else:
            cols = [Column(n, t) for n, t in zip(names, types)]
        parts: list[Column] = []
        if partition_keys:
            tail = [c.name.lower() for c in cols[len(cols) - len(partition_keys):]]
            if len(partition_keys) >= len(cols) or tail != [k.lower() for k in partition_keys]:
                raise errors.SemanticException("[Error 10093]: Rightmost columns in view output do not match "
                                               "PARTITIONED ON clause")
            cols, parts = cols[:len(cols) - len(partition_keys)], cols[len(cols) - len(partition_keys):]
        props = list(tree.args["properties"].expressions) if tree.args.get("properties") else []
        params: dict[str, str] = {}
        comment = None
        for p in props:
            if isinstance(p, exp.SchemaCommentProperty):
                comment = _lit(p.this)
            elif isinstance(p, exp.Property):
                key = _lit(p.this) if isinstance(p.this, exp.Literal) else p.name
                params[str(key)] = str(_lit(p.args.get("value")))
        view = Table(db_name, name, VIEW, cols, parts, StorageDescriptor(location="", format="", serde=""), params,
                     owner=getpass.getuser(), create_time=int(time.time()), comment=comment,
                     view_original_text=view_text, view_expanded_text=view_text)
        if existing is not None:
            s.metastore.drop_table(db_name, name)
        s.metastore.create_table(view)
    return _ok()


# -- DROP -------------------------------------------------------------------------------------


def cmd_drop_text(s: "Session", text: str, second: str) -> "Result | None":
    if second in ("database", "schema"):
        m = re.match(r"(?is)\s*drop\s+(?:database|schema)\s+(if\s+exists\s+)?`?(\w+)`?\s*(cascade|restrict)?\s*$", text)
        if not m:
            raise errors.ParseException("cannot recognize input near 'drop' 'database'", 1, 0)
        return drop_database(s, m.group(2).lower(), bool(m.group(1)), (m.group(3) or "").lower() == "cascade")
    if re.match(r"(?is)\s*drop\s+(temporary\s+)?macro\b", text):
        from hiveish import macros

        return macros.drop_macro(s, text)
    if re.match(r"(?is)\s*drop\s+(temporary\s+)?function\b", text):
        from hiveish import macros

        return macros.drop_function(s, text)
    return None


def drop_database(s: "Session", name: str, if_exists: bool, cascade: bool) -> "Result":
    if name == "default":
        raise errors.SemanticException("Can not drop default database")
    with s.metastore.transaction():
        db = s.metastore.get_database(name)
        if db is None:
            if if_exists:
                return _ok()
            raise errors.DatabaseNotFound(name)
        tables = s.metastore.list_tables(name)
        if tables and not cascade:
            raise errors.ExecutionError(f"InvalidOperationException(message:Database {name} is not empty. One or more tables exist.)")
        managed_paths = []
        for t in tables:
            table = s.metastore.get_table(name, t)
            if table and table.table_type == MANAGED:
                managed_paths.append(table.sd.location)
            s.metastore.drop_table(name, t)
        s.metastore.drop_database(name)
        protected = s.catalog.protected()
        for p in managed_paths + [db.location]:  # journaled with the transaction
            s.catalog.trash(p, protected)
    if s.current_db == name:
        s.current_db = "default"
    return _ok()


def run_drop(s: "Session", tree: exp.Drop, text: str) -> "Result":
    kind = (tree.args.get("kind") or "").upper()
    if kind in ("DATABASE", "SCHEMA"):
        return drop_database(s, tree.this.name.lower() if tree.this else tree.name.lower(),
                             bool(tree.args.get("exists")), bool(tree.args.get("cascade")))
    if kind not in ("TABLE", "VIEW"):
        raise errors.NotSupportedError(f"DROP {kind} is not supported")
    tables = tree.args.get("tables") or [tree.this]
    to_delete = []
    with s.metastore.transaction():
        for target in tables:
            db = (target.db or s.current_db).lower()
            t = s.metastore.get_table(db, target.name)
            if t is None:
                if tree.args.get("exists") or s.settings.get_bool("hive.exec.drop.ignorenonexistent"):
                    continue
                raise errors.TableNotFound(target.name)
            if kind == "VIEW" and not t.is_view:
                raise errors.SemanticException("[Error 10131]: To drop a base table you need to use DROP TABLE instead of DROP VIEW")
            if kind == "TABLE" and t.is_view:
                raise errors.SemanticException("[Error 10132]: To drop a view you need to use DROP VIEW")
            if t.table_type == MANAGED:
                to_delete.append(t.sd.location)
                for p in s.metastore.list_partitions(t.db, t.name):
                    if p.sd.location and not p.sd.location.startswith(t.sd.location + "/"):
                        to_delete.append(p.sd.location)
            s.metastore.drop_table(t.db, t.name)
            s.temporary_tables = [e for e in s.temporary_tables if e[:2] != (t.db, t.name)]
        protected = s.catalog.protected() if to_delete else None
        for path in to_delete:  # journaled with the transaction: gone entirely or not at all
            s.catalog.trash(path, protected)
    return _ok()


# -- partitions --------------------------------------------------------------------------------


_PSPEC = re.compile(r"(?is)partition\s*\(" + SPEC_BODY + r"\)")


def parse_spec(text: str) -> list[tuple[str, str, str | None]]:
    """`k='v', k2 > 3` -> [(key, op, value)] (value None for a bare key)."""
    out = []
    for item in _split_commas(text):
        m = re.match(r"(?s)\s*(`[^`]+`|\w+)\s*(<=>|<>|!=|>=|<=|=|<|>)\s*(.+?)\s*$", item)
        if m:
            val = m.group(3)
            out.append((unquote(m.group(1)).lower(), m.group(2), unquote(val) if val[0] in "'\"" else val))
        elif item.strip():
            out.append((unquote(item.strip()).lower(), "", None))
    return out


def _split_commas(text: str) -> list[str]:
    out, buf, quote = [], [], None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return out


def normalize_value(s: "Session", key: Column, value: str) -> str:
    """Partition values are stored as text; typed keys are normalized (e.g. int '01' -> '1')."""
    t = parse_type(key.type)
    if t.is_integral:
        try:
            return str(int(value))
        except ValueError:
            return value
    return value


def full_spec(s: "Session", t: Table, spec: list[tuple[str, str, str | None]]) -> list[str]:
    values = {k: v for k, op, v in spec}
    if set(values) != {k.name.lower() for k in t.partition_keys} or any(v is None for v in values.values()):
        raise errors.SemanticException(f"[Error 10006]: Partition not found {spec_text(spec)}" if values else
                                       "partition spec is invalid")
    return [normalize_value(s, k, values[k.name.lower()]) for k in t.partition_keys]


def spec_text(spec) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, _, v in spec) + "}"


def matching_partitions(s: "Session", t: Table, spec: list[tuple[str, str, str | None]]) -> list[Partition]:
    """Partitions whose values satisfy every comparison (typed by the key's type)."""
    keys = {k.name.lower(): (i, parse_type(k.type)) for i, k in enumerate(t.partition_keys)}
    for k, _, _ in spec:
        if k not in keys:
            raise errors.SemanticException(f"[Error 10006]: Partition not found {spec_text(spec)}")
    out = []
    for p in s.metastore.list_partitions(t.db, t.name):
        ok = True
        for k, op, v in spec:
            i, typ = keys[k]
            a, b = p.values[i], v
            if typ.is_numeric:
                try:
                    a, b = float(a), float(b)
                except (TypeError, ValueError):
                    ok = False
                    break
            ok = {"=": a == b, "<=>": a == b, "<>": a != b, "!=": a != b, "<": a < b, ">": a > b,
                  "<=": a <= b, ">=": a >= b}.get(op or "=", False)
            if not ok:
                break
        if ok:
            out.append(p)
    return out


def add_partition(s: "Session", t: Table, values: list[str], location: str | None, if_not_exists: bool) -> None:
    name = partition_name([k.name for k in t.partition_keys], values)
    if s.metastore.get_partition(t.db, t.name, name) is not None:
        if if_not_exists:
            return
        raise errors.AlreadyExists(f"Partition already exists: {name}", code=10018)
    if t.is_view:  # a view's partitions are metadata only: no location, no files
        s.metastore.add_partition(t.db, t.name, name, Partition(values, t.sd.copy(), {}, int(time.time())))
        return
    loc = absolute_location(location) if location else s.catalog.partition_location(t, values)
    if location and t.table_type == MANAGED:  # dropped with the partition: it must hold nothing else
        s.catalog.check_managed_location(loc, f"partition {name} of table {t.db}.{t.name}")
    sd = t.sd.copy(location=loc)
    s.metastore.add_partition(t.db, t.name, name, Partition(values, sd, {}, int(time.time())))
    if not location:
        s.catalog.fs(loc).mkdirs(loc)


def cmd_alter(s: "Session", text: str, second: str) -> "Result":
    if second in ("database", "schema"):
        return alter_database(s, text)
    if second == "view":
        m = re.match(r"(?is)\s*alter\s+view\s+(" + TABLE_NAME + r")\s+as\s+(.*)$", text)
        if m:
            return create_view_text(s, f"CREATE OR REPLACE VIEW {m.group(1)} AS {m.group(2)}")
        m = re.match(r"(?is)\s*alter\s+view\s+(" + TABLE_NAME + r")\s+(.*)$", text)
        if not m:
            raise errors.ParseException("cannot recognize input near 'alter' 'view'", 1, 0)
        return alter_table(s, m.group(1), m.group(2))
    m = re.match(r"(?is)\s*alter\s+table\s+(" + TABLE_NAME + r")\s+(.*)$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'alter'", 1, 0)
    return alter_table(s, m.group(1), m.group(2))


def alter_database(s: "Session", text: str) -> "Result":
    m = re.match(r"(?is)\s*alter\s+(?:database|schema)\s+`?(\w+)`?\s+set\s+(dbproperties|owner|location)\s+(.*)$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'alter' 'database'", 1, 0)
    with s.metastore.transaction():
        db = s.metastore.get_database(m.group(1))
        if db is None:
            raise errors.DatabaseNotFound(m.group(1))
        what = m.group(2).lower()
        if what == "dbproperties":
            db.params.update(_props(m.group(3)))
        elif what == "owner":
            db.owner = m.group(3).split()[-1]
        else:
            db.location = absolute_location(unquote(m.group(3)))
        s.metastore.alter_database(db)
    return _ok()


def alter_table(s: "Session", name: str, rest: str) -> "Result":
    with s.metastore.transaction():
        t = get_table(s, name)
        _alter(s, t, rest.strip())
    return _ok()


def _alter(s: "Session", t: Table, rest: str) -> None:
    r = rest
    low = r.lower()
    if m := re.match(r"(?is)rename\s+to\s+(" + TABLE_NAME + r")$", r):
        new_db, new_name = split_name(s, m.group(1))
        if "." not in m.group(1):
            new_db = t.db
        if s.metastore.get_table(new_db, new_name) is not None:
            raise errors.AlreadyExists(f"Table {new_db}.{new_name} already exists", code=10073)
        old_db, old_name, old_loc = t.db, t.name, t.sd.location
        t.db, t.name = new_db, new_name
        moved = False
        old_home = s.metastore.get_database(old_db)
        # as Hive's HiveAlterHandler (HIVE-14909): only a managed table in its database's own directory
        # moves; a table created with a LOCATION of the user's keeps it, like an external table
        homes = {s.catalog.default_table_location(old_home, old_name).rstrip("/"),
                 f"{old_home.location.rstrip('/')}/{encode_table_name(old_name)}"} if old_home else set()
        if t.table_type == MANAGED and old_loc and old_loc.rstrip("/") in homes:
            db = s.metastore.get_database(new_db)
            new_loc = s.catalog.default_table_location(db, new_name)
            fs = s.catalog.fs(old_loc)
            if fs.exists(old_loc):
                if fs.exists(new_loc):
                    raise errors.ExecutionError(f"Unable to alter table. New location for this table "
                                                f"{new_db}.{new_name} already exists : {new_loc}")
                s.catalog.move(old_loc, new_loc)  # journaled: undone with the transaction
                moved = True
            t.sd.location = new_loc
        s.metastore.alter_table(t, old_db, old_name)
        if moved:
            for p in s.metastore.list_partitions(t.db, t.name):
                if p.sd.location.startswith(old_loc + "/"):
                    p.sd.location = t.sd.location + p.sd.location[len(old_loc):]
                    s.metastore.alter_partition(t.db, t.name, partition_name([k.name for k in t.partition_keys], p.values), p)
        return
    if m := re.match(r"(?is)partition\s+column\s*\(\s*(`[^`]+`|\w+)\s+(.+?)\s*\)\s*$", r):
        # ALTER TABLE t PARTITION COLUMN (key type): a partition key's type; stored values stay as they are
        key, typ = unquote(m.group(1)).lower(), _type_text(m.group(2))
        col = next((k for k in t.partition_keys if k.name.lower() == key), None)
        if col is None:
            raise errors.SemanticException(f"[Error 10002]: Invalid column reference {key}")
        col.type = typ
        s.metastore.alter_table(t)
        return
    if op := _column_change(r):
        change, cascade = op
        old_cols = [Column(c.name, c.type, c.comment) for c in t.columns]
        t.columns = change(t.columns)
        s.metastore.alter_table(t)
        if t.is_partitioned:
            _partition_schemas(s, t, old_cols, change if cascade else None)
        return
    if m := re.match(r"(?is)add\s+(if\s+not\s+exists\s+)?(.*)$", r):
        body = m.group(2)
        items = re.findall(r"(?is)partition\s*\(" + SPEC_BODY + r"\)\s*(?:location\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?", body)
        if not items:
            raise errors.ParseException("cannot recognize input near 'add'", 1, 0)
        for spec_s, loc in items:
            values = full_spec(s, t, parse_spec(spec_s))
            add_partition(s, t, values, unquote(loc) if loc else None, bool(m.group(1)))
        return
    if m := re.match(r"(?is)drop\s+(if\s+exists\s+)?(.*?)(\s+purge)?\s*$", r):
        specs = re.findall(r"(?is)partition\s*\(" + SPEC_BODY + r"\)", m.group(2))
        if not specs:
            raise errors.ParseException("cannot recognize input near 'drop'", 1, 0)
        dropped = []
        for spec_s in specs:
            parts = matching_partitions(s, t, parse_spec(spec_s))
            if not parts and not m.group(1):
                raise errors.SemanticException(f"[Error 10006]: Partition not found ({spec_s.strip()})")
            dropped.extend(parts)
        keys = [k.name for k in t.partition_keys]
        paths = []
        for p in dropped:
            pname = partition_name(keys, p.values)
            if s.metastore.get_partition(t.db, t.name, pname) is None:
                continue
            s.metastore.drop_partition(t.db, t.name, pname)
            if t.table_type == MANAGED:
                paths.append(p.sd.location)
        protected = s.catalog.protected() if paths else None
        for path in paths:  # journaled with the transaction: gone entirely or not at all
            s.catalog.trash(path, protected)
        return
    if m := re.match(r"(?is)partition\s*\(" + SPEC_BODY + r"\)\s+(.*)$", r):
        values = full_spec(s, t, parse_spec(m.group(1)))
        keys = [k.name for k in t.partition_keys]
        pname = partition_name(keys, values)
        p = s.metastore.get_partition(t.db, t.name, pname)
        if p is None:
            raise errors.SemanticException(f"[Error 10006]: Partition not found {pname}")
        sub = m.group(2).strip()
        if mm := re.match(r"(?is)rename\s+to\s+partition\s*\(" + SPEC_BODY + r"\)\s*$", sub):
            new_values = full_spec(s, t, parse_spec(mm.group(1)))
            new_name = partition_name(keys, new_values)
            if s.metastore.get_partition(t.db, t.name, new_name) is not None:
                raise errors.AlreadyExists(f"Partition already exists: {new_name}", code=10018)
            old_loc = p.sd.location
            p.values = new_values
            if t.table_type == MANAGED and old_loc == s.catalog.partition_location(t, values):
                new_loc = s.catalog.partition_location(t, new_values)
                fs = s.catalog.fs(old_loc)
                if fs.exists(old_loc):
                    if fs.exists(new_loc):  # never moved into (or over) a directory already there
                        raise errors.ExecutionError(f"Unable to alter partition. New location for this table "
                                                    f"{t.db}.{t.name} already exists : {new_loc}")
                    s.catalog.move(old_loc, new_loc)  # journaled: undone with the transaction
                p.sd.location = new_loc
            s.metastore.alter_partition(t.db, t.name, pname, p, new_name)
            return
        if mm := re.match(r"(?is)set\s+location\s+(.*)$", sub):
            p.sd.location = absolute_location(unquote(mm.group(1)))
            _stats_unknown(p.params)
            if t.table_type == MANAGED:
                s.catalog.check_managed_location(p.sd.location, f"partition {pname} of table {t.db}.{t.name}",
                                                 skip_partition=f"{pname} of table {t.db}.{t.name}")
        elif mm := re.match(r"(?is)set\s+fileformat\s+(\w+)$", sub):
            p.sd = _format_sd(mm.group(1), p.sd)
            check_table(p.sd, p.sd.cols if p.sd.cols is not None else [(c.name, c.type) for c in t.columns])
        elif mm := re.match(r"(?is)set\s+serdeproperties\s*\((.*)\)$", sub):
            p.sd.serde_params.update(_props(mm.group(1)))
        elif op := _column_change(sub):
            _alter_partition_columns(s, t, p, pname, op[0])
            return
        else:
            from hiveish import refusals

            refusals.check_alter(sub)
            raise errors.NotSupportedError(f"ALTER TABLE ... PARTITION {sub.split()[0]} is not supported")
        s.metastore.alter_partition(t.db, t.name, pname, p)
        return
    if m := re.match(r"(?is)set\s+tblproperties\s*\((.*)\)\s*$", r):
        from hiveish import refusals

        refusals.check_table_properties(_props(m.group(1)), t.qualified_name)
        was = t.table_type
        t.params.update(_props(m.group(1)))
        if t.params.get("EXTERNAL", "").upper() == "TRUE":
            t.table_type = EXTERNAL
        elif "EXTERNAL" in t.params and t.params["EXTERNAL"].upper() == "FALSE":
            t.table_type = MANAGED
        if t.table_type == MANAGED and was != MANAGED and t.sd.location:
            s.catalog.check_managed_location(t.sd.location, f"table {t.db}.{t.name}", skip_table=(t.db, t.name))
        s.metastore.alter_table(t)
        return
    if m := re.match(r"(?is)unset\s+tblproperties\s*(if\s+exists\s*)?\((.*)\)\s*$", r):
        for k in re.findall(r"'([^']*)'|\"([^\"]*)\"", m.group(2)):
            t.params.pop(k[0] or k[1], None)
        s.metastore.alter_table(t)
        return
    if m := re.match(r"(?is)set\s+location\s+(.*)$", r):
        t.sd.location = absolute_location(unquote(m.group(1)))
        _stats_unknown(t.params)
        if t.table_type == MANAGED:
            s.catalog.check_managed_location(t.sd.location, f"table {t.db}.{t.name}", skip_table=(t.db, t.name))
        s.metastore.alter_table(t)
        return
    if m := re.match(r"(?is)set\s+fileformat\s+(\w+)\s*$", r):
        t.sd = _format_sd(m.group(1), t.sd)
        check_table(t.sd, [(c.name, c.type) for c in t.columns])
        s.metastore.alter_table(t)
        return
    if m := re.match(r"(?is)set\s+serdeproperties\s*\((.*)\)\s*$", r):
        t.sd.serde_params.update(_props(m.group(1)))
        s.metastore.alter_table(t)
        return
    if m := re.match(r"(?is)set\s+serde\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")(?:\s+with\s+serdeproperties\s*\((.*)\))?\s*$", r):
        t.sd.serde = unquote(m.group(1))
        if m.group(2):
            t.sd.serde_params.update(_props(m.group(2)))
        check_table(t.sd, [(c.name, c.type) for c in t.columns])
        s.metastore.alter_table(t)
        return
    if bucketing := _bucketing(t, r):  # metadata only, as in Hive: files already written stay as they are
        t.sd.bucket_cols, t.sd.sort_cols, t.sd.num_buckets = bucketing
        s.metastore.alter_table(t)
        return
    if low.startswith("touch"):  # Hive: only the table's last DDL time and hooks; the row is rewritten here
        s.metastore.alter_table(t)
        return
    from hiveish import refusals

    refusals.check_alter(r)
    raise errors.NotSupportedError(f"ALTER TABLE {r.split()[0] if r else ''} is not supported")


_COLS = r"\(((?:[^()`]|`[^`]*`)*)\)"


def _bucketing(t: Table, r: str) -> tuple[list[str], list[tuple[str, int]], int] | None:
    """ALTER TABLE ... CLUSTERED BY (c) [SORTED BY (c [ASC|DESC])] INTO n BUCKETS | NOT CLUSTERED | NOT SORTED
    | INTO n BUCKETS: the table's new (bucket columns, sort columns, bucket count), or None."""
    sd = t.sd
    if re.fullmatch(r"(?is)not\s+clustered\s*", r):
        return [], [], -1
    if re.fullmatch(r"(?is)not\s+sorted\s*", r):
        return list(sd.bucket_cols), [], sd.num_buckets
    if m := re.fullmatch(r"(?is)into\s+(\d+)\s+buckets\s*", r):
        return list(sd.bucket_cols), list(sd.sort_cols), int(m.group(1))
    m = re.fullmatch(r"(?is)clustered\s+by\s*" + _COLS + r"\s*(?:sorted\s+by\s*" + _COLS + r"\s*)?into\s+(\d+)\s+buckets\s*", r)
    if not m:
        return None
    names = {c.name.lower(): c.name for c in t.columns}

    def column(text: str) -> str:
        name = unquote(text.strip())
        if name.lower() not in names:
            raise errors.SemanticException(f"[Error 10002]: Invalid column reference {name}")
        return names[name.lower()]

    buckets = [column(c) for c in _split_commas(m.group(1))]
    sorts = []
    for item in _split_commas(m.group(2)) if m.group(2) else []:
        sm = re.fullmatch(r"(?is)\s*(`[^`]*`|\w+)\s*(asc|desc)?\s*", item)
        if not sm:
            raise errors.ParseException(f"cannot recognize input near '{item.strip()}' in SORTED BY", 1, 0)
        sorts.append((column(sm.group(1)), 0 if (sm.group(2) or "").lower() == "desc" else 1))
    if int(m.group(3)) <= 0:
        raise errors.SemanticException("[Error 10229]: Bucket number should be bigger than zero")
    return buckets, sorts, int(m.group(3))


# -- column changes -------------------------------------------------------------------------------


def _type_text(text: str) -> str:
    try:
        return str(parse_type(text))
    except TypeParseError as e:
        raise errors.SemanticException(str(e)) from None


def _column_change(r: str):
    """ADD/REPLACE COLUMNS or CHANGE [COLUMN] as (a function over a column list, cascade?), or None."""
    if m := re.match(r"(?is)(add|replace)\s+columns\s*\((.*)\)\s*(cascade|restrict)?\s*$", r):
        import sqlglot

        from planner.dialect import HiveQL

        schema = sqlglot.parse_one(f"CREATE TABLE __x ({m.group(2)})", read=HiveQL).this
        new = _column_defs(schema)
        add = m.group(1).lower() == "add"

        def add_or_replace(cols: list[Column]) -> list[Column]:
            if not add:
                return [Column(c.name, c.type, c.comment) for c in new]
            existing = {c.name.lower() for c in cols}
            for c in new:
                if c.name.lower() in existing:
                    raise errors.SemanticException(f"[Error 10036]: Duplicate column name: {c.name}")
            return cols + [Column(c.name, c.type, c.comment) for c in new]

        return add_or_replace, (m.group(3) or "").lower() == "cascade"
    m = re.match(r"(?is)change\s+(?:column\s+)?(`[^`]+`|\w+)\s+(`[^`]+`|\w+)\s+(.+?)"
                 r"(?:\s+comment\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?"
                 r"(\s+first|\s+after\s+(?:`[^`]+`|\w+))?\s*(cascade|restrict)?\s*$", r)
    if not m:
        return None
    old, new_name, typ = unquote(m.group(1)).lower(), unquote(m.group(2)), _type_text(m.group(3))
    comment = unquote(m.group(4)) if m.group(4) else None
    pos = (m.group(5) or "").strip()

    def change(cols: list[Column]) -> list[Column]:
        cols = [Column(c.name, c.type, c.comment) for c in cols]
        idx = next((i for i, c in enumerate(cols) if c.name.lower() == old), None)
        if idx is None:
            raise errors.SemanticException(f"[Error 10002]: Invalid column reference {old}")
        col = cols.pop(idx)
        col.name, col.type = new_name, typ
        if comment is not None:
            col.comment = comment
        if pos.lower() == "first":
            cols.insert(0, col)
        elif pos.lower().startswith("after"):
            after = unquote(pos.split(None, 1)[1].strip()).lower()
            j = next((i for i, c in enumerate(cols) if c.name.lower() == after), len(cols) - 1)
            cols.insert(j + 1, col)
        else:
            cols.insert(idx, col)
        return cols

    return change, (m.group(6) or "").lower() == "cascade"


def _partition_schemas(s: "Session", t: Table, old_cols: list[Column], cascade) -> None:
    """After a table's columns changed: without CASCADE every partition keeps the schema it had
    (its data stays read as written); with CASCADE the same change applies to each partition's."""
    keys = [k.name for k in t.partition_keys]
    now = [(c.name, c.type) for c in t.columns]
    for p in s.metastore.list_partitions(t.db, t.name):
        before = [Column(n, ty) for n, ty in p.sd.cols] if p.sd.cols is not None else old_cols
        if cascade is not None:
            after = [(c.name, c.type) for c in cascade(before)]
        else:
            after = [(c.name, c.type) for c in before]
        cols = None if after == now else after
        if cols != p.sd.cols:
            p.sd.cols = cols
            s.metastore.alter_partition(t.db, t.name, partition_name(keys, p.values), p)


def _alter_partition_columns(s: "Session", t: Table, p: Partition, pname: str, change) -> None:
    """ALTER TABLE t PARTITION (...) ADD/REPLACE/CHANGE COLUMNS: that partition's schema only."""
    before = [Column(n, ty) for n, ty in p.sd.cols] if p.sd.cols is not None else t.columns
    after = [(c.name, c.type) for c in change(before)]
    p.sd.cols = None if after == [(c.name, c.type) for c in t.columns] else after
    s.metastore.alter_partition(t.db, t.name, pname, p)


def _format_sd(name: str, sd: StorageDescriptor) -> StorageDescriptor:
    new = apply_storage_clauses(sd, name)
    if new.format in ("textfile", "sequencefile"):  # lines of the same SerDe layout: delimiters kept
        new.serde_params = dict(sd.serde_params)
    return new


# -- TRUNCATE / MSCK ----------------------------------------------------------------------------------


def _stats_unknown(params: dict[str, str]) -> None:
    """Another location: the statistics describe files no longer read (see hiveish/stats.py)."""
    from hiveish import stats

    stats.mark_unknown(params)


def cmd_truncate(s: "Session", text: str, _second: str) -> "Result":
    m = re.match(r"(?is)\s*truncate\s+table\s+(" + TABLE_NAME + r")\s*(partition\s*\((.*)\))?\s*$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'truncate'", 1, 0)
    with s.metastore.transaction():
        t = get_table(s, m.group(1))
        if t.table_type != MANAGED:
            raise errors.SemanticException(f"[Error 10146]: Cannot truncate non-managed table {t.name}.")
        if m.group(2):
            parts = matching_partitions(s, t, parse_spec(m.group(3)))
        elif t.is_partitioned:
            parts = s.metastore.list_partitions(t.db, t.name)
        else:
            parts = None
        locations = [p.sd.location for p in parts] if parts is not None else [t.sd.location]
        protected = s.catalog.protected()
        for loc in locations:  # journaled with the transaction: all files go, or none
            fs = s.catalog.fs(loc)
            if fs.exists(loc):
                for child in fs.list(loc):
                    if not is_hidden(child.path):  # only visible entries go, as INSERT OVERWRITE replaces
                        s.catalog.trash(child.path, protected)
        from hiveish import stats

        stats.after_truncate(s, t, parts)
    return _ok()


def cmd_msck(s: "Session", text: str, _second: str) -> "Result":
    from hiveish.session import Result

    m = re.match(r"(?is)\s*msck\s+(repair\s+)?table\s+(" + TABLE_NAME + r")(?:\s+(add|drop|sync)\s+partitions)?\s*$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'msck'", 1, 0)
    repair = bool(m.group(1))
    mode = (m.group(3) or "add").lower()
    with s.metastore.transaction():
        t = get_table(s, m.group(2))
        if not t.is_partitioned:
            return Result()
        keys = [k.name.lower() for k in t.partition_keys]
        found = _scan_partition_dirs(s, t.sd.location, keys)
        known = {partition_name([k.name for k in t.partition_keys], p.values): p
                 for p in s.metastore.list_partitions(t.db, t.name)}
        missing = [n for n in found if n not in known]
        extra = [n for n in known if not s.catalog.fs(known[n].sd.location).exists(known[n].sd.location)]
        lines = []
        if missing and mode in ("add", "sync"):
            lines.append("Partitions not in metastore:\t" + "\t".join(f"{t.name}:{n}" for n in missing))
        if extra and mode in ("drop", "sync"):
            lines.append("Partitions missing from filesystem:\t" + "\t".join(f"{t.name}:{n}" for n in extra))
        if repair:
            for n in missing if mode in ("add", "sync") else []:
                values = [v for _, v in parse_partition_name(n)]
                add_partition(s, t, values, f"{t.sd.location}/{n}", True)
                lines.append(f"Repair: Added partition to metastore {t.name}:{n}")
            for n in extra if mode in ("drop", "sync") else []:
                s.metastore.drop_partition(t.db, t.name, n)
                lines.append(f"Repair: Dropped partition from metastore {t.name}:{n}")
    return Result.rows(["result"], [(line,) for line in lines]) if lines else Result()


def _scan_partition_dirs(s: "Session", root: str, keys: list[str]) -> list[str]:
    fs = s.catalog.fs(root)
    found: list[str] = []

    def walk(path: str, depth: int, prefix: list[str]) -> None:
        if depth == len(keys):
            found.append("/".join(prefix))
            return
        try:
            children = fs.list(path)
        except FileNotFoundError:
            return
        for c in children:
            base = c.path.rstrip("/").rsplit("/", 1)[-1]
            if c.is_dir and "=" in base:
                k = base.split("=", 1)[0]
                if k.lower() == keys[depth]:
                    walk(c.path, depth + 1, prefix + [base])

    walk(root, 0, [])
    # normalize to our canonical escaping
    out = []
    for n in found:
        pairs = parse_partition_name(n)
        out.append(partition_name([k for k, _ in pairs], [v for _, v in pairs]))
    return sorted(out)


__all__ = ["cmd_alter", "cmd_create_text", "cmd_drop_text", "cmd_msck", "cmd_truncate", "run_create", "run_drop",
           "JSON_SERDE"]
