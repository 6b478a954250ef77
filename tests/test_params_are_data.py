"""DB-API parameters are data: bound after `${...}` substitution, never substituted or parsed; credentials
are never readable through `${hiveconf:...}` or SET (issue 19, item 2).

The Hypothesis suite round-trips adversarial values (substitution syntax, quotes, backslashes, `--`,
`;`, `%`, NUL, unicode) through INSERT ... VALUES and SELECT with parameters;
`HIVEISH_PARAM_VALUES` sets how many (default 5000, in batches of 250 rows per statement).
"""

from __future__ import annotations

import datetime
import decimal
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hiveish
from hiveish import errors

SECRET_ENV = "s3cr3t-from-the-environment"
TOKEN = "hdfs-delegation-token-XYZ"
BATCH = 250
TOTAL = int(os.environ.get("HIVEISH_PARAM_VALUES", "5000"))


@pytest.fixture
def conn(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ENV)
    with hiveish.connect(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                         hivevar={"owner": "'", "n": "5", "pct": "%s"},
                         **{"hiveish.hdfs.token": TOKEN, "hive.execution.engine": "arrow"}) as c:
        yield c


def one(conn, sql, params=None):
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchall()


# -- the examples ---------------------------------------------------------------------------


def test_env_reference_in_a_value_is_stored_as_written(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE notes (v STRING)")
    cur.execute("INSERT INTO notes VALUES (%s)", ("${env:AWS_SECRET_ACCESS_KEY}",))
    assert one(conn, "SELECT v FROM notes") == [("${env:AWS_SECRET_ACCESS_KEY}",)]
    assert one(conn, "SELECT %s", ("${env:AWS_SECRET_ACCESS_KEY}",)) == [("${env:AWS_SECRET_ACCESS_KEY}",)]


def test_hiveconf_reference_in_a_value_is_stored_as_written(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE notes (v STRING)")
    cur.execute("INSERT INTO notes VALUES (%(v)s)", {"v": "${hiveconf:hiveish.hdfs.token}"})
    assert one(conn, "SELECT v FROM notes") == [("${hiveconf:hiveish.hdfs.token}",)]


def test_variable_with_an_apostrophe_does_not_turn_a_value_into_sql(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE accounts (owner STRING, secret STRING)")
    cur.execute("INSERT INTO accounts VALUES ('alice', 'hunter2')")
    cur.execute("CREATE TABLE public_t (k INT)")
    cur.execute("INSERT INTO public_t VALUES (1)")
    value = "x${hivevar:owner}, owner, secret FROM accounts --"
    got = one(conn, "SELECT %s FROM public_t", (value,))
    assert got == [(value,)]
    assert "hunter2" not in repr(got)


def test_variables_in_the_statement_are_still_substituted(conn):
    # the statement's own ${...} are expanded; a variable's text is never taken for a placeholder
    assert one(conn, "SELECT ${n} + %s, '${pct}', %s", (1, "${n}")) == [(6, "%s", "${n}")]
    assert one(conn, "SELECT ${hivevar:n}") == [(5,)]


def test_placeholders_in_comments_are_not_bound_and_extra_parameters_are_refused(conn):
    assert one(conn, "SELECT %s -- it's a comment, %s is not a placeholder\n, %s", ("a", "b")) == [("a", "b")]
    assert one(conn, "SELECT /* don't %s */ %s", ("a",)) == [("a",)]
    with pytest.raises(errors.ProgrammingError, match="Not all parameters"):
        conn.cursor().execute("SELECT %s", ("a", "b"))
    with pytest.raises(errors.ProgrammingError, match="Not enough parameters"):
        conn.cursor().execute("SELECT %s, %s", ("a",))


# -- credentials are hidden ---------------------------------------------------------------------------


def test_secret_setting_is_not_substituted(conn):
    assert one(conn, "SELECT '${hiveconf:hiveish.hdfs.token}'") == [("${hiveconf:hiveish.hdfs.token}",)]
    assert one(conn, "SELECT '${hiveish.hdfs.token}'") == [("${hiveish.hdfs.token}",)]


def test_set_hides_secret_settings(conn):
    assert one(conn, "SET hiveish.hdfs.token") == [("hiveish.hdfs.token is a hidden config",)]
    assert one(conn, "SET hiveconf:hiveish.hdfs.token") == [("hiveconf:hiveish.hdfs.token is a hidden config",)]
    for listing in ("SET", "SET -v"):
        lines = [r[0] for r in one(conn, listing)]
        assert lines, listing
        assert not any(TOKEN in line or line.startswith("hiveish.hdfs.token=") for line in lines), listing
    # the session still uses it
    assert conn.session.catalog.fs_options.get("hiveish.hdfs.token") == TOKEN


def test_hive_default_hidden_list_is_honoured(conn):
    cur = conn.cursor()
    cur.execute("SET fs.s3a.secret.key=AKIA-secret")
    assert one(conn, "SET fs.s3a.secret.key") == [("fs.s3a.secret.key is a hidden config",)]
    assert one(conn, "SELECT '${hiveconf:fs.s3a.secret.key}'") == [("${hiveconf:fs.s3a.secret.key}",)]
    assert not any("AKIA" in r[0] for r in one(conn, "SET"))


def test_hidden_list_given_at_connect_is_honoured(tmp_path):
    with hiveish.connect(warehouse=str(tmp_path / "wh"), metastore=str(tmp_path / "ms.db"),
                         **{"my.password": "pw", "hive.conf.hidden.list": "my.password"}) as c:
        cur = c.cursor()
        cur.execute("SET my.password")
        assert cur.fetchall() == [("my.password is a hidden config",)]
        cur.execute("SELECT '${hiveconf:my.password}'")
        assert cur.fetchall() == [("${hiveconf:my.password}",)]
        with pytest.raises(errors.Error, match="Cannot modify hive.conf.hidden.list at runtime"):
            cur.execute("RESET hive.conf.hidden.list")
        cur.execute("SET my.password=pw2")
        cur.execute("RESET")  # the list stays what the session started with
        cur.execute("SET my.password=pw3")
        cur.execute("SET my.password")
        assert cur.fetchall() == [("my.password is a hidden config",)]
        # settings marked secret stay hidden whatever the list says
        cur.execute("SET hiveish.hdfs.token=t")
        cur.execute("SET hiveish.hdfs.token")
        assert cur.fetchall() == [("hiveish.hdfs.token is a hidden config",)]


def test_hidden_list_cannot_be_changed_at_runtime(conn):
    cur = conn.cursor()
    with pytest.raises(errors.Error, match="Cannot modify hive.conf.hidden.list at runtime"):
        cur.execute("SET hive.conf.hidden.list=")
    assert one(conn, "SET hiveish.hdfs.token") == [("hiveish.hdfs.token is a hidden config",)]


# -- typed values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, typ", [
    (None, "void"), (True, "boolean"), (False, "boolean"), (0, "int"), (-2 ** 63, "bigint"),
    (2 ** 63 - 1, "bigint"), (2 ** 63, "decimal(19,0)"), (-(10 ** 38 - 1), "decimal(38,0)"), (1.5, "double"),
    (-0.0, "double"), (1e300, "double"), (decimal.Decimal("-0.001"), "decimal(3,3)"),
    (decimal.Decimal("1E+5"), "decimal(6,0)"), (datetime.date(2024, 2, 29), "date"),
    (datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), "timestamp"), (b"\x00\xff'${x}", "binary"),
])
def test_typed_values_round_trip(conn, value, typ):
    cur = conn.cursor()
    cur.execute("SELECT %s", (value,))
    assert cur.fetchall() == [(value,)]
    assert cur.description[0][1] == typ


