"""Hive's temporary macros: expression templates kept by the session and substituted at analysis.

    CREATE TEMPORARY MACRO sigmoid (x DOUBLE) 1.0 / (1.0 + EXP(-x));
    SELECT sigmoid(2);          -- analysed as 1.0 / (1.0 + EXP(-CAST(2 AS DOUBLE)))
    DROP TEMPORARY MACRO [IF EXISTS] sigmoid;

As Hive's GenericUDFMacro does, each argument is converted to its parameter's declared type,
the body is checked when the macro is created (its columns must be parameters, its functions
must exist), a call with the wrong number of arguments is an error, and a macro lives until the
session ends or it is dropped. Also here: DROP [TEMPORARY] FUNCTION, whose only user-defined
functions are macros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from hiveish import errors

if TYPE_CHECKING:
    from hiveish.session import Result, Session


@dataclass
class Macro:
    name: str
    params: list[tuple[str, str]]  # (name, Hive type)
    body: exp.Expression  # parameters appear as bare columns

    def call(self, args: list[exp.Expression], call_sql: str) -> exp.Expression:
        if len(args) != len(self.params):
            raise errors.SemanticException(f"Wrong arguments '{call_sql}': The macro {self.name} accepts exactly "
                                           f"{len(self.params)} arguments.", code=10014)
        values = {name.lower(): exp.Cast(this=arg.copy(), to=exp.DataType.build(typ, dialect="hive"))
                  for (name, typ), arg in zip(self.params, args)}

        def fill(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and not node.table and node.name.lower() in values:
                return values[node.name.lower()].copy()
            return node

        return exp.Paren(this=self.body.copy().transform(fill))


def macros_of(s: "Session") -> dict[str, Macro]:
    if not hasattr(s, "macros"):
        s.macros = {}
    return s.macros


def expand(s: "Session", tree: exp.Expression) -> exp.Expression:
    """Substitute the session's macros into a parsed statement (nested calls included)."""
    macros = getattr(s, "macros", None)
    if not macros:
        return tree

    def sub(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and str(node.this).lower() in macros:
            name = str(node.this).lower()
            call = f"{name}(" + ", ".join(a.sql("hive") for a in node.expressions) + ")"
            return macros[name].call([expand(s, a.copy()) for a in node.expressions], call)  # nested calls too
        return node

    return tree.transform(sub)


def _split_params(text: str) -> list[str]:
    out, depth, buf = [], 0, ""
    for ch in text:
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(buf)
            buf = ""
        else:
            buf += ch
    if buf.strip():
        out.append(buf)
    return out


def _closing_paren(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise errors.ParseException("cannot recognize input near 'macro': missing ')' after the parameters", 1, 0)


def create_macro(s: "Session", text: str) -> "Result":
    from catalog.types import TypeParseError, parse_type
    from hiveish.session import Result
    from planner import functions

    m = re.match(r"(?is)\s*create\s+temporary\s+macro\s+(`[^`]+`|\w+)\s*\(", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'create' 'temporary' 'macro'", 1, 0)
    name = m.group(1).strip("`").lower()
    end = _closing_paren(text, m.end() - 1)
    body_text = text[end + 1:].strip()
    if not body_text:
        raise errors.ParseException(f"cannot recognize input near '{name}': the macro has no body", 1, 0)
    params: list[tuple[str, str]] = []
    for item in _split_params(text[m.end():end]):
        pm = re.match(r"(?s)\s*(`[^`]+`|\w+)\s+(.+?)\s*$", item)
        if not pm:
            raise errors.ParseException(f"cannot recognize input near '{item.strip()}' in the parameters of macro "
                                        f"{name}", 1, 0)
        try:
            typ = str(parse_type(pm.group(2)))
        except TypeParseError as e:
            raise errors.SemanticException(str(e)) from None
        pname = pm.group(1).strip("`")
        if any(p.lower() == pname.lower() for p, _ in params):
            raise errors.SemanticException(f"Duplicate parameter {pname} in macro {name}", code=10036)
        params.append((pname, typ))
    if name in functions.REGISTRY:
        raise errors.SemanticException(f"Function {name} is hive builtin function, which cannot be overriden.")
    import sqlglot

    from planner.dialect import HiveQL

    call = sqlglot.parse_one(f"SELECT {name}(" + ", ".join("NULL" for _ in params) + ")", read=HiveQL).selects[0]
    if not isinstance(call, exp.Anonymous):
        raise errors.SemanticException(f"Function name {name} is reserved and cannot name a macro")
    body = s.parse(f"SELECT {body_text}")  # macros used in the body are expanded now, as Hive resolves them
    if not isinstance(body, exp.Select) or len(body.selects) != 1 or body.args.get("from_") is not None:
        raise errors.ParseException(f"cannot recognize input near '{body_text[:20]}': a macro's body is one "
                                    "expression", 1, 0)
    expr = body.selects[0]
    if isinstance(expr, exp.Alias):
        expr = expr.this
    known = {p.lower() for p, _ in params}
    for col in expr.find_all(exp.Column):
        if col.table or col.name.lower() not in known:
            raise errors.InvalidColumn(col.sql("hive"))
    for fn in expr.find_all(exp.Anonymous):
        if str(fn.this).lower() not in functions.REGISTRY:
            raise errors.SemanticException(f"Invalid function {fn.this}", code=10011)
    macro = Macro(name, params, expr)
    # plan the body over typed NULL arguments: unknown functions and type errors show now, not at the call
    probe = exp.select(macro.call([exp.Null() for _ in params], name))
    s.binder().plan_query(probe, probe.sql("hive"))
    macros_of(s)[name] = macro
    return Result()


def drop_macro(s: "Session", text: str) -> "Result":
    from hiveish.session import Result

    m = re.match(r"(?is)\s*drop\s+temporary\s+macro\s+(if\s+exists\s+)?(`[^`]+`|\w+)\s*$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'drop' 'temporary' 'macro'", 1, 0)
    name = m.group(2).strip("`").lower()
    ignore = bool(m.group(1)) or s.settings.get_bool("hive.exec.drop.ignorenonexistent")
    if macros_of(s).pop(name, None) is None and not ignore:
        raise errors.SemanticException(f"Invalid function {name}", code=10011)
    return Result()


def drop_function(s: "Session", text: str) -> "Result":
    """DROP [TEMPORARY] FUNCTION: built-ins cannot be dropped; macros can; the rest never existed."""
    from hiveish.session import Result
    from planner import functions

    m = re.match(r"(?is)\s*drop\s+(temporary\s+)?function\s+(if\s+exists\s+)?((?:`[^`]+`|\w+)(?:\.(?:`[^`]+`|\w+))?)"
                 r"\s*$", text)
    if not m:
        raise errors.ParseException("cannot recognize input near 'drop' 'function'", 1, 0)
    name = m.group(3).replace("`", "").lower()
    if name in functions.REGISTRY:
        raise errors.SemanticException(f"Cannot drop native function {name}", code=10301)
    if m.group(1) and macros_of(s).pop(name, None) is not None:
        return Result()
    if not (m.group(2) or s.settings.get_bool("hive.exec.drop.ignorenonexistent")):
        raise errors.SemanticException(f"Invalid function {name}", code=10011)
    return Result()


__all__ = ["Macro", "create_macro", "drop_function", "drop_macro", "expand"]
