"""The built-in timeline parser: what the interviewer said about the hiring timeline -> the decision date D.

A default plugin: its ``calsync_parse_timeline`` runs last, so any other plugin can add phrases or languages.
:func:`read` is the pure function behind it (``calsync explain`` prints what it returns). It works in three
steps, all driven by tables below: ``_NORMALIZE`` rewrites the text into a canonical form (lower case, plain
ASCII, numbers as digits, ranges reduced to their upper bound, hedges removed); every row of ``_RULES`` is then
searched in turn, each match giving one candidate date and being blanked out so a shorter rule further down cannot
match inside it again; last, the words no rule used are sorted into fillers and words that carry time meaning.

No partial reads: a phrase gives a date only when every word that can carry time meaning (``_TIME_WORDS``: numbers,
units, weekday, month, season and holiday names, "after", "before", "next", "last", "early", "soon"...) was used by
a rule. Otherwise D is not given (the planner assumes it) and the reading names the words left over. A rule that
matches but gives no date ("February 30", "2 weeks ago" is not even matched) counts as not understood too. Other
words ("we'll", "get back to you", "hopefully", "the team") are fillers and change nothing.

Conventions (each has a test in tests/test_timeline.py and rows in tests/timeline_corpus.csv):

* Relative to the interview's local date ("said on"). "N hours" counts elapsed hours from the interview's END,
  so a DST change shifts the wall clock, not the elapsed time.
* Numbers: digits or words (zero..ninety-nine), "a"/"an" = 1, "a couple (of)" = 2, "a few" = 3, "half a" = 0.5,
  "N and a half" = N.5. "several" is deliberately NOT understood (there is no agreed value), nor are "soon",
  "shortly", "asap".
* A range ("3-5", "3 to 5", "three or four", "between 3 and 5", "a week or two", "a week to ten days", "a week,
  maybe two", "2 weeks, 3 max") takes its upper bound. Hedges ("about", "roughly", "around", "or so", "-ish",
  "at most", "at the latest", "up to", "maybe", "probably", "hopefully", "or sooner") change nothing. "At least"
  is a lower bound, not a date: not understood.
* "N days" = calendar days; "N business/working/work/biz days" and "N weekdays" = ``calendar.add``; "N weeks"/"N
  wks" = 7N days (business weeks too); "a fortnight" = 14 days; "N months" = the same day N months later, clamped
  to the month's end; "N weeks and M days" = their sum. Fractions round up to a whole day (a fraction of a month
  counts 30 days a month). "business hours" is not understood (8-hour days? 9?). "The next N days" = N days;
  "(the) next business day" = the first business day after the interview date.
* A weekday name ("by Friday", "on Thursday", "next Tuesday", "this Monday") is the next such weekday strictly
  after the interview date; "next" does not skip a week. "Tuesday next week" is next week's Tuesday.
* Weeks start on Monday. In a week: start = Monday, early = Tuesday, mid = Wednesday, late/later/end = Friday;
  a bare "next week"/"this week"/"the following week" = its Friday, "the week after next" = the Friday of the week
  after. In a month: start = 1st, early = 10th, mid = 15th, late/end = last day; a bare "next month"/"the following
  month" = its last day, "the month after next" = the last day of the month after. In a quarter (calendar
  quarters: Q1 = January to March): start = the 1st of its first month, early = the 10th of its first month, mid =
  the 15th of its middle month, late/end/bare = its last day. In a year: start = Jan 1, late/end/bare = Dec 31
  (early/mid year are not understood). Fiscal quarters and "last quarter" are not understood.
* "this" week/month/quarter/year ("end of the week", "later this week", "by the end of the month", "end of the
  quarter"): a point that is not strictly after the interview date rolls over to the next period. So on a Friday
  "by the end of the week" is the next Friday, as "by Friday" is: nobody decides the same afternoon.
* "The first/second/third/fourth/last week of December" = that week's Friday. A week belongs to the month that
  holds its Thursday (ISO 8601's rule for the weeks of a year). "Q4", "end of Q1", "early Q2 2027", "the third
  quarter" = the point of that quarter, the next such one on or after the interview date (as months).
* Words before a date (``_MODIFIERS``), for a day (a date, a weekday, a holiday, "the 15th", or a point such as
  "the end of the month"): "after X" = the first business day after X; "before X" = the last business day before
  X, except "before the end/late X" = by its end (that is how it is said); "the week of X" = the last business day
  of X's week (Monday to Friday; its Friday when every day is a holiday); "no later than X" = X. For a period
  ("after next week", "after Q1"): "after" = the first business day after its last day; "before <period>" is not
  understood. "After N days" = N days.
* Holidays, in the calendar's country, by the name in its holiday table (``holidays`` package, English names):
  "Thanksgiving (Day)", "Boxing Day", "Labor/Labour Day", "Diwali"... without a trailing "Day"/"Holiday"/"Bank
  Holiday" unless what is left is a month, weekday or season name. The holiday's own date counts, not its observed
  day (which is no business day anyway, so "after" also skips it); "by Christmas" = Dec 25. Spoken names the
  table does not list: "Easter" (Easter Sunday: the day after the table's Easter Saturday, before its Easter
  Monday, two days after its Good Friday, else the Western date), "Christmas"/"Xmas" (Dec 25), "Christmas Eve",
  "New Year's Eve", "Whitsun"/"Pentecost" (Easter + 49), "Whit Monday", "MLK Day", "Presidents' Day",
  "Juneteenth", "Bastille Day" (Jul 14) -- see ``_SPOKEN``. The next occurrence on or after the interview date.
* "After/in the new year", "after New Year's" = the first business day after the next Jan 1; "after the
  holidays" = the same, but only said in November or December.
* Absolute dates: "December 4", "Dec 4th", "4 December", "the 4th of December", "2026-12-04", "12/4" (month
  first where the calendar's country writes it so -- the US and a few others, or no country -- day first
  elsewhere; a number over 12 settles it), "4.12." (day first). Ordinal days: "the 15th", "by the 15th", "no later
  than the 15th" = the next 15th on or after the interview date; "the 15th of next month". A date without a year
  before the interview date means next year; one with an explicit year in the past is not understood.
  "early/mid/late/end of December" = the 10th/15th/last/last day, "in December" = its last day.
* "today"/"tonight"/"end of day"/"EOD"/"COB"/"close of play" = the interview date, "tomorrow" = +1, "the day after
  tomorrow" = +2. "A week from/on Friday", "Friday week" = the next Friday + 7 days ("a week tomorrow", "a fortnight on
  Monday" likewise); "Tuesday after next" = the next Tuesday + 7 days. "N weeks from now/today/the interview" = N
  weeks; "this time next week/month" = a week/month from the interview date. "Early to mid", "mid-to-late" = the
  later.
* A date followed by a relation ("the Monday after Thanksgiving", "two days before Christmas", "the week of" with
  nothing read after it) is a reference point: the rule that would read it alone does not apply, so the phrase is
  not understood. "On or before X" = X; "on or after X" and "not before X" are lower bounds: not understood.
* The weekend: "by/before the weekend" = "by the end of the week"; "over the weekend" = its Sunday; "after the
  weekend" = the first business day after it; "next weekend" = a week after the coming one. A negation before a
  bound ("no decision before the 10th", "won't hear until Friday") and a frequency ("every two weeks") are not
  understood; "may" followed by a verb is not the month.
* A time of day changes no date ("by 5pm Friday", "Friday at 3:30", "noon tomorrow", "Monday morning"). "Next
  year"/"this year" after a month, a date or a quarter is its year ("end of Q1 next year", "March 4 next year").
* Several bounds: the LATEST date wins, however they are joined ("-", "to", "or", "and", a comma, "maybe"): "by
  Friday, at the latest in two weeks"; "within ten days, two weeks at the latest". D is when to expect an answer.
* Nothing is ever before the interview date, and anything more than about ten years ahead is not understood.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
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
_SEASONS = {"spring", "summer", "autumn", "fall", "winter"}
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

# Words that can carry time meaning: left over after the rules, they make a phrase not understood. Any word with
# a digit counts too, and the words of the calendar's holiday names (see ``_holiday_words``).
_TIME_WORDS = frozenset(
    {*_MONTHS, *_WEEKDAYS, *_SEASONS, *_UNITS, *_TENS, *_NTH,
     "hour", "hours", "hrs", "day", "days", "week", "weeks", "wk", "wks", "fortnight", "fortnights",
     "month", "months", "mos", "year", "years", "yr", "yrs", "quarter", "quarters", "decade", "semester",
     "season", "weekend", "weekends", "weekday", "weekdays", "morning", "afternoon", "evening", "night",
     "overnight", "noon", "midnight", "minute", "minutes", "mins", "daily", "weekly", "every",
     "monthly", "biweekly", "fortnightly", "quarterly", "annually", "yearly",
     "couple", "few", "several", "many", "dozen", "hundred", "half", "next", "previous", "past",
     "following", "coming", "upcoming", "fifth", "sixth",
     "after", "before", "since", "ago", "than", "not", "least", "latest", "earliest",
     "later", "late", "early", "earlier", "mid", "middle", "midweek", "midmonth", "start", "beginning", "end",
     "soon", "sooner", "shortly", "asap", "eventually", "immediately", "promptly", "presently",
     "imminently", "today", "tomorrow", "yesterday", "tonight", "longer", "while", "plus", "once", "post", "pre",
     "holiday", "holidays", "vacation", "break", "recess", "shutdown",
     "christmas", "xmas", "easter", "thanksgiving", "eve", "diwali",
     "deepavali", "holi", "eid", "ramadan", "hanukkah", "passover", "pentecost", "whitsun", "whit", "boxing",
     "juneteenth", "mlk", "presidents", "labor", "memorial", "independence", "anzac", "bastille", "ascension",
     "assumption", "halloween", "dussehra",
     "eod", "eow", "eom", "eoq", "eoy", "cob", "eob", "biz", "q1", "q2", "q3", "q4", "fy", "h1", "h2",
     # adverbs and nouns of time no rule reads
     "someday", "sometimes", "whenever", "momentarily", "lately", "recently", "previously", "formerly",
     "forthcoming", "imminent", "pending", "ages", "eon", "eons", "term", "annual", "century", "centuries",
     "decades", "millennium", "nightly", "hourly", "seconds", "second", "beforehand", "afterwards", "afterward",
     "thereafter", "hereafter", "meanwhile", "meantime", "instantly", "instant", "immediate", "quickly", "swiftly",
     "rapidly", "speedily", "belated", "belatedly", "overdue", "delayed", "delay", "delays", "postponed", "postpone",
     "deferred", "defer", "rescheduled", "reschedule", "interim", "temporarily", "temporary", "periodically",
     "occasionally", "frequently", "regularly", "constantly", "often", "seldom", "rarely", "always", "never",
     "forever", "currently", "nowadays", "workweek", "seasonal", "dawn", "dusk", "sunrise", "sunset", "pronto",
     "straightaway", "forthwith", "anon", "til", "till", "until", "tonite", "tmrw", "tmr", "tomorow", "tommorow",
     "wknd", "wkend", "mth", "mths", "secs", "sec", "moment", "moments", "trimester", "midyear", "fiscal", "ytd",
     # feasts no table in the six countries names (a phrase with one is not understood, never half read)
     "lunar", "chinese", "kwanzaa", "hogmanay", "carnival", "mardi", "oktoberfest", "valentine", "valentines",
     "yom", "kippur", "rosh", "hashanah", "navratri", "onam", "pongal", "ugadi", "vesak", "obon", "songkran",
     "purim", "shavuot", "sukkot", "advent", "lent", "epiphany", "solstice", "equinox", "blackfriday"}
)  # fmt: skip
# Holiday-name words that are fillers too ("Good Friday": "friday" is a time word already).
_NAME_FILLERS = frozenset({"day", "of", "the", "and", "s", "bank", "national", "good", "saint", "st", "all",
                           "birthday", "jr", "dr", "b", "r", "estimated", "observed", "king", "family",
                           "people"})  # fmt: skip


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


_HEDGES = (
    r"ish|about|roughly|approximately|approx|around|circa|or so|give or take|at (?:the )?most|max|tops|"
    r"(?:at )?(?:the )?(?:very )?latest|up to|no more than|not more than|less than|or less|maybe|perhaps|possibly|"
    r"probably|hopefully|likely|ideally|realistically|expected|tentatively|(?:or |if not |even )?(?:sooner|earlier)|"
    r"sometime|some time|any ?time|somewhere"
)

# "1 week or 2", "1 week , 2" (the unit said once; a hedge between, "maybe", is gone already): the upper bound.
_UNIT_RANGE: tuple[str, Callable[[re.Match[str]], str]] = (
    rf"\b(?P<low>{_NUM}) (?P<unit>(?:{_BIZ} )?{_UNIT})(?: ?(?:-|to|or|,))* ?(?P<high>{_NUM})\b"
    rf"(?![./\d]| ?(?:{_BIZ} )?{_UNIT}\b| (?:of |the )*{_MONTH}\b| ?(?:am|pm)\b)",
    _range_of_units,
)

_NORMALIZE: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    # Typography: apostrophes vanish (we'll -> well), dashes become "-", a comma stays as a word of its own
    # (bounds joined by a comma), a "." stays only after a digit (1.5, 4.12.), any other punctuation and every
    # non-ASCII character becomes a space.
    (r"['‘’`´]", ""),
    (r"[‐‑‒–—―−]", "-"),
    # A time of day changes no date: "by 5pm Friday", "Friday at 3:30", "noon tomorrow", "Monday morning".
    (r"\b(?:at |by )?\d{1,2}(?:[:.]\d{2})? ?(?:a\.?m\.?|p\.?m\.?)(?![a-z])|\b(?:at )?\d{1,2}:\d{2}\b", " "),
    (r"\b(?:at |by )?(?:noon|midday|midnight)\b", " "),
    (r"(?<=day) (?:morning|afternoon|evening|night)\b|(?<=tomorrow) (?:morning|afternoon|evening|night)\b", ""),
    (r",", " , "),
    (r"(?<!\d)\.", " "),
    (r"[^a-z0-9./,\-]+", " "),
    (r"\b(hour|day|week|fortnight|month)s(?= time\b)", r"\1"),  # "in a week's time"
    # Business shorthand.
    (r"\bbiz\b", "business"),
    (r"\blabour\b", "labor"),
    (r"\beow\b", "end of the week"),
    (r"\beom\b", "end of the month"),
    (r"\beoy\b", "end of the year"),
    (r"\beoq\b", "end of the quarter"),
    (
        r"\b(?:eod|cob|eob|eop|tonight|(?:close|end) of (?:the )?(?:business )?day|end of business"
        r"|(?:close|end) of play)\b",
        "today",
    ),
    # "from now" counts from today.
    (
        r"\b(?:from (?:now|today|(?:the|this|our|your|todays) (?:interview|conversation|call|chat)(?: today)?)"
        r"|after (?:this|our|your|todays) (?:interview|conversation|call|chat)(?: today)?)\b",
        "",
    ),
    (r"\bmid(week|month)(?= (?:the )?(?:this|next|following|coming) \1\b)", "mid"),  # "midweek next week"
    (r"\bmid(week|month)\b", r"mid \1"),
    (r"\b(?:week|work) ?day(s?)\b", r"business day\1"),
    (r"\b(month|quarter|year)[ -]?end\b", r"end of the \1"),
    (r"\b(?:black friday|cyber monday)\b", "blackfriday"),  # not a Friday to read
    (r"\bnew years\b", "new year"),  # "New Year's" (the apostrophe is gone)
    (r"\b(?:the )?(week|month|quarter|year)s end\b", r"end of the \1"),  # "by the week's end"
    # A negation before a bound turns it into a lower bound: "no decision before the 10th", "won't hear until".
    (
        r"\b(?:not|no|never|wont|cant|dont|doesnt|isnt|arent|wouldnt|couldnt|shouldnt)\b"
        r"(?=(?: [a-z]+){0,4} (?:before|until|till|prior to|earlier than)\b)",
        "not",
    ),
    # Elliptic "end of this month or early next" (the period said once).
    (
        rf"\b(this|next) (week|month|quarter|year) (or|to|-) ({_QUALIFIER}) next\b(?! (?:week|month|quarter|year)\b)",
        r"\1 \2 \3 \4 next \2",
    ),
    (r"\b(?:holiday|festive) season\b|\bchristmas holidays\b", "holidays"),
    (r"\bweek (of|in) the new year\b", r"week \1 january"),
    (r"(?:\bthe )?(?:\bw/[cb]|\bweek (?:commencing|beginning|starting))\b", "the week of"),  # British "w/c 4 Jan"
    (r"\b(?:this|the same|same) time next (week|month|year)\b", r"in 1 \1"),  # a week/month/year from today
    (r"\b(?:this|the same|same) time tomorrow\b", "tomorrow"),
    (r"\bweek ending\b", "no later than"),  # "week ending 11 Dec": that date
    (r"\bcalendar (year|month|quarter)\b", r"\1"),
    (r"(?<=[a-z])/(?=[a-z])", " or "),  # "Jan/Feb"
    # "may" the verb is not the month: "the holidays may slow things down".
    (
        r"\bmay(?= (?:be|have|need|take|slip|change|slow|also|still|well|even|only|not|require|shift|move|push"
        r"|extend|delay|run|happen|come|get|go|want|decide|hear|know|vary|differ|reach|make)\b)",
        "might",
    ),
    # Fillers that contain a time word: "next steps", "the final round".
    (r"\b(?:next|first|second|third|final|last|1st|2nd|3rd) (?=(?:steps?|rounds?|stages?|interviews?)\b)", ""),
    # "the 1st week", "the 4th quarter" (before ordinals lose their suffix); "the third quarter" -> "q3".
    (r"\b(1st|2nd|3rd|4th)(?= (?:week|quarter)\b)", lambda m: _NTH_DIGITS[m[1]]),
    (r"\b(?:the )?(first|second|third|fourth) quarter\b", lambda m: f"q{_NTH[m[1]]}"),
    (r"(?<!\d )\b(?:business|working|work)[ -]week\b", "week"),  # "end of the business week"
    (rf"\b({_MONTH}) the (\d{{1,2}})(?=st\b|nd\b|rd\b|th\b)", r"\1 \2"),  # "December the 4th"
    # An ordinal day alone: "the 15th", "by 15th" -> "the day 15" (not "the 15th of December", "the 15th May").
    (rf"\bthe (\d{{1,2}})(?:st|nd|rd|th)\b(?! (?:of |the )*{_MONTH}\b| of\b)", r"the day \1"),
    (
        rf"\b(by|on|until|till|before|after|than|from) (\d{{1,2}})(?:st|nd|rd|th)\b(?! (?:of |the )*{_MONTH}\b| of\b)",
        r"\1 the day \2",
    ),
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
    (rf"\b(?:{_HEDGES})\b", " "),
    (r" +", " "),
    # "on or before X" = by X; "on or after X" is a lower bound (not understood).
    (r"\b(?:on or before|by or before|before or on)\b", "by"),
    (r"\b(?:on or after|after or on)\b", "not before"),
    (r"\b(?:by|before) (?:the |this )?weekend\b", "end of the week"),  # Friday, as "by the end of the week"
    # Hyphens between a number or a word and a word: "48-hour", "mid-December", "business-day".
    (r"(?<=[a-z0-9])-(?=[a-z])", " "),
    (r"(?<=\d)(?=[a-z])", " "),  # 48h, 10days
    # "early to mid", "mid-to-late", "early-mid": the later qualifier.
    (
        rf"\b({_QUALIFIER}) (?:(?:to|or|-) )?({_QUALIFIER})\b",
        lambda m: max(m[1], m[2], key=["start", "beginning", "early", "mid", "middle", "late", "later", "end"].index),
    ),
    (rf"(?<=\d) (?:more|additional|extra|further|odd|full|short) (?=(?:{_BIZ} )?{_UNIT}\b)", " "),
    (r" +", " "),
    # Halves and the indefinite article as a number.
    (rf"\bhalf (?:a |an )?(?=(?:{_BIZ} )?{_ONE_UNIT}\b)", "0.5 "),
    (rf"\b(?:a|an)(?= (?:{_BIZ} )?{_ONE_UNIT}\b)", "1"),
    (r"\b(\d+) and (?:a )?half\b", r"\1.5"),
    (rf"\b(\d+) ((?:{_BIZ} )?{_UNIT}) and (?:a )?half\b", r"\1.5 \2"),
    # "within the next week" = within 1 week; "the next week or two" = 2 weeks; "the next 5 days" = 5 days.
    (rf"\b(within|in|over|during|for) the (?:next|coming|following) (?=(?:{_BIZ} )?{_ONE_UNIT}\b)", r"\1 1 "),
    (rf"\b(?:the )?next (?=(?:{_BIZ} )?{_UNIT} (?:or|to|-) \d)", "1 "),
    (rf"\b(?:the )?(?:next|coming|following) (?={_NUM}(?: ?(?:-|to|or) ?{_NUM})? (?:{_BIZ} )?{_UNIT}\b)", ""),
    # Ranges: the upper bound. "3-5 days", "between 3 and 5 days", "1 week or 2", "1 week , 2" (the unit said
    # once; the hedge between, "maybe", is gone already).
    (
        rf"\b(?:between )?(?P<low>{_NUM}) ?(?:-|to|or|and) ?(?P<high>{_NUM})(?= (?:{_BIZ} )?{_UNIT}\b)",
        _upper_bound,
    ),
    _UNIT_RANGE,
    _UNIT_RANGE,  # twice: "a week or two, three at most"
    (r" +", " "),
]


@cache
def _compiled(table: str) -> list[tuple[re.Pattern[str], Any]]:
    """A table's patterns, compiled on first use (about 10 ms: not paid by ``calsync --help``)."""
    if table == "normalize":
        return [(re.compile(pattern, re.ASCII), action) for pattern, action in _NORMALIZE]
    return [(re.compile(_with_modifier(rule), re.ASCII), rule) for rule in _RULES]


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


