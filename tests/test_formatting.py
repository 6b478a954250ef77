"""Hive 2.1.1 CLI value printing (hiveish.formatting).

Expected Java strings were produced by a real JVM (`Double.toString` /
`Float.toString`, the pre-JDK-19 FloatingDecimal that Hive 2.1.1 ran on) or
are taken from the conformance corpus.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
from decimal import Decimal
from fractions import Fraction

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.types import HiveType, parse_type
from hiveish.formatting import (
    format_column,
    format_rows,
    format_tsv_line,
    format_value,
    java_double_to_string,
    java_float_to_string,
)

T = parse_type


def f32(x: float) -> float:
    """Round a double to the nearest float32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ---------------------------------------------------------------------------
# Double.toString
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.5, "-1.5"),
        (100.0, "100.0"),
        (123456.789, "123456.789"),
        (1234567.0, "1234567.0"),
        # plain notation up to (excluding) 1e7
        (9999999.0, "9999999.0"),
        (9999999.999999998, "9999999.999999998"),
        (1e7, "1.0E7"),
        (10000000.000000002, "1.0000000000000002E7"),
        (12345678.0, "1.2345678E7"),
        # and from 1e-3 up
        (0.001, "0.001"),
        (0.0009999999999999998, "9.999999999999998E-4"),
        (1e-4, "1.0E-4"),
        (1.2345e-5, "1.2345E-5"),
        (-1.5e-7, "-1.5E-7"),
        (1e10, "1.0E10"),
        (1e21, "1.0E21"),
        (1e-300, "1.0E-300"),
        (5e-324, "4.9E-324"),
        (1.7976931348623157e308, "1.7976931348623157E308"),
        (1.0 / 3, "0.3333333333333333"),
        (0.1 + 0.2, "0.30000000000000004"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        # a FLOAT 1.1 widened to DOUBLE
        (f32(1.1), "1.100000023841858"),
        # corpus values
        (3.14e8, "3.14E8"),
        (-3.14e-8, "-3.14E-8"),
        (7.963267107332633e-4, "7.963267107332633E-4"),
        (2.724315837406296e9, "2.724315837406296E9"),
        (8.0e19, "8.0E19"),
        # Java 8 quirks (not the shortest round-trip digits)
        (2.0**60, "1.15292150460684698E18"),
        (2.0**53 + 2, "9.007199254740994E15"),
        (2.0**63, "9.223372036854776E18"),
        (1e23, "9.999999999999999E22"),
        (2.4996964836998023e25, "2.4996964836998022E25"),
    ],
)
def test_java_double_to_string(value: float, expected: str) -> None:
    assert java_double_to_string(value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_java_double_round_trips(x: float) -> None:
    text = java_double_to_string(x)
    assert float(text) == x
    assert math.copysign(1.0, float(text)) == math.copysign(1.0, x)
    if x != 0 and not 1e-3 <= abs(x) < 1e7:
        mantissa, _, exponent = text.partition("E")
        assert exponent and "." in mantissa and "e" not in text
    else:
        assert "E" not in text and "." in text


# ---------------------------------------------------------------------------
# Float.toString
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.1, "1.1"),
        (f32(1.1), "1.1"),
        (0.1, "0.1"),
        (0.3, "0.3"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (-7.0, "-7.0"),
        (-3.14, "-3.14"),
        (1e7, "1.0E7"),
        (9999999.0, "9999999.0"),
        (0.001, "0.001"),
        (1e-4, "1.0E-4"),
        (2.5e-8, "2.5E-8"),
        (8.0e19, "8.0E19"),
        (16777217.0, "1.6777216E7"),
        (2.0**31, "2.14748365E9"),
        (123456789.0, "1.23456792E8"),
        (3.4028234663852886e38, "3.4028235E38"),
        (1.17549435e-38, "1.17549435E-38"),
        (1.401298464324817e-45, "1.4E-45"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
        (1e39, "Infinity"),
    ],
)
def test_java_float_to_string(value: float, expected: str) -> None:
    assert java_float_to_string(value) == expected


def _nearest_float32(q: Fraction) -> float:
    """Exactly rounded decimal -> float32 (what Float.parseFloat does)."""
    guess = f32(float(q))
    bits = struct.unpack("<i", struct.pack("<f", guess))[0]
    candidates = [guess] + [
        struct.unpack("<f", struct.pack("<i", bits + d))[0] for d in (-1, 1)
    ]
    return min(
        (c for c in candidates if math.isfinite(c)),
        key=lambda c: (abs(Fraction(c) - q), struct.pack("<f", c)[0] & 1),
    )


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_java_float_round_trips(x: float) -> None:
    text = java_float_to_string(x)
    assert _nearest_float32(Fraction(text)) == x
    assert len(text.split("E")[0].lstrip("-").replace(".", "").strip("0")) <= 9


