"""Writing data: INSERT (static/dynamic partitions, multi-insert, DIRECTORY), CTAS, LOAD DATA.

Every write stages its files in a hidden directory and commits by rename after
the whole statement succeeded; the metastore changes of the statement are one
transaction. A failed statement leaves the old data and partitions in place.
"""

from __future__ import annotations

import getpass
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from catalog.catalog import absolute_location, is_hidden
from catalog.formats.clauses import check_table
from catalog.formats.registry import format_named, writer_settings
from catalog.formats.writers import write_file
from catalog.fs import scheme_of
from catalog.journal import kill_point
from catalog.model import Partition, StorageDescriptor, Table
from catalog.paths import partition_name
from catalog.types import parse_type
from hiveish import errors, stats
from hiveish.ddl import (
    TABLE_NAME,
    _ok,
    full_spec,
    get_table,
    normalize_value,
    parse_spec,
    storage_from_properties,
    unquote,
)
from planner.translate import hive_cast_sql

if TYPE_CHECKING:
    from hiveish.session import Result, Session


@dataclass
class Target:
    """One directory receiving files: a table, a partition, or a plain directory."""

    location: str
    sd: StorageDescriptor
    partition_values: list[str] | None = None
    staged: list[str] = field(default_factory=list)
    rows: int = 0  # rows staged for it (statistics)


@dataclass
class PendingWrite:
    table: Table | None
    overwrite: bool
    staging: str
    targets: dict[str, Target] = field(default_factory=dict)
    rows: int = 0
    # static partition spec that OVERWRITE replaces even when no rows arrive
    static_values: list[str] | None = None
    # set when a failed commit could not be undone: the staging directory holds the old files
    keep_staging: bool = False
    # INSERT OVERWRITE DIRECTORY: the directory's storage (there is no table)
    directory_sd: StorageDescriptor | None = None
    rows_known: bool = True  # False for LOAD: the files are moved unread


def _staging_dir(base: str) -> str:
    return f"{base.rstrip('/')}/.hive-staging_hiveish_{uuid.uuid4().hex[:12]}"


def _next_name(existing: set[str], base: str = "000000_0", ext: str = "") -> str:
    name = base + ext
    i = 1
    while name in existing:
        name = f"{base}_copy_{i}{ext}"
        i += 1
    return name


def _output_name(existing: set[str], staged: str) -> str:
    """INSERT names files as Hive does: 000000_0, then 000000_0_copy_1, ... (with the codec's extension)."""
    base = staged.rsplit("/", 1)[-1]
    return _next_name(existing, ext=base[base.index("."):] if "." in base else "")


def _extension(target: "Target", options: dict[str, str]) -> str:
    return format_named(target.sd.format).file_extension(options)


def _loaded_name(existing: set[str], staged: str) -> str:
    """LOAD keeps the file's own name (staged as `<n>_<name>`), adding _copy_N on a collision."""
    name = staged.rsplit("/", 1)[-1].split("_", 1)[1]
    stem, dot, suffix = name.partition(".")
    candidate, i = name, 1
    while candidate in existing:
        candidate = f"{stem}_copy_{i}{dot}{suffix}"
        i += 1
    return candidate


def dynamic_value(v, typ: str, default_name: str) -> str:
    from hiveish.formatting import format_value

    if v is None:
        return default_name
    s = format_value(v, parse_type(typ))
    return s if s != "" else default_name


# -- staging ----------------------------------------------------------------------------------


