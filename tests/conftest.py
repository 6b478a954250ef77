"""Fixtures shared by test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def hdfs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A minihdfs server process for the module, configured by the module's MINIHDFS_OPTIONS."""
    from hiveish.minihdfs import MiniHdfs

    options = getattr(request.module, "MINIHDFS_OPTIONS", {})
    with MiniHdfs(str(tmp_path_factory.mktemp("hdfsroot")), **options) as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults injected by one test never leak into the next."""
    yield
    if "hdfs" in request.fixturenames:
        request.getfixturevalue("hdfs").clear_faults()