# ---------------------------------------------------------------------------
# format_value: primitives
# ---------------------------------------------------------------------------

TS = dt.datetime


@pytest.mark.parametrize(
    ("value", "type_text", "expected"),
    [
        (None, "int", "NULL"),
        (None, "string", "NULL"),
        (None, "array<int>", "NULL"),
        (0, "int", "0"),
        (-128, "tinyint", "-128"),
        (9223372036854775807, "bigint", "9223372036854775807"),
        (True, "boolean", "true"),
        (False, "boolean", "false"),
        ("", "string", ""),
        ("a\tb \"q\" \\", "string", "a\tb \"q\" \\"),
        ("abc", "varchar(10)", "abc"),
        # CHAR(n) pads with spaces (and never exceeds n)
        ("abc", "char(10)", "abc       "),
        (" abc", "char(10)", " abc      "),
        ("abc   ", "char(4)", "abc "),
        ("abcdef", "char(3)", "abc"),
        (1e7, "double", "1.0E7"),
        (f32(1.1), "float", "1.1"),
        (f32(1.1), "double", "1.100000023841858"),
        (float("nan"), "double", "NaN"),
        # DECIMAL padded (HALF_UP) to the type's scale, plain notation
        (Decimal("2.5"), "decimal(10,5)", "2.50000"),
        (Decimal("28.5"), "decimal(10,4)", "28.5000"),
        (Decimal("-1.12"), "decimal(38,18)", "-1.120000000000000000"),
        (Decimal("-1234567890.123456789"), "decimal(38,18)", "-1234567890.123456789000000000"),
        (Decimal(0), "decimal(10,2)", "0.00"),
        (Decimal("-0.00"), "decimal(10,2)", "0.00"),
        (Decimal("1E+3"), "decimal(10,0)", "1000"),
        (Decimal(210), "decimal", "210"),
        (Decimal("1E-7"), "decimal(10,8)", "0.00000010"),
        (Decimal("1.005"), "decimal(10,2)", "1.01"),
        (Decimal("-1.005"), "decimal(10,2)", "-1.01"),
        (Decimal("12345678901234567890.123456789012345678"), "decimal(38,18)",
         "12345678901234567890.123456789012345678"),
        # DATE / TIMESTAMP
        (dt.date(2008, 4, 8), "date", "2008-04-08"),
        (dt.date(1, 1, 1), "date", "0001-01-01"),
        (TS(2012, 1, 1, 10, 0, 0), "timestamp", "2012-01-01 10:00:00"),
        (TS(2012, 1, 1, 10, 0, 0, 100000), "timestamp", "2012-01-01 10:00:00.1"),
        (TS(2011, 1, 1, 1, 1, 1, 101000), "timestamp", "2011-01-01 01:01:01.101"),
        (TS(1970, 1, 5, 13, 51, 4, 42000), "timestamp", "1970-01-05 13:51:04.042"),
        (TS(2012, 1, 1, 0, 0, 0, 123456), "timestamp", "2012-01-01 00:00:00.123456"),
        (TS(1999, 12, 31, 23, 59, 59, 1), "timestamp", "1999-12-31 23:59:59.000001"),
        # INTERVAL
        (pa.MonthDayNano([131, 0, 0]), "interval_year_month", "10-11"),
        (pa.MonthDayNano([49, 0, 0]), "interval_year_month", "4-1"),
        (pa.MonthDayNano([-14, 0, 0]), "interval_year_month", "-1-2"),
        (pa.MonthDayNano([0, 0, 0]), "interval_year_month", "0-0"),
        (14, "interval_year_month", "1-2"),
        (pa.MonthDayNano([0, 1, 3_723_000_000_000]), "interval_day_time", "1 01:02:03.000000000"),
        (pa.MonthDayNano([0, 10, 32_887_987_654_321]), "interval_day_time",
         "10 09:08:07.987654321"),
        (pa.MonthDayNano([0, 0, 90061_111111111]), "interval_day_time", "1 01:01:01.111111111"),
        (pa.MonthDayNano([0, -1, -3_723_000_000_000]), "interval_day_time",
         "-1 01:02:03.000000000"),
        (dt.timedelta(days=2, hours=1, minutes=2, seconds=3), "interval_day_time",
         "2 01:02:03.000000000"),
        (dt.timedelta(seconds=-1.5), "interval_day_time", "-0 00:00:01.500000000"),
        # BINARY: the bytes as (UTF-8) text
        (b"abc", "binary", "abc"),
        (b"\xff", "binary", "\ufffd"),
        (None, "void", "NULL"),
    ],
)
def test_format_value(value: object, type_text: str, expected: str) -> None:
    assert format_value(value, T(type_text)) == expected


