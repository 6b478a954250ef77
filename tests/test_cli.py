"""The `hiveish` command end to end: `python -m hiveish` run as a real subprocess.

Each run gets `--warehouse`/`--metastore` under a temporary directory and HOME set
to a temporary directory, so `~/.hiveishrc` is under the test's control. A few
checks of `hiveish.output` and of the runner's error handling run in-process.

Exit codes: 0 success, 1 bad arguments, 2 a statement failed, 3 a file could not
be read. With `--force` the script goes on after an error, and the exit code is
still 2 when any statement failed (the Hive CLI would return the last one's).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

from hiveish import cli
from hiveish.output import OutputOptions, beeline_rows_affected, beeline_rows_selected, hive_time_taken, write_result

REPO = Path(__file__).resolve().parents[1]
OK = "OK"
TIME = r"Time taken: \d+\.\d+ seconds"

SETUP = """\
create table f (id int, s string, x double, ok boolean, ts timestamp);
insert into f values
  (1, 'plain', 1.5, true, '2020-01-02 03:04:05'),
  (2, 'a,b "q" it\\'s', -0.25, false, '2020-01-02 03:04:05.123'),
  (3, 'tab\\there|pipe', 1e7, null, null),
  (4, 'héllo 中文', null, true, '1999-12-31 23:59:59'),
  (null, null, 0.0, false, null),
  (5, '', 2.0, true, null);
create database other;
create table other.o (a int);
"""
QUERY = "select * from f order by id"


class Warehouse:
    """A warehouse and metastore shared by the module's runs, plus a HOME per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir()

    def run(self, *args: str, home: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["HOME"] = str(home or self.home)
        env["HIVEISH_HOME"] = str(self.root / "hiveish-home")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + [p for p in [env.get("PYTHONPATH")] if p])
        env.pop("PYTHONWARNINGS", None)
        cmd = [sys.executable, "-m", "hiveish", "--warehouse", str(self.root / "wh"),
               "--metastore", str(self.root / "metastore.db"), *args]
        return subprocess.run(cmd, input=stdin.encode(), capture_output=True, env=env, cwd=str(home or self.home),
                              timeout=120)

    def run_many(self, arg_lists: list[list[str]]) -> list[subprocess.CompletedProcess]:
        with ThreadPoolExecutor(max_workers=min(8, len(arg_lists))) as pool:
            return list(pool.map(lambda a: self.run(*a), arg_lists))


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Warehouse:
    w = Warehouse(tmp_path_factory.mktemp("cli"))
    setup = w.root / "setup.sql"
    setup.write_text(SETUP, encoding="utf-8")
    p = w.run("-S", "-f", str(setup))
    assert p.returncode == 0, p.stderr.decode()
    assert p.stdout == b"" and p.stderr == b""
    return w


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout.decode("utf-8")


def err(p: subprocess.CompletedProcess) -> str:
    return p.stderr.decode("utf-8")


def assert_lines(text: str, patterns: list[str]) -> None:
    lines = text.splitlines()
    assert len(lines) == len(patterns), text
    for line, pattern in zip(lines, patterns):
        assert re.fullmatch(pattern, line), (line, pattern, text)


# -- the Hive CLI's shape ---------------------------------------------------------------------

HIVE_ROWS = (
    "NULL\tNULL\t0.0\tfalse\tNULL\n"
    "1\tplain\t1.5\ttrue\t2020-01-02 03:04:05\n"
    "2\ta,b \"q\" it's\t-0.25\tfalse\t2020-01-02 03:04:05.123\n"
    "3\ttab\there|pipe\t1.0E7\tNULL\tNULL\n"
    "4\théllo 中文\tNULL\ttrue\t1999-12-31 23:59:59\n"
    "5\t\t2.0\ttrue\tNULL\n"
)


def test_query_rows_and_status(wh):
    p = wh.run("-e", f"{QUERY}; select 1 from f where false; create table if not exists made (a int); "
                     "set hivevar:quiet=1")
    assert p.returncode == 0, err(p)
    assert out(p) == HIVE_ROWS
    # a query with rows, one without (no Fetched, as Hive), DDL; SET prints nothing
    assert_lines(err(p), [OK, TIME + r", Fetched: 6 row\(s\)", OK, TIME, OK, TIME])


def test_header_from_setting_or_flag(wh):
    q = "select id, s from f where id = 1"
    a, b, c = wh.run_many([["--hiveconf", "hive.cli.print.header=true", "-S", "-e", q],
                           ["-S", "-e", f"{q}; set hive.cli.print.header=true; {q}"],
                           ["--showHeader=true", "-S", "-e", q]])
    assert out(a) == "id\ts\n1\tplain\n"
    assert out(b) == "1\tplain\nid\ts\n1\tplain\n"
    assert out(c) == "id\ts\n1\tplain\n"


def test_parse_error_stops_the_script(wh):
    p = wh.run("-e", "select 1; selec 2; select 3")
    assert p.returncode == 2
    assert out(p) == "1\n"
    assert_lines(err(p), [OK, TIME + r", Fetched: 1 row\(s\)", r"FAILED: ParseException line 1:\d+ .*"])
    assert "Traceback" not in err(p)


def test_missing_table(wh):
    p = wh.run("-e", "select * from nope; select 1")
    assert p.returncode == 2
    assert out(p) == ""
    assert err(p) == "FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'nope'\n"


def test_force_goes_on_but_still_fails(wh):
    a, b = wh.run_many([["--force", "-e", "select * from nope; select 'after'"],
                        ["--hiveconf", "hive.cli.errors.ignore=true", "-S", "-e", "selec 2; select 'after'"]])
    for p in (a, b):
        assert p.returncode == 2
        assert out(p) == "after\n"
    assert err(a).startswith("FAILED: SemanticException [Error 10001]")
    assert err(b).startswith("FAILED: ParseException")


def test_debug_shows_traceback(wh):
    p = wh.run("--debug", "-e", "select * from nope")
    assert p.returncode == 2
    assert err(p).startswith("FAILED: SemanticException [Error 10001]")
    assert "Traceback (most recent call last)" in err(p)


def test_hivevar_and_hiveconf_substitution(wh):
    p = wh.run("-d", "a=1", "--define", "b=two", "--hivevar", "c=x y", "--hiveconf", "my.key=conf",
               "-e", "set hivevar:d=${a}${b}; select '${a}', '${hivevar:b}', '${c}', '${d}', "
                     "'${hiveconf:my.key}', '${undefined}'")
    assert p.returncode == 0, err(p)
    assert out(p) == "1\ttwo\tx y\t1two\tconf\t${undefined}\n"
    assert_lines(err(p), [OK, TIME + r", Fetched: 1 row\(s\)"])  # SET prints no OK


def test_init_files_run_first_and_silently(wh, tmp_path):
    (tmp_path / ".hiveishrc").write_text("set hivevar:v=rc;\nselect 'from rc';\n", encoding="utf-8")
    (tmp_path / "one.sql").write_text("set hivevar:v=${v}-one;", encoding="utf-8")
    (tmp_path / "two.sql").write_text("-- comment only\nset hivevar:v=${v}-two;\n", encoding="utf-8")
    p = wh.run("-i", "one.sql", "-i", "two.sql", "-e", "select '${v}'", home=tmp_path)
    assert p.returncode == 0, err(p)
    assert out(p) == "from rc\nrc-one-two\n"  # init rows print; their OK / Time taken do not
    assert_lines(err(p), [OK, TIME + r", Fetched: 1 row\(s\)"])


def test_init_file_failures(wh, tmp_path):
    (tmp_path / "bad.sql").write_text("select * from nope;", encoding="utf-8")
    failing = wh.run("-i", "bad.sql", "-e", "select 'main'", home=tmp_path)
    assert failing.returncode == 2
    assert out(failing) == ""
    assert err(failing).startswith("FAILED: SemanticException [Error 10001]")
    missing = wh.run("-i", "missing.sql", "-e", "select 'main'", home=tmp_path)
    assert missing.returncode == 3
    assert out(missing) == ""
    assert err(missing) == "Could not open input file for reading. (missing.sql (No such file or directory))\n"


def test_bad_arguments_exit_1(wh):
    both, unknown, bad_var, bad_format = wh.run_many([
        ["-e", "select 1", "-f", "x.sql"],
        ["--no-such-flag"],
        ["--hivevar", "novalue", "-e", "select 1"],
        ["--outputformat=xml", "-e", "select 1"],
    ])
    for p in (both, unknown, bad_var, bad_format):
        assert p.returncode == 1, err(p)
        assert out(p) == ""
        assert "usage: hiveish" in err(p) and "Traceback" not in err(p)
    assert "The '-e' and '-f' options cannot be specified simultaneously" in err(both)


def test_unreadable_file_exit_3(wh, tmp_path):
    (tmp_path / "latin1.sql").write_bytes(b"select '\xe9';")
    (tmp_path / "dir.sql").mkdir()
    missing, directory, undecodable = wh.run_many([["-f", str(tmp_path / "missing.sql")],
                                                   ["-f", str(tmp_path / "dir.sql")],
                                                   ["-f", str(tmp_path / "latin1.sql")]])
    for p in (missing, directory, undecodable):
        assert p.returncode == 3
        assert out(p) == ""
        assert err(p).startswith("Could not open input file for reading. (")
    assert "(No such file or directory))" in err(missing)
    assert "(Is a directory))" in err(directory)


def test_file_source_quit_and_stdin(wh, tmp_path):
    (tmp_path / "inner.sql").write_text("select 'inner';", encoding="utf-8")
    (tmp_path / "main.sql").write_text("select 'first';\nsource inner.sql;\nquit;\nselect 'never';\n",
                                       encoding="utf-8")
    p = wh.run("-S", "-f", "main.sql", home=tmp_path)
    assert (p.returncode, out(p), err(p)) == (0, "first\ninner\n", "")
    piped = wh.run("-S", stdin="select 1;\nselect\n  2;\n", home=tmp_path)
    assert (piped.returncode, out(piped), err(piped)) == (0, "1\n2\n", "")


def test_silent_and_verbose(wh):
    silent, verbose = wh.run_many([["-S", "-e", "select 1; select * from nope"],
                                   ["-S", "-v", "-e", "select 1;\nselect 2"]])
    assert (silent.returncode, out(silent)) == (2, "1\n")
    assert err(silent) == "FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'nope'\n"
    assert (verbose.returncode, out(verbose), err(verbose)) == (0, "select 1\n1\nselect 2\n2\n", "")


def test_database_engine_and_version(wh):
    db, no_db, engine, version = wh.run_many([
        ["--database", "other", "-S", "-e", "show tables"],
        ["--database", "nodb", "-e", "select 1"],
        ["--engine", "mr", "-S", "-e", "set hive.execution.engine"],
        ["--version"],
    ])
    assert (db.returncode, out(db)) == (0, "o\n")
    assert no_db.returncode == 2
    assert err(no_db) == "FAILED: SemanticException [Error 10072]: Database does not exist: nodb\n"
    assert (engine.returncode, out(engine)) == (0, "hive.execution.engine=mr\n")
    assert version.returncode == 0 and out(version).startswith("hiveish ")


# -- Beeline's output formats -------------------------------------------------------------------

BEELINE = {
    "table": (
        "+-------+----------------+--------+--------+--------------------------+\n"
        "|  id   |       s        |   x    |   ok   |            ts            |\n"
        "+-------+----------------+--------+--------+--------------------------+\n"
        "| NULL  | NULL           | 0.0    | false  | NULL                     |\n"
        "| 1     | plain          | 1.5    | true   | 2020-01-02 03:04:05.0    |\n"
        "| 2     | a,b \"q\" it's   | -0.25  | false  | 2020-01-02 03:04:05.123  |\n"
        "| 3     | tab\there|pipe  | 1.0E7  | NULL   | NULL                     |\n"
        "| 4     | héllo 中文       | NULL   | true   | 1999-12-31 23:59:59.0    |\n"
        "| 5     |                | 2.0    | true   | NULL                     |\n"
        "+-------+----------------+--------+--------+--------------------------+\n"
    ),
    "vertical": (
        "id  NULL\ns   NULL\nx   0.0\nok  false\nts  NULL\n\n"
        "id  1\ns   plain\nx   1.5\nok  true\nts  2020-01-02 03:04:05.0\n\n"
        "id  2\ns   a,b \"q\" it's\nx   -0.25\nok  false\nts  2020-01-02 03:04:05.123\n\n"
        "id  3\ns   tab\there|pipe\nx   1.0E7\nok  NULL\nts  NULL\n\n"
        "id  4\ns   héllo 中文\nx   NULL\nok  true\nts  1999-12-31 23:59:59.0\n\n"
        "id  5\ns   \nx   2.0\nok  true\nts  NULL\n\n"
    ),
    "csv2": (
        "id,s,x,ok,ts\n"
        "NULL,NULL,0.0,false,NULL\n"
        "1,plain,1.5,true,2020-01-02 03:04:05.0\n"
        "2,\"a,b \"\"q\"\" it's\",-0.25,false,2020-01-02 03:04:05.123\n"
        "3,tab\there|pipe,1.0E7,NULL,NULL\n"
        "4,héllo 中文,NULL,true,1999-12-31 23:59:59.0\n"
        "5,,2.0,true,NULL\n"
    ),
    "tsv2": (
        "id\ts\tx\tok\tts\n"
        "NULL\tNULL\t0.0\tfalse\tNULL\n"
        "1\tplain\t1.5\ttrue\t2020-01-02 03:04:05.0\n"
        "2\t\"a,b \"\"q\"\" it's\"\t-0.25\tfalse\t2020-01-02 03:04:05.123\n"
        "3\t\"tab\there|pipe\"\t1.0E7\tNULL\tNULL\n"
        "4\théllo 中文\tNULL\ttrue\t1999-12-31 23:59:59.0\n"
        "5\t\t2.0\ttrue\tNULL\n"
    ),
    "dsv": (
        "id|s|x|ok|ts\n"
        "NULL|NULL|0.0|false|NULL\n"
        "1|plain|1.5|true|2020-01-02 03:04:05.0\n"
        "2|\"a,b \"\"q\"\" it's\"|-0.25|false|2020-01-02 03:04:05.123\n"
        "3|\"tab\there|pipe\"|1.0E7|NULL|NULL\n"
        "4|héllo 中文|NULL|true|1999-12-31 23:59:59.0\n"
        "5||2.0|true|NULL\n"
    ),
    "csv": (
        "'id','s','x','ok','ts'\n"
        "'NULL','NULL','0.0','false','NULL'\n"
        "'1','plain','1.5','true','2020-01-02 03:04:05.0'\n"
        "'2','a,b \"q\" it's','-0.25','false','2020-01-02 03:04:05.123'\n"
        "'3','tab\there|pipe','1.0E7','NULL','NULL'\n"
        "'4','héllo 中文','NULL','true','1999-12-31 23:59:59.0'\n"
        "'5','','2.0','true','NULL'\n"
    ),
    "tsv": (
        "'id'\t's'\t'x'\t'ok'\t'ts'\n"
        "'NULL'\t'NULL'\t'0.0'\t'false'\t'NULL'\n"
        "'1'\t'plain'\t'1.5'\t'true'\t'2020-01-02 03:04:05.0'\n"
        "'2'\t'a,b \"q\" it's'\t'-0.25'\t'false'\t'2020-01-02 03:04:05.123'\n"
        "'3'\t'tab\there|pipe'\t'1.0E7'\t'NULL'\t'NULL'\n"
        "'4'\t'héllo 中文'\t'NULL'\t'true'\t'1999-12-31 23:59:59.0'\n"
        "'5'\t''\t'2.0'\t'true'\t'NULL'\n"
    ),
    "json": (
        '{"resultset":[{"id":null,"s":null,"x":0.0,"ok":false,"ts":null},'
        '{"id":1,"s":"plain","x":1.5,"ok":true,"ts":"2020-01-02 03:04:05.0"},'
        '{"id":2,"s":"a,b \\"q\\" it\'s","x":-0.25,"ok":false,"ts":"2020-01-02 03:04:05.123"},'
        '{"id":3,"s":"tab\\there|pipe","x":1.0E7,"ok":null,"ts":null},'
        '{"id":4,"s":"héllo 中文","x":null,"ok":true,"ts":"1999-12-31 23:59:59.0"},'
        '{"id":5,"s":"","x":2.0,"ok":true,"ts":null}]}\n'
    ),
    "jsonfile": (
        '{"id":null,"s":null,"x":0.0,"ok":false,"ts":null}\n'
        '{"id":1,"s":"plain","x":1.5,"ok":true,"ts":"2020-01-02 03:04:05.0"}\n'
        '{"id":2,"s":"a,b \\"q\\" it\'s","x":-0.25,"ok":false,"ts":"2020-01-02 03:04:05.123"}\n'
        '{"id":3,"s":"tab\\there|pipe","x":1.0E7,"ok":null,"ts":null}\n'
        '{"id":4,"s":"héllo 中文","x":null,"ok":true,"ts":"1999-12-31 23:59:59.0"}\n'
        '{"id":5,"s":"","x":2.0,"ok":true,"ts":null}\n'
    ),
}


@pytest.fixture(scope="module")
def formatted(wh) -> dict[str, subprocess.CompletedProcess]:
    """Every format of the same query, run in parallel."""
    runs = wh.run_many([[f"--outputformat={fmt}", "-e", QUERY] for fmt in BEELINE])
    return dict(zip(BEELINE, runs))


@pytest.mark.parametrize("fmt", list(BEELINE))
def test_output_format_bytes(formatted, fmt):
    p = formatted[fmt]
    assert p.returncode == 0, err(p)
    assert out(p) == BEELINE[fmt]
    assert_lines(err(p), [r"6 rows selected \(\d+(\.\d{1,3})? seconds\)"])


def test_output_format_options(wh):
    headless, unquoted, dsv, empty, ddl, nulls = wh.run_many([
        ["--outputformat=csv2", "--showHeader=false", "-e", "select id, s from f where id = 2"],
        ["--outputformat=csv2", "--showHeader=false", "-S", "-e",
         "set disable.quoting.for.sv=true; select id, s from f where id = 2"],
        ["--outputformat=dsv", "--delimiterForDSV=;", "-S", "-e", "select id, s from f where id in (1, 2) order by id"],
        ["--outputformat=table", "-e", "select id, s from f where false"],
        ["--outputformat=table", "-e", "create table if not exists made2 (a int)"],
        ["--outputformat", "tsv2", "--nullemptystring=true", "-S", "-e", "select id, s from f where id is null"],
    ])
    assert out(headless) == '2,"a,b ""q"" it\'s"\n'
    assert out(unquoted) == '2,a,b "q" it\'s\n'  # Beeline's own default
    assert out(dsv) == 'id;s\n1;plain\n2;"a,b ""q"" it\'s"\n'
    assert out(empty) == "+-----+----+\n| id  | s  |\n+-----+----+\n+-----+----+\n"
    assert_lines(err(empty), [r"No rows selected \(\d+(\.\d{1,3})? seconds\)"])
    assert out(ddl) == ""
    assert_lines(err(ddl), [r"No rows affected \(\d+(\.\d{1,3})? seconds\)"])
    assert out(nulls) == "id\ts\n\t\n"
    assert all(p.returncode == 0 for p in (headless, unquoted, dsv, empty, ddl, nulls))


# -- in-process: formatter details and error handling ----------------------------------------------


def render(fmt: str, columns, batches, **options) -> str:
    buf = io.StringIO()
    write_result(buf, columns, batches, OutputOptions(fmt, **options))
    return buf.getvalue()


def test_table_repeats_header_and_sizes_each_buffer():
    batch = pa.record_batch({"v": ["a", "bbbb", "cc", "d", "e"]})
    text = render("table", [("v", "string")], [batch], header_interval=2, buffer_rows=2)
    block = "+-------+\n|   v   |\n+-------+\n"
    # widths come from each buffer of rows (Beeline's incremental mode); borders from the first
    assert text == (block + "| a     |\n| bbbb  |\n" + block + "| cc  |\n| d   |\n" + block + "| e  |\n"
                    + "+-------+\n")


def test_table_pads_by_java_length_and_caps_width():
    batch = pa.record_batch({"e": ["\U0001F600", "x" * 60]})
    text = render("table", [("e", "string")], [batch], max_column_width=5, show_header=False)
    assert text == "+-------+\n| \U0001F600    |\n| " + "x" * 60 + " |\n+-------+\n"


def test_separated_values_quote_only_when_needed():
    batch = pa.record_batch({"a": ["plain", "li\nne", "c\rr", 'q"', "x|y"]})
    assert render("csv2", [("a", "string")], [batch], show_header=False) == (
        'plain\n"li\nne"\n"c\rr"\n"q"""\nx|y\n')
    assert render("dsv", [("a", "string")], [batch], show_header=False, quoting=False) == (
        'plain\nli\nne\nc\rr\nq"\nx|y\n')


def test_json_types_and_escapes():
    batch = pa.record_batch({"s": ["NULL", "\x01/\\", None], "d": [float("nan"), 1.0, None],
                             "b": [True, False, None]})
    text = render("json", [("s", "string"), ("d", "double"), ("b", "boolean")], [batch])
    assert text == ('{"resultset":[{"s":"NULL","d":"NaN","b":true},{"s":"\\u0001/\\\\","d":1.0,"b":false},'
                    '{"s":null,"d":null,"b":null}]}\n')
    assert render("json", [("s", "string")], []) == '{"resultset":[]}\n'


def test_status_lines():
    assert hive_time_taken(0.58, 2) == "Time taken: 0.58 seconds, Fetched: 2 row(s)"
    assert hive_time_taken(0.1) == "Time taken: 0.1 seconds"
    assert hive_time_taken(3.0, 0) == "Time taken: 3.0 seconds"
    assert beeline_rows_selected(0, 0.1) == "No rows selected (0.1 seconds)"
    assert beeline_rows_selected(2, 0.0005) == "2 rows selected (0 seconds)"
    assert beeline_rows_selected(1500, 1.25) == "1,500 rows selected (1.25 seconds)"
    assert beeline_rows_affected(0, 0.0123) == "No rows affected (0.012 seconds)"


class _FakeSession:
    def __init__(self, execute) -> None:
        from hiveish.settings import Settings

        self.settings = Settings()
        self.execute = execute

    def substitute(self, text: str) -> str:
        return text


def _runner(execute, *argv: str) -> tuple[cli.Runner, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return cli.Runner(_FakeSession(execute), cli.parse_args(list(argv)), stdout, stderr), stdout, stderr


def test_unexpected_exception_is_one_failed_line():
    def boom(sql):
        raise RuntimeError("engine exploded\nsecond line")

    runner, stdout, stderr = _runner(boom)
    assert runner.run_script("select 1; select 2") == 2
    assert stdout.getvalue() == ""
    assert stderr.getvalue() == "FAILED: RuntimeError: engine exploded\n"


def test_error_while_streaming_rows():
    from hiveish.session import Result

    def batches():
        yield pa.record_batch({"a": [1, 2]})
        raise ValueError("lost the stream")

    runner, stdout, stderr = _runner(lambda sql: Result(columns=[("a", "int")], batches=batches()), "-S")
    assert runner.run_script("select a from t") == 2
    assert stdout.getvalue() == "1\n2\n"  # rows streamed before the failure stay printed
    assert stderr.getvalue() == "FAILED: ValueError: lost the stream\n"
