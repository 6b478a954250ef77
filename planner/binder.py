"""Binding a HiveQL query against the catalog into a `QueryPlan`.

Resolves tables and views, prunes columns and partitions before any file is
opened, and hands the tree to `translate` for Hive's semantics over DuckDB.
"""

from __future__ import annotations

import re
from typing import Callable, Protocol

from sqlglot import exp

from catalog.formats.text import sql_str
from catalog.model import Table
from catalog.paths import DEFAULT_PARTITION_NAME
from catalog.types import parse_type
from hiveish.errors import SemanticException, TableNotFound
from planner import translate
from planner.dialect import PTFCall
from planner.plan import QueryPlan, ScanNode
from planner.regex_columns import expand_regex_columns

MAX_VIEW_DEPTH = 32
# table properties a session may also set (`set parquet.column.index.access=true`); the table's own win
READER_SETTINGS = ("parquet.column.index.access",)


class CatalogView(Protocol):
    def get_table(self, db: str, name: str) -> Table | None: ...
    def partitions(self, table: Table) -> list: ...
    def file_scan(self, table, sd, columns, constants): ...


def _pos(node: exp.Expression) -> tuple[int | None, int | None]:
    ident = node.this if isinstance(node.this, exp.Identifier) else node
    meta = getattr(ident, "meta", None) or {}
    line = meta.get("line")
    col = meta.get("col")
    if line is not None and col is not None:
        start = max(0, col - len(ident.name))
        return line, start
    return None, None


def _conjuncts(e: exp.Expression | None) -> list[exp.Expression]:
    if e is None:
        return []
    if isinstance(e, exp.And):
        return _conjuncts(e.this) + _conjuncts(e.expression)
    if isinstance(e, exp.Paren):
        inner = e.this
        if isinstance(inner, exp.And):
            return _conjuncts(inner)
    return [e]


