"""The interactive shell: a prompt_toolkit loop over a `Session`.

`hiveish` with no -e/-f on a terminal calls `run(session, args)`. The loop reads a
statement (continuing lines until `;`), runs it on a worker thread with a spinner,
shows the result as a table sized to the terminal (through the pager when it does
not fit), and prints Hive's `Time taken` line. Roles, as in litecli: this module
runs the loop; `completer` suggests names, `special` holds the shell's own
commands, `config` reads `hiveishrc`, `display` formats results, `worker` runs
statements.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import traceback
from typing import TYPE_CHECKING, TextIO

from hiveish import errors
from hiveish.output import hive_time_taken
from hiveish.script import split_statements, strip_comments
from hiveish.shell import special
from hiveish.shell.completer import CatalogCache, HiveCompleter, statement_done
from hiveish.shell.config import ShellConfig, load_config, user_config_path
from hiveish.shell.display import OutputSettings, format_output, page, should_page
from hiveish.shell.worker import Spinner, StatementJob

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from hiveish.session import Session

# statements after which database, table and column names are read again
CATALOG_CHANGES = frozenset({"create", "drop", "alter", "msck", "use", "import"})
# the Hive CLI runs these in a command processor: no OK / Time taken line
PROCESSOR_COMMANDS = frozenset({"set", "reset", "add", "list", "dfs", "reload", "compile"})
MAX_SOURCE_DEPTH = 32
EXIT_OK = 0


class Shell:
    """State of one interactive session: display settings, completion, the prompt."""

    def __init__(self, session: "Session", args: argparse.Namespace, config: ShellConfig,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.session = session
        self.args = args
        self.config = config
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.debug = bool(getattr(args, "debug", False))
        self.output_format = getattr(args, "outputformat", None) or config.output_format
        self.auto_vertical = config.auto_vertical
        self.pager = config.pager
        self.row_limit = config.row_limit
        self.timing = config.timing and not getattr(args, "silent", False)
        self.config_path: str | None = None
        self.quit = False
        self._depth = 0
        self.catalog = CatalogCache(session.metastore)
        self.completer = HiveCompleter(self.catalog, lambda: self.session.current_db,
                                       specials=special.names(), keyword_casing=config.keyword_casing)
        self.prompt_session: "PromptSession | None" = None

    # -- output ------------------------------------------------------------------------------------
    def echo(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    def flush(self) -> None:
        self.out.flush()
        self.err.flush()

    def failed(self, exc: BaseException) -> None:
        """`FAILED: <Hive's message>`; a traceback only with --debug."""
        self.error(errors.failure_message(exc))
        if self.debug:
            traceback.print_exception(exc, file=self.err)
            self.err.flush()

    def display_items(self) -> list[tuple[str, str]]:
        """Current display settings and the config keys, for `help`."""
        current = {"output_format": self.output_format, "auto_vertical": str(self.auto_vertical).lower(),
                   "pager": self.pager or "(off)", "row_limit": str(self.row_limit),
                   "timing": str(self.timing).lower()}
        return [(k, current.get(k, v)) for k, v in self.config.items()]

    # -- running -----------------------------------------------------------------------------------
    def run_text(self, text: str) -> bool:
        """Run everything typed at one prompt; stop at quit. True if all succeeded."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.startswith("\\") and "\n" not in stripped:
            return self.run_statement(stripped)
        ok = True
        for stmt in split_statements(text):
            ok = self.run_statement(stmt.text) and ok
            if self.quit:
                break
        return ok

    def run_statement(self, text: str) -> bool:
        found = special.lookup(_strip_leading_comments(text))
        if found is not None:
            command, arg = found
            return command.handler(self, arg, _strip_leading_comments(text))
        return self.execute_sql(text)

    def run_file(self, path: str) -> bool:
        """`source FILE`: each statement with its result; stops at the first failure."""
        from hiveish.cli import read_script

        if self._depth >= MAX_SOURCE_DEPTH:
            self.error(f"FAILED: source nesting deeper than {MAX_SOURCE_DEPTH}: {path}")
            return False
        script = read_script(os.path.expanduser(path), self.error)
        if script is None:
            return False
        self._depth += 1
        try:
            for stmt in split_statements(script):
                if not self.run_statement(stmt.text):
                    return False
                if self.quit:
                    break
            return True
        finally:
            self._depth -= 1
            self.refresh_completions()

    def execute_sql(self, text: str, plain: bool = False) -> bool:
        """Run a statement on the session with a spinner (MapReduce stage progress); Ctrl-C cancels it."""
        words = strip_comments(text).split(None, 1)
        first = words[0].lower() if words else ""
        started = time.monotonic()
        earlier = {p["job_id"] for p in self.session.progress()}  # the last statement's MR stages
        job = StatementJob(self.session, text, self.row_limit).start()
        try:
            fetched = job.wait(Spinner(self.err, self.config.spinner_delay, self.session.progress, earlier))
        except KeyboardInterrupt:
            self._cancel(job)
            return False
        except Exception as e:
            self.failed(e)
            return False
        elapsed = time.monotonic() - started
        for warning in self.session.statement_warnings:
            self.error(f"WARNING: {warning}")
        try:
            self._show(fetched, first, elapsed, plain)
        except KeyboardInterrupt:
            self.error("")
        if first in CATALOG_CHANGES:
            self.refresh_completions()
        return True

    def _cancel(self, job: StatementJob) -> None:
        self.err.write("\r\x1b[2KCancelling...")
        self.err.flush()
        try:
            stopped = job.stop()
        except KeyboardInterrupt:
            stopped = False
        self.err.write("\r\x1b[2K")
        self.error("Query cancelled" if stopped else "Query cancelled (it is still stopping in the background)")

    def _show(self, fetched, first: str, elapsed: float, plain: bool) -> None:
        processor = first in PROCESSOR_COMMANDS
        if not fetched.has_rows:
            if not processor:
                self.echo("OK")
                if self.timing:
                    self.echo(hive_time_taken(elapsed))
            return
        size = shutil.get_terminal_size()
        if plain or (processor and self.output_format == "table"):
            settings = OutputSettings("hive", show_header=False)
        else:
            header = None
            if self.output_format == "hive":
                header = getattr(self.args, "show_header", None)
                if header is None:
                    header = self.session.settings.get_bool("hive.cli.print.header")
            settings = OutputSettings(self.output_format, self.auto_vertical, size.columns, header)
        text = format_output(fetched.columns, fetched.batches, settings)
        if not (should_page(text, self.pager, self.out, size) and self._page(text)):
            self.out.write(text)
            self.out.flush()
        if fetched.truncated:
            self.echo(f"(Only the first {fetched.rows} rows are shown: row_limit is {self.row_limit}; "
                      "\\limit N shows more, \\limit 0 all.)")
        if self.timing and not processor:
            self.echo(hive_time_taken(elapsed, fetched.rows))

    def _page(self, text: str) -> bool:
        self.flush()
        return page(text, self.pager)

    def refresh_completions(self) -> None:
        self.catalog.invalidate()
        self.catalog.refresh_async(self.session.current_db)

    # -- the prompt --------------------------------------------------------------------------------
    def prompt_text(self) -> str:
        return f"hiveish ({self.session.current_db})> "

    def make_prompt_session(self) -> "PromptSession":
        from prompt_toolkit import PromptSession
        from prompt_toolkit.application.current import get_app
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.enums import EditingMode
        from prompt_toolkit.filters import (
            Condition,
            completion_is_selected,
            emacs_insert_mode,
            has_selection,
            vi_insert_mode,
        )
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings

        history = InMemoryHistory()
        if self.config.history_file:
            path = os.path.expanduser(self.config.history_file)
            try:
                os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                history = FileHistory(path)
            except OSError as e:
                self.error(f"hiveish: history not saved: {e}")

        bindings = KeyBindings()

        @bindings.add("enter", filter=completion_is_selected)
        def _accept_completion(event) -> None:
            event.current_buffer.complete_state = None

        @bindings.add("tab", filter=(emacs_insert_mode | vi_insert_mode) & ~has_selection)
        def _complete(event) -> None:
            complete(event.current_buffer, self.completer)

        @bindings.add("f4")
        def _switch_mode(event) -> None:
            app = event.app
            app.editing_mode = EditingMode.EMACS if app.editing_mode == EditingMode.VI else EditingMode.VI

        def continuation(width: int, line_number: int, is_soft_wrap: bool) -> str:
            return "" if is_soft_wrap else "...> ".rjust(width)

        lexer, style = _highlighting(self.config.syntax_style)
        return PromptSession(
            history=history,
            completer=self.completer,
            complete_while_typing=self.config.complete_while_typing,
            auto_suggest=AutoSuggestFromHistory() if self.config.auto_suggest else None,
            lexer=lexer,
            style=style,
            include_default_pygments_style=False,
            multiline=Condition(lambda: not statement_done(get_app().current_buffer.text)),
            prompt_continuation=continuation,
            key_bindings=bindings,
            vi_mode=self.config.key_bindings == "vi",
            enable_history_search=False,
            reserve_space_for_menu=8,
        )

    def loop(self) -> int:
        self.prompt_session = self.make_prompt_session()
        self.catalog.refresh_async(self.session.current_db)
        while not self.quit:
            try:
                text = self.prompt_session.prompt(self.prompt_text)
            except KeyboardInterrupt:  # Ctrl-C: clear the line
                continue
            except EOFError:  # Ctrl-D
                break
            try:
                self.run_text(text)
            except KeyboardInterrupt:
                self.error("")
            except Exception as e:  # a shell bug is reported like any failure, never a traceback
                self.failed(e)
        return EXIT_OK