@pytest.mark.parametrize(
    ("value", "type_text", "expected"),
    [
        (None, "int", "null"),
        (None, "string", "null"),
        ("a", "string", '"a"'),
        ("abc", "char(5)", '"abc  "'),
        (dt.date(2013, 6, 21), "date", '"2013-06-21"'),
        (TS(2012, 1, 1, 10, 0, 0, 100000), "timestamp", '"2012-01-01 10:00:00.1"'),
        (True, "boolean", "true"),
        (1.0, "double", "1.0"),
        (Decimal("7.30"), "decimal(5,2)", "7.3"),
        (Decimal("210.0"), "decimal(10,1)", "210"),
        (Decimal("0.00"), "decimal(5,2)", "0"),
        (Decimal("-0.00"), "decimal(5,2)", "0"),
        (b"ab", "binary", "ab"),
        (pa.MonthDayNano([14, 0, 0]), "interval_year_month", "1-2"),
    ],
)
def test_format_value_nested_primitives(value: object, type_text: str, expected: str) -> None:
    assert format_value(value, T(type_text), nested=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"juice"', '"\\"juice\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\there"'),
        ("nl\ncr\r", '"nl\\ncr\\r"'),
        ("\b\f", '"\\b\\f"'),
        ("ctl\x01\x1f", '"ctl\\u0001\\u001f"'),
        ("del\x7f é ü 日本", '"del\x7f é ü 日本"'),
        ("'single'", "\"'single'\""),
    ],
)
def test_nested_string_escaping(text: str, expected: str) -> None:
    assert format_value(text, T("string"), nested=True) == expected
    assert format_value([text], T("array<string>")) == f"[{expected}]"


# ---------------------------------------------------------------------------
# format_value: complex values
# ---------------------------------------------------------------------------

ORDER = "struct<name:string,date:string,amount:double>"


@pytest.mark.parametrize(
    ("value", "type_text", "expected"),
    [
        (["a", "b"], "array<string>", '["a","b"]'),
        ([1, 2], "array<int>", "[1,2]"),
        ([], "array<int>", "[]"),
        ([None, 7], "array<int>", "[null,7]"),
        (["one", "two", "three", ""], "array<string>", '["one","two","three",""]'),
        ([1.414, 1.618], "array<double>", "[1.414,1.618]"),
        ([f32(1.41421), f32(3.14159)], "array<float>", "[1.41421,3.14159]"),
        ([1e-5, 1e7], "array<double>", "[1.0E-5,1.0E7]"),
        ([False, True], "array<boolean>", "[false,true]"),
        ([Decimal("3.14"), Decimal("6.28"), Decimal("7.30")], "array<decimal(5,2)>",
         "[3.14,6.28,7.3]"),
        ([[Decimal("21.5")], [Decimal("210.0")]], "array<array<decimal(10,1)>>",
         "[[21.5],[210]]"),
        ([TS(1970, 1, 5, 13, 51, 4, 42000), None], "array<timestamp>",
         '["1970-01-05 13:51:04.042",null]'),
        ([[1, 6, 8], [2, 9, 7]], "array<array<int>>", "[[1,6,8],[2,9,7]]"),
        ([("k", 1)], "map<string,int>", '{"k":1}'),
        ({"k": 1}, "map<string,int>", '{"k":1}'),
        ([(1, "a"), (2, "b"), (3, "c")], "map<int,string>", '{1:"a",2:"b",3:"c"}'),
        ([("1", "2"), ("a", "b")], "map<string,string>", '{"1":"2","a":"b"}'),
        ([], "map<string,int>", "{}"),
        ([("k", None)], "map<string,int>", '{"k":null}'),
        ([('"juice"', 21.45), ('"bread"', 15.2)], "map<string,double>",
         '{"\\"juice\\"":21.45,"\\"bread\\"":15.2}'),
        ([("k1", Decimal("92.77")), ("k2", Decimal("29.39"))], "map<string,decimal(5,2)>",
         '{"k1":92.77,"k2":29.39}'),
        ({"a": 1, "b": "x"}, "struct<a:int,b:string>", '{"a":1,"b":"x"}'),
        ({"A": "one", "B": "two"}, "struct<A:string,B:string>", '{"A":"one","B":"two"}'),
        ({"field": 1, "secf": None}, "struct<field:int,secf:int>", '{"field":1,"secf":null}'),
        ({"i": 5, "d": Decimal("9.03")}, "struct<i:int,d:decimal(5,2)>", '{"i":5,"d":9.03}'),
        ({"c": "ab"}, "struct<c:char(4)>", '{"c":"ab  "}'),
        ([{"name": "Chris", "date": "2013-06-21", "amount": 21.45},
          {"name": "Chris", "date": "2014-10-11", "amount": 29.36}],
         f"array<{ORDER}>",
         ('[{"name":"Chris","date":"2013-06-21","amount":21.45},'
          '{"name":"Chris","date":"2014-10-11","amount":29.36}]')),
        ([None, {"a": None}], "array<struct<a:array<int>>>", '[null,{"a":null}]'),
        ({"a": [("x", [1, None])]}, "struct<a:map<string,array<int>>>", '{"a":{"x":[1,null]}}'),
        ((0, 1), "uniontype<int,string>", "{0:1}"),
        ((1, "one"), "uniontype<int,string>", '{1:"one"}'),
    ],
)
def test_format_value_complex(value: object, type_text: str, expected: str) -> None:
    assert format_value(value, T(type_text)) == expected


