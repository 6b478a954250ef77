"""HiveQL as hiveish parses it: sqlglot's Hive dialect, extended by its tables.

Functions our registry rewrites are removed from the parser's FUNCTIONS table
so they arrive as `exp.Anonymous` carrying their Hive name and arguments.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.hive import Hive
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

from planner.functions import REGISTRY
from planner.literals import charset_literals


class PTFCall(exp.Expression):
    """A partitioned table function in FROM: `name(ON source [PARTITION BY ...] [ORDER BY ...][, args])`.

    `partition` and `order` also hold DISTRIBUTE BY / SORT BY; the binder expands the call.
    """

    arg_types = {"this": True, "source": True, "partition": False, "order": False, "expressions": False,
                 "alias": False}


def _ptf_sql(gen, e: PTFCall) -> str:
    parts = [f"ON {gen.sql(e, 'source')}"]
    if e.args.get("partition"):
        parts.append("PARTITION BY " + ", ".join(gen.sql(x) for x in e.args["partition"]))
    if e.args.get("order"):
        parts.append("ORDER BY " + ", ".join(gen.sql(x) for x in e.args["order"]))
    args = "".join(", " + gen.sql(x) for x in e.expressions)
    alias = gen.sql(e, "alias")
    return f"{e.name}({' '.join(parts)}{args})" + (f" {alias}" if alias else "")


# rewritten by the registry, or table functions that translate.py expands into rows
_OURS = {name.upper() for name, f in REGISTRY.items() if f.rewrite is not None} | {"STACK"}


class HiveQL(Hive):
    class Tokenizer(Hive.Tokenizer):
        # Hive spells the union type UNIONTYPE<...>; sqlglot parses UNION<...> into DataType.UNION
        KEYWORDS = {**Hive.Tokenizer.KEYWORDS, "UNIONTYPE": TokenType.UNION}

        def tokenize(self, sql: str) -> list[Token]:
            return charset_literals(super().tokenize(sql))

    class Parser(Hive.Parser):
        FUNCTIONS = {k: v for k, v in Hive.Parser.FUNCTIONS.items() if k.upper() not in _OURS}
        FUNCTION_PARSERS = {k: v for k, v in Hive.Parser.FUNCTION_PARSERS.items() if k.upper() not in _OURS}

        def _parse_table(self, schema: bool = False, joins: bool = False, alias_tokens=None,
                         parse_bracket: bool = False, is_db_reference: bool = False, parse_partition: bool = False,
                         consume_pipe: bool = False) -> exp.Expr | None:
            if not schema and not is_db_reference:
                ptf = self._parse_ptf()
                if ptf is not None:
                    return ptf
            return super()._parse_table(schema=schema, joins=joins, alias_tokens=alias_tokens,
                                        parse_bracket=parse_bracket, is_db_reference=is_db_reference,
                                        parse_partition=parse_partition, consume_pipe=consume_pipe)

        def _parse_query_modifiers(self, this):
            # FROM-first `FROM a JOIN b ON ... SELECT ...`: sqlglot hangs the joins on the FROM's
            # table; they belong to the SELECT, as in `SELECT ... FROM a JOIN b ON ...`
            if isinstance(this, exp.Select) and (frm := this.args.get("from_")) is not None:
                joins = frm.this.args.get("joins")
                if joins:
                    frm.this.set("joins", None)
                    this.set("joins", list(joins) + list(this.args.get("joins") or []))
            return super()._parse_query_modifiers(this)

        def _parse_ptf(self) -> PTFCall | None:
            """`name(ON ...)` in FROM: Hive's PTF call (noop, noopwithmap, ...)."""
            i = self._index
            if not (self._curr and self._curr.token_type == TokenType.VAR and i + 2 < len(self._tokens)
                    and self._tokens[i + 1].token_type == TokenType.L_PAREN
                    and self._tokens[i + 2].token_type == TokenType.ON):
                return None
            name = self._parse_id_var()
            self._match(TokenType.L_PAREN)
            self._match(TokenType.ON)
            source = self._parse_table()
            partition = order = None
            if self._match_set((TokenType.PARTITION_BY, TokenType.DISTRIBUTE_BY)):
                partition = self._parse_csv(self._parse_assignment)
            if self._match_set((TokenType.ORDER_BY, TokenType.SORT_BY)):
                order = self._parse_csv(self._parse_ordered)
            args = []
            while self._match(TokenType.COMMA):
                args.append(self._parse_assignment())
            self._match_r_paren()
            alias = self._parse_table_alias()
            return self.expression(PTFCall(this=name, source=source, partition=partition, order=order,
                                           expressions=args, alias=alias))

        def _parse_types(self, check_func: bool = False, schema: bool = False, allow_identifiers: bool = True,
                         with_collation: bool = False) -> exp.Expr | None:
            # unlike Spark, Hive keeps CHAR(n)/VARCHAR(n) in casts: they pad and truncate
            t = Parser._parse_types(self, check_func=check_func, schema=schema,
                                    allow_identifiers=allow_identifiers, with_collation=with_collation)
            if isinstance(t, exp.DataType) and t.this == exp.DataType.Type.DECIMAL and not t.expressions:
                # Hive's bare DECIMAL (also DEC, NUMERIC) is DECIMAL(10,0)
                t.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(10)),
                                      exp.DataTypeParam(this=exp.Literal.number(0))])
            return t

    class Generator(Hive.Generator):
        TRANSFORMS = {**Hive.Generator.TRANSFORMS, PTFCall: _ptf_sql}
