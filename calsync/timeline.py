"""The built-in timeline parser: what the interviewer said about the hiring timeline -> the decision date D.

A default plugin: its ``calsync_parse_timeline`` runs last, so any other plugin can add phrases or languages.
:func:`parse_timeline` is the pure function behind it. It works in two steps, both driven by tables below:
``_NORMALIZE`` rewrites the text into a canonical form (lower case, plain ASCII, numbers as digits, ranges
reduced to their upper bound, hedges removed), then every row of ``_RULES`` is searched in turn; each match gives
one candidate date and is blanked out so a shorter rule further down cannot match inside it again. One row is
built per calendar instead of written in the table: "after <holiday>", from the names in the calendar's holiday
table (see ``_holiday_rule``); it is searched first.

Conventions (each has a test in tests/test_timeline.py):

* Relative to the interview's local date ("said on"). "N hours" counts elapsed hours from the interview's END,
  so a DST change shifts the wall clock, not the elapsed time.
* Numbers: digits or words (zero..ninety-nine), "a"/"an" = 1, "a couple (of)" = 2, "a few" = 3, "half a" = 0.5,
  "N and a half" = N.5. "several" is deliberately NOT understood (there is no agreed value), nor are "soon",
  "shortly", "asap".
* A range ("3-5", "3 to 5", "three or four", "between 3 and 5", "a week or two", "a week to ten days") takes
  its upper bound. Hedges ("about", "roughly", "approximately", "around", "or so", "-ish", "at most") change
  nothing.
* "N days" = calendar days; "N business/working/work days" and "N weekdays" = ``calendar.add``; "N weeks" =
  7N days (business weeks too); "a fortnight" = 14 days; "N months" = the same day N months later, clamped to
  the month's end. Fractions round up to a whole day (a fraction of a month counts 30 days a month).
  "business hours" is not understood (8-hour days? 9?).
* A weekday name ("by Friday", "on Thursday", "next Tuesday", "this Monday") is the next such weekday strictly
  after the interview date; "next" does not skip a week. "Tuesday next week" is next week's Tuesday.
* Weeks start on Monday. In a week: start = Monday, early = Tuesday, mid = Wednesday, late/later/end = Friday;
  a bare "next week"/"this week" = its Friday. In a month: start = 1st, early = 10th, mid = 15th,
  late/end = last day; a bare "next month" = its last day. In a quarter (calendar quarters: Q1 = January to
  March): start = the 1st of its first month, early = the 10th of its first month, mid = the 15th of its middle
  month, late/end/bare = its last day. In a year: start = Jan 1, late/end/bare = Dec 31 (early/mid year are not
  understood). Fiscal quarters and "last quarter" (the previous one? the fourth?) are not understood.
* "this" week/month/quarter/year ("end of the week", "later this week", "by the end of the month", "end of the
  quarter"): a point that is not strictly after the interview date rolls over to the next period. So on a Friday
  "by the end of the week" is the next Friday, as "by Friday" is: nobody decides the same afternoon.
* "The first/second/third/fourth/last week of December" = that week's Friday. A week belongs to the month that
  holds its Thursday, i.e. most of its days (ISO 8601's rule for the weeks of a year): the first week contains
  the 1st when the 1st is a Monday to Thursday, else it is the week after (so the first week of January 2027,
  whose 1st is a Friday, ends on Jan 8, not on New Year's Day); the last week contains the last Thursday, so its
  Friday is the next month's 1st when the month ends on a Thursday. "Q4", "end of Q1", "early Q2 2027", "the
  third quarter" = the point of that quarter, the next such one on or after the interview date (as months).
* "After X" is the first business day after X: "after Thanksgiving", "after Boxing Day", any holiday of the
  calendar's country, by its name in the holiday table without a trailing "Day"/"Holiday"/"Bank Holiday" (kept
  when what is left is a month or weekday name: "May Day"), its next occurrence on or after the interview date
  within 13 months. "After/in the new year", "after New Year's" = the first business day after the next Jan 1
  (in every country); "after the holidays" (the holiday season, the Christmas holidays) = the same, but only
  said in November or December (otherwise it may be the summer holidays). "Early/mid/late in the new year" is
  not understood, as "early next year" is not; "the first week of the new year" is the first week of January.
* Absolute dates: "December 4", "Dec 4th", "4 December", "the 4th of December", "2026-12-04", "12/4" (month
  first where the calendar's country writes it so -- the US and a few others, or no country -- day first
  elsewhere; a number over 12 settles it), "4.12." (day first), "by the 4th" (the next 4th of a month). A date
  without a year before the interview date means next year; one with an explicit year in the past is not
  understood. "early/mid/late/end of December" = the 10th/15th/last/last day, "in December" = its last day.
  "The first week of December", "Q4" and the like: see above.
* "today"/"tonight"/"end of day"/"EOD" = the interview date, "tomorrow" = +1, "the day after tomorrow" = +2.
* Several phrases: the LATEST date wins ("by Friday, two weeks at the most"; "by Friday, at the latest in two
  weeks"): D is when to expect an answer, and following up before the last date they gave is premature.
* Nothing is ever before the interview date, and anything more than about ten years ahead is not understood.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from calsync.hookspecs import hookimpl

if TYPE_CHECKING:
    from calsync.businessdays import BusinessCalendar
    from calsync.model import Interview

MAX_DAYS_AHEAD = 3660  # about ten years: beyond that a "timeline" is a misreading

# --- vocabulary -----------------------------------------------------------------------------------------------

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_MONTHS = {"january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
           "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
           "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
           "dec": 12}  # fmt: skip
# "sat"/"sun" are left out: too often plain words.
_WEEKDAYS = {"monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
             "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4, "saturday": 5,
             "sunday": 6}  # fmt: skip
# Where "12/4" is December 4 rather than 12 April (no country: month first too).
_MONTH_FIRST_COUNTRIES = frozenset({"US", "AS", "GU", "MP", "PR", "UM", "VI", "PH", "FM", "MH", "PW"})

# The day of a week (Monday = 0) or of a month (-1 = the last) a qualifier names; None = no qualifier.
_WEEK_POINT = {None: 4, "start": 0, "beginning": 0, "early": 1, "mid": 2, "middle": 2, "late": 4, "later": 4,
               "end": 4}  # fmt: skip
_MONTH_POINT = {None: -1, "start": 1, "beginning": 1, "early": 10, "mid": 15, "middle": 15, "late": -1,
                "later": -1, "end": -1}  # fmt: skip
# (months after the quarter's first, day of that month; -1 = the last) a qualifier names in a quarter.
_QUARTER_POINT = {None: (2, -1), "start": (0, 1), "beginning": (0, 1), "early": (0, 10), "mid": (1, 15),
                  "middle": (1, 15), "late": (2, -1), "later": (2, -1), "end": (2, -1)}  # fmt: skip
# Which week of a month ("the first week of December"), which quarter ("the third quarter"); -1 = the last.
_NTH = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1, "final": -1}
_NTH_DIGITS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth"}
_YEAR_POINT = {None: (12, 31), "start": (1, 1), "beginning": (1, 1), "late": (12, 31), "later": (12, 31),
               "end": (12, 31)}  # fmt: skip


def _alternation(words) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_NUM = r"\d+(?:\.\d+)?"
_BIZ = r"(?:business|working|work|calendar)"
_UNIT = r"(?:hours?|hrs?|h|days?|weeks?|wks?|fortnights?|months?)"
_ONE_UNIT = r"(?:hour|day|week|fortnight|month)"
_MONTH = rf"(?:{_alternation(_MONTHS)})"
_WEEKDAY = rf"(?:{_alternation(_WEEKDAYS)})"
_QUALIFIER = r"(?:start|beginning|early|mid|middle|late|later|end)"

# --- step 1: normalize ----------------------------------------------------------------------------------------


def _upper_bound(m: re.Match[str]) -> str:
    low, high = m["low"], m["high"]
    return high if float(high) >= float(low) else low


def _range_of_units(m: re.Match[str]) -> str:
    return f"{_upper_bound(m)} {m['unit']}"


_NORMALIZE: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    # Typography: apostrophes vanish (we'll -> well), dashes become "-", a "." stays only after a digit
    # (1.5, 4.12.), any other punctuation and every non-ASCII character becomes a space.
    (r"['‘’`´]", ""),
    (r"[‐‑‒–—―−]", "-"),
    (r"(?<!\d)\.", " "),
    (r"[^a-z0-9./\-]+", " "),
    (r"\b(hour|day|week|fortnight|month)s(?= time\b)", r"\1"),  # "in a week's time"
    # Business shorthand.
    (r"\beow\b", "end of the week"),
    (r"\beom\b", "end of the month"),
    (r"\beoy\b", "end of the year"),
    (r"\beoq\b", "end of the quarter"),
    (r"\b(?:eod|cob|tonight|(?:close|end) of (?:the )?(?:business )?day|end of business)\b", "today"),
    (r"\bmid(week|month)(?= (?:the )?(?:this|next|following|coming) \1\b)", "mid"),  # "midweek next week"
    (r"\bmid(week|month)\b", r"mid \1"),
    (r"\b(?:week|work) ?day(s?)\b", r"business day\1"),
    (r"\b(month|quarter|year)[ -]?end\b", r"end of the \1"),
    (r"\bnew years\b", "new year"),  # "New Year's" (the apostrophe is gone)
    (r"\b(?:holiday|festive) season\b|\bchristmas holidays\b", "holidays"),
    (r"\bweek (of|in) the new year\b", r"week \1 january"),
    # "the 1st week", "the 4th quarter" (before ordinals lose their suffix); "the third quarter" -> "q3".
    (r"\b(1st|2nd|3rd|4th)(?= (?:week|quarter)\b)", lambda m: _NTH_DIGITS[m[1]]),
    (r"\b(?:the )?(first|second|third|fourth) quarter\b", lambda m: f"q{_NTH[m[1]]}"),
    (r"(?<!\d )\b(?:business|working|work)[ -]week\b", "week"),  # "end of the business week"
    # Ordinals: 4th -> 4.
    (r"\b(\d+)(?:st|nd|rd|th)\b", r"\1"),
    # "-ish" (before number words: "tenish").
    (rf"\b(\d+|{_alternation([*_UNITS, *_TENS])}|days?|weeks?|months?|hours?|fortnights?)-?ish\b", r"\1"),
    # Number words (before hyphens go: "twenty-four").
    (
        rf"\b({_alternation(_TENS)})(?:[ -]({_alternation(_UNITS)}))?\b",
        lambda m: str(_TENS[m[1]] + (_UNITS[m[2]] if m[2] else 0)),
    ),
    (rf"\b({_alternation(_UNITS)})\b", lambda m: str(_UNITS[m[1]])),
    (r"\ba couple(?: of)?\b|\bcouple(?: of)?\b", "2"),
    (r"\ba few\b|\bfew\b", "3"),
    # Hedges.
    (r"\b(?:ish|about|roughly|approximately|approx|around|circa|or so|give or take|at (?:the )?most|max)\b", " "),
    # Hyphens between a number or a word and a word: "48-hour", "mid-December", "business-day".
    (r"(?<=[a-z0-9])-(?=[a-z])", " "),
    (r"(?<=\d)(?=[a-z])", " "),  # 48h, 10days
    (rf"(?<=\d) (?:more|additional|extra|further|odd|full|short) (?=(?:{_BIZ} )?{_UNIT}\b)", " "),
    (r" +", " "),
    # Halves and the indefinite article as a number.
    (rf"\bhalf (?:a |an )?(?=(?:{_BIZ} )?{_ONE_UNIT}\b)", "0.5 "),
    (rf"\b(?:a|an)(?= (?:{_BIZ} )?{_ONE_UNIT}\b)", "1"),
    (r"\b(\d+) and (?:a )?half\b", r"\1.5"),
    (rf"\b(\d+) ((?:{_BIZ} )?{_UNIT}) and (?:a )?half\b", r"\1.5 \2"),
    # "within the next week" = within 1 week; "the next week or two" = 2 weeks.
    (rf"\b(within|in|over|during|for) the (?:next|coming|following) (?=(?:{_BIZ} )?{_ONE_UNIT}\b)", r"\1 1 "),
    (rf"\b(?:the )?next (?=(?:{_BIZ} )?{_UNIT} (?:or|to|-) \d)", "1 "),
    # Ranges: the upper bound. "3-5 days", "between 3 and 5 days", "1 week or 2" (the unit said once).
    (
        rf"\b(?:between )?(?P<low>{_NUM}) ?(?:-|to|or|and) ?(?P<high>{_NUM})(?= (?:{_BIZ} )?{_UNIT}\b)",
        _upper_bound,
    ),
    (
        rf"\b(?P<low>{_NUM}) (?P<unit>(?:{_BIZ} )?{_UNIT}) ?(?:-|to|or) ?(?P<high>{_NUM})\b"
        rf"(?![./\d]| ?(?:{_BIZ} )?{_UNIT}\b)",
        _range_of_units,
    ),
    (r" +", " "),
]


@cache
def _compiled(table: str) -> list[tuple[re.Pattern[str], Any]]:
    """A table's patterns, compiled on first use (about 10 ms: not paid by ``calsync --help``)."""
    rows = _NORMALIZE if table == "normalize" else _RULES
    return [(re.compile(pattern, re.ASCII), action) for pattern, action in rows]


