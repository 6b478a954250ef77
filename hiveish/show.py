"""SHOW and DESCRIBE, shaped like Hive's output."""

from __future__ import annotations

import fnmatch
import json
import re
import time
from typing import TYPE_CHECKING

from catalog.paths import partition_name
from hiveish import errors
from hiveish.ddl import get_table, matching_partitions, parse_spec, unquote
from hiveish.jobs import cmd_jobs
from planner import functions

if TYPE_CHECKING:
    from hiveish.session import Result, Session


def _rows(names, rows):
    from hiveish.session import Result

    return Result.rows(names, rows)


def hive_like(pattern: str, names: list[str]) -> list[str]:
    """Hive's SHOW ... LIKE: `*` wildcard, `|` alternatives, case-insensitive."""
    alts = [p.strip().lower() for p in pattern.split("|")]
    return [n for n in names if any(fnmatch.fnmatchcase(n.lower(), a.replace(".*", "*")) for a in alts)]


def cmd_show(s: "Session", text: str, _second: str) -> "Result":
    t = text.strip()
    if _second == "jobs" and (jobs := cmd_jobs(s, t)) is not None:  # MapReduce job history
        return jobs
    if m := re.fullmatch(r"(?is)show\s+(?:databases|schemas)(?:\s+like)?(?:\s+('[^']*'|\"[^\"]*\"))?", t):
        names = s.metastore.list_databases()
        if m.group(1):
            names = hive_like(unquote(m.group(1)), names)
        return _rows(["database_name"], [(n,) for n in names])
    if m := re.fullmatch(r"(?is)show\s+tables(?:\s+(?:in|from)\s+`?(\w+)`?)?(?:\s+like)?(?:\s+('[^']*'|\"[^\"]*\"))?", t):
        db = (m.group(1) or s.current_db).lower()
        if s.metastore.get_database(db) is None:
            raise errors.DatabaseNotFound(db)
        names = s.metastore.list_tables(db)
        if m.group(2):
            names = hive_like(unquote(m.group(2)), names)
        return _rows(["tab_name"], [(n,) for n in names])
    if m := re.fullmatch(r"(?is)show\s+views(?:\s+(?:in|from)\s+`?(\w+)`?)?(?:\s+like)?(?:\s+('[^']*'|\"[^\"]*\"))?", t):
        db = (m.group(1) or s.current_db).lower()
        names = [n for n in s.metastore.list_tables(db) if s.metastore.get_table(db, n).is_view]
        if m.group(2):
            names = hive_like(unquote(m.group(2)), names)
        return _rows(["tab_name"], [(n,) for n in names])
    if m := re.fullmatch(r"(?is)show\s+partitions\s+([\w.`]+)(?:\s+partition\s*\((.*)\))?", t):
        table = get_table(s, m.group(1))
        if not table.is_partitioned:
            raise errors.SemanticException(f"[Error 10241]: Table {table.name} is not a partitioned table")
        parts = matching_partitions(s, table, parse_spec(m.group(2))) if m.group(2) else \
            s.metastore.list_partitions(table.db, table.name)
        keys = [k.name for k in table.partition_keys]
        if (s.settings.get("hive.ddl.output.format") or "text").lower() == "json":
            doc = {"partitions": [{"values": [{"columnName": k, "columnValue": v} for k, v in zip(keys, p.values)]}
                                  for p in parts]}
            return _rows(["partition"], [(json.dumps(doc, separators=(",", ":")),)])
        return _rows(["partition"], [(partition_name(keys, p.values),) for p in parts])
    if m := re.fullmatch(r"(?is)show\s+create\s+table\s+([\w.`]+)", t):
        return _rows(["createtab_stmt"], [(line,) for line in show_create(s, get_table(s, m.group(1)))])
    if m := re.fullmatch(r"(?is)show\s+columns\s+(?:from|in)\s+([\w.`]+)(?:\s+(?:from|in)\s+`?(\w+)`?)?", t):
        name = f"{m.group(2)}.{m.group(1)}" if m.group(2) else m.group(1)
        table = get_table(s, name)
        return _rows(["field"], [(c.name,) for c in table.all_columns])
    if m := re.fullmatch(r"(?is)show\s+tblproperties\s+([\w.`]+)(?:\s*\(\s*('[^']*'|\"[^\"]*\")\s*\))?", t):
        table = get_table(s, m.group(1))
        if m.group(2):
            key = unquote(m.group(2))
            value = table.params.get(key)
            row = f"{key}\t{value}" if value is not None else f"Table {table.qualified_name} does not have property: {key}"
            return _rows(["prpt_name"], [(row,)])
        return _rows(["prpt_name"], [(f"{k}\t{v}",) for k, v in sorted(table.params.items())])
    if m := re.fullmatch(r"(?is)show\s+functions(?:\s+like)?(?:\s+('[^']*'|\"[^\"]*\"))?", t):
        names = sorted(functions.REGISTRY)
        if m.group(1):
            names = hive_like(unquote(m.group(1)), names)
        return _rows(["tab_name"], [(n,) for n in names])
    if m := re.fullmatch(r"(?is)show\s+conf\s+('[^']*'|\"[^\"]*\")", t):  # a known setting's default, type, help
        from hiveish.settings import KNOWN

        key = unquote(m.group(1))
        if key not in KNOWN:
            raise errors.ExecutionError(f"invalid configuration name {key}")
        default = s.settings.default(key)
        kind = "BOOLEAN" if default.lower() in ("true", "false") else "INT" if re.fullmatch(r"-?\d+", default) \
            else "STRING"
        return _rows(["default", "type", "desc"], [(default, kind, KNOWN[key].help)])
    raise errors.ParseException(f"cannot recognize input near '{' '.join(t.split()[:2])}'", 1, 0)