def complete(buffer, completer) -> None:
    """Tab: the next entry of an open menu; else complete now (not in the background, so
    a Tab typed right after a word is never lost): the only match, the part all matches
    share, or a menu. At the start of a continuation line, indent."""
    from prompt_toolkit.completion import CompleteEvent, get_common_complete_suffix

    if buffer.complete_state:
        buffer.complete_next()
        return
    document = buffer.document
    if document.cursor_position_row > 0 and not document.current_line_before_cursor.strip():
        buffer.insert_text("    ")
        return
    completions = list(completer.get_completions(document, CompleteEvent(completion_requested=True)))
    if len(completions) == 1:
        buffer.apply_completion(completions[0])
        return
    common = get_common_complete_suffix(document, completions) if completions else ""
    if common:
        buffer.insert_text(common)
    elif completions:
        buffer.set_completions(completions)


def _strip_leading_comments(text: str) -> str:
    from hiveish.cli import strip_leading_comments

    return strip_leading_comments(text)


def _highlighting(style_name: str):
    """A Pygments SQL lexer and a style (none: no colours)."""
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls

    base = Style.from_dict({
        "completion-menu.completion.current": "bg:#00aaaa #000000",
        "completion-menu.completion": "bg:#008888 #ffffff",
        "completion-menu.meta.completion.current": "bg:#44aaaa #000000",
        "completion-menu.meta.completion": "bg:#448888 #ffffff",
    })
    if style_name.lower() in ("", "none", "off"):
        return None, base
    from pygments.lexers.sql import SqlLexer
    from pygments.styles import get_style_by_name
    from pygments.util import ClassNotFound

    try:
        pygments_style = get_style_by_name(style_name)
    except ClassNotFound:
        pygments_style = get_style_by_name("default")
    return PygmentsLexer(SqlLexer), merge_styles([style_from_pygments_cls(pygments_style), base])


