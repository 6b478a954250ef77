"""Input splits and record readers: files cut by size, Parquet by row group, text at line boundaries.

`splits_for_scan` runs at job submission (the way Hadoop's InputFormat does
in the client); `open_split` runs in the map task and returns the SQL of a
relation over exactly the split's records, through the same scan SQL the
Arrow engine uses.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from typing import TYPE_CHECKING

import pyarrow as pa

from catalog.formats.base import FileScan
from catalog.formats.text import needs_line_reader
from planner.mr.jobs import Split
from planner.plan import ScanNode

if TYPE_CHECKING:
    import duckdb

DEFAULT_SPLIT_SIZE = 128 * 1024 * 1024
COMPRESSED = (".gz", ".bz2", ".deflate", ".snappy", ".zst", ".lz4", ".xz")
CHUNK = 8 * 1024 * 1024


def _is_plain_text(src: FileScan, path: str) -> bool:
    return (src.format == "textfile" and "JsonSerDe" not in src.serde and "OpenCSVSerde" not in src.serde
            and "RegexSerDe" not in src.serde and not path.lower().endswith(COMPRESSED)
            and not needs_line_reader(src.serde_params))


def splits_for_scan(tag: int, scan: ScanNode, max_size: int) -> list[Split]:
    """Map splits of a table scan; an input with no files still yields one (empty) split."""
    out: list[Split] = []
    max_size = max(1, max_size)
    for src in scan.sources:
        for path in src.files:
            one = replace(src, files=[path])
            size = _size(path) if src.local else 0
            if src.local and src.format == "parquet":
                out.extend(_parquet_splits(tag, one, path, max_size))
            elif src.local and _is_plain_text(src, path) and size > max_size:
                start = 0
                while start < size:
                    length = min(max_size, size - start)
                    out.append(Split(tag, path, "scan", one, start=start, length=length, size=length))
                    start += length
            else:
                out.append(Split(tag, path, "scan", one, size=size))
    if not out:
        first = scan.sources[0] if scan.sources else FileScan(format="textfile", files=[], columns=scan.columns)
        out.append(Split(tag, "", "scan", replace(first, files=[]), empty=True))
    return out


def splits_for_files(tag: int, files: list[str]) -> list[Split]:
    """Splits over an earlier job's output: one per file."""
    return [Split(tag, f, "arrow", size=_size(f)) for f in files]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _parquet_splits(tag: int, src: FileScan, path: str, max_size: int) -> list[Split]:
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).metadata
    if md.num_row_groups <= 1:
        return [Split(tag, path, "scan", src, size=_size(path))]
    out: list[Split] = []
    group: list[int] = []
    acc = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i).total_byte_size
        if group and acc + rg > max_size:
            out.append(Split(tag, path, "scan", src, row_groups=group, size=acc))
            group, acc = [], 0
        group.append(i)
        acc += rg
    if group:
        out.append(Split(tag, path, "scan", src, row_groups=group, size=acc))
    if len(out) == 1:
        out[0].row_groups = None
    return out


# -- record readers (in the task) ---------------------------------------------------------------
def _copy_text_range(path: str, start: int, length: int, dest: str) -> int:
    """Copy the lines a split owns (TextInputFormat: a line belongs to the split its first byte is in)."""
    end = start + length
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            begin = start - 1 + _find_newline(f) + 1
        else:
            begin = 0
        f.seek(max(end - 1, 0))
        if end >= _size(path):
            stop = _size(path)
        else:
            stop = max(end - 1, 0) + _find_newline(f) + 1
        f.seek(begin)
        remaining = max(0, stop - begin)
        with open(dest, "wb") as out:
            while remaining > 0:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:
                    break
                out.write(chunk)
                remaining -= len(chunk)
    return max(0, stop - begin)


def _find_newline(f) -> int:
    """Offset of the next newline from the current position (or to EOF)."""
    pos = 0
    while True:
        chunk = f.read(65536)
        if not chunk:
            return pos
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(chunk)


def open_split(cur: "duckdb.DuckDBPyConnection", executor, split: Split, scratch: str, scan_columns) -> str:
    """SQL of a relation over the split's records (registering Arrow readers on `cur` as needed)."""
    if split.kind == "arrow":
        table = pa.ipc.open_file(pa.memory_map(split.path)).read_all()
        cur.register("__split_arrow", table)
        return "SELECT * FROM __split_arrow"
    src = split.file_scan
    assert src is not None
    scan = ScanNode(name="__input", table="", columns=list(scan_columns), sources=[src])
    if split.empty:
        scan.sources = []
        return executor._scan_sql(cur, scan)
    if split.row_groups is not None:
        return _parquet_row_groups_sql(cur, src, split)
    if split.length >= 0:
        os.makedirs(scratch, exist_ok=True)
        local = os.path.join(scratch, "split" + os.path.splitext(split.path)[1])
        _copy_text_range(split.path, split.start, split.length, local)
        params = dict(src.table_params)
        if split.start > 0:
            params["skip.header.line.count"] = "0"
        scan.sources = [replace(src, files=[local], table_params=params)]
    return executor._scan_sql(cur, scan)


def _parquet_row_groups_sql(cur: "duckdb.DuckDBPyConnection", src: FileScan, split: Split) -> str:
    import pyarrow.parquet as pq

    from catalog.formats.columnar import parquet_file_columns, parquet_scan_sql

    pf = pq.ParquetFile(split.path)
    cur.register("__split_rg", pf.read_row_groups(split.row_groups))  # at most one split's rows
    sql = parquet_scan_sql(src, parquet_file_columns(split.path))
    cut = sql.rindex(" FROM read_parquet(")
    body = sql[:cut] + " FROM __split_rg"
    if src.constants:
        from executors.arrow import _const_sql

        consts = ", ".join(f'{_const_sql(v, t)} AS "{n}"' for n, v, t in src.constants)
        data = ", ".join(f'"{n}"' for n, _ in src.columns)
        body = f"SELECT {data + ', ' if data else ''}{consts} FROM ({body})"
    return body


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
