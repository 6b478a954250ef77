"""Scripts as Hive's CLI reads them: variable substitution, then statement splitting."""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from typing import Callable, Mapping

_VAR = re.compile(r"\$\{([A-Za-z_][\w.\-]*:)?([^{}$:]+)\}")
MAX_SUBSTITUTE_DEPTH = 40  # as hive.variable.substitute.depth


def _system_property(name: str) -> str | None:
    props = {
        "user.name": getpass.getuser,
        "user.home": lambda: os.path.expanduser("~"),
        "user.dir": os.getcwd,
        "os.name": lambda: os.uname().sysname,
        "line.separator": lambda: "\n",
        "file.separator": lambda: "/",
    }
    fn = props.get(name)
    return fn() if fn else None


def substitute(text: str, hivevar: Mapping[str, str], hiveconf: Callable[[str], str | None]) -> str:
    """Replace `${hivevar:x}`, `${hiveconf:x}`, `${env:X}`, `${system:x}` and bare `${x}`.

    Bare names are hivevars (then hiveconf, as Hive falls back). Unresolved references
    are left as written. Substitution repeats so values may hold references.

    >>> substitute("SELECT ${x}, ${hivevar:y}, ${nope}", {"x": "1", "y": "2"}, lambda k: None)
    'SELECT 1, 2, ${nope}'
    """

    def lookup(m: re.Match) -> str:
        ns = (m.group(1) or "").rstrip(":").lower()
        name = m.group(2)
        value: str | None
        if ns == "hivevar":
            value = hivevar.get(name)
        elif ns == "hiveconf":
            value = hiveconf(name)
        elif ns == "env":
            value = os.environ.get(name)
        elif ns == "system":
            value = _system_property(name)
        elif ns == "":
            value = hivevar.get(name)
            if value is None:
                value = hiveconf(name)
        else:
            value = None
        return m.group(0) if value is None else value

    for _ in range(MAX_SUBSTITUTE_DEPTH):
        new = _VAR.sub(lookup, text)
        if new == text:
            break
        text = new
    return text


@dataclass(frozen=True)
class Statement:
    text: str
    line: int  # 1-based line of the statement's first character in the script


def split_statements(script: str) -> list[Statement]:
    """Split on `;` outside quotes, backquotes and comments; drop empty statements.

    Comments stay in the statement text (the parser skips them), except that a
    statement made only of comments is dropped.

    >>> [s.text for s in split_statements("select ';' -- x;\\n; select 2;")]
    ["select ';' -- x;", 'select 2']
    """
    out: list[Statement] = []
    buf: list[str] = []
    i, n = 0, len(script)
    line = 1
    start_line = 1
    has_code = False
    quote: str | None = None
    while i < n:
        ch = script[i]
        if quote:
            buf.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < n:
                buf.append(script[i + 1])
                line += script[i + 1] == "\n"
                i += 2
                continue
            if ch == quote:
                quote = None
            line += ch == "\n"
            i += 1
            continue
        if ch == "-" and script.startswith("--", i):
            end = script.find("\n", i)
            end = n if end < 0 else end
            buf.append(script[i:end])
            i = end
            continue
        if ch == "/" and script.startswith("/*", i):
            end = script.find("*/", i + 2)
            end = n if end < 0 else end + 2
            chunk = script[i:end]
            buf.append(chunk)
            if chunk.startswith("/*+"):
                has_code = True
            line += chunk.count("\n")
            i = end
            continue
        if ch == ";":
            text = "".join(buf).strip()
            if has_code and text:
                out.append(Statement(text, start_line))
            buf, has_code = [], False
            i += 1
            continue
        if ch in ("'", '"', "`"):
            quote = ch
        if not ch.isspace() and not has_code:
            has_code = True
            start_line = line
        buf.append(ch)
        line += ch == "\n"
        i += 1
    text = "".join(buf).strip()
    if has_code and text:
        out.append(Statement(text, start_line))
    return out


def is_complete(text: str) -> bool:
    """True if `text` ends with a `;` outside quotes and comments (for the shell)."""
    stripped = strip_comments(text).rstrip()
    return stripped.endswith(";") or stripped == ""


def strip_comments(text: str) -> str:
    """Remove `--` and `/* */` comments outside quotes (hints `/*+ */` kept)."""
    out: list[str] = []
    i, n = 0, len(text)
    quote: str | None = None
    while i < n:
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
            i += 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i) and not text.startswith("/*+", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if ch in ("'", '"', "`"):
            quote = ch
        out.append(ch)
        i += 1
    return "".join(out)