def stage_result(s: "Session", pending: PendingWrite, result_batches, schema: pa.Schema, data_types: list[str],
                 dyn_keys: list[tuple[str, str]], static_values: list[str] | None) -> None:
    """Write the query's batches into staged files, split by dynamic partition values."""
    table = pending.table
    options = {"parquet.compression": s.settings.get("parquet.compression") or "SNAPPY",
               "orc.compress": s.settings.get("orc.compress") or "ZLIB"}
    if table is not None:
        options.update({k: v for k, v in table.params.items() if k in ("parquet.compression", "orc.compress")})
    options.update({k: v for k in writer_settings() if (v := s.settings.get(k)) is not None})
    ndata = len(data_types)
    data_schema = pa.schema(list(schema)[:ndata])
    if not dyn_keys:
        target = _target_for(s, pending, static_values)
        fs = s.catalog.fs(pending.staging)
        staged = f"{pending.staging}/{len(pending.targets)}_{len(target.staged)}{_extension(target, options)}"
        _make_staging(s, pending)

        def data_batches():
            for b in result_batches:
                yield pa.RecordBatch.from_arrays(b.columns[:ndata], schema=data_schema)

        n = write_file(fs, staged, target.sd.format, target.sd.serde, target.sd.serde_params,
                       data_schema, data_types, data_batches(), options)
        pending.rows += n
        target.rows += n
        target.staged.append(staged)
        kill_point("staged")
        return
    # dynamic partitions: group rows by the partition column values
    default_name = s.settings.get("hive.exec.default.partition.name") or "__HIVE_DEFAULT_PARTITION__"
    table_rows = pa.Table.from_batches(list(result_batches), schema=schema)
    key_cols = [table_rows.column(ndata + i) for i in range(len(dyn_keys))]
    key_strings = [[dynamic_value(v, typ, default_name) for v in col.to_pylist()] for col, (_, typ) in zip(key_cols, dyn_keys)]
    combos = list(zip(*key_strings)) if key_strings else []
    groups: dict[tuple, list[int]] = {}
    for i, combo in enumerate(combos):
        groups.setdefault(combo, []).append(i)
    limit = s.settings.get_int("hive.exec.max.dynamic.partitions", 1000)
    if len(groups) > limit:
        raise errors.ExecutionError(f"Number of dynamic partitions created is {len(groups)}, which is more than {limit}")
    data = table_rows.select(list(range(ndata)))
    fs = s.catalog.fs(pending.staging)
    _make_staging(s, pending)
    for combo, idx in groups.items():
        values = list(static_values or []) + list(combo)
        target = _target_for(s, pending, values)
        part = data.take(pa.array(idx))
        staged = f"{pending.staging}/{len(pending.targets)}_{len(target.staged)}{_extension(target, options)}"
        n = write_file(fs, staged, target.sd.format, target.sd.serde, target.sd.serde_params,
                       data_schema, data_types, part.to_batches(), options)
        pending.rows += n
        target.rows += n
        target.staged.append(staged)
        kill_point("staged")


def _target_for(s: "Session", pending: PendingWrite, values: list[str] | None) -> Target:
    table = pending.table
    if table is None or not table.is_partitioned:
        key = ""
        if key not in pending.targets:
            sd = table.sd if table is not None else pending.directory_sd
            assert sd is not None, "a write without a table needs its directory's storage"
            pending.targets[key] = Target(sd.location, sd)
        return pending.targets[key]
    name = partition_name([k.name for k in table.partition_keys], values or [])
    if name not in pending.targets:
        existing = s.metastore.get_partition(table.db, table.name, name)
        if existing is not None:
            pending.targets[name] = Target(existing.sd.location, existing.sd, list(values or []))
        else:
            loc = s.catalog.partition_location(table, list(values or []))
            pending.targets[name] = Target(loc, table.sd.copy(location=loc), list(values or []))
    return pending.targets[name]


# -- commit -----------------------------------------------------------------------------------------