def normalize(text: str) -> str:
    """The canonical form the rules are matched against (exposed for tests and for plugins)."""
    text = f" {text.lower()} "
    for pattern, repl in _compiled("normalize"):
        text = pattern.sub(repl, text)
    return text


# --- step 2: rules --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    said_on: date
    ended_at: datetime
    calendar: BusinessCalendar


Rule = Callable[[re.Match[str], _Context], "date | None"]


def _month_length(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _add_months(day: date, count: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 + count, 12)
    return date(year, month0 + 1, min(day.day, _month_length(year, month0 + 1)))


def _month_point(year: int, month: int, point: int) -> date:
    return date(year, month, _month_length(year, month) if point == -1 else point)


def _this_or_next(ctx: _Context, year: str | None, at: Callable[[int], date]) -> date | None:
    """``at(year)`` for an explicit year (None if past), else the next of this year's and next year's."""
    if year is not None:
        found = at(int(year))
        return found if found >= ctx.said_on else None
    found = at(ctx.said_on.year)
    return found if found >= ctx.said_on else at(ctx.said_on.year + 1)


def _absolute(ctx: _Context, year: str | None, month: int, day: int) -> date | None:
    """A calendar date; without a year, the next one on or after the interview date."""
    if year is not None:
        number = int(year)
        found = date(number + 2000 if number < 100 else number, month, day)
        return found if found >= ctx.said_on else None
    found = date(ctx.said_on.year, month, day) if day <= _month_length(ctx.said_on.year, month) else None
    if found is None or found < ctx.said_on:
        found = date(ctx.said_on.year + 1, month, day)
    return found


def _iso_date(m: re.Match[str], ctx: _Context) -> date | None:
    return _absolute(ctx, m["y"], int(m["m"]), int(m["d"]))


def _slash_date(m: re.Match[str], ctx: _Context) -> date | None:
    first, second = int(m["a"]), int(m["b"])
    country = (getattr(ctx.calendar, "country", None) or "US").upper()
    month_first = country in _MONTH_FIRST_COUNTRIES
    if first > 12 or (second <= 12 and not month_first):
        first, second = second, first
    return _absolute(ctx, m["y"], first, second)


def _dot_date(m: re.Match[str], ctx: _Context) -> date | None:
    return _absolute(ctx, m["y"], int(m["b"]), int(m["a"]))


def _month_day(m: re.Match[str], ctx: _Context) -> date | None:
    return _absolute(ctx, m["y"], _MONTHS[m["month"]], int(m["d"]))


def _day_of_month(m: re.Match[str], ctx: _Context) -> date | None:
    """ "by the 4th": the next 4th (of this month or a later one) on or after the interview date."""
    day = int(m["d"])
    if not 1 <= day <= 31:
        return None
    first = ctx.said_on.replace(day=1)
    for ahead in range(12):
        month = _add_months(first, ahead)
        if day <= _month_length(month.year, month.month) and month.replace(day=day) >= ctx.said_on:
            return month.replace(day=day)
    return None


def _month_period(m: re.Match[str], ctx: _Context) -> date | None:
    """ "early/mid/late/end of December", "in December": a point in the next such month (or this one)."""
    month = _MONTHS[m["month"]]
    point = _MONTH_POINT[m["q"]]
    return _this_or_next(ctx, m["y"], lambda year: _month_point(year, month, point))


def _week_of_month(m: re.Match[str], ctx: _Context) -> date | None:
    """ "the first/second/third/fourth/last week of December": the Friday after its Thursday (see above)."""
    month, nth = _MONTHS[m["month"]], _NTH[m["nth"]]

    def friday(year: int) -> date:
        if nth > 0:
            first = date(year, month, 1)
            thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 7 * (nth - 1))
        else:
            last = _month_point(year, month, -1)
            thursday = last - timedelta(days=(last.weekday() - 3) % 7)
        return thursday + timedelta(days=1)

    return _this_or_next(ctx, m["y"], friday)


