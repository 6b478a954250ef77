"""MapReduce job descriptions: plain, picklable data that the MR runners interpret.

A job reads one or more tagged inputs (table scans or an earlier job's output),
runs a DuckDB SQL fragment per map task over the task's split (relation
`__input`, plus broadcast relations for map joins), partitions and sorts the
map output by key columns, optionally combines it, and runs a reduce fragment
per reducer over the merged partition (`__input`, or `__input0`, `__input1`
for a tagged join). Nothing here runs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.formats.base import FileScan
from planner.plan import ScanNode

INPUT = "__input"


@dataclass
class SortKey:
    column: str  # a column of the map output
    descending: bool = False
    nulls_first: bool = True  # Hive: ASC nulls first, DESC nulls last

    def sql(self) -> str:
        return (f'"{self.column}" {"DESC" if self.descending else "ASC"} '
                f'NULLS {"FIRST" if self.nulls_first else "LAST"}')


@dataclass
class MapInput:
    """One tagged input of a job and the map work run over each of its splits."""

    tag: int
    alias: str  # the query's name for this input (for EXPLAIN)
    map_sql: str  # DuckDB SQL over `__input` (and the job's broadcast relations)
    scan: ScanNode | None = None  # a table input ...
    from_stage: str | None = None  # ... or the output of an earlier job
    operators: list[str] = field(default_factory=list)  # Hive-style operator lines for EXPLAIN


@dataclass
class Broadcast:
    """A relation every task of a job loads whole: a small table (map join), a table a correlated
    subquery reads, or an earlier stage's output (an uncorrelated subquery's rows)."""

    name: str  # relation name in the map and reduce SQL
    alias: str
    scan: ScanNode | None = None  # a table ...
    from_stage: str | None = None  # ... or the output of an earlier job (listed in the job's depends_on)
    purpose: str = "map join"  # for EXPLAIN: "map join" | "subquery"


@dataclass
class Shuffle:
    """Reduce Output Operator: how map output reaches the reducers."""

    partitioner: str  # "hash" | "range" (total order, sampled) | "single"
    partition_columns: list[str]
    sort_keys: list[SortKey]
    combiner_sql: str | None = None  # over `__input`; same columns out as in


@dataclass
class MapJoinOption:
    """A reduce-side join that may run as a map join, decided while the job runs (Hive's conditional
    task: the common join, or a map join whose small side is loaded whole by the other side's tasks).

    The runner runs the map tasks of input `small_tag` first when their output looks small
    (`estimate_factor` x that input's bytes within `hive.mapjoin.smalltable.filesize`); if their
    actual map output is within the limit, each map task of the other input joins its split to
    all of it with the job's `reduce_sql` and the job has no reduce phase. Else the job goes on as
    the common join: nothing already run is wasted. Only a side the join does not preserve (the
    inner side of an outer, semi or anti join) can be loaded whole; when the small side is the
    preserved one (`mode` "filter"), the other side's map tasks keep only rows whose join keys it
    has, so far fewer rows reach the shuffle (Impala's runtime filters, Hive's semi-join reduction).
    """

    small_tag: int
    estimate_factor: float = 1.0  # expected map output bytes per input byte (filters and map joins shrink it)
    mode: str = "join"  # "join": a map join | "filter": the small side is preserved by the join, so the
    # other side's map tasks only drop the rows whose keys it lacks (a runtime semi-join reduction)


@dataclass
class MRJob:
    stage: str  # "Stage-1"
    inputs: list[MapInput]
    shuffle: Shuffle | None = None  # None: map-only job
    reduce_sql: str | None = None  # over `__input` (one input) or `__input<tag>` (tagged join)
    reduce_operators: list[str] = field(default_factory=list)
    broadcasts: list[Broadcast] = field(default_factory=list)
    num_reducers: int = -1  # -1: chosen from input size at submission
    final: bool = False  # output is the query result (else intermediate files for a later job)
    depends_on: list[str] = field(default_factory=list)
    map_join_options: list[MapJoinOption] = field(default_factory=list)  # a reduce-side join only

    @property
    def map_only(self) -> bool:
        return self.shuffle is None


@dataclass
class MRPlan:
    """A DAG of jobs; the last one writes the result, read back by a fetch."""

    jobs: list[MRJob]
    output_columns: list[str]  # columns of the final job's output, in order
    column_names: list[str]  # user-visible names for them
    fetch_limit: int | None = None
    settings: dict[str, str] = field(default_factory=dict)  # snapshot the runners need

    def job(self, stage: str) -> MRJob:
        for j in self.jobs:
            if j.stage == stage:
                return j
        raise KeyError(stage)

    def explain(self, extended: bool = False) -> list[str]:
        from planner.mr.explain import explain_lines

        return explain_lines(self, extended)


@dataclass
class Split:
    """One map task's input: a byte range or row groups of one file, or a whole intermediate file."""

    tag: int
    path: str
    kind: str  # "scan" (table files via the format's reader) | "arrow" (intermediate IPC file)
    file_scan: FileScan | None = None  # the table source, restricted to `path`
    start: int = 0
    length: int = -1  # -1: to the end of the file
    row_groups: list[int] | None = None  # Parquet row groups (None: all)
    size: int = 0
    empty: bool = False  # an input with no files still gets one task (for the schema)
    hosts: list[str] = field(default_factory=list)  # where the split's blocks live (locality hint)

    def describe(self) -> str:
        if self.empty:
            return f"(empty input {self.tag})"
        if self.row_groups is not None:
            return f"{self.path} row groups {self.row_groups[0]}..{self.row_groups[-1]}"
        if self.length >= 0:
            return f"{self.path}:{self.start}+{self.length}"
        return self.path
