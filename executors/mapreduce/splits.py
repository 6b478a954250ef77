"""Input splits and record readers: files cut by size or block, Parquet by row group, text at line boundaries.

`splits_for_scan` runs at job submission (the way Hadoop's InputFormat does
in the client); `open_split` runs in the map task and returns the SQL of a
relation over exactly the split's records, through the same scan SQL the
Arrow engine uses.

Every file is asked for its block locations through the filesystem seam
(WebHDFS: GETFILEBLOCKLOCATIONS; local files: one "localhost" block per
split size). As in Hadoop's FileInputFormat, the split size of a file is
min(`mapreduce.input.fileinputformat.split.maxsize`, its block size), so with
the defaults a remote file gets one split per block; every split keeps the
hosts of the block holding most of its bytes, for a distributed runner to
place the map task near its data. Remote (WebHDFS) splits are read in the
task by ranged reads: a text split fetches its byte range (plus the end of
its last line), a Parquet split only its row groups.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import pyarrow as pa

from catalog.formats.base import SPLIT_LINES, SPLIT_ROW_GROUPS, FileScan
from catalog.formats.registry import format_named
from catalog.fs import BlockLocation, FileStatus, filesystem_for
from planner.mr.jobs import Split
from planner.plan import ScanNode

if TYPE_CHECKING:
    import duckdb
    import pyarrow.parquet as pq

DEFAULT_SPLIT_SIZE = 128 * 1024 * 1024
CHUNK = 8 * 1024 * 1024
PROBE = 64 * 1024  # bytes read at a time while looking for the end of a line


def _split_kind(src: FileScan, path: str) -> str:
    """How the source's format cuts `path` into splits (at lines, by Parquet row groups, or whole)."""
    return format_named(src.format).split_kind(src, path)


def splits_for_scan(tag: int, scan: ScanNode, max_size: int) -> list[Split]:
    """Map splits of a table scan; an input with no files still yields one (empty) split."""
    out: list[Split] = []
    max_size = max(1, max_size)
    for src in scan.sources:
        for path, (st, blocks) in zip(src.files, _layout(src)):
            one = replace(src, files=[path])
            # a local file has no blocks worth the name: its splits are cut by maxsize alone
            split_size = max_size if src.local else min(max_size, st.block_size or max_size)
            kind = _split_kind(src, path)
            if kind == SPLIT_ROW_GROUPS:
                out.extend(_parquet_splits(tag, one, path, st.size, split_size, blocks))
            elif kind == SPLIT_LINES and st.size > split_size:
                start = 0
                while start < st.size:
                    length = min(split_size, st.size - start)
                    out.append(Split(tag, path, "scan", one, start=start, length=length, size=length,
                                     hosts=_hosts(blocks, start, start + length)))
                    start += length
            else:
                out.append(Split(tag, path, "scan", one, size=st.size, hosts=_hosts(blocks, 0, st.size)))
    if not out:
        first = scan.sources[0] if scan.sources else FileScan(format="textfile", files=[], columns=scan.columns)
        out.append(Split(tag, "", "scan", replace(first, files=[]), empty=True))
    return out


def splits_for_files(tag: int, files: list[str]) -> list[Split]:
    """Splits over an earlier job's output: one per file (on storage every worker sees: no hosts)."""
    return [Split(tag, f, "arrow", size=_size(f)) for f in files]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _layout(src: FileScan) -> list[tuple[FileStatus, list[BlockLocation]]]:
    """(status, block locations) of each of the source's files, in order."""
    if not src.files:
        return []
    if src.local:
        fs = filesystem_for(src.files[0])
        out = []
        for f in src.files:
            try:
                st = fs.status(f)
            except FileNotFoundError:  # vanished since planning: an empty split, as before
                st = FileStatus(f, False, 0)
            out.append((st, fs.block_locations(f) if st.size else []))
        return out
    from executors.arrow import _statuses  # one LISTSTATUS per directory, not one call per file

    statuses = _statuses(src.files, src.fs_options)

    def blocks(item: tuple[str, FileStatus]) -> list[BlockLocation]:
        f, st = item
        return filesystem_for(f, src.fs_options).block_locations(f) if st.size else []

    items = list(zip(src.files, statuses))
    if len(items) == 1:
        return [(statuses[0], blocks(items[0]))]
    with ThreadPoolExecutor(min(8, len(items))) as pool:  # overlap the NameNode round trips
        return list(zip(statuses, pool.map(blocks, items)))