RuleFunction = Callable[[re.Match[str], _Context], "date | None"]


@dataclass(frozen=True)
class _Rule:
    name: str  # shown by ``calsync explain``
    pattern: str
    function: RuleFunction
    kind: str  # "day" (a date), "period" (a week, month...: "day" when qualified), "amount", "fixed" (no modifier)


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


def _year(m: re.Match[str], ctx: _Context) -> str | None:
    """The year a date names: written ("2027"), "this year", "next year", or None (the next such date)."""
    relative = m.groupdict().get("rely")
    if relative is not None:
        return str(ctx.said_on.year + (1 if relative == "next" else 0))
    return m["y"]


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
    return _absolute(ctx, _year(m, ctx), _MONTHS[m["month"]], int(m["d"]))


def _day_of_month(m: re.Match[str], ctx: _Context) -> date | None:
    """ "the 15th", "by the 4th": the next 15th (of this month or a later one) on or after the interview date."""
    day = int(m["d"])
    if not 1 <= day <= 31:
        return None
    first = ctx.said_on.replace(day=1)
    for ahead in range(12):
        month = _add_months(first, ahead)
        if day <= _month_length(month.year, month.month) and month.replace(day=day) >= ctx.said_on:
            return month.replace(day=day)
    return None


def _day_of_relative_month(m: re.Match[str], ctx: _Context) -> date | None:
    """ "the 15th of next month", "the 3rd of this month"."""
    first = _add_months(ctx.said_on.replace(day=1), 0 if m["which"] == "this" else 1)
    return date(first.year, first.month, int(m["d"]))