class Binder:
    def __init__(self, catalog: CatalogView, current_db: str, setting: Callable[[str], str | None],
                 evaluate: Callable[[str], list[tuple]] | None = None,
                 parse_view: Callable[[str], exp.Expression] | None = None) -> None:
        self.catalog = catalog
        self.current_db = current_db
        self.setting = setting
        self.evaluate = evaluate
        self.parse_view = parse_view
        self.scans: list[ScanNode] = []

    # -- entry point ----------------------------------------------------------------------
    def plan_query(self, tree: exp.Expression, hive_sql: str = "") -> QueryPlan:
        tree = tree.copy()
        tree = self._bind_tables(tree, set(), 0)
        if self.setting("hive.support.quoted.identifiers") == "none":
            expand_regex_columns(tree, {s.name: [c for c, _ in s.columns] for s in self.scans})
        for select in tree.find_all(exp.Select):
            translate.name_outputs(select)
        schema = {s.name: {_schema_key(c): _typing_name(t) for c, t in s.columns} for s in self.scans}
        names = _output_names(tree)
        types = _output_hive_types(tree)
        reducer_sort = translate.reducer_sort(tree)
        typed: list[exp.DataType | None] = []
        sql = translate.to_duckdb(tree, schema, typed)
        if typed and (len(typed) == len(types) or not any(types)):
            base = types if len(types) == len(typed) else [None] * len(typed)
            types = [known or _char_type(t) for known, t in zip(base, typed)]
        return QueryPlan(sql=sql, scans=self.scans, column_names=names, column_types=types, hive_sql=hive_sql,
                         reducer_sort=reducer_sort)

    # -- tables and views -------------------------------------------------------------------
    def resolve(self, table: exp.Table) -> Table:
        db = table.db or self.current_db
        t = self.catalog.get_table(db, table.name)
        if t is None:
            line, col = _pos(table)
            shown = f"{table.db}.{table.name}" if table.db else table.name
            raise TableNotFound(shown, line=line, col=col)
        return t

    def _bind_tables(self, tree: exp.Expression, ctes: set[str], depth: int) -> exp.Expression:
        if depth > MAX_VIEW_DEPTH:
            raise SemanticException("Recursive view definition or views nested too deep")
        tree = _expand_ptfs(tree)
        for with_ in tree.find_all(exp.With):
            _order_ctes(with_)
        ctes = set(ctes) | {c.alias.lower() for c in tree.find_all(exp.CTE)}
        for table in list(tree.find_all(exp.Table)):
            if not table.name or isinstance(table.parent, (exp.Create, exp.Insert)):
                continue
            if isinstance(table.this, exp.Func):  # table functions
                continue
            if not table.db and table.name.lower() in ctes:
                continue
            t = self.resolve(table)
            alias = table.alias or t.name
            if t.is_view:
                replacement = self._expand_view(t, alias, ctes, depth)
            else:
                replacement = self._scan(t, table, alias, tree)
            if table is tree:
                tree = replacement
            else:
                table.replace(replacement)
        return tree

    def _expand_view(self, view: Table, alias: str, ctes: set[str], depth: int) -> exp.Expression:
        if self.parse_view is None:
            raise SemanticException(f"Cannot expand view {view.qualified_name}")
        text = view.view_expanded_text or view.view_original_text or ""
        saved = self.current_db
        self.current_db = view.db
        try:
            body = self._bind_tables(self.parse_view(text), ctes, depth + 1)
        finally:
            self.current_db = saved
        for select in body.find_all(exp.Select):
            translate.name_outputs(select)
        cols = [exp.to_identifier(c.name, quoted=True) for c in view.all_columns]
        return exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True),
                                                           columns=cols))

    # -- scans -------------------------------------------------------------------------------
    def _scan(self, t: Table, node: exp.Table, alias: str, tree: exp.Expression) -> exp.Expression:
        name = f"__t{len(self.scans)}"
        needed = self._needed_columns(t, node, alias, tree)
        data_cols = [(c.name, c.type) for c in t.columns if needed is None or c.name.lower() in needed]
        key_cols = [(c.name, c.type) for c in t.partition_keys if needed is None or c.name.lower() in needed]
        scan = ScanNode(name=name, table=t.qualified_name, columns=data_cols + key_cols, sources=[])
        if t.is_partitioned:
            parts = self.catalog.partitions(t)
            scan.partitions_total = len(parts)
            chosen, filter_text = self._prune(t, parts, node, alias)
            scan.partitions_selected = len(chosen)
            scan.partition_filter = filter_text
            for p in chosen:
                consts = []
                for k, v in zip(t.partition_keys, p.values):
                    if needed is None or k.name.lower() in needed:
                        consts.append((k.name, _partition_value(v, k.type), k.type))
                scan.sources.append(self.catalog.file_scan(t, p.sd, data_cols, consts))
        else:
            scan.sources.append(self.catalog.file_scan(t, t.sd, data_cols, []))
        for src in scan.sources:  # reader settings a session may set for every table (Hive's job conf)
            for key in READER_SETTINGS:
                value = self.setting(key)
                if value is not None and key not in src.table_params:
                    src.table_params[key] = value
        sample = node.args.get("sample")
        if sample is not None and sample.args.get("bucket_numerator") is not None:
            fld = sample.args.get("bucket_field")
            scan.sample = (int(sample.args["bucket_numerator"].this), int(sample.args["bucket_denominator"].this),
                           fld.name if fld is not None else None)
        self.scans.append(scan)
        new = exp.Table(this=exp.to_identifier(name, quoted=True),
                        alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=False)))
        if sample is not None and scan.sample is None:
            new.set("sample", sample)
        # references like db.tbl.col lose the db part
        for col in tree.find_all(exp.Column):
            if col.args.get("db") is not None and col.table.lower() == t.name.lower():
                col.set("db", None)
        return new

    def _needed_columns(self, t: Table, node: exp.Table, alias: str, tree: exp.Expression) -> set[str] | None:
        """Column names the query may read from this table; None means all."""
        alias_l = alias.lower()
        select = node.find_ancestor(exp.Select)
        if select is None:
            return None
        for e in select.expressions:
            if isinstance(e, exp.Star):
                return None
            if isinstance(e, exp.Column) and isinstance(e.this, exp.Star) and e.table.lower() in (alias_l, t.name.lower()):
                return None
        if any(translate._function_star(n) for n in select.find_all(exp.Star)):  # hash(*) reads every column
            return None
        if self.setting("hive.support.quoted.identifiers") == "none":
            return None
        names: set[str] = set()
        for col in tree.find_all(exp.Column):
            names.add(col.name.lower())
            if col.table:
                names.add(col.table.lower())
        for ident in tree.find_all(exp.Identifier):
            names.add(ident.name.lower())
        if t.sd.bucket_cols:
            names.update(c.lower() for c in t.sd.bucket_cols)
        return names

    def _prune(self, t: Table, parts: list, node: exp.Table, alias: str) -> tuple[list, str | None]:
        select = node.find_ancestor(exp.Select)
        if select is None or self.evaluate is None or not parts:
            return parts, None
        # only the FROM/JOIN level directly holding this table
        where = select.args.get("where")
        if where is None:
            return parts, None
        keys = {k.name.lower() for k in t.partition_keys}
        others = self._other_source_columns(select, node)
        usable = []
        for c in _conjuncts(where.this):
            cols = list(c.find_all(exp.Column))
            if not cols or c.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window) is not None:
                continue
            ok = True
            for col in cols:
                if col.name.lower() not in keys:
                    ok = False
                elif col.table and col.table.lower() not in (alias.lower(), t.name.lower()):
                    ok = False
                elif not col.table and (others is None or col.name.lower() in others):
                    ok = False
            if ok:
                usable.append(c)
        if not usable:
            return parts, None
        pred = exp.and_(*[c.copy() for c in usable])
        for col in pred.find_all(exp.Column):
            col.set("table", None)
        rows = []
        for i, p in enumerate(parts):
            vals = ["NULL" if v is None else sql_str(v)
                    for v in (_partition_value(v, k.type) for v, k in zip(p.values, t.partition_keys))]
            rows.append(f"({i}, {', '.join(vals)})")
        col_defs = ", ".join(f'TRY_CAST("k{j}" AS {parse_type(k.type).to_duckdb()}) AS "{k.name}"'
                             for j, k in enumerate(t.partition_keys))
        raw_cols = ", ".join(f'"k{j}"' for j in range(len(t.partition_keys)))
        probe = exp.select("__idx").from_("__parts").where(pred)
        probe_sql = translate.to_duckdb(probe, {"__parts": {k.name: parse_type(k.type).to_duckdb()
                                                            for k in t.partition_keys}})
        text = (f"WITH __raw(__idx, {raw_cols}) AS (VALUES {', '.join(rows)}), "
                f"__parts AS (SELECT __idx, {col_defs} FROM __raw) {probe_sql}")
        try:
            keep = {r[0] for r in self.evaluate(text)}
        except Exception:
            return parts, None
        return [p for i, p in enumerate(parts) if i in keep], pred.sql("hive")

    def _other_source_columns(self, select: exp.Select, node: exp.Table) -> set[str] | None:
        """Column names of the select's other sources; None if some are unknown (subqueries)."""
        names: set[str] = set()
        sources = []
        frm = select.args.get("from_")
        if frm is not None:
            sources.append(frm.this)
        for j in select.args.get("joins") or []:
            sources.append(j.this)
        for s in sources:
            if s is node:
                continue
            if isinstance(s, exp.Table):
                try:
                    other = self.resolve(s)
                except SemanticException:
                    return None
                names.update(c.name.lower() for c in other.all_columns)
            else:
                return None
        return names


