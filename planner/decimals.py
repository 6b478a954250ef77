"""Hive's DECIMAL arithmetic (2.1): result precision/scale, rounding, NULL on overflow, folded constants.

Hive types `a op b` over decimals (and integers, which join in as decimal(10,0)
etc.; an integer *constant* as the precision of its value) by fixed rules,
computes exactly, rounds HALF_UP to the result scale and gives NULL when the
value does not fit in the result precision. DuckDB's own decimal rules differ
(other result types, division as DOUBLE, errors on overflow), so each such
operation is rewritten here into an explicit computation and cast.

An arithmetic expression over constants only is folded by Hive before it runs;
the folded decimal constant has the type of its value with trailing zeros
removed (`0.5BD * 4` prints `2`), which `fold_constant` reproduces.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from sqlglot import exp

from planner.functions import call, int_literal, native_cast

MAX_PRECISION = 38
_T = exp.DataType.Type
_INT_PRECISION = {_T.TINYINT: 3, _T.SMALLINT: 5, _T.INT: 10, _T.BIGINT: 19}
ARITH = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def type_params(t: exp.DataType | None) -> tuple[int, int] | None:
    """(precision, scale) of a DECIMAL type, None for any other type."""
    if t is None or t.this != _T.DECIMAL:
        return None
    params = [p.this if isinstance(p, exp.DataTypeParam) else p for p in t.expressions]
    if len(params) == 2:
        return int(params[0].this), int(params[1].this)
    if len(params) == 1:
        return int(params[0].this), 0
    return 10, 0  # Hive's bare DECIMAL


def operand(e: exp.Expression) -> tuple[int, int] | None:
    """The decimal (precision, scale) an operand takes part with, or None if it is not decimal or integral."""
    v = int_literal(e)
    if v is not None:
        return max(1, len(str(abs(v)))), 0
    t = getattr(e, "type", None)
    ps = type_params(t)
    if ps is not None:
        return ps
    if t is not None and t.this in _INT_PRECISION:
        return _INT_PRECISION[t.this], 0
    return None


def result_type(node: exp.Expression) -> tuple[int, int] | None:
    """Hive's decimal result type of `node` (an arithmetic operator), None unless it is decimal arithmetic."""
    a, b = node.this, node.expression
    pa, pb = operand(a), operand(b)
    if pa is None or pb is None:
        return None
    if type_params(getattr(a, "type", None)) is None and type_params(getattr(b, "type", None)) is None:
        return None  # integers only
    (p1, s1), (p2, s2) = pa, pb
    if isinstance(node, (exp.Add, exp.Sub)):
        s = max(s1, s2)
        return min(MAX_PRECISION, max(p1 - s1, p2 - s2) + s + 1), s
    if isinstance(node, exp.Mul):
        return min(MAX_PRECISION, p1 + p2 + 1), min(MAX_PRECISION, s1 + s2)
    if isinstance(node, exp.Div):
        s = min(MAX_PRECISION, max(6, s1 + p2 + 1))
        return min(MAX_PRECISION, p1 - s1 + s2 + s), s
    s = max(s1, s2)  # Mod
    return min(MAX_PRECISION, min(p1 - s1, p2 - s2) + s), s


def decimal_type(p: int, s: int) -> exp.DataType:
    return exp.DataType.build(f"DECIMAL({p}, {s})")


def rewrite(node: exp.Expression, ps: tuple[int, int]) -> exp.Expression:
    """`node` computed exactly, rounded HALF_UP to Hive's result type, NULL when it overflows."""
    p, s = ps
    a, b = node.this, node.expression
    to = decimal_type(p, s)
    if isinstance(node, exp.Div):
        # DuckDB divides decimals as DOUBLE: an exact quotient comes from planner/udfs.py
        quotient = call("hive_decimal_divide", native_cast(a, "VARCHAR"), native_cast(b, "VARCHAR"),
                        exp.Literal.number(s))
        out = exp.TryCast(this=quotient, to=to)
    else:
        if isinstance(node, exp.Mod):
            node.set("expression", exp.func("nullif", b, exp.Literal.number(0)))
        out = exp.Anonymous(this="try", expressions=[exp.Cast(this=node, to=to)])
    out.meta["hive_decimal"] = True
    out.type = to
    return out


# -- constant folding ---------------------------------------------------------------------------------

def _literal_value(e: exp.Expression) -> Decimal | None:
    """The value of an integer or BD literal (as sqlglot parses `1.5BD`), else None."""
    if isinstance(e, exp.Paren):
        return _literal_value(e.this)
    if isinstance(e, exp.Neg):
        v = _literal_value(e.this)
        return None if v is None else -v
    v = int_literal(e)
    if v is not None:
        return Decimal(v)
    if (isinstance(e, (exp.Cast, exp.TryCast)) and isinstance(e.this, exp.Literal) and e.this.is_string
            and e.to.this == _T.DECIMAL):
        try:
            return Decimal(e.this.this)
        except InvalidOperation:
            return None
    return None


def _fits(v: Decimal, p: int, s: int) -> Decimal | None:
    """HiveDecimal.enforcePrecisionScale: round HALF_UP to scale s, NULL beyond precision p."""
    with localcontext() as ctx:
        ctx.prec = 200
        v = v.quantize(Decimal(1).scaleb(-s), rounding=ROUND_HALF_UP)
        whole = len(v.as_tuple().digits) + v.as_tuple().exponent  # digits left of the point
        return v if whole <= p - s else None


def fold(node: exp.Expression) -> tuple[Decimal | None, tuple[int, int]] | None:
    """Evaluate decimal arithmetic over literals as Hive does: (value or None for NULL, type); None if not constant."""
    if not isinstance(node, ARITH):
        v = _literal_value(node)
        if v is None:
            return None
        ps = type_params(getattr(node, "type", None)) or operand(node) or (MAX_PRECISION, 0)
        return v, ps
    ps = result_type(node)
    left, right = fold(node.this), fold(node.expression)
    if ps is None or left is None or right is None:
        return None
    a, b = left[0], right[0]
    if a is None or b is None:
        return None, ps
    with localcontext() as ctx:
        ctx.prec = 200
        if isinstance(node, exp.Add):
            v = a + b
        elif isinstance(node, exp.Sub):
            v = a - b
        elif isinstance(node, exp.Mul):
            v = a * b
        elif b == 0:
            return None, ps
        elif isinstance(node, exp.Div):
            v = a / b
        else:
            v = a % b
    return _fits(v, *ps), ps


def fold_constant(node: exp.Expression) -> exp.Expression | None:
    """A decimal arithmetic expression over literals as the constant Hive folds it into, or None."""
    folded = fold(node)
    if folded is None:
        return None
    value, (p, s) = folded
    if value is None:
        out: exp.Expression = exp.Cast(this=exp.Null(), to=decimal_type(p, s))
        out.type = decimal_type(p, s)
        return out
    value = value.normalize() if value != 0 else Decimal(0)
    digits, exponent = len(value.as_tuple().digits), value.as_tuple().exponent
    scale = max(0, -exponent)
    precision = max(scale, digits + max(0, exponent), 1)
    text = format(value, "f")
    out = exp.Cast(this=exp.Literal.string(text), to=decimal_type(precision, scale))
    out.type = decimal_type(precision, scale)
    return out
