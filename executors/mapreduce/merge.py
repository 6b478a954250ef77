"""Streaming merge of sorted runs, in windows of bounded size (Hadoop's merge of map outputs).

Every sorted run (a map spill, a map task's output segment) carries a column `__sk`: DuckDB's
`create_sort_key` of the shuffle's sort keys, a byte string whose byte order is the sort order
(ASC/DESC, NULLS FIRST/LAST included). Merging k runs then compares one binary column:

- each run is read a batch at a time (`read_runs`);
- a window takes, from every run, the rows whose key is below the smallest "last key buffered"
  among runs that still have more to read; all rows with those keys are then in memory, so
  windows cover disjoint key ranges and a group never straddles two windows;
- a window's rows are sorted by `__sk` (`merge`), or only their distinct keys counted
  (`count_groups`, the reducer's REDUCE_INPUT_GROUPS).

Memory is about k batches (plus the rows of one key if a single key spans several batches).
"""

from __future__ import annotations

import bisect
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

from executors.mapreduce.job import SortKey

SK = "__sk"
BATCH_ROWS = 65536
RUN_BATCH_ROWS = 8192  # rows per record batch of a sorted run file: a merge holds about one per run


def sort_key_sql(keys: list[SortKey]) -> str:
    """SQL of the `__sk` column: the keys as one byte string that sorts like the keys.

    The constant last key keeps the result a BLOB (DuckDB returns a BIGINT for keys that fit in 8 bytes)."""
    args = []
    for k in keys:
        args += [f'"{k.column}"', f"'{'DESC' if k.descending else 'ASC'} NULLS {'FIRST' if k.nulls_first else 'LAST'}'"]
    return f"create_sort_key({', '.join(args)}, ''::VARCHAR, 'ASC NULLS FIRST')"


def read_runs(paths: list[str], columns: list[str] | None = None, rows: int = RUN_BATCH_ROWS,
              mmap: bool = False) -> list[Iterator[pa.RecordBatch]]:
    """One batch iterator per Arrow IPC file, `rows` rows at a time (only `columns`, if given)."""
    return [_batches(p, columns, rows, mmap) for p in paths]


def _batches(path: str, columns: list[str] | None, rows: int, mmap: bool) -> Iterator[pa.RecordBatch]:
    source = pa.memory_map(path) if mmap else pa.OSFile(path, "rb")
    with source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            b = reader.get_batch(i)
            if columns is not None:
                b = b.select(columns)
            for off in range(0, b.num_rows, rows):
                yield b.slice(off, rows)


class _Run:
    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self.batches = batches
        self.buf: list[pa.RecordBatch] = []
        self.rows = 0
        self.done = False  # nothing left to read: the buffer is the rest of the run

    def more(self) -> bool:
        """Read one more batch into the buffer; False once the run is exhausted."""
        for b in self.batches:
            if b.num_rows:
                self.buf.append(b)
                self.rows += b.num_rows
                return True
        self.done = True
        return False

    def last_key(self) -> bytes:
        return self.buf[-1].column(SK)[-1].as_py()

    def take_below(self, bound: bytes | None) -> list[pa.RecordBatch]:
        """Remove and return the buffered rows with key < bound (all of them when bound is None)."""
        if bound is None:
            out, self.buf, self.rows = self.buf, [], 0
            return out
        out = []
        while self.buf:
            b = self.buf[0]
            keys = b.column(SK)
            n = bisect.bisect_left(_Keys(keys), bound)
            if n == b.num_rows:
                out.append(self.buf.pop(0))
                continue
            if n:
                out.append(b.slice(0, n))
                self.buf[0] = b.slice(n)
            break
        self.rows -= sum(b.num_rows for b in out)
        return out


class _Keys:
    """A binary Arrow array as a sequence of bytes, for `bisect`."""

    def __init__(self, arr: pa.Array) -> None:
        self.arr = arr

    def __len__(self) -> int:
        return len(self.arr)

    def __getitem__(self, i: int) -> bytes:
        return self.arr[i].as_py()


def windows(runs: Iterable[Iterator[pa.RecordBatch]]) -> Iterator[list[pa.RecordBatch]]:
    """Pieces of the runs, window by window; windows cover increasing, disjoint key ranges."""
    live = [_Run(r) for r in runs]
    live = [r for r in live if r.more()]
    while live:
        pending = [r for r in live if not r.done]
        bound = min(r.last_key() for r in pending) if pending else None
        pieces = [b for r in live for b in r.take_below(bound)]
        if pieces:
            yield pieces
        else:  # every buffered row is >= bound: read on in the run(s) whose buffer ends at bound
            for r in pending:
                if r.last_key() == bound:
                    r.more()
        live = [r for r in live if r.rows or (not r.done and r.more())]


def merge(runs: Iterable[Iterator[pa.RecordBatch]]) -> Iterator[pa.Table]:
    """The runs' rows in `__sk` order, a window (a table) at a time."""
    for pieces in windows(runs):
        t = pa.Table.from_batches(pieces)
        yield t.take(pc.sort_indices(t, [(SK, "ascending")]))


def count_groups(runs: Iterable[Iterator[pa.RecordBatch]]) -> int:
    """Distinct `__sk` values over all runs, without holding more than a window of keys."""
    n = 0
    for pieces in windows(runs):
        keys = pa.chunked_array([b.column(SK) for b in pieces])
        n += pc.count_distinct(keys).as_py()
    return n