def _hosts(blocks: list[BlockLocation], start: int, end: int) -> list[str]:
    """Hosts of the block holding most of [start, end) (Hadoop's choice for a split's locations)."""
    best, most = None, 0
    for b in blocks:
        overlap = min(end, b.offset + b.length) - max(start, b.offset)
        if overlap > most:
            best, most = b, overlap
    return list(best.hosts) if best is not None else []


def _parquet_file(path: str, src: FileScan) -> "pq.ParquetFile":
    """A Parquet file opened locally, or through ranged WebHDFS reads (only the bytes asked for move)."""
    import pyarrow.parquet as pq

    from catalog.formats.base import CorruptFileError

    try:
        if src.local:
            return pq.ParquetFile(path)
        from catalog.fs.webhdfs import WebHdfsArrowHandler, arrow_filesystem

        fs = arrow_filesystem(filesystem_for(path, src.fs_options))  # type: ignore[arg-type]
        return pq.ParquetFile(fs.open_input_file(WebHdfsArrowHandler._arrow_path(path)))
    except FileNotFoundError:
        raise
    except (pa.ArrowInvalid, OSError) as e:  # a truncated or overwritten file: name it
        raise CorruptFileError(path, "Parquet", e) from e


def _row_group_span(md, i: int) -> tuple[int, int]:
    """Byte range [start, end) a row group's column chunks occupy in the file."""
    rg = md.row_group(i)
    start, end = None, 0
    for j in range(rg.num_columns):
        c = rg.column(j)
        first = c.dictionary_page_offset if c.has_dictionary_page and c.dictionary_page_offset else c.data_page_offset
        start = first if start is None else min(start, first)
        end = max(end, first + c.total_compressed_size)
    return (start or 0), end


def _parquet_splits(tag: int, src: FileScan, path: str, size: int, split_size: int,
                    blocks: list[BlockLocation]) -> list[Split]:
    whole = [Split(tag, path, "scan", src, size=size, hosts=_hosts(blocks, 0, size))]
    if size == 0 or (not src.local and size <= split_size):  # within one block: no footer round trip
        return whole
    md = _parquet_file(path, src).metadata
    if md.num_row_groups <= 1:
        return whole
    out: list[Split] = []
    group: list[int] = []
    acc, lo, hi = 0, size, 0

    def close() -> None:
        out.append(Split(tag, path, "scan", src, row_groups=group, size=acc, hosts=_hosts(blocks, lo, hi)))

    for i in range(md.num_row_groups):
        s, e = _row_group_span(md, i)
        rg = e - s  # bytes on disk, as Hadoop sizes splits (not the decoded size)
        if group and acc + rg > split_size:
            close()
            group, acc, lo, hi = [], 0, size, 0
        group.append(i)
        acc += rg
        lo, hi = min(lo, s), max(hi, e)
    if group:
        close()
    if len(out) == 1:
        out[0].row_groups = None
        out[0].hosts = _hosts(blocks, 0, size)
    return out


