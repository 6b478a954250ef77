"""HiveQL literal forms sqlglot's tokenizer does not know, turned into ordinary tokens."""

from __future__ import annotations

import codecs
import re

from sqlglot.tokens import Token, TokenType

_NAME_PARTS = (TokenType.DASH, TokenType.NUMBER, TokenType.VAR, TokenType.DOT, TokenType.COLON)


def _adjacent(a: Token, b: Token) -> bool:
    return b.start == a.end + 1


def charset_literals(tokens: list[Token]) -> list[Token]:
    """Hive's `_charset 'text'` and `_charset 0xHEX` literals (e.g. `_UTF-8 0xE993AE`) as string tokens.

    The bytes of a hex literal are decoded in the named character set, as
    BaseSemanticAnalyzer.charSetString does; a name that is no known charset
    leaves the tokens alone.
    """
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type == TokenType.VAR and tok.text.startswith("_") and len(tok.text) > 1:
            j, name = i + 1, tok.text[1:]
            while j < len(tokens) and _adjacent(tokens[j - 1], tokens[j]) and tokens[j].token_type in _NAME_PARTS:
                name += tokens[j].text
                j += 1
            value: str | None = None
            end = j
            try:
                codecs.lookup(name)
                known = j < len(tokens)
            except LookupError:
                known = False
            if known and tokens[j].token_type == TokenType.STRING:
                value, end = tokens[j].text, j + 1
            elif (known and j + 1 < len(tokens) and tokens[j].text == "0" and _adjacent(tokens[j], tokens[j + 1])
                  and re.fullmatch(r"[xX](?:[0-9A-Fa-f]{2})+", tokens[j + 1].text)):
                value, end = bytes.fromhex(tokens[j + 1].text[1:]).decode(name, errors="replace"), j + 2
            if value is not None:
                out.append(Token(TokenType.STRING, value, tok.line, tok.col, tok.start, tokens[end - 1].end))
                i = end
                continue
        out.append(tok)
        i += 1
    return out