# ---------------------------------------------------------------------------
# format_column: vectorized paths agree with format_value
# ---------------------------------------------------------------------------

COLUMNS = [
    (pa.array([1, None, -3], pa.int32()), "int", ["1", "NULL", "-3"]),
    (pa.array([1, None], pa.int8()), "tinyint", ["1", "NULL"]),
    (pa.array([2**63 - 1, None], pa.int64()), "bigint", ["9223372036854775807", "NULL"]),
    (pa.array(["a", None, ""]), "string", ["a", "NULL", ""]),
    (pa.array(["a", None], pa.large_string()), "string", ["a", "NULL"]),
    (pa.array(["ab", None]), "char(4)", ["ab  ", "NULL"]),
    (pa.array([True, None, False]), "boolean", ["true", "NULL", "false"]),
    (pa.array([0, None, 14000], pa.date32()), "date", ["1970-01-01", "NULL", "2008-05-01"]),
    (pa.array([1.0, None, 1e7, -0.0, float("nan")]), "double",
     ["1.0", "NULL", "1.0E7", "-0.0", "NaN"]),
    (pa.array([1.1, None, 0.1], pa.float32()), "float", ["1.1", "NULL", "0.1"]),
    (pa.array([1.1], pa.float32()), "double", ["1.100000023841858"]),
    (pa.array([Decimal("2.5"), None], pa.decimal128(10, 5)), "decimal(10,5)",
     ["2.50000", "NULL"]),
    (pa.array([b"abc", None]), "binary", ["abc", "NULL"]),
    (pa.array([None, None], pa.null()), "void", ["NULL", "NULL"]),
    (pa.array([0, 1_500_000, -1_500_000, 42_000, None], pa.timestamp("us")), "timestamp",
     ["1970-01-01 00:00:00", "1970-01-01 00:00:01.5", "1969-12-31 23:59:58.5",
      "1970-01-01 00:00:00.042", "NULL"]),
    (pa.array([1, 1_000_000_000, 123_456_789_000], pa.timestamp("ns")), "timestamp",
     ["1970-01-01 00:00:00.000000001", "1970-01-01 00:00:01", "1970-01-01 00:02:03.456789"]),
    (pa.array([1_325_412_000], pa.timestamp("s")), "timestamp", ["2012-01-01 10:00:00"]),
    (pa.array([1, -3_723_000_000_000, None], pa.duration("ns")), "interval_day_time",
     ["0 00:00:00.000000001", "-0 01:02:03.000000000", "NULL"]),
    (pa.array([pa.MonthDayNano([0, 2, 3_723_000_000_000]), None],
              pa.month_day_nano_interval()), "interval_day_time",
     ["2 01:02:03.000000000", "NULL"]),
    (pa.array([pa.MonthDayNano([-14, 0, 0])], pa.month_day_nano_interval()),
     "interval_year_month", ["-1-2"]),
    (pa.array([["a", "b"], None, [], [None]]), "array<string>",
     ['["a","b"]', "NULL", "[]", "[null]"]),
    (pa.array([[(1, "a"), (2, None)], None], pa.map_(pa.int32(), pa.string())),
     "map<int,string>", ['{1:"a",2:null}', "NULL"]),
    (pa.array([{"a": 1, "b": "x"}, None, {"a": None, "b": None}],
              pa.struct([("a", pa.int32()), ("b", pa.string())])),
     "struct<a:int,b:string>", ['{"a":1,"b":"x"}', "NULL", '{"a":null,"b":null}']),
    (pa.array([[{"d": dt.date(2013, 6, 21), "t": 1_500_000}]],
              pa.list_(pa.struct([("d", pa.date32()), ("t", pa.timestamp("us"))]))),
     "array<struct<d:date,t:timestamp>>", ['[{"d":"2013-06-21","t":"1970-01-01 00:00:01.5"}]']),
    (pa.array([[1, 2], None], pa.list_(pa.int64(), 2)), "array<bigint>", ["[1,2]", "NULL"]),
    (pa.array(["x", None, "x"]).dictionary_encode(), "string", ["x", "NULL", "x"]),
]