def show_create(s: "Session", t) -> list[str]:
    if t.is_view:
        return [f"CREATE VIEW `{t.name}` AS {t.view_original_text}"]
    lines = [f"CREATE {'EXTERNAL ' if t.is_external else ''}TABLE `{t.qualified_name}`("]
    cols = [f"  `{c.name}` {c.type}" + (f" COMMENT '{c.comment}'" if c.comment else "") for c in t.columns]
    lines.extend(line + ("," if i < len(cols) - 1 else ")") for i, line in enumerate(cols))
    if t.comment:
        lines.append(f"COMMENT '{t.comment}'")
    if t.partition_keys:
        lines.append("PARTITIONED BY (")
        keys = [f"  `{k.name}` {k.type}" for k in t.partition_keys]
        lines.extend(line + ("," if i < len(keys) - 1 else ")") for i, line in enumerate(keys))
    if t.sd.bucket_cols:
        lines.append(f"CLUSTERED BY ({', '.join(t.sd.bucket_cols)})")
        lines.append(f"INTO {t.sd.num_buckets} BUCKETS")
    lines.append("ROW FORMAT SERDE ")
    lines.append(f"  '{t.sd.serde}' ")
    if t.sd.serde_params:
        lines.append("WITH SERDEPROPERTIES ( ")
        props = [f"  '{k}'='{_esc(v)}'" for k, v in t.sd.serde_params.items()]
        lines.extend(p + ("," if i < len(props) - 1 else ") ") for i, p in enumerate(props))
    lines.append("STORED AS INPUTFORMAT ")
    lines.append(f"  '{t.sd.input_format}' ")
    lines.append("OUTPUTFORMAT ")
    lines.append(f"  '{t.sd.output_format}'")
    lines.append("LOCATION")
    lines.append(f"  '{t.sd.location}'")
    lines.append("TBLPROPERTIES (")
    props = [f"  '{k}'='{v}'" for k, v in sorted(t.params.items())] or [f"  'transient_lastDdlTime'='{t.create_time}'"]
    lines.extend(p + ("," if i < len(props) - 1 else ")") for i, p in enumerate(props))
    return lines


def _esc(v: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if ord(c) < 32 and c not in "\t\n" else c for c in v).replace("\n", "\\n").replace("\t", "\\t")


def _pad(s: str, width: int = 20) -> str:
    return s.ljust(width)