def _month_period(m: re.Match[str], ctx: _Context) -> date | None:
    """ "early/mid/late/end of December", "in December": a point in the next such month (or this one)."""
    month = _MONTHS[m["month"]]
    point = _MONTH_POINT[m["q"]]
    return _this_or_next(ctx, _year(m, ctx), lambda year: _month_point(year, month, point))


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

    return _this_or_next(ctx, _year(m, ctx), friday)


def _period_point(first: date, months: int, day: int) -> date:
    """Day ``day`` (-1 = the last) of the month ``months`` after the one ``first`` is in."""
    month = _add_months(first.replace(day=1), months)
    return _month_point(month.year, month.month, day)


def _quarter(m: re.Match[str], ctx: _Context) -> date | None:
    """ "Q4", "end of Q1", "early Q2 2027", "the third quarter" (normalized to "q3")."""
    months, day = _QUARTER_POINT[m["q"]]
    first_month = 3 * int(m["n"]) - 2
    return _this_or_next(ctx, _year(m, ctx), lambda year: _period_point(date(year, first_month, 1), months, day))


def _new_year(m: re.Match[str], ctx: _Context) -> date | None:
    """ "after/in the new year", "after the holidays": the first business day after the next Jan 1."""
    said = ctx.said_on
    if m["q"] not in (None, "start", "beginning") or (m["holidays"] and said.month < 11):
        return None
    return ctx.calendar.after(date(said.year if (said.month, said.day) == (1, 1) else said.year + 1, 1, 1))


