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
from typing import Any, BinaryIO, Callable

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


def _lz4_chunk(data: bytes, most: int) -> bytes:
    """One raw LZ4 block of at most `most` bytes decompressed (its exact size is not stored)."""
    out = bytearray(most)
    n = cramjam.lz4.decompress_block_into(data, out)
    return bytes(out[:n])


@dataclass(frozen=True)
class Codec:
    name: str  # the session's short name (hive.exec.compress.output's codec)
    hadoop_class: str
    extension: str
    decompress: Callable[[bytes], bytes]
    compress: Callable[[bytes], bytes]
    compressor: Callable[[], Any] | None = None  # a streaming compressor (cramjam's), if the codec has one


CODECS: tuple[Codec, ...] = (
    Codec("gzip", "org.apache.hadoop.io.compress.GzipCodec", ".gz",
          lambda b: bytes(cramjam.gzip.decompress(b)), lambda b: bytes(cramjam.gzip.compress(b)), cramjam.gzip.Compressor),
    Codec("bzip2", "org.apache.hadoop.io.compress.BZip2Codec", ".bz2",
          lambda b: bytes(cramjam.bzip2.decompress(b)), lambda b: bytes(cramjam.bzip2.compress(b)), cramjam.bzip2.Compressor),
    Codec("zstd", "org.apache.hadoop.io.compress.ZStandardCodec", ".zst",
          lambda b: bytes(cramjam.zstd.decompress(b)), lambda b: bytes(cramjam.zstd.compress(b)), cramjam.zstd.Compressor),
    Codec("deflate", "org.apache.hadoop.io.compress.DefaultCodec", ".deflate",
          lambda b: bytes(cramjam.zlib.decompress(b)), lambda b: bytes(cramjam.zlib.compress(b)), cramjam.zlib.Compressor),
    Codec("snappy", "org.apache.hadoop.io.compress.SnappyCodec", ".snappy",
          lambda b: _block_decompress(b, lambda c, n: bytes(cramjam.snappy.decompress_raw(c))),
          lambda b: _block_compress(b, lambda c: bytes(cramjam.snappy.compress_raw(c)))),
    Codec("lz4", "org.apache.hadoop.io.compress.Lz4Codec", ".lz4",
          lambda b: _block_decompress(b, _lz4_chunk),
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


DEFAULT_OUTPUT_CODEC = "org.apache.hadoop.io.compress.DefaultCodec"


def output_codec(options: dict[str, str]) -> Codec | None:
    """The codec INSERT output is compressed with: none unless `hive.exec.compress.output` is true, then
    `mapreduce.output.fileoutputformat.compress.codec` (or `mapred.output.compression.codec`), DefaultCodec."""
    if (options.get("hive.exec.compress.output") or "false").strip().lower() != "true":
        return None
    name = (options.get("mapreduce.output.fileoutputformat.compress.codec")
            or options.get("mapred.output.compression.codec") or DEFAULT_OUTPUT_CODEC)
    codec = codec_named(name)
    if codec is None:
        from hiveish import errors  # the kernel

        raise errors.ExecutionError(f"java.lang.IllegalArgumentException: Compression codec {name} was not found "
                                    f"(hiveish has {', '.join(c.hadoop_class for c in CODECS)})")
    return codec


OUTPUT_SETTINGS = ("hive.exec.compress.output", "mapreduce.output.fileoutputformat.compress.codec",
                   "mapred.output.compression.codec")


class CompressedWriter:
    """A binary sink compressing what is written to `out` with `codec`, as one codec stream."""

    def __init__(self, out: BinaryIO, codec: Codec) -> None:
        self.out, self.codec = out, codec
        self._c = codec.compressor() if codec.compressor is not None else None
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        if self._c is not None:
            self._c.compress(data)
        else:  # block codecs: one framed block per BLOCK bytes
            self._buf += data
            while len(self._buf) >= BLOCK:
                self.out.write(self.codec.compress(bytes(self._buf[:BLOCK])))
                del self._buf[:BLOCK]
        return len(data)

    def finish(self) -> None:
        if self._c is not None:
            self.out.write(bytes(self._c.finish()))
        elif self._buf:
            self.out.write(self.codec.compress(bytes(self._buf)))
            self._buf.clear()