def _period_point(first: date, months: int, day: int) -> date:
    """Day ``day`` (-1 = the last) of the month ``months`` after the one ``first`` is in."""
    month = _add_months(first.replace(day=1), months)
    return _month_point(month.year, month.month, day)


def _quarter(m: re.Match[str], ctx: _Context) -> date | None:
    """ "Q4", "end of Q1", "early Q2 2027", "the third quarter" (normalized to "q3")."""
    months, day = _QUARTER_POINT[m["q"]]
    first_month = 3 * int(m["n"]) - 2
    return _this_or_next(ctx, m["y"], lambda year: _period_point(date(year, first_month, 1), months, day))


def _new_year(m: re.Match[str], ctx: _Context) -> date | None:
    """ "after/in the new year", "after the holidays": the first business day after the next Jan 1."""
    said = ctx.said_on
    if m["q"] not in (None, "start", "beginning") or (m["holidays"] and said.month < 11):
        return None
    return ctx.calendar.after(date(said.year if (said.month, said.day) == (1, 1) else said.year + 1, 1, 1))


def _relative_period(m: re.Match[str], ctx: _Context) -> date | None:
    """ "end of next week", "early next month", "end of the quarter", "later this week", "end of the year"."""
    q = m["q"]
    ahead = 1 if m["next"] else 0
    said = ctx.said_on
    if m["period"] == "week":
        monday = said - timedelta(days=said.weekday())
        found = monday + timedelta(days=7 * ahead + _WEEK_POINT[q])
        return found + timedelta(days=7) if found <= said else found
    if m["period"] in ("month", "quarter"):
        size, (months, day) = (3, _QUARTER_POINT[q]) if m["period"] == "quarter" else (1, (0, _MONTH_POINT[q]))
        first = _add_months(said.replace(day=1), size * ahead - (said.month - 1) % size)
        found = _period_point(first, months, day)
        return found if found > said else _period_point(first, size + months, day)
    if q not in _YEAR_POINT:
        return None
    month, day = _YEAR_POINT[q]
    found = date(said.year + ahead, month, day)
    return found.replace(year=found.year + 1) if found <= said else found


