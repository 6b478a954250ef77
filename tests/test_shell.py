"""The interactive shell: suggestions (pure), formatting, config, commands, and the real
shell driven in a pseudo-terminal with pexpect."""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from hiveish.shell import completer, special
from hiveish.shell.completer import (
    Column,
    Database,
    Function,
    HiveCompleter,
    Keyword,
    Setting,
    Special,
    Table,
    TableRef,
    extract_tables,
    quote_name,
    statement_done,
    suggest_type,
    tokenize,
)
from hiveish.shell.config import ShellConfig, load_config, packaged_text
from hiveish.shell.display import OutputSettings, fits, format_output

REPO = Path(__file__).resolve().parents[1]


def kinds(text: str, after: str = "") -> tuple:
    return suggest_type(text + after, text)


# -- suggest_type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", (Keyword(starting=True), Special())),
    ("sel", (Keyword(starting=True), Special())),
    ("select * from ", (Table(), Database())),
    ("SELECT * FROM sales_", (Table(), Database())),
    ("select * from a, ", (Table(), Database())),
    ("select * from a join ", (Table(), Database())),
    ("insert into ", (Table(), Database())),
    ("insert overwrite table ", (Table(), Database())),
    ("drop table if exists ", (Table(), Database())),
    ("describe ", (Table(), Database(), Keyword())),
    ("describe formatted ", (Table(), Database(), Keyword())),
    ("describe function ", (Function(),)),
    ("alter table ", (Table(), Database())),
    ("truncate table ", (Table(), Database())),
    ("show columns in ", (Table(), Database())),
    ("show partitions ", (Table(), Database())),
    ("use ", (Database(),)),
    ("use def", (Database(),)),
    ("show tables in ", (Database(),)),
    ("drop database ", (Database(),)),
    ("set ", (Setting(),)),
    ("set hive.exec.dyn", (Setting(),)),
    ("SET hiveconf:hive.cli", (Setting(),)),
    ("source /tmp/x", (completer.Path(),)),
    ("\\", (Special(),)),
    ("\\li", (Special(),)),
    ("select * from db.", (Table(schema="db"),)),
    ("select * from `my db`.t", (Table(schema="my db"),)),
    ("create table ", ()),
    ("create external table ", ()),
    ("create table t (a int, ", ()),
    ("select 'it is a ", ()),
    ("select a as ", ()),
    ("select * from t -- a comment", ()),
    ("select * from t /* open comment", ()),
    ("!ls ", ()),
    ("select * from t ", (Keyword(),)),
    ("select * from (", (Keyword(),)),
    ("with x as (", (Keyword(),)),
    ("create table t as ", (Keyword(),)),
    ("select * from t lateral view ", (Function(),)),
])
def test_suggestions(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize("text, after", [
    ("select ", " from orders o"),
    ("select a, ", " from orders o"),
    ("select count(", ") from orders o"),
    ("select * from orders o where ", ""),
    ("select * from orders o where a = 1 and ", ""),
    ("select * from orders o where a in (", ""),
    ("select a from orders o group by ", ""),
    ("select a from orders o order by a, ", ""),
    ("select a from orders o sort by ", ""),
    ("select a, count(*) from orders o group by a having ", ""),
])
def test_column_suggestions_use_the_statements_tables(text, after):
    got = kinds(text, after)
    assert got == (Column((TableRef(None, "orders", "o"),)), Function(), Keyword())


def test_column_suggestions_after_on_see_both_sides_of_a_join():
    got = kinds("select * from sales.orders o join customers c on ")
    assert got[0] == Column((TableRef("sales", "orders", "o"), TableRef(None, "customers", "c")))


def test_qualified_columns_use_the_alias_or_the_table():
    text = "select o. from orders o join customers c on o.id = c."
    assert kinds("select o.", text[len("select o."):]) == (Column((TableRef(None, "orders", "o"),), True),)
    assert kinds(text) == (Column((TableRef(None, "customers", "c"),), True),)
    # no FROM yet: the name is taken for a table of the current database
    assert kinds("select customers.na") == (Column((TableRef(None, "customers", None),), True),)


def test_only_the_statement_under_the_cursor_counts():
    assert kinds("select * from a; select ", " from b") == (Column((TableRef(None, "b", None),)), Function(), Keyword())
    assert kinds("select 1;\nuse ") == (Database(),)


def test_every_prefix_of_some_statements_is_handled():
    statements = [
        "WITH recent AS (SELECT o.id, o.amount FROM sales.orders AS o WHERE o.ds >= '2024-01-01') "
        "SELECT r.id, sum(r.amount) AS total FROM recent r LEFT JOIN `cust omers` c ON (r.id = c.id) "
        "GROUP BY r.id HAVING total > 10 ORDER BY total DESC LIMIT 5;",
        "INSERT OVERWRITE TABLE t PARTITION (ds='x', hr) SELECT a, b, hr FROM s LATERAL VIEW explode(m) e AS k, v;",
        "CREATE EXTERNAL TABLE IF NOT EXISTS db.t (a INT COMMENT 'x', b MAP<STRING,INT>) PARTITIONED BY (ds STRING) "
        "ROW FORMAT DELIMITED FIELDS TERMINATED BY ',' STORED AS TEXTFILE LOCATION '/tmp/x';",
        "select \"dq\\\"\", `a``b`, 'it''s', x.* from (select 1 x) x /* c */ -- d\n where 1=1; set a=b; \\x",
    ]
    for statement in statements:
        for i in range(len(statement) + 1):
            result = suggest_type(statement, statement[:i])
            assert isinstance(result, tuple), statement[:i]


def test_tokens_tables_and_statement_end():
    assert [t.kind for t in tokenize("a.`b` 'c' 1 <= (")] == ["word", "punct", "ident", "string", "number", "op", "punct"]
    assert not tokenize("'open")[-1].closed
    refs = extract_tables(tokenize("select * from a, db.b bb, c as cc left join d on a.x = d.x where e"))
    assert refs == (TableRef(None, "a", None), TableRef("db", "b", "bb"), TableRef(None, "c", "cc"),
                    TableRef(None, "d", None))
    assert statement_done("select 1;") and statement_done("select 1; -- note") and statement_done("")
    assert statement_done("quit") and statement_done("\\x")
    assert not statement_done("select 1") and not statement_done("select ';") and not statement_done("select 1 /* ; */")
    assert quote_name("plain_1") == "plain_1" and quote_name("has space") == "`has space`"


# -- the completer with a catalog -----------------------------------------------------------------


class FakeCatalog:
    def __init__(self):
        self.dbs = {"default": {"orders": ["order_id", "customer_name", "amount"], "order items": ["sku"]},
                    "sales": {"invoices": ["invoice_id", "total"]}}

    def databases(self):
        return sorted(self.dbs)

    def tables(self, db):
        return sorted(self.dbs.get(db, {}))

    def columns(self, db, table):
        return list(self.dbs.get(db, {}).get(table, []))


def complete(text: str, after: str = "", **kw) -> list[str]:
    completer = HiveCompleter(FakeCatalog(), lambda: "default", functions=["count", "concat", "sum"],
                              settings=["hive.cli.print.header", "hive.exec.dynamic.partition"],
                              specials=special.names(), **kw)
    document = Document(text + after, len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent(completion_requested=True))]


