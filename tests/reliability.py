"""Counters kept by the robustness suites (kills survived, races run, inputs fuzzed, faults injected, items lost).

A suite calls ``count("races", "runs")`` as it goes. At the end of a test session the counters are written to
``docs/reliability.md`` when ``CALSYNC_RELIABILITY_REPORT`` names that file (see ``conftest.py``), so the numbers
in the document are the ones a real run produced, never typed by hand.
"""

from __future__ import annotations

from collections import Counter

COUNTS: Counter[tuple[str, str]] = Counter()


def count(suite: str, what: str, n: int = 1) -> None:
    """Add ``n`` to the counter ``what`` of ``suite``."""
    COUNTS[(suite, what)] += n