def commit(s: "Session", pendings: list[PendingWrite], file_name=_output_name) -> None:
    """Move staged files into place and record new partitions, all or nothing.

    Every rename goes through the commit journal of the statement's metastore transaction
    (catalog/journal.py): a failure, or a crash before COMMIT, renames everything back; after
    COMMIT only the staging directories (holding the replaced files) remain to delete.
    `file_name(existing names, staged path)` names each file in its target directory.
    """
    protected = None  # what an overwrite must not replace, read once the first time it is needed
    try:
        with s.metastore.transaction():
            for pw in pendings:
                table = pw.table
                s.catalog.delete_after_commit(pw.staging)
                if pw.overwrite and table is not None and table.is_partitioned and pw.static_values is not None \
                        and len(pw.static_values) == len(table.partition_keys):
                    _target_for(s, pw, pw.static_values)
                for i, (name, target) in enumerate(pw.targets.items()):
                    fs = s.catalog.fs(target.location)
                    fs.mkdirs(target.location)
                    if pw.overwrite:
                        old_dir = f"{pw.staging}/.old_{i}"
                        fs.mkdirs(old_dir)
                        for child in fs.list(target.location):
                            base = child.path.rsplit("/", 1)[-1]
                            if child.path.rstrip("/") == pw.staging.rstrip("/") or is_hidden(base):
                                continue  # as Hive's replaceFiles: only visible entries are replaced
                            protected = protected or s.catalog.protected()
                            s.catalog.check_delete(child.path, protected, "overwrite")
                            s.catalog.move(child.path, f"{old_dir}/{base}")
                    added = [(p, s.catalog.fs(p).status(p).size) for p in target.staged] if table is not None else []
                    existing = {c.path.rsplit("/", 1)[-1] for c in fs.list(target.location)}
                    for staged in target.staged:
                        fname = file_name(existing, staged)
                        existing.add(fname)
                        s.catalog.move(staged, f"{target.location}/{fname}")
                    if table is not None and table.is_partitioned and target.partition_values is not None:
                        if s.metastore.get_partition(table.db, table.name, name) is None:
                            s.metastore.add_partition(table.db, table.name, name,
                                                      Partition(target.partition_values, target.sd, {}, int(time.time())))
                    if table is not None:
                        stats.after_write(s, table, name if table.is_partitioned else None, target.location,
                                          pw.overwrite, target.rows if pw.rows_known else None, added)
    except BaseException:
        if s.metastore.journal.stranded:
            # a remote store refused the undo: the staging directories hold the table's previous
            # files, and the journal kept for the next session start names them
            for pw in pendings:
                pw.keep_staging = True
        raise


def discard(s: "Session", pendings: list[PendingWrite]) -> None:
    """Remove the staging directories; inside an open transaction, when it ends (its undo may need them)."""
    for pw in pendings:
        if pw.keep_staging:
            continue
        if s.metastore.in_transaction:
            s.catalog.delete_after_commit(pw.staging)
            continue
        s.metastore.journal.abandon(pw.staging)  # or left to the next write / session if the store is down


def _make_staging(s: "Session", pw: PendingWrite) -> None:
    """Create the staging directory, registered first so a later session removes it if this one dies."""
    s.catalog.begin_staging(pw.staging)


# -- INSERT -------------------------------------------------------------------------------------------


def _values_as_text(values: exp.Values) -> exp.Values:
    """Hive 2 inserts VALUES through a temporary table of STRING columns: a number is its written
    text, converted to the column's type as a string is (`300` into a TINYINT is NULL, not 44)."""
    for row in values.expressions:
        for i, v in enumerate(row.expressions):
            neg = isinstance(v, exp.Neg)
            lit = v.this if neg else v
            if isinstance(lit, exp.Literal) and not lit.is_string:
                row.expressions[i] = exp.Literal.string(("-" if neg else "") + lit.this)
    return values


