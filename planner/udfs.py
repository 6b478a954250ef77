"""Hive functions DuckDB lacks, as vectorized Python functions over Arrow arrays.

The registry (`planner.functions.UDFS`) declares each one as data: the DuckDB
name its rewrites call, the `module:function` implementing it here, and its
DuckDB parameter and result types. An executor connection registers one when a
statement's SQL first calls it (`executors.engine_functions`), so this module is
imported only then, and both engines evaluate them the same way. Each function
takes the argument columns as pyarrow arrays and returns one array of the
declared result type; NULL arguments give NULL, as in Hive.
"""

from __future__ import annotations

import decimal
import functools
import hashlib
import inspect
import math
import threading
from typing import Any, Callable

import pyarrow as pa


def _rowwise(fn: Callable[..., Any], out: pa.DataType) -> Callable[..., pa.Array]:
    """Lift a per-row function (None for a NULL row) to Arrow columns."""
    def run(*cols: pa.Array) -> pa.Array:
        values = [c.to_pylist() for c in cols]
        rows = zip(*values) if values else iter([()])
        return pa.array([None if any(v is None for v in row) else fn(*row) for row in rows], type=out)
    run.__name__ = fn.__name__
    run.__signature__ = inspect.signature(fn)  # DuckDB checks the arity against the declared parameters
    return run


# -- XPath (javax.xml.xpath over a DOM, as Hive's UDFXPathUtil) ---------------------------------------

_NS = "urn:hiveish:xpath"
_XSL = "http://www.w3.org/1999/XSL/Transform"
_captured = threading.local()


def _capture(_context: Any, value: Any) -> str:
    _captured.value = value
    return ""


def _compiled(path: str):
    """`path` evaluated with the document node as its context, as javax.xml.xpath does.

    lxml's XPath classes start from the root element, so the expression runs
    inside an XSLT template matching "/" and hands its raw value (node set,
    number, string or boolean) to a Python extension function. Each thread
    keeps its own compiled stylesheets (DuckDB may call a UDF from several).
    """
    cache = getattr(_captured, "sheets", None)
    if cache is None:
        cache = _captured.sheets = {}
    if path not in cache:
        if len(cache) >= 256:
            cache.clear()
        cache[path] = _stylesheet(path)
    return cache[path]


def _stylesheet(path: str):
    from lxml import etree

    etree.FunctionNamespace(_NS)["capture"] = _capture
    sheet = etree.Element(f"{{{_XSL}}}stylesheet", nsmap={"xsl": _XSL, "h": _NS}, version="1.0")
    template = etree.SubElement(sheet, f"{{{_XSL}}}template", match="/")
    etree.SubElement(template, f"{{{_XSL}}}value-of", select=f"h:capture(({path}))")
    try:
        return etree.XSLT(sheet, access_control=etree.XSLTAccessControl.DENY_ALL)
    except etree.XSLTParseError:
        raise ValueError(f"Invalid XPath expression '{path}'") from None


def _document(xml: str):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(xml.encode("utf-8"), parser).getroottree()
    except etree.XMLSyntaxError as e:
        raise ValueError(f"Invalid XML document: {e}") from None


def _evaluate(xml: str, path: str) -> Any:
    from lxml import etree

    transform = _compiled(path)
    _captured.value = None
    try:
        transform(_document(xml))
    except etree.XSLTApplyError as e:
        raise ValueError(f"Error evaluating XPath expression '{path}': {e}") from None
    return _captured.value


def _eval(xml: str, path: str, convert: str) -> Any:
    """The XPath result converted as by XPathConstants.STRING / BOOLEAN / NUMBER; NULL for empty input."""
    if not xml or not path:
        return None
    return _evaluate(xml, f"{convert}(({path}))")


def _node_value(node: Any) -> str | None:
    """org.w3c.dom.Node.getNodeValue: text, attribute, comment and PI nodes have one, elements do not."""
    from lxml import etree

    if isinstance(node, str):  # text and attribute results arrive as strings
        return str(node)
    if isinstance(node, (etree._Comment, etree._ProcessingInstruction)):
        return node.text or ""
    return None


