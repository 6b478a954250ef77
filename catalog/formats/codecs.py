"""Hadoop's compression codecs: by file extension (compressed text) and by class name (SequenceFile).

Gzip, bzip2 and zstd are their own stream formats; DefaultCodec/DeflateCodec
(`.deflate`) is a zlib stream; SnappyCodec and Lz4Codec frame raw blocks the
way Hadoop's BlockCompressorStream does: a 4-byte big-endian uncompressed
length, then chunks each prefixed by its 4-byte compressed length. cramjam
does the (de)compression.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Callable

import cramjam

# Hadoop's BlockCompressorStream buffer (io.compression.codec.snappy/lz4.buffersize default 256 KiB)
BLOCK = 256 * 1024


def _block_decompress(data: bytes, raw: Callable[[bytes, int], bytes]) -> bytes:
    out = bytearray()
    pos, n = 0, len(data)
    while pos + 4 <= n:
        (total,) = struct.unpack_from(">I", data, pos)
        pos += 4
        got = 0
        while got < total and pos + 4 <= n:
            (clen,) = struct.unpack_from(">I", data, pos)
            pos += 4
            chunk = raw(data[pos:pos + clen], total - got)
            pos += clen
            out += chunk
            got += len(chunk)
        if got != total:
            raise ValueError("truncated compressed block")
    return bytes(out)


def _block_compress(data: bytes, raw: Callable[[bytes], bytes]) -> bytes:
    out = bytearray()
    for i in range(0, len(data), BLOCK):
        piece = data[i:i + BLOCK]
        c = raw(piece)
        out += struct.pack(">II", len(piece), len(c)) + c
    return bytes(out)


@dataclass(frozen=True)
class Codec:
    name: str  # the session's short name (hive.exec.compress.output's codec)
    hadoop_class: str
    extension: str
    decompress: Callable[[bytes], bytes]
    compress: Callable[[bytes], bytes]


CODECS: tuple[Codec, ...] = (
    Codec("gzip", "org.apache.hadoop.io.compress.GzipCodec", ".gz",
          lambda b: bytes(cramjam.gzip.decompress(b)), lambda b: bytes(cramjam.gzip.compress(b))),
    Codec("bzip2", "org.apache.hadoop.io.compress.BZip2Codec", ".bz2",
          lambda b: bytes(cramjam.bzip2.decompress(b)), lambda b: bytes(cramjam.bzip2.compress(b))),
    Codec("zstd", "org.apache.hadoop.io.compress.ZStandardCodec", ".zst",
          lambda b: bytes(cramjam.zstd.decompress(b)), lambda b: bytes(cramjam.zstd.compress(b))),
    Codec("deflate", "org.apache.hadoop.io.compress.DefaultCodec", ".deflate",
          lambda b: bytes(cramjam.zlib.decompress(b)), lambda b: bytes(cramjam.zlib.compress(b))),
    Codec("snappy", "org.apache.hadoop.io.compress.SnappyCodec", ".snappy",
          lambda b: _block_decompress(b, lambda c, n: bytes(cramjam.snappy.decompress_raw(c))),
          lambda b: _block_compress(b, lambda c: bytes(cramjam.snappy.compress_raw(c)))),
    Codec("lz4", "org.apache.hadoop.io.compress.Lz4Codec", ".lz4",
          lambda b: _block_decompress(b, lambda c, n: bytes(cramjam.lz4.decompress_block(c, output_len=n))),
          lambda b: _block_compress(b, lambda c: bytes(cramjam.lz4.compress_block(c, store_size=False)))),
)
_ALIASES = {"org.apache.hadoop.io.compress.DeflateCodec": "deflate", "default": "deflate", "gz": "gzip",
            "bz2": "bzip2", "zstandard": "zstd"}
_BY_NAME = {c.name: c for c in CODECS} | {c.hadoop_class: c for c in CODECS}


def codec_for_path(path: str) -> Codec | None:
    """The codec a file's extension names (Hadoop's CompressionCodecFactory), None for plain files."""
    low = path.lower()
    return next((c for c in CODECS if low.endswith(c.extension)), None)


def codec_named(name: str) -> Codec | None:
    """A codec by Hadoop class name or short name (`mapreduce.output.fileoutputformat.compress.codec`)."""
    key = name.strip()
    c = _BY_NAME.get(key) or _BY_NAME.get(key.lower())
    if c is None and (alias := _ALIASES.get(key) or _ALIASES.get(key.lower())):
        c = _BY_NAME[alias]
    return c
