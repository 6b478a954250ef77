"""Relations of the lowering: rows not yet materialized (`Src`, `Rel`) and SQL/EXPLAIN helpers.

A `Src` is a FROM clause over ONE streaming input (a table scan or an earlier
job's output files, always called `"__input"` in the SQL) plus relations every
task loads whole (broadcasts). Its aliases are either real tables of the FROM
clause or struct columns of an intermediate relation (a reduce-side join
writes one struct column per alias), so `alias.column` means the same thing in
every fragment. A `Rel` is a lowered query: a `Src` and, unless it is exactly
a stage's output, the SELECT over it that produces the relation's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlglot import exp

from planner.mr.jobs import Broadcast, Shuffle
from planner.plan import ScanNode

DUCK = "duckdb"
IN = '"__input"'


class Unsupported(Exception):
    """The query's shape is not lowered; the message says why (the query runs on the Arrow engine)."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql(e: exp.Expression) -> str:
    return e.sql(DUCK)


def conj(items: list[str]) -> str:
    return " AND ".join(f"({w})" for w in items)


@dataclass
class Src:
    from_sql: str  # a FROM clause; `"__input"` is the streaming input
    aliases: dict[str, list[str]]  # alias (lower case) -> its columns
    scan: ScanNode | None = None
    stage: str | None = None
    where: list[str] = field(default_factory=list)  # filters over the FROM clause
    broadcasts: list[Broadcast] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)  # map operator lines so far (EXPLAIN)
    size: int | None = None  # bytes of the scanned files, when known
    label: str = ""
    shrink: float = 1.0  # guessed rows out per row in from filters already applied in `from_sql`

    def where_sql(self, extra: list[str] | None = None) -> str:
        w = self.where + (extra or [])
        return f" WHERE {conj(w)}" if w else ""

    def copy(self) -> "Src":
        return replace(self, aliases=dict(self.aliases), where=list(self.where), broadcasts=list(self.broadcasts),
                       deps=list(self.deps), ops=list(self.ops))


@dataclass
class Rel:
    src: Src
    columns: list[str]
    select_sql: str | None = None  # None: `src` is a bare stage whose files hold exactly `columns`

    def map_sql(self) -> str:
        return self.select_sql if self.select_sql is not None else f"SELECT * FROM {IN}"


def scan_ops(alias: str, scan: ScanNode) -> list[str]:
    return ["TableScan", f"  alias: {alias}", f"  table: {scan.table}",
            f"  columns: {', '.join(c for c, _ in scan.columns) or '(none)'}"]


def stage_ops(alias: str, stage: str) -> list[str]:
    return ["TableScan", f"  alias: {alias} (output of {stage})"]


def rs_ops(shuffle: Shuffle, values: list[str], tag: int | None = None) -> str:
    lines = ["Reduce Output Operator",
             f"  key expressions: {', '.join(k.column for k in shuffle.sort_keys) or '(none)'}",
             f"  sort order: {''.join('-' if k.descending else '+' for k in shuffle.sort_keys)}",
             f"  Map-reduce partition columns: {', '.join(shuffle.partition_columns) or '(none)'}"
             f" ({shuffle.partitioner})",
             f"  value expressions: {', '.join(values) or '(none)'}"]
    if tag is not None:
        lines.append(f"  tag: {tag}")
    return "\n".join(lines)


def short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