# Hive's identity PTFs: their rows are their input's, whatever the partitioning and order
NOOP_PTFS = {"noop", "noopwithmap", "noopstreaming", "noopwithmapstreaming"}


def _expand_ptfs(tree: exp.Expression) -> exp.Expression:
    """Replace each PTF call in FROM by what it computes (innermost first)."""
    while True:
        calls = [c for c in tree.find_all(PTFCall) if c.find(PTFCall, bfs=False) is c
                 and not any(isinstance(x, PTFCall) for x in c.args["source"].walk())]
        if not calls:
            return tree
        for call in calls:
            name = call.name.lower()
            if name not in NOOP_PTFS:
                raise SemanticException(f"[Error 10011]: Invalid function {call.name}")
            source = call.args["source"]
            alias = call.alias or source.alias_or_name
            body = exp.select("*").from_(source.copy())
            sub = exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias)))
            if call is tree:
                return sub
            call.replace(sub)


def _partition_value(value: str, hive_type: str) -> str | None:
    """A partition's value as its rows see it: in the default partition a string-typed key reads
    Hive's default partition name itself (`where p = '__HIVE_DEFAULT_PARTITION__'` finds it),
    any other type NULL."""
    if value == DEFAULT_PARTITION_NAME and not parse_type(hive_type).is_string:
        return None
    return value


_YEAR_MONTH_UNITS = {"YEAR", "YEARS", "MONTH", "MONTHS"}