@pytest.mark.parametrize(("array", "type_text", "expected"), COLUMNS)
def test_format_column(array: pa.Array, type_text: str, expected: list[str]) -> None:
    assert format_column(array, T(type_text)) == expected


@pytest.mark.parametrize(("array", "type_text", "expected"), COLUMNS)
def test_format_column_sliced_and_chunked(array: pa.Array, type_text: str,
                                          expected: list[str]) -> None:
    htype = T(type_text)
    assert format_column(array.slice(1), htype) == expected[1:]
    chunked = pa.chunked_array([array.slice(0, 1), array.slice(1)], type=array.type)
    assert format_column(chunked, htype) == expected


@pytest.mark.parametrize(("array", "type_text", "expected"), COLUMNS)
def test_format_column_matches_format_value(array: pa.Array, type_text: str,
                                            expected: list[str]) -> None:
    if pa.types.is_timestamp(array.type) and array.type.unit == "ns":
        pytest.skip("to_pylist needs pandas for nanosecond timestamps")
    if pa.types.is_duration(array.type):
        pytest.skip("to_pylist needs pandas for nanosecond durations")
    htype = T(type_text)
    assert [format_value(v, htype) for v in array.to_pylist()] == expected


def test_format_column_sliced_nested_children() -> None:
    maps = pa.array([[("a", 1)], [("b", 2), ("c", 3)], None, [("d", 4)]],
                    pa.map_(pa.string(), pa.int32()))
    assert format_column(maps.slice(1, 2), T("map<string,int>")) == ['{"b":2,"c":3}', "NULL"]
    structs = pa.array([{"a": [1]}, {"a": [2, 3]}, {"a": None}],
                       pa.struct([("a", pa.list_(pa.int32()))]))
    assert format_column(structs.slice(1), T("struct<a:array<int>>")) == [
        '{"a":[2,3]}', '{"a":null}']


# ---------------------------------------------------------------------------
# rows and lines
# ---------------------------------------------------------------------------


def test_format_rows_and_tsv_line() -> None:
    batch = pa.record_batch(
        [
            pa.array([0, None], pa.int32()),
            pa.array([0.0, 2.724315837406296e9]),
            pa.array(["val_0", ""]),
            pa.array([Decimal("28.5"), None], pa.decimal128(10, 4)),
        ],
        names=["key", "d", "value", "dec"],
    )
    types = [T("int"), T("double"), T("string"), T("decimal(10,4)")]
    rows = format_rows(batch, types)
    assert rows == [["0", "0.0", "val_0", "28.5000"], ["NULL", "2.724315837406296E9", "", "NULL"]]
    assert [format_tsv_line(r) for r in rows] == [
        "0\t0.0\tval_0\t28.5000",
        "NULL\t2.724315837406296E9\t\tNULL",
    ]


def test_format_tsv_line_keeps_empty_cells() -> None:
    assert format_tsv_line(["", ""]) == "\t"
    assert format_tsv_line(["a"]) == "a"
    assert format_tsv_line([]) == ""


def test_format_rows_checks_type_count() -> None:
    batch = pa.record_batch([pa.array([1])], names=["a"])
    with pytest.raises(ValueError):
        format_rows(batch, [])


def test_format_rows_accepts_hive_types_from_arrow() -> None:
    from catalog.types import from_arrow

    batch = pa.record_batch([pa.array([[1, None]]), pa.array([1.5], pa.float32())],
                            names=["a", "f"])
    types: list[HiveType] = [from_arrow(f.type) for f in batch.schema]
    assert format_rows(batch, types) == [["[1,null]", "1.5"]]