def _insert_query(ins: exp.Insert, source: exp.Expression | None, with_: exp.With | None) -> exp.Expression:
    """The query feeding one INSERT: VALUES as a SELECT; multi-insert branches get the shared FROM."""
    q = ins.expression
    if isinstance(q, exp.Values):
        q = _values_as_text(q.copy())
        q = exp.select("*").from_(q.copy() if q.alias else exp.Subquery(this=q.copy(), alias=exp.TableAlias(this=exp.to_identifier("__values"))))
    if source is not None and isinstance(q, exp.Select) and q.args.get("from_") is None:
        q = q.copy()
        src = source.copy()
        joins = src.args.pop("joins", None) if isinstance(src, exp.Table) else None
        q.set("from_", exp.From(this=src))
        if joins:
            q.set("joins", list(joins) + list(q.args.get("joins") or []))
        laterals = src.args.pop("laterals", None) if isinstance(src, exp.Table) else None
        if laterals:
            q.set("laterals", list(laterals))
    if with_ is not None and isinstance(q, exp.Query) and q.args.get("with_") is None:
        q = q.copy()
        q.set("with_", with_.copy())
    return q


def run_insert(s: "Session", tree: exp.Expression, text: str) -> "Result":
    from hiveish.session import Result

    if isinstance(tree, exp.MultitableInserts):
        inserts = list(tree.expressions)
        source = tree.args.get("source")
    else:
        inserts = [tree]
        source = None
    # a leading WITH on the statement applies to its query
    pendings: list[PendingWrite] = []
    shared = None
    if isinstance(tree, exp.MultitableInserts):
        from hiveish import multi_insert

        # under MapReduce one job reads the source once for every branch (None: branch by branch)
        plan = multi_insert.plan_shared(s, tree, text, _insert_query)
        shared = multi_insert.SharedRun(s, plan) if plan is not None else None
    try:
        if shared is not None:
            shared.start()
            for ins, q, plan in zip(inserts, shared.shared.queries, shared.shared.plans):
                pendings.append(_stage_insert(s, ins, q, text, plan=plan, run=shared.run_plan))
        else:
            for ins in inserts:
                q = _insert_query(ins, source, tree.args.get("with_"))
                pendings.append(_stage_insert(s, ins, q, text))
        commit(s, pendings)
    except BaseException:
        discard(s, pendings)
        raise
    finally:
        if shared is not None:
            shared.close()
    total = sum(p.rows for p in pendings)
    return Result(rowcount=total, status=f"{total} row(s) affected")


def _directory_target(s: "Session", ins: exp.Insert) -> PendingWrite:
    d = ins.this
    path = _lit_str(d.this)
    local = bool(d.args.get("local"))
    path = absolute_location(path) if local else default_fs_path(s, path)
    props = d.args.get("row_format")
    sd = StorageDescriptor.for_format("textfile", path)
    plist = [props] if props is not None else []
    for p in (ins.args.get("properties").expressions if ins.args.get("properties") else []):
        plist.append(p)
    sd, _, _ = storage_from_properties(s, plist, sd, {})
    sd.location = path
    # its visible entries are replaced: it must not be or hold the warehouse, the metastore, a table
    s.catalog.check_delete(path, action="overwrite directory")
    return PendingWrite(table=None, overwrite=True, staging=_staging_dir(_parent(path)), directory_sd=sd)


def default_fs_path(s: "Session", path: str) -> str:
    """A non-LOCAL path as Hive resolves it: against the default filesystem, here the warehouse's.

    With the warehouse on HDFS, `/data/x` means `hdfs://<warehouse namenode>/data/x` and a
    relative `x` means `.../user/<user>/x`; with a local warehouse bare paths stay local.
    """
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", path):  # has a scheme
        return absolute_location(path)
    wh = s.catalog.warehouse
    scheme = scheme_of(wh)
    if scheme == "file":
        return absolute_location(path)
    if not path.startswith("/"):
        user = (s.catalog.fs_options.get("hiveish.hdfs.user") or os.environ.get("HADOOP_USER_NAME")
                or getpass.getuser())
        path = f"/user/{user}/{path}"
    clean = "/" + "/".join(p for p in path.split("/") if p and p != ".")
    return absolute_location(f"{scheme}://{urlsplit(wh).netloc}{clean}")