# -- entry point --------------------------------------------------------------------------------


def _configured_session(session: "Session", args: argparse.Namespace, config: ShellConfig) -> "Session":
    """The session to use: a new one on the configured warehouse/metastore when the
    command line named neither; the engine from the config when nothing set it."""
    hiveconf = dict(getattr(args, "hiveconf", None) or [])
    want_wh = config.warehouse and not args.warehouse and "hive.metastore.warehouse.dir" not in hiveconf
    want_ms = config.metastore and not args.metastore and "hiveish.metastore" not in hiveconf
    if want_wh or want_ms:
        from hiveish.session import Session

        keep = {k: v for k, v in session.settings.items(verbose=True) if session.settings.is_set(k)
                and k not in ("hive.metastore.warehouse.dir", "hiveish.metastore")}
        warehouse = os.path.expanduser(config.warehouse) if want_wh else session.settings.get(
            "hive.metastore.warehouse.dir")
        metastore = os.path.expanduser(config.metastore) if want_ms else session.settings.get("hiveish.metastore")
        fresh = Session(warehouse=warehouse, metastore=metastore, settings=keep, hivevar=dict(session.hivevar))
        try:
            fresh.use(session.current_db)
        except errors.Error:
            pass
        session = fresh
    if config.engine and not session.settings.is_set("hive.execution.engine"):
        session.settings.set("hive.execution.engine", config.engine)
    return session


def run(session: "Session", args: argparse.Namespace) -> int:
    """Run the interactive shell on `session` until quit; returns the exit code."""
    config = load_config()
    for warning in config.warnings:
        sys.stderr.write(f"hiveish: config: {warning}\n")
    try:
        active = _configured_session(session, args, config)
    except Exception as e:
        sys.stderr.write(f"hiveish: config: cannot open the configured warehouse/metastore: {e}\n")
        active = session
    shell = Shell(active, args, config)
    path = user_config_path()
    shell.config_path = str(path) if path.exists() else None
    from hiveish import __version__

    shell.echo(f"hiveish {__version__}: end statements with ';', help; for commands, Ctrl-D to quit.")
    try:
        return shell.loop()
    finally:
        if active is not session:
            active.close()
