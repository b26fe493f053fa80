"""A timeline plugin for German: "innerhalb einer Woche", "in 3 Werktagen", "bis Ende nächster Woche"."""

from __future__ import annotations

import re
from datetime import date, timedelta

from calsync import hookimpl

NUMBERS = {"einem": 1, "einer": 1, "eine": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
           "sieben": 7, "acht": 8, "neun": 9, "zehn": 10}  # fmt: skip
WITHIN = re.compile(r"\b(?:innerhalb|binnen|in)\s+(\d+|[a-zäöü]+)\s+(werktag|tag|woche)(?:e|en|n)?\b")
END_OF_WEEK = re.compile(r"\bbis\s+ende\s+(?:der|dieser)?\s*(nächste[nr]?\s+)?woche\b")


@hookimpl
def calsync_parse_timeline(text, interview, calendar) -> date | None:
    said = interview.start.astimezone(interview.timezone).date()  # the interview's local date
    phrase = text.lower()
    found = WITHIN.search(phrase)
    if found:
        count = int(found[1]) if found[1].isdigit() else NUMBERS.get(found[1])
        if count is None:
            return None
        if found[2] == "werktag":
            return calendar.add(said, count)  # business days of the interview's country
        return said + timedelta(days=count * (7 if found[2] == "woche" else 1))
    found = END_OF_WEEK.search(phrase)
    if found:
        friday = said + timedelta(days=4 - said.weekday())
        return friday + timedelta(weeks=1) if found[1] else friday
    return None  # not German, or not understood: the next parser (the built-in English one) tries
