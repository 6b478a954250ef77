"""The MapReduce engine's plan: the Arrow plan plus its lowering to MR jobs (or why not).

`plan_for_mr` keeps the `QueryPlan` (INSERT and DESCRIBE paths still use it)
and attaches an `MRPlan`, or records the reason the query stays on the
vectorized engine. EXPLAIN then prints Hive's stage plans.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Callable

from planner.mr.jobs import MRPlan
from planner.mr.lower import Unsupported, lower
from planner.plan import QueryPlan


@dataclass
class MRQueryPlan(QueryPlan):
    mr: MRPlan | None = None

    def explain(self, extended: bool = False) -> list[str]:
        if self.mr is None:
            return super().explain(extended)
        lines = [f"Engine: {self.engine} ({self.engine_reason})"]
        lines += self.mr.explain(extended)
        return lines


def plan_for_mr(plan: QueryPlan, setting: Callable[[str], "str | None"], reason: str) -> MRQueryPlan:
    """`plan` lowered to MapReduce jobs, or left for the Arrow engine with the reason."""
    out = MRQueryPlan(**{f.name: getattr(plan, f.name) for f in fields(QueryPlan)})
    try:
        out.mr = lower(plan, setting)
        out.engine = "mr"
        out.engine_reason = reason
    except Unsupported as e:
        out.engine = "arrow"
        out.engine_reason = f"MapReduce cannot run this query yet: {e}; it runs on the vectorized engine"
    except Exception as e:  # noqa: BLE001 - a lowering bug must not fail a query the Arrow engine can run
        out.engine = "arrow"
        out.engine_reason = f"MapReduce lowering failed ({type(e).__name__}: {e}); it runs on the vectorized engine"
    return out