def _relative(period: str, q: str | None, ahead: int, said: date) -> date | None:
    """The point ``q`` of the week/month/quarter/year ``ahead`` periods from the one ``said`` is in; a point of
    the current period that is not after ``said`` rolls over to the next one."""
    if period == "week":
        monday = said - timedelta(days=said.weekday())
        found = monday + timedelta(days=7 * ahead + _WEEK_POINT[q])
        return found + timedelta(days=7) if found <= said else found
    if period in ("month", "quarter"):
        size, (months, day) = (3, _QUARTER_POINT[q]) if period == "quarter" else (1, (0, _MONTH_POINT[q]))
        first = _add_months(said.replace(day=1), size * ahead - (said.month - 1) % size)
        found = _period_point(first, months, day)
        return found if found > said else _period_point(first, size + months, day)
    if q not in _YEAR_POINT:
        return None
    month, day = _YEAR_POINT[q]
    found = date(said.year + ahead, month, day)
    return found.replace(year=found.year + 1) if found <= said else found


def _relative_period(m: re.Match[str], ctx: _Context) -> date | None:
    """ "end of next week", "early next month", "end of the quarter", "later this week", "end of the year"."""
    return _relative(m["period"], m["q"], 1 if m["next"] else 0, ctx.said_on)


def _period_after_next(m: re.Match[str], ctx: _Context) -> date | None:
    """ "the week after next", "end of the month after next"."""
    return _relative(m["period"], m["q"], 2, ctx.said_on)


def _weekday_in_week(m: re.Match[str], ctx: _Context) -> date | None:
    """ "Tuesday next week", "next week on Tuesday", "Thursday this week"."""
    weekday = _WEEKDAYS[m["wd"] or m["wd2"]]
    said = ctx.said_on
    ahead = 1 if (m["which"] or m["which2"]) != "this" else 0
    found = said - timedelta(days=said.weekday()) + timedelta(days=7 * ahead + weekday)
    return found if found > said else _next_weekday(said, weekday)


def _weeks_from_weekday(m: re.Match[str], ctx: _Context) -> date | None:
    """ "a week from Friday", "a fortnight on Monday", "Friday week", "Tuesday after next", "a week tomorrow": that
    many weeks after the next such weekday (or tomorrow)."""
    days = (14 if m["unit"].startswith("f") else 7) * int(m["n"]) if m["n"] else 7
    if m["wd"] == "tomorrow":
        return ctx.said_on + timedelta(days=1 + days)
    return _next_weekday(ctx.said_on, _WEEKDAYS[m["wd"] or m["wd2"]]) + timedelta(days=days)


def _weekend(m: re.Match[str], ctx: _Context) -> date | None:
    """ "over the weekend": its Sunday (the next one after the interview date); "next weekend": a week later;
    "after the weekend" / "before the weekend" then come from the modifiers (Monday / Friday)."""
    sunday = _next_weekday(ctx.said_on, 6)
    return sunday + timedelta(days=7) if m["next"] and ctx.said_on.weekday() != 6 else sunday


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


def _compound(m: re.Match[str], ctx: _Context) -> date | None:
    """ "2 weeks and 3 days", "a month and a week": the sum (the larger unit first)."""
    big, small = m["u1"][0], m["u2"][0]
    if _DAYS_PER[big] <= _DAYS_PER[small]:
        return None
    start = _add_months(ctx.said_on, int(m["n"])) if big == "m" else ctx.said_on + timedelta(days=7 * int(m["n"]))
    return start + timedelta(days=int(m["k"]) * _DAYS_PER[small])