def _weekday_in_week(m: re.Match[str], ctx: _Context) -> date | None:
    """ "Tuesday next week", "next week on Tuesday", "Thursday this week"."""
    weekday = _WEEKDAYS[m["wd"] or m["wd2"]]
    said = ctx.said_on
    ahead = 1 if (m["which"] or m["which2"]) != "this" else 0
    found = said - timedelta(days=said.weekday()) + timedelta(days=7 * ahead + weekday)
    return found if found > said else _next_weekday(said, weekday)


def _next_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday() - 1) % 7 + 1)


def _weekday(m: re.Match[str], ctx: _Context) -> date | None:
    return _next_weekday(ctx.said_on, _WEEKDAYS[m["wd"]])


_DAYS_PER = {"h": 1 / 24, "d": 1, "w": 7, "f": 14, "m": 31}


def _quantity(m: re.Match[str], ctx: _Context) -> date | None:
    """ "N days", "N business days", "N weeks", "N fortnights", "N months", "N hours"."""
    count = float(m["n"])
    unit = m["unit"][0]  # h(ours), d(ays), w(eeks, wks), f(ortnights), m(onths)
    business = m["biz"] in ("business", "working", "work")
    if count * _DAYS_PER[unit] * (1.5 if business else 1) > MAX_DAYS_AHEAD:
        return None
    if unit == "h":
        if business:
            return None
        end = ctx.ended_at.astimezone(UTC) + timedelta(hours=count)
        return end.astimezone(ctx.ended_at.tzinfo).date()
    if unit == "d" and business:
        return ctx.calendar.add(ctx.said_on, math.ceil(count))
    if unit == "m":
        whole = math.floor(count)
        return _add_months(ctx.said_on, whole) + timedelta(days=math.ceil((count - whole) * 30))
    return ctx.said_on + timedelta(days=math.ceil(count * _DAYS_PER[unit]))