@pytest.mark.parametrize("value, error", [
    (10 ** 38, errors.DataError), (decimal.Decimal("NaN"), errors.DataError),
    (datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), errors.NotSupportedError),
    ([1, 2], errors.NotSupportedError),
])
def test_values_without_a_hive_literal_are_refused(conn, value, error):
    with pytest.raises(error):
        conn.cursor().execute("SELECT %s", (value,))


# -- adversarial values, generated ------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "${", "}", "$", "{", ":", "${env:AWS_SECRET_ACCESS_KEY}", "${env:HOME}", "${hiveconf:hiveish.hdfs.token}",
    "${hiveconf:hive.execution.engine}", "${system:user.name}", "${system:user.home}", "${hivevar:owner}",
    "${owner}", "${n}", "${pct}", "${hivevar:${n}}", "'", '"', "`", "\\", "\\\\", "\\'", "''", "\\0", "\\n",
    "\\u0041", "\\001", "\\%", "--", "-- x\n", "/*", "*/", "/*+ MAPJOIN(t) */", ";", "%", "%s", "%%",
    "%(v)s", "\0", "\n", "\r", "\t", "\x01", "\x1a", "é", "ß", "☃", "😀", "\u2028", "\ufeff", " ",
    "SELECT", "FROM accounts", ")", "(", ",",
])
VALUES = st.one_of(
    st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=10).map("".join),
    st.text(max_size=30),
)


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
def test_adversarial_values_round_trip(conn):
    cur = conn.cursor()
    cur.execute("CREATE TABLE vals (b INT, i INT, v STRING) STORED AS PARQUET")
    seen = {"values": 0, "batch": 0}

    @settings(max_examples=-(-TOTAL // BATCH), derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(VALUES, min_size=BATCH, max_size=BATCH))
    def check(values: list[str]) -> None:
        b = seen["batch"] = seen["batch"] + 1
        rows = ", ".join(["(%s, %s, %s)"] * len(values))
        flat = [x for i, v in enumerate(values) for x in (b, i, v)]
        cur.execute(f"INSERT INTO vals VALUES {rows}", flat)
        cur.execute("SELECT i, v FROM vals WHERE b = %s ORDER BY i", (b,))
        assert cur.fetchall() == list(enumerate(values))
        # the same values as parameters of a query: in the select list and compared in WHERE
        cur.execute("SELECT " + ", ".join(["%s"] * len(values)), values)
        assert cur.fetchall() == [tuple(values)]
        cur.execute("SELECT count(*) FROM vals WHERE b = %(b)s AND v IN (" + ", ".join(
            f"%(v{k})s" for k in range(len(values))) + ")", {"b": b, **{f"v{k}": v for k, v in enumerate(values)}})
        assert cur.fetchall() == [(len(values),)]
        seen["values"] += len(values)

    check()
    assert seen["values"] >= TOTAL
    cur.execute("SELECT count(*) FROM vals")
    assert cur.fetchall() == [(seen["values"],)]