def _parent(path: str) -> str:
    """The directory holding `path` (a URI keeps its scheme and authority)."""
    head, sep, rest = path.rstrip("/").partition("://")
    if not sep:
        return os.path.dirname(path.rstrip("/")) or "/"
    auth, _, p = rest.partition("/")
    parent = ("/" + p).rsplit("/", 1)[0]
    return f"{head}://{auth}{parent or '/'}"


def _lit_str(e) -> str:
    return e.this if isinstance(e, exp.Literal) else e.name


def _stage_insert(s: "Session", ins: exp.Insert, query: exp.Expression, text: str, plan=None,
                  run: Callable | None = None) -> PendingWrite:
    """Run one INSERT's query into staged files; `plan`/`run` replace `s.plan`/`s.run_plan` (a shared scan)."""
    run_plan = run or s.run_plan
    target = ins.this
    if isinstance(target, exp.Directory):
        pw = _directory_target(s, ins)
        plan = plan if plan is not None else s.plan(query, text)
        running = run_plan(plan)
        types = [str(_hive_type_from_arrow(f.type)) for f in running.schema]
        _staged_or_discarded(s, pw, lambda: stage_result(s, pw, running.batches(), running.schema, types, [], None))
        return pw
    columns_spec: list[str] | None = None
    if isinstance(target, exp.Schema):
        columns_spec = [c.name.lower() for c in target.expressions]
        target = target.this
    table = get_table(s, target.sql("hive").split(" ")[0] if target.db else target.name)
    if table.is_view:
        raise errors.SemanticException("[Error 10090]: A view cannot be used as target table for LOAD or INSERT")
    spec_node = target.args.get("partition")
    static: dict[str, str] = {}
    dynamic: list[str] = []
    if spec_node is not None:
        for e in spec_node.expressions:
            if isinstance(e, exp.EQ):
                v = e.expression
                static[e.this.name.lower()] = v.this if isinstance(v, exp.Literal) else v.sql("hive")
            else:
                dynamic.append(e.name.lower())
    keys = table.partition_keys
    if table.is_partitioned:
        if spec_node is None:
            dynamic = [k.name.lower() for k in keys]
        if dynamic and not s.settings.get_bool("hive.exec.dynamic.partition"):
            raise errors.SemanticException("[Error 10094]: Dynamic partition is disabled. Either enable it by setting hive.exec.dynamic.partition=true or specify partition column values")
        if dynamic and not static and s.settings.get("hive.exec.dynamic.partition.mode") == "strict" and spec_node is not None:
            raise errors.SemanticException("[Error 10096]: Dynamic partition strict mode requires at least one static partition column. To turn this off set hive.exec.dynamic.partition.mode=nonstrict")
        order = [k.name.lower() for k in keys]
        seen_dynamic = False
        for k in order:
            if k in static and seen_dynamic:
                raise errors.SemanticException("[Error 10125]: Partition columns in partition specification are not the same as that defined in the table schema. The names and orders have to be exactly the same.")
            if k not in static:
                seen_dynamic = True
        static_values = [normalize_value(s, k, static[k.name.lower()]) for k in keys if k.name.lower() in static]
        dyn_keys = [(k.name, k.type) for k in keys if k.name.lower() not in static]
    else:
        if spec_node is not None:
            raise errors.SemanticException(f"Table {table.name} is not partitioned but partition spec exists")
        static_values, dyn_keys = None, []
    data_cols = table.columns
    target_types = [c.type for c in data_cols] + [t for _, t in dyn_keys]
    plan = plan if plan is not None else s.plan(query, text)
    src_types = s.executor.describe(plan)
    expected = len(data_cols) + len(dyn_keys)
    if columns_spec is not None:
        # INSERT INTO t (c1, c3): other columns get NULL
        if len(src_types) != len(columns_spec):
            raise errors.SemanticException(f"[Error 10044]: Line 1:0 Cannot insert into target table because column number/types are different '{table.name}': Table insclause-0 has {len(columns_spec)} columns, but query has {len(src_types)} columns.")
        positions = {c: i for i, c in enumerate(columns_spec)}
        exprs = []
        for c, typ in zip([c.name.lower() for c in data_cols] + [k.lower() for k, _ in dyn_keys], target_types):
            i = positions.get(c)
            exprs.append(hive_cast_sql(f'"c{i}"', src_types[i], typ) if i is not None else
                         f"CAST(NULL AS {parse_type(typ).to_duckdb()})")
    else:
        if len(src_types) != expected:
            raise errors.SemanticException(
                f"[Error 10044]: Line 1:0 Cannot insert into target table because column number/types are different "
                f"'{table.name}': Table insclause-0 has {expected} columns, but query has {len(src_types)} columns.")
        exprs = [hive_cast_sql(f'"c{i}"', st, tt) for i, (st, tt) in enumerate(zip(src_types, target_types))]
    aliases = ", ".join(f'"c{i}"' for i in range(len(src_types)))
    out_names = [c.name for c in data_cols] + [k for k, _ in dyn_keys]
    selects = ", ".join(f'{e} AS "{n}"' for e, n in zip(exprs, out_names))
    pw = PendingWrite(table=table, overwrite=bool(ins.args.get("overwrite")), staging=_staging_dir(table.sd.location),
                      static_values=static_values)
    running = run_plan(plan, lambda query: f"SELECT {selects} FROM ({query}) AS __q({aliases})")
    _staged_or_discarded(s, pw, lambda: stage_result(s, pw, running.batches(), running.schema,
                                                     [c.type for c in data_cols], dyn_keys, static_values))
    return pw