# -- record readers (in the task) ---------------------------------------------------------------
def _copy_text_range(read: Callable[[int, int], bytes], size: int, start: int, length: int, dest: str) -> int:
    """Copy the lines a split owns (TextInputFormat: a line belongs to the split its first byte is in);
    returns how many lines were copied (a last line without a newline counts).

    `read(offset, n)` returns up to n bytes of the file at offset (a local read
    or one ranged WebHDFS read); `size` is the file's length.
    """
    end = start + length
    begin = 0 if start == 0 else _line_end(read, size, start - 1) + 1
    stop = size if end >= size else _line_end(read, size, max(end - 1, 0)) + 1
    pos, lines, last = begin, 0, b"\n"
    with open(dest, "wb") as out:
        while pos < stop:
            chunk = read(pos, min(CHUNK, stop - pos))
            if not chunk:
                break
            out.write(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            pos += len(chunk)
    return lines + (last != b"\n")


def _line_end(read: Callable[[int, int], bytes], size: int, pos: int) -> int:
    """Offset of the first newline at or after `pos` (or the end of the file)."""
    while pos < size:
        chunk = read(pos, PROBE)
        if not chunk:
            break
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i
        pos += len(chunk)
    return size


def _copy_split_text(split: Split, src: FileScan, dest: str) -> int:
    """Copy the split's lines to `dest`; returns the number of lines."""
    if src.local:
        with open(split.path, "rb") as f:
            def read(offset: int, n: int) -> bytes:
                f.seek(offset)
                return f.read(n)

            return _copy_text_range(read, os.fstat(f.fileno()).st_size, split.start, split.length, dest)
    fs = filesystem_for(split.path, src.fs_options)
    size = fs.status(split.path).size
    return _copy_text_range(lambda offset, n: fs.read_range(split.path, offset, n), size, split.start, split.length,
                            dest)


def open_split(cur: "duckdb.DuckDBPyConnection", executor, split: Split, scratch: str,
               scan_columns) -> tuple[str, int | None]:
    """SQL of a relation over the split's records (registering Arrow readers on `cur` as needed), and
    the number of records when it is known without a scan (Parquet footers, Arrow files, text lines)."""
    if split.kind == "arrow":  # an earlier job's output: scanned as a stream, its row count from the footer
        import pyarrow.dataset as ds

        reader = pa.ipc.open_file(pa.memory_map(split.path))
        records = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        cur.register("__split_arrow", ds.dataset(split.path, format="ipc", schema=reader.schema))
        return "SELECT * FROM __split_arrow", records
    src = split.file_scan
    assert src is not None
    scan = ScanNode(name="__input", table="", columns=list(scan_columns), sources=[src])
    if split.empty:
        scan.sources = []
        return executor._scan_sql(cur, scan), 0
    if split.row_groups is not None:
        return _parquet_row_groups_sql(cur, executor, src, split)
    records = None
    if split.length >= 0:
        os.makedirs(scratch, exist_ok=True)
        local = os.path.join(scratch, "split" + os.path.splitext(split.path)[1])
        lines = _copy_split_text(split, src, local)
        params = dict(src.table_params)
        if split.start > 0:
            params["skip.header.line.count"] = "0"
        records = max(0, lines - _int_param(params, "skip.header.line.count"))
        scan.sources = [replace(src, files=[local], table_params=params, local=True)]
    elif src.local and _split_kind(src, split.path) == SPLIT_ROW_GROUPS:
        records = _parquet_file(split.path, src).metadata.num_rows
    elif src.local and _split_kind(src, split.path) == SPLIT_LINES:
        records = max(0, _count_lines(split.path) - _int_param(src.table_params, "skip.header.line.count"))
    return executor._scan_sql(cur, scan), records


def _int_param(params: dict[str, str], key: str) -> int:
    try:
        return max(0, int((params.get(key) or "0").strip()))
    except ValueError:
        return 0


def _count_lines(path: str) -> int:
    """Lines of a local text file (Hadoop's LineRecordReader: a last line without a newline counts)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def _parquet_row_groups_sql(cur: "duckdb.DuckDBPyConnection", executor, src: FileScan,
                            split: Split) -> tuple[str, int]:
    """The split's row groups: DuckDB's reader over the file, kept to the groups' row numbers (DuckDB
    skips the other groups by their row-number ranges); a remote file reads its groups through Arrow."""
    from catalog.formats.columnar import parquet_scan_sql

    assert split.row_groups is not None
    pf = _parquet_file(split.path, src)
    md = pf.metadata
    starts = [0]
    for i in range(md.num_row_groups):
        starts.append(starts[-1] + md.row_group(i).num_rows)
    records = sum(md.row_group(i).num_rows for i in split.row_groups)
    names = list(pf.schema_arrow.names)
    sql = parquet_scan_sql(src, names)
    cut = sql.rindex(" FROM read_parquet(")
    if src.local:
        ranges = []
        for i in sorted(split.row_groups):  # contiguous groups make one range
            if ranges and ranges[-1][1] == starts[i]:
                ranges[-1][1] = starts[i + 1]
            else:
                ranges.append([starts[i], starts[i + 1]])
        cond = " OR ".join(f"(file_row_number >= {a} AND file_row_number < {b})" for a, b in ranges) or "false"
        body = (f"{sql[:cut]} FROM (SELECT * FROM read_parquet({_sql_str(split.path)}, file_row_number=true) "
                f"WHERE {cond})")
    else:
        wanted = {n.lower() for n, _ in src.columns}
        cols = [n for n in names if n.lower() in wanted] if not _by_index(src) else None
        cur.register("__split_rg", pf.read_row_groups(split.row_groups, columns=cols))  # one split's columns
        body = sql[:cut] + " FROM __split_rg"
    if src.constants:
        from executors.arrow import _const_sql

        consts = ", ".join(f'{_const_sql(v, t)} AS "{n}"' for n, v, t in src.constants)
        data = ", ".join(f'"{n}"' for n, _ in src.columns)
        body = f"SELECT {data + ', ' if data else ''}{consts} FROM ({body})"
    return body, records


def _by_index(src: FileScan) -> bool:
    return src.table_params.get("parquet.column.index.access", "false").lower() == "true"


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
