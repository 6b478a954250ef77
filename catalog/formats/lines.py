"""Lines of local text files as Hadoop's LineRecordReader gives them, for SerDes read in Python.

Compressed files are decompressed by extension; lines end at `\\n`, `\\r` or
`\\r\\n`; `skip.header.line.count`/`skip.footer.line.count` apply to each
file; invalid UTF-8 becomes U+FFFD, as Hadoop's Text.toString() does.
"""

from __future__ import annotations

from collections import deque
from typing import Iterator

from catalog.formats.base import FileScan
from catalog.formats.codecs import codec_for_path


def _int(params: dict[str, str], key: str) -> int:
    try:
        return max(0, int((params.get(key) or "0").strip()))
    except ValueError:
        return 0


def file_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    codec = codec_for_path(path)
    return codec.decompress(data) if codec is not None and data else data


def _raw_lines(path: str) -> Iterator[bytes]:
    """A file's lines without their ends (`\n`, `\r\n` or `\r`), streamed unless compressed."""
    if codec_for_path(path) is not None:
        yield from file_bytes(path).splitlines()
        return
    with open(path, "rb") as f:
        for raw in f:
            if b"\r" in raw:
                yield from raw.splitlines()
            else:
                yield raw[:-1] if raw.endswith(b"\n") else raw


def read_lines(scan: FileScan) -> Iterator[str]:
    header = _int(scan.table_params, "skip.header.line.count")
    footer = _int(scan.table_params, "skip.footer.line.count")
    for path in scan.files:
        held: deque[bytes] = deque()
        for i, raw in enumerate(_raw_lines(path)):
            if i < header:
                continue
            held.append(raw)
            if len(held) > footer:
                yield held.popleft().decode("utf-8", "replace")
