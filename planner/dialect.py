"""HiveQL as hiveish parses it: sqlglot's Hive dialect, extended by its tables.

Functions our registry rewrites are removed from the parser's FUNCTIONS table
so they arrive as `exp.Anonymous` carrying their Hive name and arguments.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.parser import Parser

from planner.functions import REGISTRY

# rewritten by the registry, or table functions that translate.py expands into rows
_OURS = {name.upper() for name, f in REGISTRY.items() if f.rewrite is not None} | {"STACK"}


class HiveQL(Hive):
    class Parser(Hive.Parser):
        FUNCTIONS = {k: v for k, v in Hive.Parser.FUNCTIONS.items() if k.upper() not in _OURS}
        FUNCTION_PARSERS = {k: v for k, v in Hive.Parser.FUNCTION_PARSERS.items() if k.upper() not in _OURS}

        def _parse_types(self, check_func: bool = False, schema: bool = False, allow_identifiers: bool = True,
                         with_collation: bool = False) -> exp.Expr | None:
            # unlike Spark, Hive keeps CHAR(n)/VARCHAR(n) in casts: they pad and truncate
            return Parser._parse_types(self, check_func=check_func, schema=schema,
                                       allow_identifiers=allow_identifiers, with_collation=with_collation)
