"""The MapReduce engine's runtime: splits, map and reduce tasks, shuffle, retries, counters.

Job descriptions come from `planner.mr` (re-exported by `job`); `runner`
holds the lifecycle and the task bodies, `local` runs tasks in a process pool
or in-process.
"""