def _next_business_day(m: re.Match[str], ctx: _Context) -> date | None:
    return ctx.calendar.after(ctx.said_on)


def _offset(days: int) -> RuleFunction:
    return lambda m, ctx: ctx.said_on + timedelta(days=days)


_YEAR = r"(?: ,)?(?: (?P<y>\d{4})| (?:of )?(?P<rely>this|next) year)?"
_RULES: list[_Rule] = [
    _Rule("the day after tomorrow", r"\b(?:the )?day after tomorrow\b", _offset(2), "fixed"),
    _Rule(
        "the new year",
        rf"\b(?:(?P<q>{_QUALIFIER}) )?(?:(?:after|following|post|in|into|of) (?:the )?new year(?: day)?(?! eve\b)"
        r"|(?:after|following|post) (?:the )?(?P<holidays>holidays))\b",
        _new_year,
        "fixed",
    ),
    _Rule("next business day", r"\b(?:the )?(?:next|following) business day\b", _next_business_day, "day"),
    # Absolute dates.
    # A sentence's final "." may follow a date: "by 2026-12-04.", "bis 15.04.2027."
    _Rule(
        "ISO date", r"(?<![\d./-])(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?![\d/-]|\.\d)", _iso_date, "day"
    ),
    _Rule(
        "numeric date",
        r"(?<![\d./-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?(?![\d/])",
        _slash_date,
        "day",
    ),
    _Rule(
        "dotted date",
        r"(?<![\d./-])(?P<a>\d{1,2})\.(?P<b>\d{1,2})\.(?:(?P<y>\d{4}|\d{2})\.?)?(?![\d.])",
        _dot_date,
        "day",
    ),
    _Rule(
        "week of a month",
        rf"\b(?:(?:the )?end of )?(?:the )?(?P<nth>{_alternation(_NTH)}) week (?:of|in) (?P<month>{_MONTH}){_YEAR}\b",
        _week_of_month,
        "period",
    ),
    _Rule(
        "part of a month",
        rf"\b(?:(?P<q>{_QUALIFIER}) (?:of )?(?:the )?|(?:in|during) )(?P<month>{_MONTH}){_YEAR}\b",
        _month_period,
        "period",
    ),
    _Rule(
        "quarter",
        rf"\b(?:(?P<q>{_QUALIFIER}) (?:of |in )?(?:the )?|(?:in|during) (?:the )?)?q(?P<n>[1-4])"
        r"(?:(?: of)? (?P<y>\d{4})| (?:of )?(?P<rely>this|next) year)?\b",
        _quarter,
        "period",
    ),
    _Rule(
        "month and day",
        rf"\b(?P<month>{_MONTH}) (?:the )?(?P<d>\d{{1,2}})\b(?!\.\d){_YEAR}(?! ?(?:{_BIZ} )?{_UNIT}\b)",
        _month_day,
        "day",
    ),
    _Rule(
        "day and month",
        rf"\b(?:the )?(?<![\d.])(?P<d>\d{{1,2}}) (?:of )?(?P<month>{_MONTH})\b{_YEAR}",
        _month_day,
        "day",
    ),
    _Rule(
        "day of next month",
        r"\b(?:the )?(?:day )?(?P<d>\d{1,2}) of (?:the )?(?P<which>this|next|following|coming) month\b",
        _day_of_relative_month,
        "day",
    ),
    _Rule(
        "day of the month",
        r"\b(?:(?:by|on|until|till) )?(?:the )?day (?P<d>\d{1,2})\b(?![.\d])",
        _day_of_month,
        "day",
    ),
    # Weeks, months and years around the interview.
    _Rule(
        "weekday of a week",
        rf"\b(?P<wd>{_WEEKDAY}) (?:of )?(?:the )?(?P<which>this|next|following|coming) week\b"
        rf"|\b(?P<which2>this|next|following|coming) week (?:on )?(?P<wd2>{_WEEKDAY})\b",
        _weekday_in_week,
        "day",
    ),
    _Rule(
        "weeks from a weekday",
        rf"\b(?:(?P<n>\d+) (?P<unit>weeks?|wks?|fortnights?) (?:(?:from|on|after) )?(?:(?:this|next|coming) )?"
        rf"(?P<wd>{_WEEKDAY}|tomorrow)|(?P<wd2>{_WEEKDAY}) (?P<week>week|after next))\b",
        _weeks_from_weekday,
        "day",
    ),
    _Rule(
        "week or month after next",
        rf"\b(?:(?P<q>{_QUALIFIER}) (?:of |in )?)?(?:the )?(?P<period>week|month) after next\b",
        _period_after_next,
        "period",
    ),
    _Rule(
        "this or next period",
        rf"\b(?=(?:{_QUALIFIER}|the|this|next|following|coming|current) )(?:(?P<q>{_QUALIFIER}) (?:of |in )?)?"
        r"(?:the |this |current |(?:the )?(?P<next>next|following|coming) )?(?P<period>week|month|quarter|year)\b",
        _relative_period,
        "period",
    ),
    _Rule("weekend", r"\b(?:(?P<next>next|following|coming) |the |this )?weekend\b", _weekend, "day"),
    _Rule("weekday", rf"\b(?:(?:this|next|coming|the following|following) )?(?P<wd>{_WEEKDAY})\b", _weekday, "day"),
    # Amounts of time.
    _Rule(
        "weeks and days",
        r"(?<![\d./-])(?P<n>\d+) (?P<u1>weeks?|wks?|months?) and (?P<k>\d+) (?P<u2>days?|weeks?|wks?)\b(?! ago\b)",
        _compound,
        "amount",
    ),
    _Rule(
        "amount of time",
        rf"(?<![\d./-])(?P<n>{_NUM}) (?:(?P<biz>{_BIZ}) )?(?P<unit>{_UNIT})\b(?! ago\b)",
        _quantity,
        "amount",
    ),
    _Rule("tomorrow", r"\btomorrow\b", _offset(1), "day"),
    _Rule("today", r"\btoday\b", _offset(0), "day"),
]

# Words before a date that change it (see the module docstring). The optional "the" after them goes with them.
_MODIFIERS = (
    rf"after|following(?! (?:{_WEEKDAY}|week|month|business)\b)|post|once|before|prior to|ahead of"
    r"|(?:no|not) later than|until|till|til|(?:the )?week of"
)


def _with_modifier(rule: _Rule) -> str:
    if rule.kind == "fixed":
        return f"(?P<body>{rule.pattern})"
    return rf"(?:\b(?P<mod>{_MODIFIERS})(?: the)? )?(?P<body>{rule.pattern})"


def _modified(mod: str, rule: _Rule, m: re.Match[str], day: date, ctx: _Context) -> date | None:
    """``day`` changed by the modifier ``mod`` in front of it, or None when the pair is not understood."""
    if _refused(mod, rule, m):
        return None
    if mod.endswith("later than") or mod in ("until", "till", "til"):
        return day
    if mod in ("after", "following", "post", "once"):
        return day if rule.kind == "amount" else ctx.calendar.after(day)
    if mod in ("before", "prior to", "ahead of"):
        if m.groupdict().get("q") in ("end", "late", "later"):
            return day  # "before the end of the month" is said for "by the end of the month"
        return ctx.calendar.before(day)
    # "the week of X": its last business day, Monday to Friday.
    friday = day - timedelta(days=day.weekday()) + timedelta(days=4)
    for back in range(5):
        if ctx.calendar.is_business_day(friday - timedelta(days=back)):
            return friday - timedelta(days=back)
    return friday