def _xpath_list(xml: str, path: str) -> list[str] | None:
    if not xml or not path:
        return []
    result = _evaluate(xml, path)
    if not isinstance(result, list):
        raise ValueError(f"XPath expression '{path}' does not return a node set")
    return [v for v in (_node_value(n) for n in result) if v is not None]


def _xpath_string(xml: str, path: str) -> str | None:
    return _eval(xml, path, "string")


def _xpath_boolean(xml: str, path: str) -> bool | None:
    return _eval(xml, path, "boolean")


def _xpath_double(xml: str, path: str) -> float | None:
    return _eval(xml, path, "number")


def _java_long(d: float) -> int:
    """Java's (long) d: NaN is 0, out of range saturates."""
    if math.isnan(d):
        return 0
    if d >= 2 ** 63 - 1:
        return 2 ** 63 - 1
    if d <= -2 ** 63:
        return -2 ** 63
    return int(d)


def _java_int(d: float) -> int:
    return max(-2 ** 31, min(2 ** 31 - 1, _java_long(d)))


def _xpath_int(xml: str, path: str) -> int | None:
    d = _xpath_double(xml, path)
    return None if d is None else _java_int(d)


def _xpath_long(xml: str, path: str) -> int | None:
    d = _xpath_double(xml, path)
    return None if d is None else _java_long(d)


def _xpath_short(xml: str, path: str) -> int | None:
    """(short) d: first to int (saturating), then the low 16 bits."""
    d = _xpath_double(xml, path)
    if d is None:
        return None
    v = _java_int(d) & 0xFFFF
    return v - 0x10000 if v >= 0x8000 else v


xpath = _rowwise(_xpath_list, pa.list_(pa.string()))
xpath_string = _rowwise(_xpath_string, pa.string())
xpath_boolean = _rowwise(_xpath_boolean, pa.bool_())
xpath_double = _rowwise(_xpath_double, pa.float64())
xpath_float = _rowwise(_xpath_double, pa.float32())  # (float) d, rounded to nearest by Arrow
xpath_int = _rowwise(_xpath_int, pa.int32())
xpath_long = _rowwise(_xpath_long, pa.int64())
xpath_short = _rowwise(_xpath_short, pa.int16())


# -- hashing and encryption --------------------------------------------------------------------------

def _sha2(data: bytes, bits: int) -> str | None:
    """SHA-224/256/384/512 as lowercase hex; 0 means 256; any other length is NULL."""
    algo = {0: "sha256", 224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}.get(bits)
    return hashlib.new(algo, data).hexdigest() if algo else None


sha2 = _rowwise(_sha2, pa.string())


def _aes(data: bytes, key: bytes, encrypt: bool) -> bytes | None:
    """AES/ECB/PKCS5Padding with a 128, 192 or 256 bit key; NULL for another key length or a bad input."""
    if len(key) not in (16, 24, 32):
        return None
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    cipher = Cipher(algorithms.AES(key), modes.ECB())
    if encrypt:
        padder = padding.PKCS7(128).padder()
        enc = cipher.encryptor()
        return enc.update(padder.update(data) + padder.finalize()) + enc.finalize()
    if not data or len(data) % 16:
        return None
    dec = cipher.decryptor()
    plain = dec.update(data) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(plain) + unpadder.finalize()
    except ValueError:  # javax.crypto.BadPaddingException: Hive returns NULL
        return None


aes_encrypt = _rowwise(lambda data, key: _aes(data, key, True), pa.binary())
aes_decrypt = _rowwise(lambda data, key: _aes(data, key, False), pa.binary())


# -- format_number (java.text.DecimalFormat, HALF_EVEN) ----------------------------------------------

def _exact(text: str, is_double: bool):
    """The value to format: a double's shortest decimal digits (as Double.toString), else the exact text."""
    from decimal import Decimal

    return Decimal(repr(float(text))) if is_double else Decimal(text)


def _round_half_even(value, places: int, binary: float | None):
    """DecimalFormat rounding (JDK 8): HALF_EVEN on the digits, a tie decided by the double's exact value."""
    from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal

    with decimal.localcontext() as ctx:
        ctx.prec = places + 400  # doubles reach 1e308
        q = Decimal(1).scaleb(-places)
        if binary is not None and not math.isinf(binary):
            down = value.quantize(q, rounding=ROUND_DOWN)
            if abs(value - down) * 2 == q:  # a tie in the shortest digits
                exact = Decimal(binary)
                if abs(exact) != abs(value):
                    return value.quantize(q, rounding=ROUND_UP if abs(exact) > abs(value) else ROUND_DOWN)
        return value.quantize(q, rounding=ROUND_HALF_EVEN)