def _year_month(e: exp.Expression) -> bool:
    """Whether a Hive expression is an INTERVAL YEAR TO MONTH (DuckDB has one INTERVAL type, so the
    result's Arrow type cannot tell it from a day-time interval)."""
    while isinstance(e, (exp.Alias, exp.Paren, exp.Neg)):
        e = e.this
    if isinstance(e, exp.Interval):
        unit = e.args.get("unit")
        if isinstance(unit, exp.IntervalSpan):
            return unit.this.name.upper() == "YEAR" and unit.expression.name.upper() == "MONTH"
        return unit is not None and unit.name.upper() in _YEAR_MONTH_UNITS
    if isinstance(e, exp.Anonymous):
        return e.name.lower() == "interval_year_month"
    if isinstance(e, (exp.Cast, exp.TryCast)):
        to = e.args.get("to")
        unit = to.this.args.get("unit") if to is not None and isinstance(to.this, exp.Interval) else None
        return isinstance(unit, exp.IntervalSpan) and unit.this.name.upper() == "YEAR"
    if isinstance(e, (exp.Add, exp.Sub)):
        return _year_month(e.this) and _year_month(e.expression)
    return False


def _output_hive_types(tree: exp.Expression) -> list[str | None]:
    """Result column types the executor's Arrow types cannot carry (None: take the Arrow type's)."""
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if not isinstance(tree, exp.Select):
        return []
    return ["interval_year_month" if _year_month(e) else None for e in tree.expressions]


def _char_type(t: exp.DataType | None) -> str | None:
    """`char(n)` / `varchar(n)` for a result column typed so (the Arrow result only says string)."""
    if t is None or t.this not in (exp.DataType.Type.CHAR, exp.DataType.Type.VARCHAR) or len(t.expressions) != 1:
        return None
    n = t.expressions[0].this if isinstance(t.expressions[0], exp.DataTypeParam) else t.expressions[0]
    if not (isinstance(n, exp.Literal) and n.this.isdigit()):
        return None
    return f"{'char' if t.this == exp.DataType.Type.CHAR else 'varchar'}({n.this})"


def _typing_name(hive_type: str) -> "str | exp.DataType":
    """A column's type for annotating the query: DuckDB's, except CHAR(n) stays CHAR (DuckDB stores it
    as VARCHAR, but Hive compares CHAR values without their trailing pad). Built dialect-free: read as
    DuckDB, `CHAR(n)` would already be TEXT."""
    t = parse_type(hive_type)
    if t.name in ("char", "varchar") and t.params:
        return exp.DataType.build(f"{t.name.upper()}({t.params[0]})")
    return t.to_duckdb()


def _schema_key(name: str) -> str:
    """A column name as sqlglot's schema reads it: names that are not plain words go quoted,
    else sqlglot would parse (and trim) them, e.g. Hive's backquoted ` left`."""
    return name if re.fullmatch(r"\w+", name) else '"' + name.replace('"', '""') + '"'


def _order_ctes(with_: exp.With) -> None:
    """Hive lets a CTE name any other CTE of its WITH, even one defined after it: put each after those it reads."""
    ctes = list(with_.expressions)
    names = {c.alias.lower(): c for c in ctes}
    if len(names) < 2:
        return
    deps = {c.alias.lower(): {t.name.lower() for t in c.this.find_all(exp.Table)
                              if not t.db and t.name.lower() in names and t.name.lower() != c.alias.lower()}
            for c in ctes}
    ordered: list[exp.CTE] = []
    done: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done or name in visiting:  # a cycle stays as written (and fails as DuckDB reports it)
            return
        visiting.add(name)
        for d in sorted(deps[name], key=lambda n: ctes.index(names[n])):
            visit(d)
        visiting.discard(name)
        done.add(name)
        ordered.append(names[name])

    for c in ctes:
        visit(c.alias.lower())
    if ordered != ctes:
        with_.set("expressions", ordered)


def _output_names(tree: exp.Expression) -> list[str]:
    node = tree
    while isinstance(node, (exp.Union, exp.Except, exp.Intersect)):
        node = node.this
    if isinstance(node, exp.Subquery):
        node = node.this
    if isinstance(node, exp.Select):
        if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
               for e in node.expressions):
            return []  # a star's columns: the result's own names (`*` is no column name)
        return [e.alias_or_name for e in node.expressions]
    return []
