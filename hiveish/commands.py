"""Statement handlers by kind: text commands first, then parsed trees."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from sqlglot import exp

from hiveish import errors

if TYPE_CHECKING:
    from hiveish.session import Result, Session


def _result():
    from hiveish.session import Result

    return Result


# -- SET / RESET / USE ----------------------------------------------------------------------


def cmd_set(s: "Session", text: str, _second: str) -> "Result":
    Result = _result()
    body = text[3:].strip()
    if body in ("", "-v"):  # hidden settings (credentials) are left out, as Hive's SetProcessor does
        rows = [(f"{k}={v}",) for k, v in s.settings.items(verbose=body == "-v") if not s.settings.is_hidden(k)]
        return Result.rows(["set"], rows)
    if "=" not in body:
        key = body.strip()
        name = key[9:] if key.startswith("hiveconf:") else key
        if s.settings.is_hidden(name):
            return Result.rows(["set"], [(f"{key} is a hidden config",)])
        value = s.settings.get(name)
        if key.startswith("hivevar:"):
            value = s.hivevar.get(key[8:])
        if value is None:
            return Result.rows(["set"], [(f"{key} is undefined",)])
        return Result.rows(["set"], [(f"{key}={value}",)])
    key, value = body.split("=", 1)
    key, value = key.strip(), value.strip()
    from hiveish.settings import RESTRICTED

    if (key[9:] if key.startswith("hiveconf:") else key) in RESTRICTED:
        raise errors.SemanticException(f"Cannot modify {key} at runtime. It is in the list of parameters that "
                                       "can't be modified at runtime")
    if key.startswith("hivevar:"):
        s.hivevar[key[8:]] = value
    elif key.startswith("hiveconf:"):
        s.settings.set(key[9:], value)
    else:
        if key == "hive.execution.engine" and value.lower() not in ("arrow", "mr", "auto", "mapreduce", "tez", "spark"):
            raise errors.SemanticException(f"'SET {key}={value}' FAILED in validation : Invalid value.. expects one of [arrow, mr, auto].")
        s.settings.set(key, value)
        s.on_setting_changed(key)
    return Result()


def cmd_reset(s: "Session", text: str, _second: str) -> "Result":
    body = text[5:].strip()
    if body:
        from hiveish.settings import RESTRICTED

        for key in body.split():
            if key in RESTRICTED:
                raise errors.SemanticException(f"Cannot modify {key} at runtime. It is in the list of parameters "
                                               "that can't be modified at runtime")
        for key in body.split():
            s.settings.reset(key)
            s.on_setting_changed(key)
    else:
        s.settings.reset()
        for key in ("hive.local.time.zone",):
            s.on_setting_changed(key)
    return _result()()


def cmd_use(s: "Session", text: str, _second: str) -> "Result":
    m = re.fullmatch(r"(?is)use\s+`?([\w]+)`?", text.strip())
    if not m:
        raise errors.ParseException("cannot recognize input near 'use'", 1, 0)
    s.use(m.group(1))
    return _result()()


def cmd_explain(s: "Session", text: str, _second: str) -> "Result":
    Result = _result()
    m = re.match(r"(?is)\s*explain\s+((?:extended|formatted|dependency|authorization|analyze|vectorization"
                 r"|logical|cbo|locks|ast|ddl|reoptimization)\s+)?(.*)$", text)
    mode = (m.group(1) or "").strip().lower()
    body = m.group(2)
    if mode not in ("", "extended", "analyze"):
        raise errors.SemanticException(f"EXPLAIN {mode.upper()} is not supported: hiveish prints its own plan "
                                       "(EXPLAIN, EXPLAIN EXTENDED, EXPLAIN ANALYZE), not Hive's operator tree")
    from hiveish import refusals

    refusals.check_statement(body)
    tree = s.parse(body)
    shared = None
    if isinstance(tree, exp.MultitableInserts):  # under MapReduce: one scan of the source for every branch
        from hiveish import dml, multi_insert

        shared = multi_insert.explain(s, tree, body, mode == "extended", dml._insert_query)
    if shared is not None:
        lines = shared
    elif isinstance(tree, (exp.Insert, exp.MultitableInserts)):
        inserts = tree.expressions if isinstance(tree, exp.MultitableInserts) else [tree]
        lines = []
        for ins in inserts:
            q = ins.expression
            if isinstance(tree, exp.MultitableInserts) and q.args.get("from_") is None:
                q = q.copy()
                q.set("from_", exp.From(this=tree.args["source"].copy()))
            lines.append(f"Insert into {ins.this.sql('hive')} ({'OVERWRITE' if ins.args.get('overwrite') else 'INTO'})")
            lines.extend(s.plan(q, body).explain(mode == "extended"))
    elif isinstance(tree, exp.Query) and mode == "analyze":
        from hiveish.jobs import explain_analyze

        lines = explain_analyze(s, tree, body)
    elif isinstance(tree, exp.Query) and (stats_note := _from_stats(s, tree)):
        lines = [stats_note]
    elif isinstance(tree, exp.Query):
        lines = s.plan(tree, body).explain(mode == "extended")
    else:
        lines = [f"Statement: {type(tree).__name__}", "  runs in the session (DDL/utility), no query plan"]
    return Result.rows(["Explain"], [(line,) for line in lines])


def _from_stats(s: "Session", tree: exp.Expression) -> str | None:
    from hiveish.stats import answer_from_stats

    if answer_from_stats(s, tree) is None:
        return None
    src = (tree.args.get("from_") or tree.args.get("from")).this
    return (f"Answered from statistics: numRows of {src.sql('hive')} (hive.compute.query.using.stats=true, "
            "COLUMN_STATS_ACCURATE); no scan")


def cmd_source(s: "Session", text: str, _second: str) -> "Result":
    path = text.split(None, 1)[1].strip().strip("'\"") if len(text.split(None, 1)) > 1 else ""
    try:
        with open(path, encoding="utf-8") as f:
            script = f.read()
    except OSError as e:
        raise errors.ExecutionError(f"Cannot read {path}: {e.strerror}") from e
    last = _result()()
    for _stmt, result in s.execute_script(script):
        last = result
    return last


def _lazy(module: str, name: str) -> Callable:
    def call(s, text, second):
        import importlib

        return getattr(importlib.import_module(module), name)(s, text, second)
    return call


TEXT_COMMANDS: dict[str, Callable] = {
    "set": cmd_set,
    "reset": cmd_reset,
    "use": cmd_use,
    "explain": cmd_explain,
    "source": cmd_source,
    "show": _lazy("hiveish.show", "cmd_show"),
    "describe": _lazy("hiveish.show", "cmd_describe"),
    "desc": _lazy("hiveish.show", "cmd_describe"),
    "msck": _lazy("hiveish.ddl", "cmd_msck"),
    "analyze": _lazy("hiveish.stats", "cmd_analyze"),
    "load": _lazy("hiveish.dml", "cmd_load"),
    "alter": _lazy("hiveish.ddl", "cmd_alter"),
    "create": _lazy("hiveish.ddl", "cmd_create_text"),
    "drop": _lazy("hiveish.ddl", "cmd_drop_text"),
    "truncate": _lazy("hiveish.ddl", "cmd_truncate"),
}


def run_tree(s: "Session", tree: exp.Expression, text: str) -> "Result":
    # ddl and dml (with pyarrow.compute) are imported by the statements that need them
    if isinstance(tree, (exp.Insert, exp.MultitableInserts)):
        from hiveish import dml

        return dml.run_insert(s, tree, text)
    if isinstance(tree, exp.Query):
        from hiveish.stats import answer_from_stats

        return answer_from_stats(s, tree) or s.run_query(tree, text)
    if isinstance(tree, exp.Create):
        from hiveish import ddl

        return ddl.run_create(s, tree, text)
    if isinstance(tree, exp.Drop):
        from hiveish import ddl

        return ddl.run_drop(s, tree, text)
    if isinstance(tree, exp.Use):
        s.use(tree.name)
        return _result()()
    if isinstance(tree, exp.Command):
        raise errors.ParseException(f"cannot recognize input near '{tree.name}'", 1, 0)
    if isinstance(tree, (exp.Alias, exp.Column, exp.Identifier, exp.Literal, exp.Condition)):
        words = text.split()
        near = " ".join(f"'{w}'" for w in words[:3])
        raise errors.ParseException(f"cannot recognize input near {near}", 1, 0)
    raise errors.NotSupportedError(f"Statement not supported: {type(tree).__name__}")


__all__ = ["TEXT_COMMANDS", "run_tree"]
