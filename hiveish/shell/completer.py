"""Completion for the shell: what may come next (pure), and the names that fit (catalog).

`suggest_type(full_text, text_before_cursor)` reads the statement under the cursor and
returns the kinds of names that may follow, as small tuples (`Keyword`, `Table`,
`Column`, ...), without touching the catalog, so it is tested on text alone (the
pattern of pgcli's `sqlcompletion.suggest_type`). `HiveCompleter` maps each kind to
names: keywords, the function registry, known settings, and databases, tables and
columns from `CatalogCache`, which reads the metastore lazily, is dropped after DDL and
warmed again on a background thread.

>>> suggest_type("SELECT * FROM ", "SELECT * FROM ")
(Table(schema=None), Database())
>>> suggest_type("SELECT  FROM t AS x", "SELECT ")[0]
Column(tables=(TableRef(schema=None, name='t', alias='x'),), qualified=False)
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple

from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

if TYPE_CHECKING:
    from catalog.metastore import Metastore

# -- suggestion kinds -----------------------------------------------------------------------------


class TableRef(NamedTuple):
    schema: str | None
    name: str
    alias: str | None


class Keyword(NamedTuple):
    starting: bool = False  # only words that begin a statement


class Special(NamedTuple):
    pass


class Function(NamedTuple):
    pass


class Setting(NamedTuple):
    pass


class Database(NamedTuple):
    pass


class Table(NamedTuple):
    schema: str | None = None


class Column(NamedTuple):
    tables: tuple[TableRef, ...] = ()
    qualified: bool = False


class Path(NamedTuple):
    pass


Suggestion = Keyword | Special | Function | Setting | Database | Table | Column | Path

# -- words -----------------------------------------------------------------------------------------

STARTING_KEYWORDS = (
    "SELECT", "INSERT", "CREATE", "DROP", "ALTER", "SHOW", "DESCRIBE", "USE", "SET", "RESET",
    "EXPLAIN", "LOAD", "MSCK", "TRUNCATE", "WITH", "FROM", "ANALYZE",
)

KEYWORDS = tuple(sorted(set(STARTING_KEYWORDS) | {
    "ADD", "ALL", "AND", "ARRAY", "AS", "ASC", "BETWEEN", "BIGINT", "BINARY", "BOOLEAN", "BUCKETS",
    "BY", "CASCADE", "CASE", "CAST", "CHANGE", "CHAR", "CLUSTER", "CLUSTERED", "COLLECTION",
    "COLUMN", "COLUMNS", "COMMENT", "CREATE", "CROSS", "CURRENT_DATE", "CURRENT_TIMESTAMP", "DATA",
    "DATABASE", "DATABASES", "DATE", "DECIMAL", "DELIMITED", "DESC", "DIRECTORY", "DISTINCT",
    "DISTRIBUTE", "DOUBLE", "ELSE", "END", "ESCAPED", "EXISTS", "EXTENDED", "EXTERNAL", "FALSE",
    "FIELDS", "FILEFORMAT", "FIRST", "FLOAT", "FOLLOWING", "FORMAT", "FORMATTED", "FULL", "FUNCTION",
    "FUNCTIONS", "GROUP", "HAVING", "IF", "IN", "INNER", "INPATH", "INT", "INTEGER", "INTERVAL",
    "INTO", "IS", "ITEMS", "JOIN", "JSONFILE", "KEYS", "LAST", "LATERAL", "LEFT", "LIKE", "LIMIT",
    "LINES", "LOCAL", "LOCATION", "MAP", "NOT", "NULL", "NULLS", "ON", "OR", "ORC", "ORDER",
    "OUTER", "OVER", "OVERWRITE", "PARQUET", "PARTITION", "PARTITIONED", "PARTITIONS", "PRECEDING",
    "PURGE", "RANGE", "RENAME", "REPAIR", "REPLACE", "RIGHT", "RLIKE", "ROW", "ROWS", "SCHEMA",
    "SEMI", "SEQUENCEFILE", "SERDE", "SERDEPROPERTIES", "SMALLINT", "SORT", "SORTED", "STORED",
    "STRING", "STRUCT", "TABLE", "TABLES", "TBLPROPERTIES", "TERMINATED", "TEXTFILE", "THEN",
    "TIMESTAMP", "TINYINT", "TO", "TRUE", "UNBOUNDED", "UNION", "USING", "VALUES", "VARCHAR", "VIEW",
    "VIEWS", "WHEN", "WHERE", "WINDOW",
}))
_KEYWORD_SET = frozenset(k.lower() for k in KEYWORDS)

# after these, a column, a function or a keyword (an expression) may follow
_EXPRESSION_PREV = frozenset({
    "select", "where", "having", "on", "and", "or", "not", "when", "then", "else", "case",
    "distinct", "by", "between", "like", "rlike", "in",
})
# the innermost of these before `(` or `,` says which list we are in
_CLAUSES = frozenset({
    "select", "from", "join", "where", "by", "having", "on", "values", "partition", "over",
    "when", "then", "else", "in", "using", "table", "limit", "set", "lateral", "into",
})
_TABLE_PREV = frozenset({"from", "join", "into", "truncate", "update"})
_OPERATORS = frozenset({"=", "==", "<", ">", "<=", ">=", "<>", "!=", "<=>", "+", "-", "*", "/", "%",
                        "||", "&", "|", "^", "~", "!"})

# -- tokens ---------------------------------------------------------------------------------------


class Token(NamedTuple):
    kind: str  # word, ident (backquoted), string, number, op, punct, other
    value: str
    closed: bool = True  # False for a string, identifier or comment still open at the end

    @property
    def lower(self) -> str:
        return self.value.lower()


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]|\\.)*(?:'|\Z)|"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<ident>`[^`]*(?:`|\Z))
  | (?P<word>[A-Za-z_$\d][\w$]*)
  | (?P<op><=>|<=|>=|<>|!=|==|\|\||[-+*/%=<>!&|^~])
  | (?P<punct>[(),.;\[\]:{}])
  | (?P<other>.)
""", re.S | re.X)