def test_completer_names_from_the_catalog():
    assert complete("select * from ord") == ["`order items`", "orders"]
    assert complete("select * from sales.") == ["invoices"]
    assert complete("select * from nodb.") == []
    assert complete("use s") == ["sales"]
    assert complete("select * from orders where cus") == ["customer_name"]
    assert complete("select o.", " from orders o") == ["order_id", "customer_name", "amount"]
    assert complete("select c", " from orders")[:3] == ["customer_name", "concat", "count"]  # columns first
    assert complete("set hive.cli") == ["hive.cli.print.header"]
    assert complete("\\li") == ["\\limit"]


def test_completer_keyword_case_follows_the_user():
    assert "SELECT" in complete("SEL") and "select" in complete("sel")
    assert "SELECT" in complete("sel", keyword_casing="upper")
    assert "where" in complete("select * from orders whe")


# -- formatting and config ------------------------------------------------------------------------


def test_format_output_table_vertical_and_others():
    batch = pa.record_batch({"id": [1, 2], "name": ["ann", None]})
    cols = [("id", "int"), ("name", "string")]
    table = format_output(cols, [batch], OutputSettings(width=80))
    assert table.splitlines()[1] == "| id  | name  |" and "| 2   | NULL  |" in table
    narrow = format_output(cols, [batch], OutputSettings(width=8))
    assert narrow.splitlines()[:2] == ["id    1", "name  ann"]
    assert format_output(cols, [batch], OutputSettings(width=8, auto_vertical=False)) == table
    assert format_output(cols, [batch], OutputSettings("csv2")) == "id,name\n1,ann\n2,NULL\n"
    assert format_output(cols, [batch], OutputSettings("hive", show_header=False)) == "1\tann\n2\tNULL\n"
    empty = format_output(cols, [], OutputSettings(width=3))
    assert empty.startswith("+-----+-------+")  # no rows: the table, even when narrow
    assert fits("a\nb\n", os.terminal_size((10, 5))) and not fits("x" * 11 + "\n", os.terminal_size((10, 5)))
    assert not fits("a\n" * 10, os.terminal_size((80, 5)))


