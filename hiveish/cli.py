"""The `hiveish` command: the Hive CLI's batch mode, with Beeline's output formats.

    hiveish -e "SELECT 1"                 # run statements given on the command line
    hiveish -f script.sql                 # run a script file
    hiveish -i init.sql -f script.sql     # init files first (~/.hiveishrc before them)
    hiveish --outputformat=csv2 -e "..."  # Beeline's shapes instead of the CLI's
    hiveish -hiveconf k=v -hivevar x=y -f job.hql   # single-dash long options, as `hive` takes them

Without -e or -f: on a terminal, the interactive shell (`hiveish.shell.app`); otherwise
the whole of stdin is run as a script.

Output follows the Hive CLI: rows on stdout, TAB-separated, NULL as `NULL`, a header
line only with `hive.cli.print.header=true` (or `--showHeader=true`); on stderr `OK`
and `Time taken: 0.58 seconds, Fetched: 2 row(s)`, or `FAILED: <message>`. `-S`
leaves only the rows (and errors). With `--outputformat`, rows are printed as Beeline
prints them and stderr gets Beeline's `2 rows selected (0.1 seconds)` instead.

MapReduce queries (`hive.execution.engine=mr`) also print Hive's job lines on
stderr as they run: `Starting Job = job_...`, `<time> Stage-1 map = 45%,  reduce = 0%`,
`Ended Job = ...`, then `MapReduce Jobs Launched:` with each stage's summary (not with -S).

Exit codes: 0 success, 1 bad arguments, 2 a statement failed, 3 a file could not be
read (`-f`, `-i`, `source`). Execution stops at the first error unless `--force` (or
`hive.cli.errors.ignore=true`); then the code is that of the first failure, so a
script that had any error never exits 0.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import logging
import os
import sys
import time
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence, TextIO

from hiveish import errors
from hiveish.output import (
    BEELINE_FORMATS,
    OutputOptions,
    beeline_rows_affected,
    beeline_rows_selected,
    hive_time_taken,
    write_result,
)
from hiveish.script import is_complete, split_statements, strip_comments

if TYPE_CHECKING:
    from hiveish.session import Result, Session

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_FAILED = 2
EXIT_NO_FILE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

RC_FILE = "~/.hiveishrc"
ENGINES = ("arrow", "mr", "auto")
# Statements the Hive CLI hands to a command processor, not the Driver: no OK / Time taken.
PROCESSOR_COMMANDS = frozenset({"set", "reset", "add", "list", "dfs", "reload", "compile"})
MAX_SOURCE_DEPTH = 32


class UsageError(Exception):
    """Bad command-line arguments (exit code 1)."""


# -- arguments ----------------------------------------------------------------------------------


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _key_value(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # exit code 1, not argparse's 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Hive CLI flags plus Beeline's spellings (`--outputformat=csv2`, `--showHeader=false`)."""
    p = _Parser(prog="hiveish", allow_abbrev=False, add_help=False,
                description="HiveQL over warehouse files: the Hive CLI's batch mode.")
    p.add_argument("-h", "-H", "--help", action="help", help="show this help and exit")
    p.add_argument("--version", action="version", version=f"hiveish {_version()}")
    p.add_argument("-e", dest="execute", metavar="SQL", help="SQL from the command line")
    p.add_argument("-f", dest="file", metavar="FILE", help="SQL from a file")
    p.add_argument("-i", dest="init", metavar="FILE", action="append", default=[],
                   help="initialization SQL file (repeatable; ~/.hiveishrc runs first when present)")
    p.add_argument("-d", "--define", "--hivevar", dest="hivevar", metavar="KEY=VALUE", action="append",
                   type=_key_value, default=[], help="variable substitution: ${KEY} / ${hivevar:KEY}")
    p.add_argument("--hiveconf", dest="hiveconf", metavar="KEY=VALUE", action="append", type=_key_value,
                   default=[], help="set a configuration property")
    p.add_argument("--database", metavar="DB", help="database to use")
    p.add_argument("-S", dest="silent", action="store_true", help="silent: print only the rows (and errors)")
    p.add_argument("--silent", dest="silent", nargs="?", const=True, type=_bool, metavar="true|false")
    p.add_argument("-v", dest="verbose", action="store_true", help="echo each statement before running it")
    p.add_argument("--verbose", dest="verbose", nargs="?", const=True, type=_bool, metavar="true|false")
    p.add_argument("--force", nargs="?", const=True, default=False, type=_bool, metavar="true|false",
                   help="continue after a failed statement")
    p.add_argument("--outputformat", "--outputFormat", dest="outputformat", choices=BEELINE_FORMATS,
                   metavar="FORMAT", help="Beeline output: " + ", ".join(BEELINE_FORMATS))
    p.add_argument("--delimiterForDSV", "--delimiterfordsv", dest="delimiter_for_dsv", default="|",
                   metavar="DELIMITER", help="delimiter of --outputformat=dsv (default |)")
    p.add_argument("--showHeader", "--showheader", dest="show_header", nargs="?", const=True, type=_bool,
                   metavar="true|false", help="print column names (default: hive.cli.print.header; "
                   "true for Beeline formats)")
    p.add_argument("--headerInterval", "--headerinterval", dest="header_interval", type=_positive, default=100,
                   metavar="ROWS", help="repeat the table header every ROWS rows (default 100)")
    p.add_argument("--maxColumnWidth", "--maxcolumnwidth", dest="max_column_width", type=_positive, default=50,
                   metavar="N", help="widest table column (default 50)")
    p.add_argument("--nullemptystring", dest="null_empty_string", nargs="?", const=True, default=False,
                   type=_bool, metavar="true|false", help="print NULL as an empty string (Beeline formats)")
    p.add_argument("--warehouse", metavar="DIR", help="warehouse directory or URL")
    p.add_argument("--metastore", metavar="FILE", help="metastore database file")
    p.add_argument("--engine", choices=ENGINES, help="execution engine (sets hive.execution.engine)")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    return p


