"""PEP 249 compliance: the `dbapi-compliance` package's DatabaseAPI20Test against hiveish."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest

import pytest

dbapi20 = pytest.importorskip("dbapi20")

import hiveish  # noqa: E402


class HiveishDBAPI20Test(dbapi20.DatabaseAPI20Test):
    driver = hiveish
    connect_args = ()
    table_prefix = "dbapi20test_"
    ddl1 = f"create table {table_prefix}booze (name string)"
    ddl2 = f"create table {table_prefix}barflys (name string, drink string)"
    xddl1 = f"drop table if exists {table_prefix}booze"
    xddl2 = f"drop table if exists {table_prefix}barflys"
    lower_func = "lower"

    def setUp(self):
        self._dir = tempfile.mkdtemp(prefix="hiveish-dbapi-")
        self.connect_kw_args = {"warehouse": os.path.join(self._dir, "wh"),
                                "metastore": os.path.join(self._dir, "ms.db")}
        super().setUp()

    def tearDown(self):
        super().tearDown()
        shutil.rmtree(self._dir, ignore_errors=True)

    def test_nextset(self):
        raise unittest.SkipTest("nextset is optional (PEP 249) and hiveish returns one result set per statement")

    def test_setoutputsize(self):
        raise unittest.SkipTest("setoutputsize is a no-op, as PEP 249 allows")

    def test_callproc(self):
        raise unittest.SkipTest("Hive has no stored procedures; callproc is optional (PEP 249)")
