"""The conformance corpus under pytest: every case passes unless listed as a known failure.

A listed case that passes fails the suite until it is removed from
`tests/conformance_known_failures.txt`, so the pass count only goes up. A line whose reason
starts with `[arrow]` or `[mr]` lists a case that fails under that engine only.
"""

from __future__ import annotations

import os

import pytest

from tests import conformance

KNOWN = os.path.join(os.path.dirname(__file__), "conformance_known_failures.txt")


ENGINES = ("arrow", "mr")


def known_failures(engine: str | None = None) -> dict[str, str]:
    """Listed cases and their reasons; with `engine`, only those listed as failing under it."""
    out = {}
    with open(KNOWN, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                tag, _, rest = reason.partition(" ")
                only = tag[1:-1] if tag.startswith("[") and tag.endswith("]") else None
                assert only in (None, *ENGINES), f"{KNOWN}: unknown engine tag {tag} for {name}"
                if engine is None or only in (None, engine):
                    out[name] = (rest if only else reason).strip()
    return out


@pytest.fixture(scope="module", params=ENGINES)
def corpus_results(request):
    """The corpus under each engine, as (engine, {case: (passed, message)})."""
    if not os.path.isdir(conformance.DEFAULT_CASES):
        pytest.fail(f"conformance corpus not found at {conformance.DEFAULT_CASES}: the suite needs ../shared beside the checkout")
    results = conformance.run_corpus(conformance.DEFAULT_CASES, request.param)
    return request.param, {name: (ok, msg) for name, ok, msg in results}


def test_corpus_passes_except_known_failures(corpus_results):
    engine, results = corpus_results
    known = known_failures(engine)
    unexpected = {n: msg for n, (ok, msg) in results.items() if not ok and n not in known}
    assert not unexpected, "cases failing that are not in the known-failures list:\n" + "\n".join(
        f"{n}: {m}" for n, m in sorted(unexpected.items()))


def test_known_failures_still_fail(corpus_results):
    engine, results = corpus_results
    fixed = [n for n in known_failures(engine) if results.get(n, (False, ""))[0]]
    assert not fixed, f"these cases pass now; remove them from {os.path.basename(KNOWN)}: {fixed}"


def test_known_failures_name_real_cases(corpus_results):
    _, results = corpus_results
    missing = [n for n in known_failures() if n not in results]
    assert not missing, f"known failures that are not case files: {missing}"


# Hive fidelity: at most 3% of the corpus listed (never raise this).
MAX_LISTED_SHARE = 0.03


def test_listed_share_is_capped(corpus_results):
    """Hive fidelity: every case passes but for a capped share listed, each with a reason."""
    _, results = corpus_results
    known = known_failures()
    assert len(known) <= MAX_LISTED_SHARE * len(results), f"{len(known)} known failures of {len(results)} cases"
    assert all(len(reason) > 20 for reason in known.values()), "each known failure needs its reason"
