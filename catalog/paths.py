"""Partition directory names as Hive writes and reads them (`k=v/k2=v2`, %XX escapes)."""

from __future__ import annotations

from urllib.parse import unquote

DEFAULT_PARTITION_NAME = "__HIVE_DEFAULT_PARTITION__"

# FileUtils.charToEscape in Hive
_ESCAPE = set(range(0x01, 0x20)) | {ord(c) for c in "\"#%'*/:=?\\\x7f{[]^"}


def escape_path_name(s: str) -> str:
    """Escape a partition key or value for use in a path, as Hive's FileUtils does.

    >>> escape_path_name("a/b:c")
    'a%2Fb%3Ac'
    """
    return "".join(f"%{ord(c):02X}" if ord(c) in _ESCAPE else c for c in s)


def unescape_path_name(s: str) -> str:
    return unquote(s)


def partition_name(keys: list[str], values: list[str]) -> str:
    """`ds=2008-04-08/hr=11` for the given key names and values."""
    return "/".join(f"{escape_path_name(k)}={escape_path_name(v)}" for k, v in zip(keys, values))


def parse_partition_name(name: str) -> list[tuple[str, str]]:
    out = []
    for part in name.strip("/").split("/"):
        if "=" not in part:
            raise ValueError(f"Invalid partition directory name '{part}'")
        k, v = part.split("=", 1)
        out.append((unescape_path_name(k), unescape_path_name(v)))
    return out
