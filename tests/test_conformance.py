"""The conformance corpus under pytest: every case passes unless listed as a known failure.

A listed case that passes fails the suite until it is removed from
`tests/conformance_known_failures.txt`, so the pass count only goes up.
"""

from __future__ import annotations

import os

import pytest

from tests import conformance

KNOWN = os.path.join(os.path.dirname(__file__), "conformance_known_failures.txt")


def known_failures() -> dict[str, str]:
    out = {}
    with open(KNOWN, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                out[name] = reason.strip()
    return out


@pytest.fixture(scope="module", params=["arrow", "mr"])
def corpus_results(request):
    """The corpus under each engine; both must meet the same known-failures list."""
    if not os.path.isdir(conformance.DEFAULT_CASES):
        pytest.skip(f"conformance corpus not found at {conformance.DEFAULT_CASES}")
    return {name: (ok, msg) for name, ok, msg in conformance.run_corpus(conformance.DEFAULT_CASES, request.param)}


def test_corpus_passes_except_known_failures(corpus_results):
    known = known_failures()
    unexpected = {n: msg for n, (ok, msg) in corpus_results.items() if not ok and n not in known}
    assert not unexpected, "cases failing that are not in the known-failures list:\n" + "\n".join(
        f"{n}: {m}" for n, m in sorted(unexpected.items()))


def test_known_failures_still_fail(corpus_results):
    fixed = [n for n in known_failures() if corpus_results.get(n, (False, ""))[0]]
    assert not fixed, f"these cases pass now; remove them from {os.path.basename(KNOWN)}: {fixed}"


def test_known_failures_name_real_cases(corpus_results):
    missing = [n for n in known_failures() if n not in corpus_results]
    assert not missing, f"known failures that are not case files: {missing}"


def test_at_most_three_percent_listed(corpus_results):
    """Hive fidelity: every case passes but for at most 3% listed, each with a reason."""
    known = known_failures()
    assert len(known) <= 0.03 * len(corpus_results), f"{len(known)} known failures of {len(corpus_results)} cases"
    assert all(len(reason) > 20 for reason in known.values()), "each known failure needs its reason"