def test_config_user_file_merges_over_packaged(tmp_path):
    assert "[main]" in packaged_text() and "row_limit = 1000" in packaged_text()
    user = tmp_path / "config"
    user.write_text("[main]\nrow_limit = 20\npager = off\nkey_bindings = vi\noutput_format = nonsense\n")
    config = load_config(user)
    assert config.row_limit == 20 and config.pager == "" and config.key_bindings == "vi"
    assert config.output_format == "table" and "output_format" in config.warnings[0]
    assert config.history_file == "~/.hiveish_history" and config.timing is True  # packaged defaults
    defaults = load_config(tmp_path / "missing", copy_default=False)
    assert defaults == ShellConfig()


def test_special_command_table():
    cmd, arg = special.lookup("\\limit 5")
    assert cmd.name == "\\limit" and arg == "5"
    assert special.lookup("EXIT;")[0].name == "quit"
    assert special.lookup("!echo a b;")[1] == "echo a b"
    assert special.lookup("set hive.cli.print.header=true;")[0].name == "set"
    assert special.lookup("settings;") is None and special.lookup("select 1;") is None
    assert {"help", "quit", "set", "source", "!", "\\x", "\\pager", "\\limit"} <= set(special.COMMANDS)


# -- the shell in process ---------------------------------------------------------------------------


@pytest.fixture
def shell(tmp_path):
    from hiveish.session import Session
    from hiveish.shell.app import Shell

    session = Session(str(tmp_path / "wh"), str(tmp_path / "ms.db"))
    args = argparse.Namespace(debug=False, outputformat=None, silent=False, show_header=None)
    sh = Shell(session, args, ShellConfig(row_limit=3, pager=""), out=io.StringIO(), err=io.StringIO())
    yield sh
    session.close()


def test_shell_commands_and_results(shell, tmp_path):
    script = tmp_path / "load.sql"
    script.write_text("CREATE TABLE src (k STRING, v INT);\n"
                      "INSERT INTO src VALUES ('a', 1), ('b', 2), ('c', 3), ('d', 4);\n")
    assert shell.run_text(f"source {script};")
    shell.catalog.thread.join(5)  # the refresh after DDL, on its own thread
    document = Document("SELECT  FROM src", len("SELECT "))
    names = [c.text for c in shell.completer.get_completions(document, CompleteEvent())]
    assert names[:2] == ["k", "v"]
    document = Document("SELECT * FROM s")
    assert [c.text for c in shell.completer.get_completions(document, CompleteEvent())] == ["src"]
    assert shell.run_text("SELECT * FROM src ORDER BY k;")
    out = shell.out.getvalue()
    assert "| k  | v  |" in out and "| c  | 3  |" in out and "| d  | 4  |" not in out
    assert "Only the first 3 rows are shown" in out and "Fetched: 3 row(s)" in out
    assert re.search(r"Time taken: [\d.]+ seconds\n", out)  # the DDL's line, no Fetched
    assert shell.run_text("\\limit 0") and shell.run_text("\\x") and shell.run_text("SELECT k FROM src WHERE v = 4;")
    assert "k  d\n" in shell.out.getvalue()
    assert shell.run_text("set hive.cli.print.header=true;") and shell.run_text("set hive.cli.print.header;")
    assert shell.out.getvalue().endswith("hive.cli.print.header=true\n")
    assert shell.run_text("help;") and "\\pager" in shell.out.getvalue()
    assert not shell.run_text("SELECT * FROM missing;")
    assert shell.err.getvalue() == "FAILED: SemanticException [Error 10001]: Line 1:14 Table not found 'missing'\n"
    assert shell.run_text("quit;") and shell.quit


# -- the real shell in a pseudo-terminal -----------------------------------------------------------

