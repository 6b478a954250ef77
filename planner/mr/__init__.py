"""MapReduce lowering: a bound query cut at its shuffles into a DAG of plain job descriptions.

`jobs` holds the picklable descriptions (shared with `executors.mapreduce`),
`lower` turns a `QueryPlan` into an `MRPlan` or says why it cannot, and
`explain` prints an `MRPlan` in Hive's STAGE DEPENDENCIES / STAGE PLANS shape.
"""