def _offset(days: int) -> Rule:
    return lambda m, ctx: ctx.said_on + timedelta(days=days)


_YEAR = r"(?: (?P<y>\d{4}))?"
_RULES: list[tuple[str, Rule]] = [
    # Absolute dates.
    (r"(?<![\d./-])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d./-])", _iso_date),
    (r"(?<![\d./-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])", _slash_date),
    (r"(?<![\d./-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?P<y>\d{4}|\d{2})?(?![\d.])", _dot_date),
    (rf"\b(?:the )?(?P<nth>{_alternation(_NTH)}) week (?:of|in) (?P<month>{_MONTH}){_YEAR}\b", _week_of_month),
    (rf"\b(?:(?P<q>{_QUALIFIER}) (?:of )?(?:the )?|(?:in|during) )(?P<month>{_MONTH}){_YEAR}\b", _month_period),
    (
        rf"\b(?:(?P<q>{_QUALIFIER}) (?:of |in )?(?:the )?|(?:in|during) (?:the )?)?q(?P<n>[1-4])"
        r"(?:(?: of)? (?P<y>\d{4}))?\b",
        _quarter,
    ),
    (rf"\b(?P<month>{_MONTH}) (?:the )?(?P<d>\d{{1,2}})\b(?!\.\d){_YEAR}(?! ?(?:{_BIZ} )?{_UNIT}\b)", _month_day),
    (rf"\b(?:the )?(?<![\d.])(?P<d>\d{{1,2}}) (?:of )?(?P<month>{_MONTH})\b{_YEAR}", _month_day),
    (rf"\b(?:by|on|until|till|before) the (?P<d>\d{{1,2}})\b(?![.\d]| (?:{_BIZ} )?{_UNIT}\b)", _day_of_month),
    # Weeks, months and years around the interview.
    (
        rf"\b(?P<wd>{_WEEKDAY}) (?:of )?(?:the )?(?P<which>this|next|following|coming) week\b"
        rf"|\b(?P<which2>this|next|following|coming) week (?:on )?(?P<wd2>{_WEEKDAY})\b",
        _weekday_in_week,
    ),
    (
        rf"\b(?=(?:{_QUALIFIER}|the|this|next|following|coming|current) )(?:(?P<q>{_QUALIFIER}) (?:of |in )?)?"
        r"(?:the |this |current |(?:the )?(?P<next>next|following|coming) )?(?P<period>week|month|quarter|year)\b",
        _relative_period,
    ),
    (
        rf"\b(?:(?P<q>{_QUALIFIER}) )?(?:(?:after|following|post|in|into|of) (?:the )?new year"
        r"|(?:after|following|post) (?:the )?(?P<holidays>holidays))\b",
        _new_year,
    ),
    (rf"\b(?P<wd>{_WEEKDAY})\b", _weekday),
    # Amounts of time.
    (rf"(?<![\d./-])(?P<n>{_NUM}) (?:(?P<biz>{_BIZ}) )?(?P<unit>{_UNIT})\b(?! ago\b)", _quantity),
    (r"\b(?:the )?day after tomorrow\b", _offset(2)),
    (r"\btomorrow\b", _offset(1)),
    (r"\btoday\b", _offset(0)),
]