def _layout(value, min_int: int, min_frac: int, max_frac: int, group: int, prefix: str = "", suffix: str = "") -> str:
    """Digits of `value` (already rounded to max_frac places) with grouping and padding, sign kept for -0."""
    negative = value.is_signed()
    digits = format(abs(value), "f")
    whole, _, frac = digits.partition(".")
    frac = frac.rstrip("0")
    if len(frac) < min_frac:
        frac += "0" * (min_frac - len(frac))
    whole = whole.lstrip("0")
    if len(whole) < min_int:
        whole = "0" * (min_int - len(whole))
    if group > 0 and len(whole) > group:
        head = len(whole) % group or group
        whole = ",".join([whole[:head]] + [whole[i:i + group] for i in range(head, len(whole), group)])
    text = whole + ("." + frac if frac else "")
    return ("-" if negative else "") + prefix + text + suffix


def _format_digits(text: str, is_double: bool, places: int) -> str:
    """format_number(x, d): '#,###,###,##0' with exactly d fraction digits."""
    if places < 0:
        raise ValueError(f"Argument 2 of function FORMAT_NUMBER must be >= 0, but {places} was found")
    value = _exact(text, is_double)
    value = _round_half_even(value, places, float(text) if is_double else None)
    return _layout(value, 1, places, places, 3)


@functools.lru_cache(maxsize=64)
def _pattern(pattern: str) -> tuple[str, str, int, int, int, int]:
    """A DecimalFormat pattern's (prefix, suffix, min int digits, min/max fraction digits, grouping size)."""
    positive = pattern.split(";", 1)[0]
    i = 0
    while i < len(positive) and positive[i] not in "#0,.":
        i += 1
    j = i
    while j < len(positive) and positive[j] in "#0,.":
        j += 1
    prefix, body, suffix = positive[:i], positive[i:j], positive[j:]
    whole, dot, frac = body.partition(".")
    min_int = whole.count("0")
    if min_int == 0 and "#" in whole and dot:  # "#.##" formats as "#0.##"
        min_int = 1
    group = len(whole) - whole.rfind(",") - 1 if "," in whole else 0
    return prefix.replace("'", ""), suffix.replace("'", ""), min_int, frac.count("0"), len(frac), group


def _format_pattern(text: str, is_double: bool, pattern: str) -> str:
    prefix, suffix, min_int, min_frac, max_frac, group = _pattern(pattern)
    value = _exact(text, is_double)
    value = _round_half_even(value, max_frac, float(text) if is_double else None)
    return _layout(value, min_int, min_frac, max_frac, group, prefix, suffix)


def _format_number(text: str, is_double: bool, places: int) -> str | None:
    if is_double and text in ("nan", "inf", "-inf"):
        return {"nan": "NaN", "inf": "\u221e", "-inf": "-\u221e"}[text]  # DecimalFormat's symbols
    return _format_digits(text, is_double, places)


def _format_number_pattern(text: str, is_double: bool, pattern: str) -> str | None:
    if is_double and text in ("nan", "inf", "-inf"):
        return {"nan": "NaN", "inf": "\u221e", "-inf": "-\u221e"}[text]
    return _format_pattern(text, is_double, pattern)


format_number = _rowwise(_format_number, pa.string())
format_number_pattern = _rowwise(_format_number_pattern, pa.string())


# -- exact decimal division ---------------------------------------------------------------------------

def _decimal_divide(a: str, b: str, scale: int) -> str | None:
    """HiveDecimal.divide: the exact quotient rounded HALF_UP to `scale`; NULL on division by zero."""
    from decimal import ROUND_HALF_UP, Decimal

    x, y = Decimal(a), Decimal(b)
    if y == 0:
        return None
    with decimal.localcontext() as ctx:
        ctx.prec = 120
        return format((x / y).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP), "f")


decimal_divide = _rowwise(_decimal_divide, pa.string())
