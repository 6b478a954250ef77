"""Job descriptions (from the planner) and the per-attempt task description the runners send."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.mr.jobs import INPUT, Broadcast, MapInput, MapJoinOption, MRJob, MRPlan, Shuffle, SortKey, Split

__all__ = ["INPUT", "Broadcast", "MapInput", "MapJoinOption", "MRJob", "MRPlan", "Shuffle", "SortKey", "Split", "TaskSpec",
           "TaskResult"]


@dataclass
class TaskSpec:
    """One attempt of one task: everything a worker process needs, picklable."""

    job: MRJob
    kind: str  # "map" | "reduce" | "sample"
    index: int  # task number within its kind (maps numbered across inputs)
    attempt: int
    job_dir: str
    num_reducers: int
    settings: dict[str, str]
    split: Split | None = None
    boundaries: bytes | None = None  # range partitioner cut points (Arrow IPC stream)
    inject_failure: bool = False
    threads: int = 1
    stage_outputs: dict[str, list[str]] = field(default_factory=dict)  # earlier jobs' output files
    map_join_small: int | None = None  # a join's map task joined to (or filtered by) this input's map output
    map_join_mode: str = "join"  # "join": a map join, output final | "filter": keep rows with its join keys
    scratch: str = ""  # set by the worker: this attempt's private scratch dir (never shared)

    @property
    def attempt_id(self) -> str:
        t = {"map": "m", "reduce": "r", "sample": "s"}[self.kind]
        return f"attempt_{self.job.stage}_{t}_{self.index:06d}_{self.attempt}"


@dataclass
class TaskResult:
    kind: str
    index: int
    attempt: int
    counters: dict[str, int] = field(default_factory=dict)
    output: str = ""  # committed directory
    sample: bytes | None = None
    seconds: float = 0.0
    # where and when the attempt ran (set by `attempts.run_attempt`): the job history's timeline
    host: str = ""
    worker: str = ""
    started: float = 0.0
    finished: float = 0.0