_AFTER = re.compile(r"\b(?:after|following|post) ", re.ASCII)
_HOLIDAY_TAIL = re.compile(r" (?:(?:bank )?holiday|day)$", re.ASCII)


@lru_cache(maxsize=64)
def _holiday_rule(calendar: BusinessCalendar, said_on: date) -> tuple[re.Pattern[str], Rule] | None:
    """The row for "after <holiday>": the first business day after the holiday's next occurrence.

    Built from the names ``calendar.holiday_name`` gives in the 13 months from ``said_on`` (13: Easter moves), in
    normal form, "(observed)" dropped, each also without a trailing "day"/"holiday"/"bank holiday" unless what
    is left is a month or weekday name. The name is part of the match, so no other rule reads "Good Friday" as
    a Friday.
    """
    name_of = getattr(calendar, "holiday_name", None)
    if name_of is None:
        return None
    first: dict[str, date] = {}
    day = said_on
    try:
        end = _add_months(said_on, 13)
    except (ValueError, OverflowError):
        end = date.max
    while day <= end:
        for name in (name_of(day) or "").split(";"):  # the holidays package joins two on one day with "; "
            full = " ".join(normalize(name).replace(" observed ", " ").split())
            short = _HOLIDAY_TAIL.sub("", full)
            for key in {full, short if short not in _MONTHS and short not in _WEEKDAYS else full} - {""}:
                first.setdefault(key, day)
        if day == date.max:
            break
        day += timedelta(days=1)
    if not first:
        return None
    names = "|".join(re.escape(key) for key in sorted(first, key=len, reverse=True))
    pattern = rf"\b(?:after|following|post) (?:the )?(?P<name>{names})(?: (?:bank )?holiday| day)?\b"
    return re.compile(pattern, re.ASCII), lambda m, ctx: ctx.calendar.after(first[m["name"]])


