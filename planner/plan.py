"""Plan objects: plain, printable data that executors interpret.

The Arrow engine runs a `QueryPlan`: one DuckDB statement over named scans.
Each `ScanNode` says which files of which table to read (partitions and
columns already pruned) and how (`FileScan` per partition group).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.formats.base import FileScan


@dataclass
class ScanNode:
    name: str  # relation name the SQL refers to
    table: str  # db.table
    columns: list[tuple[str, str]]  # produced columns (data then partition), hive types
    sources: list[FileScan]  # one per partition (or one for an unpartitioned table)
    partitions_total: int = 0
    partitions_selected: int = 0
    partition_filter: str | None = None  # the predicates used for pruning, as HiveQL text
    sample: tuple[int, int, str | None] | None = None  # TABLESAMPLE(BUCKET x OUT OF y ON col)


@dataclass
class ReducerSort:
    """The query's top-level SORT BY / DISTRIBUTE BY / CLUSTER BY (CLUSTER BY x = DISTRIBUTE BY x SORT BY x).

    Hive shuffles rows to reducers by the DISTRIBUTE BY keys and sorts each reducer's rows by the
    SORT BY keys. The Arrow engine has one reducer, so its SQL orders the whole result by the SORT
    BY keys; the MapReduce lowering reads this to sort per reducer instead."""

    distribute: list[int]  # output columns (0-based) the rows are hash-partitioned by; [] = none given
    sorted: bool  # SORT BY or CLUSTER BY given (the SQL's top-level ORDER BY holds the keys)


@dataclass
class QueryPlan:
    sql: str  # DuckDB SQL referring to scans by name
    scans: list[ScanNode] = field(default_factory=list)
    column_names: list[str] = field(default_factory=list)
    column_types: list[str | None] = field(default_factory=list)  # hive types where known
    engine: str = "arrow"
    engine_reason: str = "vectorized engine (default)"
    hive_sql: str = ""
    limit_rows: int | None = None
    reducer_sort: ReducerSort | None = None  # top-level SORT/DISTRIBUTE/CLUSTER BY (per-reducer order)

    def explain(self, extended: bool = False) -> list[str]:
        lines = [f"Engine: {self.engine} ({self.engine_reason})", "Plan:"]
        for s in self.scans:
            parts = f"partitions {s.partitions_selected}/{s.partitions_total}" if s.partitions_total else "unpartitioned"
            lines.append(f"  TableScan {s.table} as {s.name} [{parts}]")
            lines.append(f"    columns: {', '.join(c for c, _ in s.columns) or '(none)'}")
            if s.partition_filter:
                lines.append(f"    partition filter: {s.partition_filter}")
            fmts = sorted({src.format for src in s.sources})
            nfiles = sum(len(src.files) for src in s.sources)
            lines.append(f"    format: {', '.join(fmts) or '-'}; files: {nfiles}")
            if extended:
                for src in s.sources:
                    for f in src.files:
                        lines.append(f"      {f}")
        lines.append("  Output: " + ", ".join(self.column_names))
        if extended:
            lines.append("DuckDB SQL:")
            lines.extend("  " + line for line in self.sql.splitlines())
        return lines