def _refused(mod: str, rule: _Rule | None, m: re.Match[str]) -> bool:
    """Whether ``rule`` does not take the modifier ``mod`` ("before next week"): it depends on the words alone.
    ``rule`` None is the holiday rule (a day)."""
    if (
        rule is None
        or mod.endswith("later than")
        or mod in ("until", "till", "til", "after", "following", "post", "once")
    ):
        return False
    # "the end of the month" is a day
    return rule.kind != "day" and not (rule.kind == "period" and m.groupdict().get("q") is not None)


# --- holidays ---------------------------------------------------------------------------------------------------

_HOLIDAY_TAIL = re.compile(r" (?:(?:bank )?holiday|day)$", re.ASCII)
_TAG = re.compile(r"\([^)]*\)")  # "(observed)", "(estimated)", "(Vaishnava)"
# Spoken names -> the key of the table's name they stand for (same country), tried in order.
_SPOKEN_ALIASES = {
    "mlk": ("martin luther king jr",),
    "mlk day": ("martin luther king jr",),
    "martin luther king": ("martin luther king jr",),
    "presidents": ("washingtons birthday",),
    "presidents day": ("washingtons birthday",),
    "juneteenth": ("juneteenth national independence",),
    "whit monday": ("pentecost monday", "whit monday"),
    "deepavali": ("diwali",),
    "gandhi jayanti": ("mahatma gandhis birthday",),
}


def _easter(calendar: BusinessCalendar, year: int) -> date:
    """Easter Sunday as the country keeps it: from its table's Good Friday / Easter Monday (Orthodox countries
    list theirs), else the Western date."""
    for day, name in calendar.holidays_in(year):
        key = _name_key(name)
        if key in ("easter monday", "easter saturday", "good friday", "easter sunday", "easter"):
            offset = {"easter monday": -1, "easter saturday": 1, "good friday": 2}.get(key, 0)
            return day + timedelta(days=offset)
    return western_easter(year)


def western_easter(year: int) -> date:
    """Easter Sunday of the Gregorian calendar (the "anonymous Gregorian algorithm", Meeus/Jones/Butcher): the
    arithmetic alone, so planning never imports a date library for it."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_offset = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday_offset) // 433
    month = (h + weekday_offset - 7 * m + 90) // 25
    return date(year, month, (h + weekday_offset - 7 * m + 33 * month + 19) % 32)


# Spoken names the table may not list, by date.
_SPOKEN: dict[str, Callable[[BusinessCalendar, int], date]] = {
    "easter": _easter,
    "easter sunday": _easter,
    "christmas": lambda calendar, year: date(year, 12, 25),
    "xmas": lambda calendar, year: date(year, 12, 25),
    "christmas eve": lambda calendar, year: date(year, 12, 24),
    "new year eve": lambda calendar, year: date(year, 12, 31),
    "pentecost": lambda calendar, year: _easter(calendar, year) + timedelta(days=49),
    "whitsun": lambda calendar, year: _easter(calendar, year) + timedelta(days=49),
    "whit sunday": lambda calendar, year: _easter(calendar, year) + timedelta(days=49),
    "bastille day": lambda calendar, year: date(year, 7, 14),
}


def _name_key(name: str) -> str:
    return " ".join(normalize(_TAG.sub(" ", name)).replace(" , ", " ").split())


@lru_cache(maxsize=256)
def _holiday_keys(calendar: BusinessCalendar, year: int) -> dict[str, date]:
    """Name (normal form, and its short form) -> date, for one year of the calendar's table and the spoken names.
    The calendar's own per-year table is cached, and so is this (a calendar is one per country)."""
    found: dict[str, date] = {}
    for day, names in calendar.holidays_in(year):
        if "observed" in names.lower() and ";" not in names:
            continue  # the holiday's own date counts; the observed day is no business day anyway
        for name in names.split(";"):  # the holidays package joins two on one day with "; "
            full = _name_key(name)
            short = _HOLIDAY_TAIL.sub("", full)
            if set(short.split()) & (_MONTHS.keys() | _WEEKDAYS.keys() | _SEASONS | {"early", "late"}):
                short = full  # "May Day", "Spring Bank Holiday": never "may", "spring"
            for key in (full, short):
                if key and key not in _MONTHS and key not in _WEEKDAYS:
                    found.setdefault(key, day)
    for spoken, targets in _SPOKEN_ALIASES.items():
        for target in targets:
            if target in found:
                found.setdefault(spoken, found[target])
                break
    for spoken, when in _SPOKEN.items():
        found.setdefault(spoken, when(calendar, year))
    return found


def _holiday_rule(calendar: BusinessCalendar, year: int) -> _Rule:
    """The row for holidays: the next occurrence on or after the interview date of a name in the calendar's table
    (or a spoken name), read whole, so no other rule reads "Good Friday" as a Friday. Built once per calendar and
    year: the names of that year and the next."""
    years = (year, year + 1) if year < 9999 else (year,)
    names = sorted({key for each in years for key in _holiday_keys(calendar, each)}, key=len, reverse=True)
    pattern = rf"\b(?:the )?(?P<name>{'|'.join(re.escape(key) for key in names)})(?: (?:bank )?holiday| day)?\b"

    def occurrence(m: re.Match[str], ctx: _Context) -> date | None:
        for each in years:
            day = _holiday_keys(calendar, each).get(m["name"])
            if day is not None and day >= ctx.said_on:
                return day
        return None

    return _Rule("holiday", pattern, occurrence, "day")


@lru_cache(maxsize=64)
def _compiled_holiday_rule(calendar: BusinessCalendar, year: int) -> tuple[re.Pattern[str], _Rule]:
    rule = _holiday_rule(calendar, year)
    return re.compile(_with_modifier(rule), re.ASCII), rule


@lru_cache(maxsize=64)
def _holiday_words(calendar: BusinessCalendar, year: int) -> frozenset[str]:
    """The words of the calendar's holiday names: time words too ("after Diwali" in a country without it)."""
    words = {word for key in _holiday_keys(calendar, year) for word in key.split()}
    return frozenset(words - _NAME_FILLERS)


# --- step 3: the reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """One part of the phrase a rule read: the words (in normal form), the rule, its modifier, the date."""

    words: str
    rule: str
    modifier: str | None
    date: date | None


@dataclass(frozen=True)
class Reading:
    """How a phrase was read. ``date`` is D, or None: then ``unknown`` names the words not understood (empty when
    the phrase names no time at all)."""

    text: str
    normalized: str
    pieces: tuple[Piece, ...] = ()
    ignored: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    date: date | None = None
    rule: str | None = None  # the rule of the piece that gave D (the latest)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "normalized": self.normalized.strip(),
            "used": [
                {
                    "words": piece.words,
                    "rule": piece.rule,
                    "modifier": piece.modifier,
                    "date": piece.date.isoformat() if piece.date else None,
                }
                for piece in self.pieces
            ],
            "ignored": list(self.ignored),
            "unknown": list(self.unknown),
            "rule": self.rule,
            "date": self.date.isoformat() if self.date else None,
            "understood": self.date is not None,
        }


