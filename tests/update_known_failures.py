"""Rewrite tests/conformance_known_failures.txt from a conformance run's output (stdin).

    python tests/conformance.py | python tests/update_known_failures.py

Keeps the hand-written reason of a case that is still failing; new failures get
their first error message, shortened.
"""

from __future__ import annotations

import os
import re
import sys

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance_known_failures.txt")


def main() -> None:
    old = {}
    if os.path.exists(PATH):
        for line in open(PATH, encoding="utf-8"):
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.strip().partition(" ")
                old[name] = reason
    lines = sys.stdin.read().split("\n")
    out = ["# Conformance cases that do not pass yet: <case file> <reason>"]
    for i, line in enumerate(lines):
        m = re.match(r"FAIL (\S+): (.*)", line)
        if not m:
            continue
        name = m.group(1)
        detail = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith("    ") else m.group(2)
        reason = old.get(name) or re.sub(r"\s+", " ", detail)[:150]
        out.append(f"{name} {reason}")
    with open(PATH, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"{len(out) - 1} known failures written to {PATH}")


if __name__ == "__main__":
    main()