def _staged_or_discarded(s: "Session", pw: PendingWrite, stage) -> None:
    """Run `stage`; if writing the staged files fails (a store refusing writes), remove what was staged."""
    try:
        stage()
    except BaseException:
        discard(s, [pw])
        raise


def _hive_type_from_arrow(t: pa.DataType):
    from catalog.types import from_arrow

    return from_arrow(t)


# -- CTAS -------------------------------------------------------------------------------------------------


def create_table_as(s: "Session", table: Table, query: exp.Expression, text: str) -> "Result":
    from catalog.model import Column
    from hiveish.session import Result

    if table.is_partitioned:
        raise errors.SemanticException("[Error 10068]: CREATE-TABLE-AS-SELECT does not support partitioning in the target table")
    plan = s.plan(query, text)
    running = s.run_plan(plan)
    names = plan.column_names if len(plan.column_names) == len(running.schema) else running.schema.names
    known = plan.column_types if len(plan.column_types) == len(running.schema) else [None] * len(running.schema)
    table.columns = [Column(n if n else f"_c{i}", k or str(_hive_type_from_arrow(f.type)))
                     for i, (n, f, k) in enumerate(zip(names, running.schema, known))]
    target_schema = pa.schema([pa.field(c.name, parse_type(c.type).to_arrow()) for c in table.columns])
    pw = PendingWrite(table=table, overwrite=True, staging=_staging_dir(table.sd.location))

    def batches():
        for b in running.batches():
            yield pa.RecordBatch.from_arrays([_conform(col, f.type) for col, f in zip(b.columns, target_schema)],
                                             schema=target_schema)

    check_table(table.sd, [(c.name, c.type) for c in table.columns])
    try:
        stage_result(s, pw, batches(), target_schema, [c.type for c in table.columns], [], None)
        with s.metastore.transaction():
            if s.metastore.get_table(table.db, table.name) is not None:  # created meanwhile by another session
                raise errors.AlreadyExists(f"Table {table.db}.{table.name} already exists", code=10073)
            s.metastore.create_table(table)
            commit(s, [pw])
    except BaseException:
        discard(s, [pw])
        raise
    return Result(rowcount=pw.rows, status=f"{pw.rows} row(s) affected")