def _version() -> str:
    from hiveish import __version__

    return __version__


def _takes_value(action: argparse.Action) -> bool | None:
    """True: needs a value; None: an optional one (only as `--name=value`); False: a flag."""
    if action.nargs == 0 or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return False
    return None if action.nargs == "?" else True


def hive_style_argv(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """Arguments as the Hive CLI's GnuParser reads them, rewritten for argparse.

    A long option may be written with one dash (`-hiveconf k=v`, `-database db`, `-hivevar`,
    `-define`) or two, its value after `=` or as the next argument (which may start with a
    dash: `-e "-- note..."`); `-dk=v` is `-d k=v`. A single-dash word that is no option is
    `Unrecognized option`, never read as a burst of short flags (`-hivecon` is not `-h`).
    """
    actions = parser._option_string_actions
    longs = {o[2:]: a for o, a in actions.items() if o.startswith("--")}
    shorts = {o[1:]: a for o, a in actions.items() if len(o) == 2 and o[0] == "-" and o[1] != "-"}
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--" or not arg.startswith("-") or arg == "-":
            out.append(arg)
            if arg == "--":
                out.extend(args[i:])
                break
            continue
        body = arg.lstrip("-")
        name, eq, value = body.partition("=")
        action = longs.get(name) if (arg.startswith("--") or len(name) > 1) else None
        if action is None and not arg.startswith("--") and len(name) == 1:
            action = shorts.get(name)
        if action is not None:
            option = f"--{name}" if f"--{name}" in actions else f"-{name}"
            wants = _takes_value(action)
            if eq:
                if wants is False:
                    raise UsageError(f"Option {option} takes no value: {arg}")
                out.append(f"{option}={value}")
            elif wants and i < len(args):
                out.append(f"{option}={args[i]}")
                i += 1
            else:
                out.append(option)  # argparse reports a missing value
            continue
        if arg.startswith("--"):
            out.append(arg)  # argparse: unrecognized arguments
            continue
        head = shorts.get(body[:1])
        if head is not None and _takes_value(head):  # -dk=v, -e'select 1'
            out.append(f"-{body[:1]}={body[1:]}")
            continue
        if body and all(c in shorts and _takes_value(shorts[c]) is False and c not in "hH" for c in body):
            out.extend(f"-{c}" for c in body)  # -Sv
            continue
        raise UsageError(f"Unrecognized option: {arg}")
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(hive_style_argv(parser, argv))
    if args.execute is not None and args.file is not None:
        raise UsageError("The '-e' and '-f' options cannot be specified simultaneously")
    return args


# -- running statements -----------------------------------------------------------------------


class Runner:
    """Runs statements on a session and prints rows and status as the CLI does."""

    def __init__(self, session: "Session", args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
        self.session = session
        self.args = args
        self.out = out
        self.err = err
        self.silent = bool(args.silent)
        self.options = OutputOptions(
            format=args.outputformat or "hive",
            show_header=args.show_header,
            delimiter_for_dsv=args.delimiter_for_dsv,
            null_string="" if args.null_empty_string else "NULL",
            header_interval=args.header_interval,
            max_column_width=args.max_column_width,
        )
        self.first_failure = EXIT_OK
        self.current: "Result | None" = None
        self.quit = False
        self._depth = 0

    # -- messages
    def info(self, text: str) -> None:
        if not self.silent:
            self.out.flush()
            self.err.write(text + "\n")
            self.err.flush()

    def error(self, text: str) -> None:
        self.out.flush()
        self.err.write(text + "\n")
        self.err.flush()

    def failed(self, exc: BaseException) -> int:
        self.error(errors.failure_message(exc))
        if self.args.debug:
            traceback.print_exception(exc, file=self.err)
            self.err.flush()
        return EXIT_FAILED

    @property
    def force(self) -> bool:
        return bool(self.args.force) or self.session.settings.get_bool("hive.cli.errors.ignore")

    # -- scripts
    def run_script(self, text: str, *, keep_going: bool = False) -> int:
        """Run every statement; stop at the first failure unless forced. Returns an exit code."""
        code = EXIT_OK
        for stmt in split_statements(text):
            rc = self.run_statement(stmt.text)
            if rc is None or self.quit:  # quit / exit, here or in a sourced file
                break
            if rc != EXIT_OK:
                code = code or rc
                self.first_failure = self.first_failure or rc
                if not (keep_going or self.force):
                    return rc
        return code

    def run_file(self, path: str) -> int:
        text = read_script(path, self.error)
        if text is None:
            return EXIT_NO_FILE
        return self.run_script(text)

    def run_statement(self, text: str) -> int | None:
        """Run one statement; None means the script asked to quit."""
        text = strip_leading_comments(text)  # as the Hive CLI drops `--` lines, so SET etc. are seen
        bare = strip_comments(text).strip()
        words = bare.split(None, 1)
        first = words[0].lower() if words else ""
        if bare.rstrip(";").strip().lower() in ("quit", "exit"):
            self.quit = True
            return None
        if self.args.verbose:
            self.out.write(text + "\n")
            self.out.flush()
        if first == "source" and len(words) > 1:
            return self._source(words[1])
        started = time.monotonic()
        jobs = JobLines(self.info)
        listeners = getattr(self.session, "job_listeners", [])
        listeners.append(jobs.event)
        try:
            try:
                result = self.session.execute(text)
            finally:
                listeners.remove(jobs.event)
                jobs.summary()
            self.current = result
            for warning in getattr(self.session, "statement_warnings", []):
                self.error(f"WARNING: {warning}")
            return self._print(result, first, started)
        except (KeyboardInterrupt, BrokenPipeError):
            self.cancel()
            raise
        except Exception as e:
            return self.failed(e)
        finally:
            self.current = None

    def _source(self, rest: str) -> int:
        path = self.session.substitute(rest.strip().rstrip(";").strip()).strip("'\"")
        if self._depth >= MAX_SOURCE_DEPTH:
            self.error(f"FAILED: source nesting deeper than {MAX_SOURCE_DEPTH}: {path}")
            return EXIT_FAILED
        self._depth += 1
        try:
            return self.run_file(path)
        finally:
            self._depth -= 1

    def _print(self, result: "Result", first_word: str, started: float) -> int:
        hive = self.options.format == "hive"
        processor = hive and first_word in PROCESSOR_COMMANDS
        if not result.has_rows:
            if processor:
                pass
            elif hive:
                self.info("OK")
                self.info(hive_time_taken(time.monotonic() - started))
            else:
                self.info(beeline_rows_affected(0, time.monotonic() - started))
            return EXIT_OK
        batches = iter(result.batches)
        head = next(batches, None)  # engine errors surface here, before OK is printed
        if hive and not processor:
            self.info("OK")
        # Beeline's -Ddisable.quoting.for.sv, read per statement so a script may SET it
        options = replace(self.options, quoting=not self.session.settings.get_bool("disable.quoting.for.sv"))
        if hive:
            header = False if processor else (
                options.show_header if options.show_header is not None
                else self.session.settings.get_bool("hive.cli.print.header"))
            options = replace(options, show_header=header)
        chained = _chain(head, batches)
        count = write_result(self.out, result.columns, chained, options)
        self.out.flush()
        elapsed = time.monotonic() - started
        if processor:
            pass
        elif hive:
            self.info(hive_time_taken(elapsed, count))
        else:
            self.info(beeline_rows_selected(count, elapsed))
        return EXIT_OK

    def cancel(self) -> None:
        result = self.current
        if result is not None and result.cancel is not None:
            try:
                result.cancel()
            except Exception:
                pass


class JobLines:
    """Hive's MapReduce job lines for one statement, written through `write` (stderr, not under -S)."""

    def __init__(self, write, interval: float = 1.0) -> None:
        self.write = write
        self.interval = interval
        self._last: dict[str, tuple[float, int, int]] = {}  # job id -> (time, map %, reduce %)
        self.reports: list = []

    @staticmethod
    def _now() -> str:
        t = time.time()
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) + f",{int(t * 1000) % 1000:03d}"

    def event(self, kind: str, report) -> None:
        from hiveish.jobs import cpu_text

        if kind == "start":
            self.reports.append(report)
            self.write(f"Launching Job {len(self.reports)}")
            self.write(f"Starting Job = {report.job_id}")
            self.write(f"Hadoop job information for {report.stage}: number of mappers: {report.maps}; "
                       f"number of reducers: {report.reduces}")
            self._progress(report, force=True)
        elif kind == "progress":
            self._progress(report)
        elif kind == "end":
            self._progress(report, force=True)
            self.write(f"MapReduce Total cumulative CPU time: {cpu_text(report.counters.get('CPU_MILLISECONDS', 0))}")
            self.write(f"Ended Job = {report.job_id}" + ("" if report.status == "SUCCESS" else " with errors"))

    def _progress(self, report, force: bool = False) -> None:
        p = report.progress()
        now = time.monotonic()
        last = self._last.get(report.job_id)
        if last is not None and (last[1], last[2]) == (p["map"], p["reduce"]):
            return
        if last is not None and not force and now - last[0] < self.interval and p["map"] < 100:
            return
        self._last[report.job_id] = (now, p["map"], p["reduce"])
        cpu = report.counters.get("CPU_MILLISECONDS", 0) / 1000
        self.write(f"{self._now()} {report.stage} map = {p['map']}%,  reduce = {p['reduce']}%"
                   + (f", Cumulative CPU {cpu:.2f} sec" if cpu else ""))

    def summary(self) -> None:
        """`MapReduce Jobs Launched:` and one line per stage, after the statement's jobs."""
        from hiveish.jobs import cpu_text

        reports = self.reports
        if not reports:
            return
        self.write("MapReduce Jobs Launched: ")
        for r in reports:
            self.write(f"Stage-{r.line()}")
        cpu = sum(r.counters.get("CPU_MILLISECONDS", 0) for r in reports)
        self.write(f"Total MapReduce CPU Time Spent: {cpu_text(cpu)}")


def strip_leading_comments(text: str) -> str:
    """Drop comments and blank space before a statement's first token (hints `/*+` stay).

    >>> strip_leading_comments("-- note\\n/* c */ set x=1")
    'set x=1'
    """
    while True:
        text = text.lstrip()
        if text.startswith("--"):
            end = text.find("\n")
            text = "" if end < 0 else text[end + 1:]
        elif text.startswith("/*") and not text.startswith("/*+"):
            end = text.find("*/", 2)
            text = "" if end < 0 else text[end + 2:]
        else:
            return text


def _chain(head, rest):
    if head is not None:
        yield head
        yield from rest


def read_script(path: str, report) -> str | None:
    """A script file's text, or None after reporting why it cannot be read (Hive's message)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data.decode("utf-8")
    except OSError as e:
        reason = e.strerror or str(e)
        report(f"Could not open input file for reading. ({path} ({reason}))")
    except UnicodeDecodeError as e:
        report(f"Could not open input file for reading. ({path} (not UTF-8: {e.reason} at byte {e.start}))")
    return None


# -- entry point --------------------------------------------------------------------------------


def _streams() -> tuple[TextIO, TextIO]:
    """stdout and stderr writing UTF-8 with `\\n` line ends, whatever the locale."""
    for stream, on_error in ((sys.stdout, "replace"), (sys.stderr, "backslashreplace")):
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors=on_error, newline="\n")
            except (ValueError, io.UnsupportedOperation):
                pass
    return sys.stdout, sys.stderr


def _open_session(args: argparse.Namespace) -> "Session":
    from hiveish.session import Session

    settings = dict(args.hiveconf)
    if args.engine:
        settings["hive.execution.engine"] = args.engine
    return Session(warehouse=args.warehouse, metastore=args.metastore, database=args.database or "default",
                   settings=settings, hivevar=dict(args.hivevar))


def _shell_app():
    """`hiveish.shell.app` if it exists (its own import errors are not hidden)."""
    try:
        spec = importlib.util.find_spec("hiveish.shell.app")
    except ModuleNotFoundError:
        spec = None
    return importlib.import_module("hiveish.shell.app") if spec is not None else None


def _read_eval_loop(runner: Runner, err: TextIO) -> int:
    """A minimal line reader when the interactive shell is not available."""
    err.write("hiveish: interactive shell not available; reading statements from stdin (Ctrl-D ends).\n")
    err.flush()
    code = EXIT_OK
    buffer = ""
    while True:
        try:
            line = input("hiveish> " if not buffer else "    > ")
        except EOFError:
            break
        except KeyboardInterrupt:
            buffer = ""
            err.write("\n")
            continue
        buffer += line + "\n"
        if not is_complete(buffer):
            continue
        text, buffer = buffer, ""
        for stmt in split_statements(text):
            try:
                rc = runner.run_statement(stmt.text)
            except KeyboardInterrupt:
                err.write("Interrupted\n")
                rc = EXIT_INTERRUPTED
                break
            if rc is None:
                return code
            code = rc
    if buffer.strip():
        code = runner.run_script(buffer, keep_going=True)
    return code


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.debug:
        logging.basicConfig(level=logging.WARNING, stream=err)
        for name in ("hiveish", "planner", "executors", "catalog"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        session = _open_session(args)
    except Exception as e:
        return _report_failure(e, args.debug, err)
    runner = Runner(session, args, out, err)
    try:
        # init files: ~/.hiveishrc, then each -i, silently (as the Hive CLI runs .hiverc)
        init = [p for p in [os.path.expanduser(RC_FILE)] if os.path.isfile(p)] + list(args.init)
        if init:
            runner.silent = True
            try:
                for path in init:
                    rc = runner.run_file(path)
                    if rc != EXIT_OK and not runner.force:
                        return rc
                    if runner.quit:
                        return runner.first_failure
            finally:
                runner.silent = bool(args.silent)
        if args.execute is not None:
            rc = runner.run_script(args.execute)
        elif args.file is not None:
            rc = runner.run_file(args.file)
        elif sys.stdin is not None and sys.stdin.isatty():
            app = _shell_app()
            if app is not None:
                result = app.run(session, args)
                rc = result if isinstance(result, int) else EXIT_OK
            else:
                rc = _read_eval_loop(runner, err)
        else:
            data = sys.stdin.buffer.read() if sys.stdin is not None and hasattr(sys.stdin, "buffer") else b""
            rc = runner.run_script(data.decode("utf-8", errors="replace"))
        return runner.first_failure or rc
    except KeyboardInterrupt:
        runner.cancel()
        return EXIT_INTERRUPTED
    finally:
        try:
            out.flush()
        except BrokenPipeError:
            pass
        session.close()


def _report_failure(exc: Exception, debug: bool, err: TextIO) -> int:
    """`FAILED: ...` for errors outside any statement (opening the session)."""
    if isinstance(exc, errors.Error):
        err.write(f"FAILED: {exc.hive_message()}\n")
    else:
        message = str(exc).split("\n")[0]
        err.write(f"FAILED: {type(exc).__name__}: {message}\n" if message else f"FAILED: {type(exc).__name__}\n")
    if debug:
        traceback.print_exception(exc, file=err)
    err.flush()
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point (`hiveish`, `python -m hiveish`); returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "history-server":  # a subcommand with options of its own
        from hiveish.history.server import main as history_server

        return history_server(argv[1:])
    try:
        args = parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"{build_parser().format_usage()}hiveish: error: {e}\n")
        return EXIT_USAGE
    out, err = _streams()
    try:
        return _run(args, out, err)
    except BrokenPipeError:
        # the reader went away (`hiveish -e ... | head`): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as e:  # never a traceback unless --debug
        return _report_failure(e, args.debug, err)