def parse_timeline(text: str, said_on: date, ended_at: datetime, calendar: BusinessCalendar) -> date | None:
    """The decision date D the phrase ``text`` names, or None when it names none this parser understands.

    :param said_on: the interview's local date, which relative phrases count from.
    :param ended_at: the interview's end, timezone-aware, for "within N hours".
    :param calendar: business-day arithmetic for "N business days", and the country for "12/4".
    """
    ctx = _Context(said_on, ended_at, calendar)
    try:
        latest = said_on + timedelta(days=MAX_DAYS_AHEAD)
    except OverflowError:
        latest = date.max
    remaining = normalize(text)
    found: list[date] = []
    rules = _compiled("rules")
    if _AFTER.search(remaining) and (holiday_rule := _holiday_rule(calendar, said_on)) is not None:
        rules = [holiday_rule, *rules]
    for pattern, rule in rules:
        for m in pattern.finditer(remaining):
            try:
                day = rule(m, ctx)
            except (ValueError, OverflowError):  # "February 30", year 10000: not a date
                day = None
            if day is not None and said_on <= day <= latest:
                found.append(day)
        remaining = pattern.sub(lambda m: " " * len(m[0]), remaining)
    return max(found, default=None)


@hookimpl(trylast=True)
def calsync_parse_timeline(text: str, interview: Interview, calendar: BusinessCalendar) -> date | None:
    return parse_timeline(
        text,
        interview.start.astimezone(interview.timezone).date(),
        interview.end.astimezone(interview.timezone),
        calendar,
    )