def _conform(col: pa.Array, typ: pa.DataType) -> pa.Array:
    if col.type == typ:
        return col
    try:
        return pc.cast(col, typ)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return col


# -- LOAD DATA ---------------------------------------------------------------------------------------------


_LOAD = re.compile(r"(?is)\s*load\s+data\s+(local\s+)?inpath\s+('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s+"
                   r"(overwrite\s+)?into\s+table\s+(" + TABLE_NAME + r")\s*(?:partition\s*\((.*)\))?\s*"
                   r"(?:inputformat\s+.*)?$")


def cmd_load(s: "Session", text: str, _second: str) -> "Result":
    m = _LOAD.match(text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'load' 'data'", 1, 0)
    local = bool(m.group(1))
    path = unquote(m.group(2))
    overwrite = bool(m.group(3))
    table = get_table(s, m.group(4))
    if table.is_view:
        raise errors.SemanticException("[Error 10090]: A view cannot be used as target table for LOAD or INSERT")
    if local:
        path = os.path.abspath(os.path.expanduser(path[7:] if path.startswith("file://") else path))
    else:
        path = default_fs_path(s, path)
    src_fs = s.catalog.fs(path)
    if not src_fs.exists(path):
        raise errors.SemanticException(f"[Error 10027]: Line 1:{m.start(2)} Invalid path {m.group(2)}: No files matching path {path}")
    files = [st.path for st in src_fs.walk_files(path) if not is_hidden(st.path.rsplit("/", 1)[-1])] \
        if src_fs.is_dir(path) else [path]
    values = None
    if table.is_partitioned:
        if not m.group(5):
            raise errors.SemanticException("[Error 10062]: Need to specify partition columns because the destination table is partitioned")
        values = full_spec(s, table, parse_spec(m.group(5)))
    elif m.group(5):
        raise errors.SemanticException(f"Table {table.name} is not partitioned but partition spec exists")
    pw = PendingWrite(table=table, overwrite=overwrite, staging=_staging_dir(table.sd.location), static_values=values,
                      rows_known=False)
    target = _target_for(s, pw, values)
    fs = s.catalog.fs(pw.staging)
    _make_staging(s, pw)
    renames: list[tuple[str, str]] = []  # (source, staged) within one filesystem, done in the commit
    copied: list[str] = []  # sources copied from another filesystem, removed once committed
    try:
        for i, f in enumerate(files):
            staged = f"{pw.staging}/{i}_{f.rsplit('/', 1)[-1]}"
            if local:
                fs.copy_from_local(f, staged)
            elif src_fs is fs:  # LOAD DATA INPATH moves within one filesystem by rename
                renames.append((f, staged))
            else:  # across filesystems (local <-> HDFS, another namenode): copy, then delete after commit
                _copy_across(src_fs, f, fs, staged)
                copied.append(f)
            target.staged.append(staged)
        # the user's files move in the same journaled transaction: a failure or crash gives them back
        with s.metastore.transaction():
            for f, staged in renames:
                s.catalog.move(f, staged)
            commit(s, [pw], file_name=_loaded_name)
    except BaseException:
        discard(s, [pw])
        raise
    for f in copied:
        try:
            src_fs.delete(f)
        except OSError:
            pass
    return _ok()


def _copy_across(src_fs, src: str, dst_fs, dst: str) -> None:
    """Copy one file between filesystems in bounded memory."""
    dst_local = dst_fs.local_path(dst)
    src_local = src_fs.local_path(src)
    if dst_local is not None:
        os.makedirs(os.path.dirname(dst_local) or ".", exist_ok=True)
        src_fs.copy_to_local(src, dst_local)
    elif src_local is not None:
        dst_fs.copy_from_local(src_local, dst)
    else:
        with src_fs.open_read(src) as r, dst_fs.open_write(dst) as w:
            while chunk := r.read(8 << 20):
                w.write(chunk)
