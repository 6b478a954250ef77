"""Session settings: one table of known keys, defaults and help.

Unknown keys are accepted and kept, as Hive does; `SET -v` lists the known
ones with their help text. Settings holding credentials are marked `secret`: like the keys of
Hive's `hive.conf.hidden.list` (which hiveish honours too) they are used but never shown by
`SET` nor substituted for `${hiveconf:...}`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    secret: bool = False  # a credential: hidden from SET output and ${hiveconf:...} substitution


def _system_time_zone() -> str:
    tz = os.environ.get("TZ")
    if tz:
        return tz.lstrip(":")
    try:
        link = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in link:
            return link.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    return "UTC"


# Hive 2.x's default hive.conf.hidden.list
_HIVE_HIDDEN = (
    "javax.jdo.option.ConnectionPassword", "hive.server2.keystore.password",
    "fs.s3.awsAccessKeyId", "fs.s3.awsSecretAccessKey", "fs.s3n.awsAccessKeyId", "fs.s3n.awsSecretAccessKey",
    "fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.proxy.password",
)

SETTINGS: tuple[Setting, ...] = (
    Setting("hive.metastore.warehouse.dir", "", "Root directory of managed tables (the warehouse)."),
    Setting("hiveish.metastore", "", "Path of the embedded SQLite metastore file."),
    Setting("hive.execution.engine", "auto",
            "Engine for queries: arrow, mr, or auto (MapReduce when the plan lowers and its input exceeds "
            "hiveish.auto.mr.inputbytes; EXPLAIN says which and why)."),
    Setting("hiveish.auto.mr.inputbytes", str(10 * 1024 ** 3),
            "With hive.execution.engine=auto, queries reading more bytes than this run as MapReduce jobs."),
    Setting("hive.local.time.zone", "", "Session time zone (default: the system's)."),
    Setting("hive.stats.autogather", "true",
            "INSERT, CTAS and LOAD update the basic statistics (numFiles, totalSize, numRows, rawDataSize) of "
            "what they write."),
    Setting("hive.compute.query.using.stats", "false",
            "Answer SELECT count(*) FROM t from the table's statistics when they are accurate."),
    Setting("hive.exec.dynamic.partition", "true", "Allow dynamic partition inserts."),
    Setting("hive.exec.dynamic.partition.mode", "strict",
            "strict requires at least one static partition key in dynamic partition inserts; nonstrict allows all dynamic."),
    Setting("hive.exec.default.partition.name", "__HIVE_DEFAULT_PARTITION__",
            "Partition name used for NULL or empty dynamic partition values."),
    Setting("hive.exec.max.dynamic.partitions", "1000", "Maximum dynamic partitions created by one statement."),
    Setting("hive.exec.drop.ignorenonexistent", "true", "DROP TABLE/VIEW of a missing object is not an error."),
    Setting("hive.groupby.orderby.position.alias", "false", "GROUP BY / ORDER BY positions refer to select columns."),
    Setting("hive.support.quoted.identifiers", "column", "none makes backquoted names regular expressions over columns."),
    Setting("hive.cli.print.header", "false", "Print column names before rows in the CLI."),
    Setting("hive.exec.compress.output", "false", "Compress the text, SequenceFile and RCFile data INSERT writes."),
    Setting("mapreduce.output.fileoutputformat.compress.codec", "",
            "Hadoop codec class of compressed output (empty: mapred.output.compression.codec, else DefaultCodec)."),
    Setting("mapreduce.output.fileoutputformat.compress.type", "",
            "SequenceFile compression, RECORD or BLOCK (empty: mapred.output.compression.type, else RECORD)."),
    Setting("hive.default.fileformat", "TextFile", "Format of tables created without STORED AS."),
    Setting("parquet.compression", "SNAPPY", "Codec for Parquet files written (SNAPPY, GZIP, ZSTD, UNCOMPRESSED)."),
    Setting("orc.compress", "ZLIB", "Codec for ORC files written (ZLIB, SNAPPY, ZSTD, LZ4, NONE)."),
    Setting("hive.ddl.output.format", "text", "Output of SHOW PARTITIONS and DESCRIBE: text or json."),
    Setting("hive.mapred.mode", "nonstrict", "strict refuses some risky queries (accepted, not enforced)."),
    Setting("mapreduce.job.reduces", "-1", "Reducer count; -1 chooses from input size."),
    Setting("mapreduce.input.fileinputformat.split.maxsize", "134217728", "Largest input split of a map task, bytes."),
    Setting("mapreduce.task.io.sort.mb", "100", "Map-side sort buffer (MB); sorted runs spill to disk beyond it."),
    Setting("mapreduce.map.maxattempts", "4", "Attempts per map task before the query fails."),
    Setting("mapreduce.reduce.maxattempts", "4", "Attempts per reduce task before the query fails."),
    Setting("hive.exec.reducers.bytes.per.reducer", "256000000", "Input bytes per reducer when the count is automatic."),
    Setting("hive.exec.reducers.max", "1009", "Most reducers chosen automatically."),
    Setting("hive.auto.convert.join", "true", "Turn joins with a small side into map-side (broadcast) joins."),
    Setting("hive.mapjoin.smalltable.filesize", "25000000", "Largest table (bytes) broadcast by hive.auto.convert.join."),
    Setting("hiveish.mapreduce.inprocess", "false", "Run MapReduce tasks in-process (debugging) instead of a pool."),
    Setting("hiveish.mapreduce.workers", "0", "Worker processes of the local MapReduce runner (0 = one per core)."),
    Setting("mapreduce.map.memory.mb", "1024", "Memory limit (MB) of each map task's DuckDB; beyond it DuckDB spills."),
    Setting("mapreduce.reduce.memory.mb", "1024",
            "Memory limit (MB) of each reduce task's DuckDB; beyond it DuckDB spills to the local dir."),
    Setting("hiveish.jobs.history.size", "100", "MapReduce jobs SHOW JOBS lists (the most recent ones)."),
    Setting("hiveish.jobhistory.retention", "7",
            "Days the job history archive (<metastore>.history) keeps a job; 0 keeps none (SHOW JOBS then lists "
            "this session's jobs only)."),
    Setting("hiveish.mapreduce.cancel.grace.ms", "1000",
            "After a cancel, how long running task attempts get to stop before their workers are killed."),
    Setting("hiveish.mapreduce.runner", "local", "Where MapReduce tasks run: local (process pool) or dask (a Dask cluster)."),
    Setting("hiveish.dask.scheduler", "", "Dask scheduler address (tcp://host:8786); empty starts a local Dask cluster."),
    Setting("hiveish.dask.timeout", "10", "Seconds to wait for the Dask scheduler to answer a connection."),
    Setting("hiveish.result.batch.size", "65536", "Rows per Arrow record batch streamed to clients."),
    Setting("hive.query.timeout.seconds", "0",
            "Cancel a statement (its streamed rows included) that runs longer than this many seconds; 0 = no limit."),
    Setting("hiveish.memory.limit", "",
            "Memory limit of the Arrow engine's DuckDB (e.g. 2GB, 60%); a query needing more fails with an "
            "out-of-memory error. Empty: DuckDB's default (80% of RAM)."),
    Setting("hiveish.threads", "0", "DuckDB threads for the Arrow engine (0 = all cores)."),
    Setting("hiveish.staging.max_age", "86400",
            "Seconds after which a write removes a staging directory in its target that no session of this "
            "metastore registered (another metastore's, or one a late write brought back)."),
    Setting("hiveish.hdfs.token", "", "Hadoop delegation token for WebHDFS.", secret=True),
    Setting("hive.conf.hidden.list", ",".join(_HIVE_HIDDEN),
            "Comma separated list of configuration options which should not be read by normal user like passwords"
            " (settings marked secret are hidden too)."),
)
KNOWN: dict[str, Setting] = {s.name: s for s in SETTINGS}
# keys SET cannot change once the session runs (Hive's hive.conf.restricted.list keeps these too)
RESTRICTED = frozenset({"hive.conf.hidden.list", "hive.conf.restricted.list"})


class Settings:
    """Current values: known defaults overlaid with what the user SET."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        for k, v in (initial or {}).items():
            self.set(k, v)

    def default(self, key: str) -> str:
        if key == "hive.local.time.zone":
            return _system_time_zone()
        s = KNOWN.get(key)
        return s.default if s else ""

    def get(self, key: str, default: str | None = None) -> str | None:
        if key in self._values:
            return self._values[key]
        if key in KNOWN:
            return self.default(key)
        return default

    def get_bool(self, key: str) -> bool:
        return (self.get(key) or "").strip().lower() == "true"

    def get_int(self, key: str, default: int = 0) -> int:
        try:
            return int(self.get(key) or default)
        except ValueError:
            return default

    def set(self, key: str, value: str) -> None:
        self._values[key.strip()] = str(value)

    def reset(self, key: str | None = None) -> None:
        if key is None:  # keys fixed for the session (RESTRICTED) keep the value they started with
            self._values = {k: v for k, v in self._values.items() if k in RESTRICTED}
        else:
            self._values.pop(key, None)

    def is_set(self, key: str) -> bool:
        return key in self._values

    def is_hidden(self, key: str) -> bool:
        """A credential: marked secret in the table, or listed in hive.conf.hidden.list."""
        key = key.strip()
        s = KNOWN.get(key)
        if s is not None and s.secret:
            return True
        listed = self.get("hive.conf.hidden.list") or ""
        return key in {k.strip() for k in listed.split(",") if k.strip()}

    def visible(self, key: str) -> str | None:
        """The value as users may read it (`${hiveconf:key}`): None for an unset or hidden key."""
        return None if self.is_hidden(key) else self.get(key)

    def items(self, verbose: bool = False) -> list[tuple[str, str]]:
        """All values (user-set plus known keys with `-v`), hidden ones included: `SET` filters them."""
        keys = set(self._values)
        if verbose:
            keys |= set(KNOWN)
        else:
            keys |= {k for k in KNOWN if KNOWN[k].default}
        return sorted((k, self.get(k) or "") for k in keys)

    @property
    def time_zone(self) -> str:
        return self.get("hive.local.time.zone") or "UTC"
