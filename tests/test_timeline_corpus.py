"""The timeline grammar measured on a corpus (tests/timeline_corpus.csv) of phrases whose expected D was worked
out by hand from the rules in docs/interviews.md and a calendar: zero wrong dates, at least 97 % understood.

A wrong date is a date other than the expected one, or any date where "assumed" is expected (a half-read phrase).
"Understood" is the share of the phrases with an expected date for which the parser gives that date.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from calsync.businessdays import calendar_for
from calsync.timeline import read

CORPUS = Path(__file__).with_name("timeline_corpus.csv")


@dataclass(frozen=True)
class Row:
    line: int
    phrase: str
    start: datetime
    country: str | None
    expected: date | None  # None: D is assumed


def corpus() -> list[Row]:
    rows = []
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        lines = [(number, text) for number, text in enumerate(handle, 1) if not text.startswith("#")]
    numbers = [number for number, _ in lines]
    for number, record in zip(numbers[1:], csv.DictReader(text for _, text in lines), strict=True):
        start = datetime.fromisoformat(record["start"]).replace(tzinfo=ZoneInfo(record["zone"]))
        expected = None if record["expected"] == "assumed" else date.fromisoformat(record["expected"])
        rows.append(Row(number, record["phrase"], start, record["country"] or None, expected))
    return rows


def test_the_corpus_is_large_and_varied():
    rows = corpus()
    assert len(rows) >= 300
    assert {"US", "GB", "DE", "FR", "IN", "AU", None} <= {row.country for row in rows}
    # Some interviews fall on another date in UTC than where they happen.
    assert any(row.start.date() != row.start.astimezone(ZoneInfo("UTC")).date() for row in rows)


def test_no_wrong_date_and_the_share_understood():
    rows = corpus()
    wrong, missed = [], []
    for row in rows:
        said_on = row.start.date()
        ended_at = row.start + timedelta(hours=1)
        reading = read(row.phrase, said_on, ended_at, calendar_for(row.country, None))
        if reading.date is not None and reading.date != row.expected:
            wrong.append(f"line {row.line}: {row.phrase!r}: {reading.date} (expected {row.expected or 'assumed'})")
        elif reading.date is None and row.expected is not None:
            missed.append(f"line {row.line}: {row.phrase!r}: not understood {list(reading.unknown)}")
    dated = sum(row.expected is not None for row in rows)
    understood = (dated - len(missed)) / dated
    print(f"\ntimeline corpus: {len(rows)} phrases, {len(wrong)} wrong dates, {understood:.1%} of {dated} understood")
    for line in missed:
        print("  not understood:", line)
    assert not wrong, "\n".join(wrong)
    assert understood >= 0.97, "\n".join(missed)