def cmd_describe(s: "Session", text: str, _second: str) -> "Result":
    t = text.strip()
    if _second == "job" and re.fullmatch(r"(?is)desc(?:ribe)?\s+job\s+`?job_[\w-]+`?", t):
        return cmd_jobs(s, t)  # type: ignore[return-value]
    if m := re.fullmatch(r"(?is)desc(?:ribe)?\s+function(\s+extended)?\s+(\S+)", t):
        return _rows(["tab_name"], [(line,) for line in functions.describe(m.group(2).strip("`"), bool(m.group(1)))])
    if m := re.fullmatch(r"(?is)desc(?:ribe)?\s+(?:database|schema)(\s+extended)?\s+`?(\w+)`?", t):
        db = s.metastore.get_database(m.group(2))
        if db is None:
            raise errors.DatabaseNotFound(m.group(2))
        row = (db.name, db.comment or "", db.location, db.owner, "USER", "")
        if m.group(1) and db.params:
            row = row[:-1] + ("{" + ", ".join(f"{k}={v}" for k, v in db.params.items()) + "}",)
        return _rows(["db_name", "comment", "location", "owner_name", "owner_type", "parameters"], [row])
    m = re.fullmatch(r"(?is)desc(?:ribe)?\s+(extended\s+|formatted\s+|pretty\s+)?([\w.`]+)(?:\s+partition\s*\((.*?)\))?(?:\s+([\w.`$]+))?", t)
    if not m:
        raise errors.ParseException("cannot recognize input near 'describe'", 1, 0)
    mode = (m.group(1) or "").strip().lower()
    table = get_table(s, m.group(2))
    part = None
    if m.group(3):
        parts = matching_partitions(s, table, parse_spec(m.group(3)))
        if not parts:
            raise errors.SemanticException(f"[Error 10006]: Partition not found {{{m.group(3)}}}")
        part = parts[0]
    if m.group(4):
        col = table.column(m.group(4).strip("`"))
        if col is None:
            raise errors.SemanticException(f"[Error 10002]: Invalid column reference {m.group(4)}")
        if mode == "formatted":
            from hiveish.stats import describe_column

            return describe_column(s, table, part, col)
        return _rows(["col_name", "data_type", "comment"], [(col.name, col.type, col.comment or "from deserializer")])
    rows = []
    if mode == "formatted":
        rows.append(("# col_name            ", "data_type           ", "comment             "))
        rows.append(("", None, None))
        for c in table.columns:
            rows.append((_pad(c.name), _pad(c.type), _pad(c.comment or "")))
    else:
        for c in table.columns:
            rows.append((_pad(c.name), _pad(c.type), _pad(c.comment or "")))
    if table.partition_keys:
        for c in table.partition_keys:
            if mode != "formatted":
                rows.append((_pad(c.name), _pad(c.type), _pad(c.comment or "")))
        rows.append(("", None, None))
        rows.append(("# Partition Information", None, None))
        rows.append(("# col_name            ", "data_type           ", "comment             "))
        rows.append(("", None, None))
        for c in table.partition_keys:
            rows.append((_pad(c.name), _pad(c.type), _pad(c.comment or "")))
    if mode == "extended":
        rows.append(("", None, None))
        what = "Partition" if part else "Table"
        sd = part.sd if part else table.sd
        rows.append((f"Detailed {what} Information",
                     f"{what}(tableName:{table.name}, dbName:{table.db}, owner:{table.owner}, "
                     f"createTime:{table.create_time}, location:{sd.location}, inputFormat:{sd.input_format}, "
                     f"outputFormat:{sd.output_format}, serde:{sd.serde}, parameters:{table.params}, "
                     f"tableType:{table.table_type})", ""))
    elif mode == "formatted":
        sd = part.sd if part else table.sd
        rows.append(("", None, None))
        rows.append(("# Detailed Table Information" if not part else "# Detailed Partition Information", None, None))
        rows.append(("Database:           ", table.db, None))
        rows.append(("Owner:              ", table.owner, None))
        rows.append(("CreateTime:         ", time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(table.create_time)), None))
        rows.append(("Location:           ", sd.location, None))
        rows.append(("Table Type:         ", table.table_type, None))
        params = part.params if part else table.params
        if params:
            rows.append(("Partition Parameters:" if part else "Table Parameters:", None, None))
            for k, v in sorted(params.items()):
                rows.append(("", k, v))
        rows.append(("", None, None))
        rows.append(("# Storage Information", None, None))
        rows.append(("SerDe Library:      ", sd.serde, None))
        rows.append(("InputFormat:        ", sd.input_format, None))
        rows.append(("OutputFormat:       ", sd.output_format, None))
        rows.append(("Num Buckets:        ", str(sd.num_buckets), None))
        rows.append(("Bucket Columns:     ", "[" + ", ".join(sd.bucket_cols) + "]", None))
        if sd.serde_params:
            rows.append(("Storage Desc Params:", None, None))
            for k, v in sorted(sd.serde_params.items()):
                rows.append(("", k, _esc(v)))
        if table.is_view:
            rows.append(("", None, None))
            rows.append(("# View Information", None, None))
            rows.append(("View Original Text: ", table.view_original_text, None))
            rows.append(("View Expanded Text: ", table.view_expanded_text, None))
    return _rows(["col_name", "data_type", "comment"], rows)