_DIGIT = re.compile(r"\d")
# A relation right after a date, "the Monday after Thanksgiving", "two days before Christmas", "a week from the
# offer": the date is a reference point, not D, so the rule that would read it alone does not apply.
_RELATION_AFTER = re.compile(r" (?:after|before|following|post|from|prior|ahead|since)\b", re.ASCII)


@dataclass(frozen=True)
class _Found:
    """One match of one rule in a phrase: what depends on the words alone, not on the interview's date."""

    rule: int  # the index of its rule in the list :func:`read` searches
    match: re.Match[str]
    modifier: str | None
    words: str


@dataclass(frozen=True)
class _Scan:
    """A phrase matched against the rules without any date: its normal form, every match in search order, and the
    words no rule used. ``found`` is None when a rule matched with a modifier it does not take: whether that
    modifier stays unread then depends on the date (see :func:`_search`), so such a phrase is read afresh."""

    normalized: str
    found: tuple[_Found, ...] | None
    remaining: tuple[str, ...]


def _rules_for(calendar: BusinessCalendar, year: int) -> tuple[list[tuple[re.Pattern[str], _Rule]], re.Pattern | None]:
    """The rules :func:`read` searches in order, and the calendar's holiday pattern among them (third), if any."""
    rules = list(_compiled("rules"))
    if getattr(calendar, "holidays_in", None) is None:
        return rules, None
    holiday = _compiled_holiday_rule(calendar, year)
    rules.insert(2, holiday)
    return rules, holiday[0]


@lru_cache(maxsize=4096)
def _scan(text: str, holiday: re.Pattern[str] | None) -> _Scan:
    """Match every rule against ``text`` (``holiday``: the calendar's holiday pattern, searched third, if any).

    People write the same few phrases again and again ("within a week", "3-5 business days"): the regular
    expressions, the costly part of a reading, run once per phrase and holiday table, not once per interview."""
    normalized = normalize(text)
    remaining = normalized
    rules: list[tuple[re.Pattern[str], _Rule | None]] = list(_compiled("rules"))
    if holiday is not None:
        rules.insert(2, (holiday, None))
    found: list[_Found] = []
    for index, (pattern, rule) in enumerate(rules):
        spans: list[tuple[int, int]] = []
        for m in pattern.finditer(remaining):
            if (rule is None or rule.kind != "fixed") and _RELATION_AFTER.match(normalized, m.end()):
                continue  # its words stay unread: not understood
            if rule is not None and rule.kind == "period" and normalized.startswith(" of ", m.end()):
                continue  # "the week of" something no rule read
            mod = m.groupdict().get("mod")
            if mod and _refused(mod, rule, m):
                return _Scan(normalized, None, ())
            start = m.start() if mod else m.start("body")
            found.append(_Found(index, m, mod, " ".join(remaining[start : m.end()].split())))
            spans.append((start, m.end()))
        for start, end in spans:
            remaining = remaining[:start] + " " * (end - start) + remaining[end:]
    return _Scan(normalized, tuple(found), tuple(remaining.split()))


def _search(
    normalized: str, rules: list[tuple[re.Pattern[str], _Rule]], ctx: _Context, latest: date
) -> tuple[list[Piece], list[str], list[str]]:
    """Every rule's matches with their dates, the words of the pieces not understood, and the words left: the
    reading done in one pass, for a phrase :func:`_scan` cannot split from its date."""
    remaining = normalized
    pieces: list[Piece] = []
    unknown_pieces: list[str] = []
    for pattern, rule in rules:
        spans: list[tuple[int, int]] = []
        for m in pattern.finditer(remaining):
            if rule.kind != "fixed" and _RELATION_AFTER.match(normalized, m.end()):
                continue
            if rule.kind == "period" and normalized.startswith(" of ", m.end()):
                continue
            mod = m.groupdict().get("mod")
            day, mod = _dated(rule, m, mod, ctx, latest)
            start = m.start() if mod else m.start("body")
            words = " ".join(remaining[start : m.end()].split())
            if day is None:
                unknown_pieces.append(words)
            pieces.append(Piece(words, rule.name, mod, day))
            spans.append((start, m.end()))
        for start, end in spans:
            remaining = remaining[:start] + " " * (end - start) + remaining[end:]
    return pieces, unknown_pieces, remaining.split()


def _dated(
    rule: _Rule, m: re.Match[str], mod: str | None, ctx: _Context, latest: date
) -> tuple[date | None, str | None]:
    """The date one match names (None: not a date, or out of range), and the modifier it took (None when the rule
    does not take it: the modifier then stays unread)."""
    try:
        day = rule.function(m, ctx)
        if day is not None and mod:
            day = _modified(mod, rule, m, day, ctx)
            if day is None:  # a modifier this rule does not take: the modifier stays unread
                mod, day = None, rule.function(m, ctx)
    except (ValueError, OverflowError):  # "February 30", year 10000: not a date
        day = None
    if day is not None and not ctx.said_on <= day <= latest:
        day = None
    return day, mod


@dataclass(frozen=True)
class _Record:
    """What a phrase gives apart from its dates, for one holiday table: its normal form, each match (rule index,
    groups, modifier, words) and the words left over, sorted into those that carry time meaning and fillers."""

    normalized: str
    found: tuple[tuple[int, Any, str | None, str], ...]
    unknown: tuple[str, ...]
    ignored: tuple[str, ...]

    def as_json(self) -> list:
        found = [
            [index, m if isinstance(m, dict) else m.groupdict(), mod, words] for index, m, mod, words in self.found
        ]
        return [self.normalized, found, list(self.unknown), list(self.ignored)]


class _Groups(dict):
    """A match's named groups, read back from the phrase book: all that the rules ask of a match."""

    def __getitem__(self, name: str) -> str | None:
        return self.get(name)

    def groupdict(self) -> dict[str, str | None]:
        return self


def _leftover(remaining: Iterable[str], holiday_words: frozenset[str]) -> tuple[list[str], list[str]]:
    """The words no rule used: those that carry time meaning (not understood), and fillers."""
    unknown: list[str] = []
    ignored: list[str] = []
    for word in remaining:
        if _DIGIT.search(word) or word in _TIME_WORDS or word in holiday_words:
            unknown.append(word)
        elif word not in (",", "-", ".", "/"):
            ignored.append(word)
    return unknown, ignored


def _record(text: str, calendar: BusinessCalendar, year: int) -> _Record | None:
    """The phrase's record for the calendar's holiday table of ``year``: from the phrase book, else scanned (and
    added to the book). None when the phrase's reading depends on its date (see :class:`_Scan`)."""
    key = _book_key(text, calendar, year)
    book = _phrase_book()
    if key is not None and key in book.records:
        return book.records[key]
    holiday = _rules_for(calendar, year)[1]
    scan = _scan(text, holiday)
    if scan.found is None:
        return None
    holiday_words = _holiday_words(calendar, year) if holiday is not None else frozenset()
    unknown, ignored = _leftover(scan.remaining, holiday_words)
    found = tuple((f.rule, f.match, f.modifier, f.words) for f in scan.found)
    record = _Record(scan.normalized, found, tuple(unknown), tuple(ignored))
    if key is not None:
        book.add(key, record)
    return record


