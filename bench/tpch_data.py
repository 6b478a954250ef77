"""TPC-H data and tables for hiveish: generation, Hive text conversion, registration, queries.

Layout of a data directory (one per scale factor):

    <dir>/parquet/<table>/<table>.1.parquet   made by `tpchgen-cli parquet --parts 1`
    <dir>/text/<table>/<table>.txt             the same rows as Hive text (\\x01 fields, \\N NULL)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPCH_DIR = os.path.normpath(os.path.join(ROOT, "..", "shared", "tpch"))
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"]
QUERIES = list(range(1, 23))
FORMATS = {"parquet": "PARQUET", "text": "TEXTFILE"}
FIELD_DELIM = "\x01"
NULL_TEXT = "\\N"


class ToolMissing(RuntimeError):
    pass


def sf_name(sf: float | str) -> str:
    """The scale factor as the answer folders spell it: 1, 0.1, 0.01."""
    f = float(sf)
    return str(int(f)) if f == int(f) else repr(f)


def tpchgen_path() -> str | None:
    """The tpchgen-cli executable: on PATH, or next to this Python (an inactive virtualenv)."""
    exe = shutil.which("tpchgen-cli")
    if exe is None:
        beside = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "tpchgen-cli")
        exe = beside if os.access(beside, os.X_OK) else None
    return exe


def tpchgen_command() -> str:
    exe = tpchgen_path()
    if exe is None:
        raise ToolMissing("tpchgen-cli not found (pip install tpchgen-cli)")
    return exe


def _complete(dirname: str, ext: str) -> bool:
    for t in TABLES:
        d = os.path.join(dirname, t)
        if not os.path.isdir(d) or not any(f.endswith(ext) for f in os.listdir(d)):
            return False
    return True


def generate_parquet(sf: float | str, data_dir: str, quiet: bool = True) -> str:
    """`tpchgen-cli parquet -s SF --parts 1` into `<data_dir>/parquet` unless already there."""
    out = os.path.join(data_dir, "parquet")
    if _complete(out, ".parquet"):
        return out
    os.makedirs(data_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".parquet-", dir=data_dir)
    try:
        cmd = [tpchgen_command(), "parquet", "-s", sf_name(sf), "--parts", "1", "-o", tmp]
        if quiet:
            cmd.append("--quiet")
        subprocess.run(cmd, check=True)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return out


def write_text(data_dir: str) -> str:
    """Convert `<data_dir>/parquet` to Hive text tables in `<data_dir>/text` unless already there."""
    import duckdb

    src = os.path.join(data_dir, "parquet")
    out = os.path.join(data_dir, "text")
    if _complete(out, ".txt"):
        return out
    tmp = tempfile.mkdtemp(prefix=".text-", dir=data_dir)
    try:
        con = duckdb.connect()
        for t in TABLES:
            os.makedirs(os.path.join(tmp, t))
            target = os.path.join(tmp, t, f"{t}.txt")
            con.execute(f"COPY (SELECT * FROM read_parquet({_lit(os.path.join(src, t, '*.parquet'))})) "
                        f"TO {_lit(target)} (FORMAT csv, DELIMITER {_lit(FIELD_DELIM)}, HEADER false, "
                        f"QUOTE '', ESCAPE '', NULLSTR {_lit(NULL_TEXT)})")
        con.close()
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)
    return out


def prepare(sf: float | str, data_dir: str, formats: list[str]) -> dict[str, str]:
    """Make the data for the given formats; {format: folder with one sub-folder per table}."""
    dirs = {"parquet": generate_parquet(sf, data_dir)}
    if "text" in formats:
        dirs["text"] = write_text(data_dir)
    return {f: dirs[f] for f in formats}


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def tables_sql(table_dir: str, fmt: str) -> str:
    with open(os.path.join(TPCH_DIR, "tables.sql"), encoding="utf-8") as f:
        text = f.read()
    return text.replace("${TPCH_DATA}", os.path.abspath(table_dir)).replace("${STORED_AS}", FORMATS[fmt])


def table_columns() -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, hive type)]} from tables.sql."""
    with open(os.path.join(TPCH_DIR, "tables.sql"), encoding="utf-8") as f:
        text = f.read()
    out: dict[str, list[tuple[str, str]]] = {}
    for m in re.finditer(r"CREATE EXTERNAL TABLE (\w+) \((.*?)\)\s*STORED AS", text, re.S):
        cols = []
        for line in m.group(2).strip().splitlines():
            name, typ = line.strip().rstrip(",").split(None, 1)
            cols.append((name, typ))
        out[m.group(1)] = cols
    return out


def register(conn, table_dir: str, fmt: str) -> None:
    """Create the 8 external tables on a hiveish DB-API connection."""
    from hiveish.script import split_statements

    cur = conn.cursor()
    for stmt in split_statements(tables_sql(table_dir, fmt)):
        cur.execute(stmt.text)
    cur.close()


def query_text(n: int) -> str:
    with open(os.path.join(TPCH_DIR, "queries", f"q{n:02d}.sql"), encoding="utf-8") as f:
        return f.read().strip().rstrip(";").strip()


class Warehouse:
    """A fresh temporary warehouse and metastore with the TPC-H tables registered."""

    def __init__(self, table_dir: str, fmt: str, **settings: str) -> None:
        import hiveish

        self.tmp = tempfile.mkdtemp(prefix="hiveish-tpch-")
        self.conn = hiveish.connect(warehouse=os.path.join(self.tmp, "warehouse"),
                                    metastore=os.path.join(self.tmp, "metastore.db"), **settings)
        register(self.conn, table_dir, fmt)

    def run(self, sql: str):
        """Run a query; (pyarrow.Table, DB-API description)."""
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            return cur.fetch_arrow_table(), cur.description
        finally:
            cur.close()

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def rows_of(table) -> list[tuple]:
    """A pyarrow table as a list of row tuples."""
    cols = [c.to_pylist() for c in table.columns]
    return list(zip(*cols)) if cols else []