def tokenize(text: str) -> list[Token]:
    """Tokens of SQL text, comments and blanks dropped; an open quote or comment ends it.

    >>> [t.value for t in tokenize("select a.`b c`, 'x;' -- note\\n")]
    ['select', 'a', '.', '`b c`', ',', "'x;'"]
    """
    out: list[Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        value = m.group()
        if kind == "ws":
            continue
        if kind == "comment":
            open_block = value.startswith("/*") and (len(value) < 4 or not value.endswith("*/"))
            if open_block or (value.startswith("--") and m.end() == len(text)):  # the cursor is in it
                out.append(Token("comment", value, closed=False))
            continue
        if kind == "string":
            closed = len(value) > 1 and value.endswith(value[0]) and not _escaped_end(value)
            out.append(Token(kind, value, closed))
        elif kind == "ident":
            out.append(Token(kind, value, len(value) > 1 and value.endswith("`")))
        elif kind == "word" and value[0].isdigit() and re.fullmatch(r"\d+", value):
            out.append(Token("number", value))
        else:
            out.append(Token(kind, value))
    return out


def _escaped_end(value: str) -> bool:
    """True if the closing quote of a string token is escaped (so the string is open)."""
    backslashes = len(value) - 1 - len(value[:-1].rstrip("\\"))
    return backslashes % 2 == 1


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith("`") and name.endswith("`") and len(name) > 1 else name


def statement_bounds(text: str, cursor: int) -> tuple[int, int]:
    """Start and end offsets of the statement around `cursor` (split at `;` outside quotes)."""
    start, end = 0, len(text)
    for m in _TOKEN.finditer(text):
        if m.group() == ";" and m.lastgroup == "punct":
            if m.end() <= cursor:
                start = m.end()
            elif m.start() >= cursor:
                end = m.start()
                break
    return start, end


def statement_done(text: str) -> bool:
    """Whether Enter should run `text`: blank, ended by `;` (outside quotes and comments),
    `quit`/`exit`, or a backslash command.

    >>> statement_done("select ';'"), statement_done("select 1; -- done"), statement_done("\\\\x")
    (False, True, True)
    """
    stripped = text.strip()
    if not stripped or stripped.startswith("\\") or stripped.lower() in ("quit", "exit"):
        return True
    tokens = [t for t in tokenize(text) if not (t.kind == "comment" and t.value.startswith("--"))]
    return bool(tokens) and tokens[-1].kind == "punct" and tokens[-1].value == ";"


# -- tables of a statement --------------------------------------------------------------------------


def extract_tables(tokens: list[Token]) -> tuple[TableRef, ...]:
    """Tables named after FROM and JOIN (any depth), with their aliases.

    >>> extract_tables(tokenize("select * from db.a x join b on x.k = b.k, c as z"))
    (TableRef(schema='db', name='a', alias='x'), TableRef(schema=None, name='b', alias=None))
    """
    refs: list[TableRef] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        i += 1
        if tok.kind != "word" or tok.lower not in ("from", "join"):
            continue
        listing = tok.lower == "from"
        while i < n:
            name_tok = tokens[i]
            if name_tok.kind not in ("word", "ident") or (name_tok.kind == "word" and name_tok.lower in _KEYWORD_SET):
                break
            schema, name = None, _unquote(name_tok.value)
            i += 1
            if i + 1 < n and tokens[i].value == "." and tokens[i + 1].kind in ("word", "ident"):
                schema, name = name, _unquote(tokens[i + 1].value)
                i += 2
            alias = None
            if i < n and tokens[i].kind == "word" and tokens[i].lower == "as":
                i += 1
            if i < n and (tokens[i].kind == "ident" or (tokens[i].kind == "word" and tokens[i].lower not in _KEYWORD_SET)):
                alias = _unquote(tokens[i].value)
                i += 1
            refs.append(TableRef(schema, name, alias))
            if listing and i < n and tokens[i].value == ",":
                i += 1
                continue
            break
    return tuple(refs)


# -- what may come next -------------------------------------------------------------------------


_SET_RE = re.compile(r"^\s*(?:set|reset)\s+(?:hiveconf:)?[\w.\-]*$", re.I)
_SOURCE_RE = re.compile(r"^\s*source\s+", re.I)
_WORD_RE = re.compile(r"[\w$]*$")


def suggest_type(full_text: str, text_before_cursor: str) -> tuple[Suggestion, ...]:
    """Kinds of names that may follow `text_before_cursor` within `full_text` (pure).

    >>> suggest_type("use ", "use ")
    (Database(),)
    >>> suggest_type("set hive.exec", "set hive.exec")
    (Setting(),)
    >>> suggest_type("select x. from t x", "select x.")
    (Column(tables=(TableRef(schema=None, name='t', alias='x'),), qualified=True),)
    """
    if not full_text.startswith(text_before_cursor):
        full_text = text_before_cursor
    cursor = len(text_before_cursor)
    start, end = statement_bounds(full_text, cursor)
    before, statement = full_text[start:cursor], full_text[start:end]

    stripped = before.lstrip()
    if stripped.startswith(("\\", "!")):
        return (Special(),) if re.fullmatch(r"\\\w*", stripped) else ()
    if _SOURCE_RE.match(before):
        return (Path(),)
    if _SET_RE.match(before):
        return (Setting(),)

    tokens = tokenize(before)
    if tokens and not tokens[-1].closed:
        return ()
    if tokens and tokens[-1].kind in ("word", "number") and _WORD_RE.search(before).group():
        tokens.pop()  # the word being typed
    qualifier: str | None = None
    if tokens and tokens[-1].value == "." and not before.endswith(tuple(" \t\n")) and _ends_qualified(before):
        tokens.pop()
        if tokens and tokens[-1].kind in ("word", "ident"):
            qualifier = _unquote(tokens.pop().value)
        else:
            return ()
    if not tokens:
        return (Keyword(starting=True), Special()) if qualifier is None else ()

    context = _context(tokens)
    if qualifier is None:
        if context == "column":
            return (Column(extract_tables(tokenize(statement))), Function(), Keyword())
        return _CONTEXTS[context]
    if context in ("table", "table_or_keyword"):
        return (Table(schema=qualifier),)
    if context == "column":
        refs = extract_tables(tokenize(statement))
        low = qualifier.lower()
        matched = tuple(r for r in refs if (r.alias or r.name).lower() == low) \
            or tuple(r for r in refs if r.name.lower() == low) or (TableRef(None, qualifier, None),)
        return (Column(matched, qualified=True),)
    return ()


_CONTEXTS: dict[str, tuple[Suggestion, ...]] = {
    "table": (Table(), Database()),
    "database": (Database(),),
    "function": (Function(),),
    "keyword": (Keyword(),),
    "table_or_keyword": (Table(), Database(), Keyword()),
    "none": (),
}


def _ends_qualified(before: str) -> bool:
    return re.search(r"(?:`[^`]*`|[\w$]+)\.[\w$]*$", before) is not None


def _context(tokens: list[Token]) -> str:
    """The kind of name expected after `tokens`: table, database, column, function, keyword, none."""
    words = [t.lower for t in tokens]
    first = words[0]
    prev = words[-1]
    prev2 = words[-2] if len(words) > 1 else ""
    creating = first == "create"

    if prev == "use":
        return "database"
    if prev in ("database", "schema"):
        return "none" if creating else "database"
    if first == "show":
        second = words[1] if len(words) > 1 else ""
        if prev in ("in", "from") and len(words) >= 2:
            return "table" if second == "columns" else "database"
        if prev in ("partitions", "tblproperties") or (prev == "table" and second == "create"):
            return "table"
        return "keyword"
    if first in ("describe", "desc"):
        if "function" in words:
            return "function" if prev in ("function", "extended") else "none"
        if all(w in ("describe", "desc", "extended", "formatted") for w in words):
            return "table_or_keyword"
        return "none"
    if prev == "exists":
        if creating:
            return "none"
        return "database" if ("database" in words or "schema" in words) else "table"
    if prev == "not" and prev2 == "if":
        return "keyword"
    if prev == "view" and prev2 == "lateral":
        return "function"
    if prev in ("table", "view"):
        return "none" if creating and prev2 in ("create", "external", "temporary", "view", "table") else "table"
    if prev == "like" and creating and "select" not in words:
        return "table"
    if prev in _TABLE_PREV:
        return "table"
    if prev == "as":
        return "keyword" if creating or "with" == first else "none"
    if prev == "by" and prev2 in ("partitioned", "clustered", "sorted"):
        return "keyword"
    if prev in ("(", ","):
        clause = next((w for w, t in zip(reversed(words), reversed(tokens)) if t.kind == "word" and w in _CLAUSES), "")
        if prev == "(" and prev2 in ("from", "join", "as", "in", "exists"):
            return "keyword" if prev2 != "in" else "column"
        if clause in ("from", "join") and prev == ",":
            return "table"
        if clause in ("values", "limit", "table", "into", ""):
            return "none" if creating or clause in ("values", "limit") else "column"
        return "column"
    if prev in _EXPRESSION_PREV or prev in _OPERATORS:
        return "column"
    if prev in ("limit",):
        return "none"
    return "keyword"


# -- names from the catalog -----------------------------------------------------------------------


class CatalogCache:
    """Databases, tables and columns from the metastore, loaded on first use.

    `invalidate()` drops everything (after DDL); `refresh_async(db)` reloads the
    database list and `db`'s tables and columns on a daemon thread, so the prompt
    never waits; anything not loaded yet is read on demand (one small query).
    """

    def __init__(self, metastore: "Metastore") -> None:
        self.metastore = metastore
        self._lock = threading.Lock()
        self._generation = 0
        self._databases: list[str] | None = None
        self._tables: dict[str, list[str]] = {}
        self._columns: dict[tuple[str, str], list[str]] = {}
        self.thread: threading.Thread | None = None

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._databases = None
            self._tables = {}
            self._columns = {}

    def _store(self, generation: int, fn: Callable[[], None]) -> None:
        with self._lock:
            if generation == self._generation:
                fn()

    def databases(self) -> list[str]:
        dbs = self._databases
        if dbs is None:
            generation = self._generation
            dbs = self._load(self.metastore.list_databases)
            self._store(generation, lambda: setattr(self, "_databases", dbs))
        return dbs

    def tables(self, db: str) -> list[str]:
        db = db.lower()
        names = self._tables.get(db)
        if names is None:
            generation = self._generation
            names = self._load(lambda: self.metastore.list_tables(db))
            self._store(generation, lambda: self._tables.__setitem__(db, names))
        return names

    def columns(self, db: str, table: str) -> list[str]:
        key = (db.lower(), table.lower())
        names = self._columns.get(key)
        if names is None:
            generation = self._generation

            def load() -> list[str]:
                t = self.metastore.get_table(*key)
                return [c.name for c in t.all_columns] if t is not None else []

            names = self._load(load)
            self._store(generation, lambda: self._columns.__setitem__(key, names))
        return names

    @staticmethod
    def _load(fn: Callable[[], list[str]]) -> list[str]:
        try:
            return list(fn())
        except Exception:  # a closed or locked metastore: no names, never an error at the prompt
            return []

    def refresh_async(self, db: str) -> threading.Thread:
        def warm() -> None:
            self.databases()
            for table in self.tables(db):
                self.columns(db, table)

        self.thread = threading.Thread(target=warm, name="hiveish-completion-refresh", daemon=True)
        self.thread.start()
        return self.thread


# -- the prompt_toolkit completer ---------------------------------------------------------------

_PLAIN_NAME = re.compile(r"[A-Za-z_][\w]*")


def quote_name(name: str) -> str:
    """A name as typed in HiveQL: backquoted unless a plain identifier."""
    return name if _PLAIN_NAME.fullmatch(name) else "`" + name.replace("`", "``") + "`"


class HiveCompleter(Completer):
    """Maps `suggest_type`'s kinds to names; prefix matches first, then substring matches."""

    def __init__(self, catalog: CatalogCache | None, current_db: Callable[[], str], *,
                 functions: Iterable[str] | None = None, settings: Iterable[str] | None = None,
                 specials: Iterable[str] | None = None, keyword_casing: str = "auto") -> None:
        self.catalog = catalog
        self.current_db = current_db
        if functions is None:
            from planner.functions import REGISTRY

            functions = REGISTRY
        if settings is None:
            from hiveish.settings import KNOWN

            settings = KNOWN
        self.functions = sorted(functions)
        self.settings = sorted(settings)
        self.specials = sorted(specials or ())
        self.keyword_casing = keyword_casing
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event) -> Iterable[Completion]:
        text = document.text_before_cursor
        try:
            suggestions = suggest_type(document.text, text)
        except Exception:  # never break typing over a completion bug
            return
        ranked: list[tuple[int, int, int, Completion]] = []
        seen: set[str] = set()
        for order, suggestion in enumerate(suggestions):
            if isinstance(suggestion, Path):
                yield from self._paths(text)
                return
            word, names, meta = self._candidates(suggestion, text)
            for position, name in enumerate(names):
                rank = _rank(word, name)
                if rank is None or name in seen:
                    continue
                seen.add(name)
                ranked.append((rank, order, position, Completion(name, -len(word), display_meta=meta)))
        ranked.sort(key=lambda r: r[:3])
        for *_, completion in ranked:
            yield completion

    def _candidates(self, s: Suggestion, text: str) -> tuple[str, list[str], str]:
        word = _WORD_RE.search(text).group()
        if isinstance(s, Keyword):
            words = STARTING_KEYWORDS if s.starting else KEYWORDS
            return word, [self._case(k, word) for k in words], "keyword"
        if isinstance(s, Special):
            word = re.search(r"\\?\w*$", text).group()
            return word, self.specials, "command"
        if isinstance(s, Function):
            return word, self.functions, "function"
        if isinstance(s, Setting):
            word = re.search(r"(?:hiveconf:)?([\w.\-]*)$", text).group(1)
            return word, self.settings, "setting"
        if self.catalog is None:
            return word, [], ""
        if isinstance(s, Database):
            return word, [quote_name(d) for d in self.catalog.databases()], "database"
        if isinstance(s, Table):
            db = s.schema or self.current_db()
            if s.schema and db.lower() not in self.catalog.databases():
                return word, [], "table"
            return word, [quote_name(t) for t in self.catalog.tables(db)], "table"
        if isinstance(s, Column):
            names: list[str] = []
            for ref in s.tables:
                db = ref.schema or self.current_db()
                names.extend(quote_name(c) for c in self.catalog.columns(db, ref.name))
            return word, names, "column"
        return word, [], ""

    def _case(self, keyword: str, word: str) -> str:
        casing = self.keyword_casing
        if casing == "lower" or (casing == "auto" and word and word == word.lower()):
            return keyword.lower()
        return keyword.upper()

    def _paths(self, text: str) -> Iterable[Completion]:
        m = re.search(r"source\s+['\"]?(.*)$", text, re.I)
        path = m.group(1) if m else ""
        yield from self.paths.get_completions(Document(path, len(path)), None)


def _rank(word: str, name: str) -> int | None:
    """0 for a prefix match (case-insensitive), 1 for a substring match, None otherwise."""
    if not word:
        return 0
    low, target = word.lower(), name.lower().lstrip("`\\")
    if target.startswith(low) or name.lower().startswith(low):
        return 0 if name.lower() != low else None
    return 1 if len(low) > 1 and low in target else None