def _rule_at(index: int, calendar: BusinessCalendar, year: int) -> _Rule:
    """Rule ``index`` of the list :func:`read` searches (the holiday rule third, when the calendar has one)."""
    if getattr(calendar, "holidays_in", None) is None or index < 2:
        return _RULES[index]
    if index == 2:
        return _compiled_holiday_rule(calendar, year)[1]
    return _RULES[index - 1]


def read(text: str, said_on: date, ended_at: datetime, calendar: BusinessCalendar, *, memo: bool = True) -> Reading:
    """How the built-in grammar reads ``text``: D, the pieces used, the words ignored and the words not understood.

    What the words give apart from the dates is remembered per phrase and holiday table, in this process and in the
    phrase book of the cache dir (see :class:`_PhraseBook`); ``memo=False`` reads in one pass as if the phrase had
    never been seen (the same result: the tests check it).

    :param said_on: the interview's local date, which relative phrases count from.
    :param ended_at: the interview's end, timezone-aware, for "within N hours".
    :param calendar: business-day arithmetic for "N business days", the country for "12/4" and holiday names.
    """
    ctx = _Context(said_on, ended_at, calendar)
    try:
        latest = said_on + timedelta(days=MAX_DAYS_AHEAD)
    except OverflowError:
        latest = date.max
    record = _record(text, calendar, said_on.year) if memo else None
    if record is None:  # read in one pass
        rules, holiday = _rules_for(calendar, said_on.year)
        normalized = normalize(text)
        pieces, unknown, remaining = _search(normalized, rules, ctx, latest)
        holiday_words = _holiday_words(calendar, said_on.year) if holiday is not None else frozenset()
        more, ignored = _leftover(remaining, holiday_words)
        unknown.extend(more)
    else:  # the matches are known: only their dates are left to find
        normalized, pieces, unknown, ignored = record.normalized, [], [], list(record.ignored)
        for index, m, modifier, words in record.found:
            rule = _rule_at(index, calendar, said_on.year)
            day, mod = _dated(rule, m, modifier, ctx, latest)
            if day is None:
                unknown.append(words)
            pieces.append(Piece(words, rule.name, mod, day))
        unknown.extend(record.unknown)
    pieces.sort(key=lambda piece: normalized.find(piece.words))
    dated = [piece for piece in pieces if piece.date is not None]
    if unknown or not dated:
        return Reading(text, normalized, tuple(pieces), tuple(ignored), tuple(unknown))
    best = max(dated, key=lambda piece: piece.date)  # type: ignore[arg-type, return-value]
    return Reading(text, normalized, tuple(pieces), tuple(ignored), (), best.date, best.rule)


# --- the phrase book: readings remembered between runs -----------------------------------------------------------

PHRASE_BOOK_SIZE = 20_000  # records kept (the latest); a record is a few hundred bytes


def _book_key(text: str, calendar: BusinessCalendar, year: int) -> str | None:
    """The phrase book's key of a phrase for a calendar's holiday table of ``year``: None for a calendar the book
    cannot name (a plugin's own object), which is then remembered in this process only."""
    from calsync.businessdays import BusinessCalendar

    if type(calendar) is not BusinessCalendar:
        return None
    import json

    return json.dumps([text, calendar.country.upper() if calendar.country else None, calendar.subdivision, year])


class _PhraseBook:
    """Phrase records by key, read from the cache dir on first use and written back by :func:`keep_phrases`.

    People write the same few phrases again and again, and ``calsync sync`` runs every few minutes: with the
    book, a run whose phrases were all read before compiles none of the grammar's regular expressions (the
    largest part of reading a phrase the first time in a process). The book's file is named after what readings
    depend on: this module's and businessdays' sources, the ``holidays`` release, the Python version; any change
    starts a new one."""

    def __init__(self) -> None:
        self.records: dict[str, _Record] = {}
        self.added = False
        self.path = _book_path()
        if self.path is not None:
            self._read()

    def _read(self) -> None:
        import json

        from calsync.files import read_regular

        try:
            raw = json.loads(read_regular(self.path, 64 * 1024 * 1024))  # type: ignore[arg-type]
            for key, (normalized, found, unknown, ignored) in raw.items():
                matches = tuple((int(i), _Groups(groups), mod, words) for i, groups, mod, words in found)
                self.records[key] = _Record(normalized, matches, tuple(unknown), tuple(ignored))
        except (OSError, ValueError, TypeError, AttributeError):  # none yet, or damaged: start afresh
            self.records = {}

    def add(self, key: str, record: _Record) -> None:
        self.records[key] = record
        self.added = True

    def write(self) -> None:
        import json

        from calsync.files import write_cache

        if not self.added or self.path is None:
            return
        records = list(self.records.items())[-PHRASE_BOOK_SIZE:]
        data = json.dumps({key: record.as_json() for key, record in records}, ensure_ascii=False).encode()
        if write_cache(self.path, data, private=True):  # not kept: the phrases are only read again
            self.added = False


def _book_path():  # -> Path | None
    import hashlib
    import os
    import sys

    try:
        from platformdirs import user_cache_path

        from calsync import businessdays, holidaycache

        sources = [os.stat(module.__file__) for module in (sys.modules[__name__], businessdays)]  # type: ignore[arg-type]
        stamps = "\0".join(f"{source.st_mtime_ns}:{source.st_size}" for source in sources)
        basis = f"{sys.version}\0{__file__}\0{stamps}\0{holidaycache.release()}"
        name = hashlib.sha256(basis.encode("utf-8", "surrogateescape")).hexdigest()[:24]
        return user_cache_path("calsync") / "phrases" / f"{name}.json"
    except Exception:  # no usable home or source: remember in this process only
        return None


@cache
def _phrase_book() -> _PhraseBook:
    return _PhraseBook()


def keep_phrases() -> None:
    """Write the phrases read in this run to the phrase book (the CLI calls it after planning)."""
    if _phrase_book.cache_info().currsize:
        _phrase_book().write()


def parse_timeline(text: str, said_on: date, ended_at: datetime, calendar: BusinessCalendar) -> date | None:
    """The decision date D the phrase ``text`` names, or None when this parser does not understand all of it
    (see :func:`read`)."""
    return read(text, said_on, ended_at, calendar).date


def interview_dates(interview: Interview) -> tuple[date, datetime]:
    """What phrases about ``interview`` count from: its local date, and its end in its own zone."""
    return interview.start.astimezone(interview.timezone).date(), interview.end.astimezone(interview.timezone)


def not_understood(text: str, interview: Interview, calendar: BusinessCalendar) -> tuple[str, ...]:
    """The words of ``text`` the built-in grammar did not understand (for the planner's warning)."""
    return read(text, *interview_dates(interview), calendar).unknown


@hookimpl(trylast=True)
def calsync_parse_timeline(text: str, interview: Interview, calendar: BusinessCalendar) -> date | None:
    return parse_timeline(text, *interview_dates(interview), calendar)
