"""How the shell shows a result: `format_output` (pure) and the pager.

`format_output` renders fetched batches with the formatters of `hiveish.output`
(Beeline's `table` and `vertical`, or any other shape) and, for `table`, switches to
`vertical` when a line would be wider than the terminal, as pgcli's `auto_vertical`
does. `page` shows text through the pager when it does not fit the screen.

>>> import pyarrow as pa
>>> batch = pa.record_batch({"id": [1, 2], "name": ["ann", None]})
>>> cols = [("id", "int"), ("name", "string")]
>>> print(format_output(cols, [batch], OutputSettings(width=80)), end="")
+-----+-------+
| id  | name  |
+-----+-------+
| 1   | ann   |
| 2   | NULL  |
+-----+-------+
>>> print(format_output(cols, [batch], OutputSettings(width=10)), end="")
id    1
name  ann
<BLANKLINE>
id    2
name  NULL
<BLANKLINE>
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence, TextIO

from hiveish.output import OutputOptions, write_result

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class OutputSettings:
    """What `format_output` needs: the shape, the terminal width, header and NULL text."""

    format: str = "table"
    auto_vertical: bool = True
    width: int | None = None  # terminal columns; None: never switch to vertical
    show_header: bool | None = None  # for `hive` (None: the format's default)
    null_string: str = "NULL"


def render(columns: Sequence[tuple[str, str]], batches: Sequence["pa.RecordBatch"], options: OutputOptions) -> str:
    out = io.StringIO()
    write_result(out, columns, batches, options)
    return out.getvalue()


def max_line_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def format_output(columns: Sequence[tuple[str, str]], batches: Sequence["pa.RecordBatch"],
                  settings: OutputSettings) -> str:
    """A result as text in `settings.format` (table falling back to vertical when too wide)."""
    fmt = settings.format
    if fmt == "table":
        rows = sum(b.num_rows for b in batches)
        # one buffer for all rows, so every row shares the column widths; no repeated header
        options = OutputOptions("table", show_header=True, null_string=settings.null_string, header_interval=0,
                                max_column_width=1 << 20, buffer_rows=max(rows, 1))
        text = render(columns, batches, options)
        if not (settings.auto_vertical and settings.width and max_line_width(text) > settings.width and rows):
            return text
        fmt = "vertical"
    header = settings.show_header if fmt == "hive" else None
    return render(columns, batches, OutputOptions(fmt, show_header=header, null_string=settings.null_string))


# -- the pager ------------------------------------------------------------------------------------


def pager_available(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    return bool(words) and shutil.which(words[0]) is not None


def fits(text: str, size: os.terminal_size, reserved: int = 3) -> bool:
    """Whether `text` fits the terminal, keeping `reserved` lines for status and prompt."""
    lines = text.count("\n")
    return lines <= max(size.lines - reserved, 1) and max_line_width(text) <= size.columns


def should_page(text: str, command: str, out: TextIO, size: os.terminal_size) -> bool:
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    return bool(command) and tty and not fits(text, size) and pager_available(command)


def page(text: str, command: str) -> bool:
    """Show `text` through `command`; False if the pager could not be started."""
    env = dict(os.environ)
    env.setdefault("LESSCHARSET", "utf-8")
    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    try:
        assert proc.stdin is not None
        proc.stdin.write(text.encode("utf-8", errors="replace"))
        proc.stdin.close()
    except (BrokenPipeError, OSError, KeyboardInterrupt):  # the pager quit before reading it all
        pass
    while True:
        try:
            proc.wait()
            return True
        except KeyboardInterrupt:  # Ctrl-C belongs to the pager while it runs
            continue
