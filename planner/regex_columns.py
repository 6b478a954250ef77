"""Regex column specs: with `hive.support.quoted.identifiers=none`, Hive reads a select item naming
a column that is not a plain word (`` `(ds|hr)?+.+` ``, ``b.`..` ``) as a Java regular expression
over the column names of the FROM sources (matched whole, ignoring case) and selects every match.

Runs on a bound tree (tables already replaced by scans), before the outputs are named.
"""

from __future__ import annotations

import re

from sqlglot import exp

from hiveish.errors import SemanticException

_WORD = re.compile(r"\w+")


def is_regex(name: str) -> bool:
    """As Hive's isRegex: any character other than a letter, digit or underscore."""
    return not _WORD.fullmatch(name)


def expand_regex_columns(tree: exp.Expression, scan_columns: dict[str, list[str]]) -> None:
    """Replace regex select items by the columns they match; `scan_columns` maps scan name -> columns."""
    ctes: dict[str, exp.Expression] = {c.alias.lower(): c.this for c in tree.find_all(exp.CTE)}
    # innermost selects first, so a subquery's outputs are known when its parent expands
    for select in reversed([n for n in tree.walk(bfs=False) if isinstance(n, exp.Select)]):
        items = select.expressions
        if not any(_regex_item(e) for e in items):
            continue
        sources = _sources(select, scan_columns, ctes)
        new: list[exp.Expression] = []
        for e in items:
            if not _regex_item(e):
                new.append(e)
                continue
            pattern = _compile(e.name)
            qualifier = e.table.lower() if e.table else None
            for alias, cols in sources:
                if qualifier is not None and alias.lower() != qualifier:
                    continue
                for c in cols or []:
                    if pattern.fullmatch(c):
                        new.append(exp.column(c, table=alias, quoted=True))
        select.set("expressions", new)


def _regex_item(e: exp.Expression) -> bool:
    return isinstance(e, exp.Column) and isinstance(e.this, exp.Identifier) and is_regex(e.name)


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as err:
        raise SemanticException(f"[Error 10004]: Invalid column reference '{pattern}': {err}") from None


def _sources(select: exp.Select, scans: dict[str, list[str]],
             ctes: dict[str, exp.Expression]) -> list[tuple[str, list[str] | None]]:
    """(alias, column names) of each FROM/JOIN source of `select`, in order."""
    out = []
    frm = select.args.get("from_")
    nodes = ([frm.this] if frm is not None else []) + [j.this for j in select.args.get("joins") or []]
    for node in nodes:
        out.append((node.alias_or_name, _columns_of(node, scans, ctes)))
    return out


def _columns_of(node: exp.Expression, scans: dict[str, list[str]],
                ctes: dict[str, exp.Expression]) -> list[str] | None:
    alias = node.args.get("alias")
    if isinstance(alias, exp.TableAlias) and alias.columns:
        return [c.name for c in alias.columns]
    if isinstance(node, exp.Table):
        if node.name in scans:
            return scans[node.name]
        body = ctes.get(node.name.lower())
        return _query_columns(body, scans, ctes) if body is not None else None
    if isinstance(node, exp.Subquery):
        return _query_columns(node.this, scans, ctes)
    return None


def _query_columns(q: exp.Expression, scans: dict[str, list[str]],
                   ctes: dict[str, exp.Expression]) -> list[str] | None:
    while isinstance(q, (exp.Union, exp.Except, exp.Intersect)):
        q = q.this
    if isinstance(q, exp.Subquery):
        return _query_columns(q.this, scans, ctes)
    if not isinstance(q, exp.Select):
        return None
    names: list[str] = []
    for e in q.expressions:
        if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star)):
            qualifier = e.table.lower() if isinstance(e, exp.Column) and e.table else None
            for alias, cols in _sources(q, scans, ctes):
                if qualifier is None or alias.lower() == qualifier:
                    if cols is None:
                        return None
                    names.extend(cols)
        else:
            names.append(e.alias_or_name)
    return names
