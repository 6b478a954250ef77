"""HiveQL as hiveish parses it: sqlglot's Hive dialect, extended by its tables.

Functions our registry rewrites are removed from the parser's FUNCTIONS table
so they arrive as `exp.Anonymous` carrying their Hive name and arguments.
"""

from __future__ import annotations

from sqlglot.dialects.hive import Hive

from planner.functions import REGISTRY

_OURS = {name.upper() for name, f in REGISTRY.items() if f.rewrite is not None}


class HiveQL(Hive):
    class Parser(Hive.Parser):
        FUNCTIONS = {k: v for k, v in Hive.Parser.FUNCTIONS.items() if k.upper() not in _OURS}
        FUNCTION_PARSERS = {k: v for k, v in Hive.Parser.FUNCTION_PARSERS.items() if k.upper() not in _OURS}
