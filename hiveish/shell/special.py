"""The shell's own commands, registered in one table (litecli's `special` pattern).

Word commands end with `;` as any statement (`help;`, `quit;`, `source f.sql;`,
`set;`, `!ls -l;`); backslash commands run on Enter (`\\x`, `\\pager off`). Each entry
is a `SpecialCommand` whose handler gets the shell and the text after the command
word, and returns True on success.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from hiveish.output import FORMATS

if TYPE_CHECKING:
    from hiveish.shell.app import Shell

Handler = Callable[["Shell", str, str], bool]  # (shell, argument, whole statement) -> ok


@dataclass(frozen=True)
class SpecialCommand:
    name: str
    syntax: str
    description: str
    handler: Handler
    aliases: tuple[str, ...] = ()


COMMANDS: dict[str, SpecialCommand] = {}  # by name and alias, lower case


def special_command(name: str, syntax: str, description: str, aliases: tuple[str, ...] = ()):
    """Register the decorated handler under `name` and `aliases`."""

    def register(fn: Handler) -> Handler:
        command = SpecialCommand(name, syntax, description, fn, aliases)
        for key in (name, *aliases):
            COMMANDS[key.lower()] = command
        return fn

    return register


def commands() -> list[SpecialCommand]:
    """Each command once, in registration order."""
    out: list[SpecialCommand] = []
    for command in COMMANDS.values():
        if command not in out:
            out.append(command)
    return out


def names() -> list[str]:
    """Names and aliases, for completion at the start of a line."""
    return sorted(k for k in COMMANDS if k != "!")


_WORD = re.compile(r"\s*(\\\w*|!|[A-Za-z]+)(.*)$", re.S)


def lookup(text: str) -> tuple[SpecialCommand, str] | None:
    """The command a statement calls and its argument, or None for SQL.

    >>> cmd, arg = lookup("\\\\limit 20")
    >>> cmd.name, arg
    ('\\\\limit', '20')
    >>> lookup("!ls -l;")[1], lookup("SELECT 1") is None
    ('ls -l', True)
    """
    m = _WORD.match(text)
    if not m:
        return None
    word, rest = m.group(1).lower(), m.group(2)
    if word != "!" and not word.startswith("\\") and rest and not rest[0].isspace() and rest[0] != ";":
        return None  # `settings_x`, `sourced` ... are not commands
    command = COMMANDS.get(word)
    if command is None:
        return None
    return command, rest.strip().rstrip(";").strip()


# -- commands -------------------------------------------------------------------------------------


@special_command("help", "help;", "Show commands, display settings and known SET keys.", aliases=("\\?", "\\h"))
def do_help(shell: "Shell", arg: str, text: str) -> bool:
    from hiveish.settings import SETTINGS

    lines = ["Commands (words end with ';' like statements, backslash commands run on Enter):"]
    width = max(len(c.syntax) for c in commands()) + 2
    for c in commands():
        alias = f"  (also {', '.join(c.aliases)})" if c.aliases else ""
        lines.append(f"  {c.syntax.ljust(width)}{c.description}{alias}")
    lines += ["", "Keys: Enter runs a statement ended by ';', Ctrl-C clears the line or cancels a running query,",
              "  Ctrl-D quits, Tab completes, Up/Ctrl-R recall history, F4 switches emacs/vi bindings.",
              "", f"Shell settings ({shell.config_path or 'packaged defaults'}):"]
    for key, value in shell.display_items():
        lines.append(f"  {key} = {value}")
    lines += ["", "Session settings (SET key=value;  SET key;  SET -v; lists all):"]
    width = max(len(s.name) for s in SETTINGS) + 2
    for s in SETTINGS:
        lines.append(f"  {s.name.ljust(width)}{s.help}")
    shell.echo("\n".join(lines))
    return True


@special_command("quit", "quit;", "Leave the shell (also Ctrl-D).", aliases=("exit", "\\q"))
def do_quit(shell: "Shell", arg: str, text: str) -> bool:
    shell.quit = True
    return True


@special_command("set", "set [key[=value]];", "Show all settings, one, or set one (session settings).")
def do_set(shell: "Shell", arg: str, text: str) -> bool:
    return shell.execute_sql(text, plain=True)


@special_command("source", "source FILE;", "Run the statements of a file, showing each result.")
def do_source(shell: "Shell", arg: str, text: str) -> bool:
    path = shell.session.substitute(arg).strip().strip("'\"")
    if not path:
        shell.error("FAILED: source needs a file name")
        return False
    return shell.run_file(path)


@special_command("!", "!command;", "Run a command in the system shell (as the Hive CLI does).")
def do_shell_command(shell: "Shell", arg: str, text: str) -> bool:
    if not arg:
        shell.error("FAILED: ! needs a command")
        return False
    shell.flush()
    try:
        code = subprocess.call(arg, shell=True)
    except OSError as e:
        shell.error(f"FAILED: {e}")
        return False
    except KeyboardInterrupt:
        shell.echo("")
        return False
    if code != 0:
        shell.error(f"Command failed with exit code = {code}")
    return code == 0


@special_command("\\x", "\\x [on|off|auto]", "Toggle vertical output (auto: vertical only for wide rows).")
def do_vertical(shell: "Shell", arg: str, text: str) -> bool:
    mode = arg.lower()
    if mode not in ("", "on", "off", "auto"):
        shell.error("usage: \\x [on|off|auto]")
        return False
    if mode == "":
        mode = "off" if shell.output_format == "vertical" else "on"
    if mode == "on":
        shell.output_format = "vertical"
    else:
        shell.output_format = "table"
        shell.auto_vertical = mode == "auto"
    shell.echo(f"Vertical output is {mode}.")
    return True


@special_command("\\format", "\\format [NAME]", "Show or set the output format: " + ", ".join(FORMATS) + ".",
                 aliases=("\\T",))
def do_format(shell: "Shell", arg: str, text: str) -> bool:
    name = arg.lower()
    if name:
        if name not in FORMATS:
            shell.error(f"unknown format {arg!r}; one of: {', '.join(FORMATS)}")
            return False
        shell.output_format = name
    shell.echo(f"Output format: {shell.output_format}")
    return True


@special_command("\\pager", "\\pager [on|off|COMMAND]", "Show, switch off/on, or set the pager command.")
def do_pager(shell: "Shell", arg: str, text: str) -> bool:
    if arg.lower() in ("off", "none"):
        shell.pager = ""
    elif arg.lower() == "on":
        shell.pager = shell.config.pager or "less -SRXF"
    elif arg:
        try:
            shlex.split(arg)
        except ValueError as e:
            shell.error(f"bad pager command: {e}")
            return False
        shell.pager = arg
    shell.echo(f"Pager: {shell.pager}" if shell.pager else "Pager is off.")
    return True


@special_command("\\limit", "\\limit [N]", "Show or set how many rows of a result are shown (0: all).")
def do_limit(shell: "Shell", arg: str, text: str) -> bool:
    if arg:
        if not arg.isdigit():
            shell.error("usage: \\limit N  (a number, 0 for no limit)")
            return False
        shell.row_limit = int(arg)
    shell.echo(f"Row limit: {shell.row_limit}" if shell.row_limit else "Row limit: none")
    return True


@special_command("\\timing", "\\timing [on|off]", "Toggle the Time taken line after each statement.")
def do_timing(shell: "Shell", arg: str, text: str) -> bool:
    mode = arg.lower()
    if mode not in ("", "on", "off"):
        shell.error("usage: \\timing [on|off]")
        return False
    shell.timing = (not shell.timing) if mode == "" else mode == "on"
    shell.echo(f"Timing is {'on' if shell.timing else 'off'}.")
    return True


@special_command("\\refresh", "\\refresh", "Reload database, table and column names for completion.")
def do_refresh(shell: "Shell", arg: str, text: str) -> bool:
    shell.refresh_completions()
    shell.echo("Completions will be refreshed in the background.")
    return True