pexpect = pytest.importorskip("pexpect")
PROMPT = r"hiveish \(default\)>"


def spawn(tmp_path, log: io.StringIO):
    env = {"HOME": str(tmp_path), "TERM": "xterm", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(sys.executable, ["-m", "hiveish", "--warehouse", str(tmp_path / "wh"),
                                           "--metastore", str(tmp_path / "ms.db")],
                          env=env, cwd=str(REPO), dimensions=(40, 160), encoding="utf-8", timeout=20)
    child.logfile_read = log
    child.expect(PROMPT)
    return child


def finish(child, log: io.StringIO) -> None:
    child.send("quit;\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, log.getvalue()[-2000:]
    assert "Traceback" not in log.getvalue()


def test_pty_multiline_completion_table_and_error(tmp_path):
    log = io.StringIO()
    child = spawn(tmp_path, log)
    assert (tmp_path / ".config" / "hiveish" / "config").read_text() == packaged_text()  # copied on first run

    child.send("SELECT 40 +\r")
    child.expect(r"\.\.\.>")  # the continuation prompt: no ';' yet
    child.send("2 AS answer;\r")
    child.expect(r"\|\s+answer\s+\|")
    child.expect(r"\| 42\s+\|")
    child.expect(r"Time taken: [\d.]+ seconds, Fetched: 1 row\(s\)")
    child.expect(PROMPT)

    child.send("CREATE TABLE shell_orders (order_id INT, customer_name STRING);\r")
    child.expect("OK")
    child.expect(PROMPT)
    child.send("INSERT INTO shell_orders VALUES (1, 'ann'), (2, 'bob');\r")
    child.expect("Time taken")
    child.expect(PROMPT)
    # a table and one of its columns, both created in this session, completed with Tab
    child.send("SELECT order_id, customer_name FROM shell_or\t WHERE cust\t = 'bob';\r")
    child.expect(r"\|\s+order_id\s+\|\s+customer_name\s+\|")
    child.expect(r"\| 2\s+\| bob\s+\|")
    child.expect(r"Fetched: 1 row\(s\)")
    child.expect(PROMPT)
    # (the prefixes alone name no table or column: the row above proves both were completed)

    child.send("SELECT * FROM missing_table;\r")
    child.expect(r"FAILED: SemanticException \[Error 10001\]: Line 1:14 Table not found 'missing_table'")
    child.expect(PROMPT)
    finish(child, log)


LONG_QUERY = ("SELECT count(*) FROM (SELECT explode(split(space(100000), ' ')) AS a) x "
              "CROSS JOIN (SELECT explode(split(space(100000), ' ')) AS b) y "
              "WHERE concat(x.a, y.b, 'z') = 'q';")  # 10^10 rows: minutes of work on any machine


def test_pty_ctrl_c_cancels_a_running_query(tmp_path):
    log = io.StringIO()
    child = spawn(tmp_path, log)
    child.send(LONG_QUERY + "\r")
    child.expect(r"Running\.\.\. [\d.]+ s", timeout=15)  # the spinner after about a second
    started = time.monotonic()
    child.sendintr()
    child.expect("Query cancelled", timeout=15)
    assert time.monotonic() - started < 10
    child.expect(PROMPT)
    child.send("SELECT 6 * 7;\r")
    child.expect(r"\| 42\s+\|")
    child.expect(PROMPT)
    # Ctrl-C on a partly typed line clears it
    child.send("SELECT 1 +")
    child.sendintr()
    child.expect(PROMPT)
    child.send("SELECT 5 * 5;\r")
    child.expect(r"\| 25\s+\|")
    child.expect(PROMPT)
    finish(child, log)


def test_pty_history_is_recalled_in_a_second_run(tmp_path):
    log = io.StringIO()
    child = spawn(tmp_path, log)
    child.send("SELECT 'remember me' AS note;\r")
    child.expect(r"\| remember me\s+\|")
    child.expect(PROMPT)
    child.sendcontrol("d")  # Ctrl-D leaves too
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "SELECT 'remember me' AS note;" in (tmp_path / ".hiveish_history").read_text()

    child = spawn(tmp_path, log)
    time.sleep(0.5)  # history loads in the background
    child.send("\x1b[A")  # Up
    child.expect("remember me")
    child.send("\r")
    child.expect(r"\| remember me\s+\|")
    child.expect(PROMPT)
    finish(child, log)
