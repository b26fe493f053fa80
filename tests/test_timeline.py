"""The built-in timeline parser (calsync/timeline.py): phrase -> decision date D."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import factories
import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync.businessdays import BusinessCalendar, calendar_for
from calsync.hookspecs import hookimpl
from calsync.plugins import load_plugins, pm
from calsync.timeline import normalize, parse_timeline, read

CHICAGO = ZoneInfo("America/Chicago")
FRIDAY = date(2026, 11, 20)  # the issue's interview: Fri 2026-11-20 14:00-15:00 Chicago, US holidays
FRIDAY_END = datetime(2026, 11, 20, 15, 0, tzinfo=CHICAGO)
US = BusinessCalendar("US")


def d(text: str) -> date:
    return date.fromisoformat(text)


def parse_on(text: str, said_on: date, country: str | None = "US", subdivision: str | None = None) -> date | None:
    """Parse as if said in an interview on ``said_on`` ending at 15:00 Chicago time."""
    ended_at = datetime.combine(said_on, time(15, 0), tzinfo=CHICAGO)
    return parse_timeline(text, said_on, ended_at, BusinessCalendar(country, subdivision))


# Every row is said on Fri 2026-11-20 (US holidays: Thanksgiving is Thu 2026-11-26).
ISSUE_ROWS = [
    ("within a week", "2026-11-27"),
    ("in one week", "2026-11-27"),
    ("in a week", "2026-11-27"),
    ("in two weeks", "2026-12-04"),
    ("a couple of weeks", "2026-12-04"),
    ("in a few days", "2026-11-23"),
    ("3-5 business days", "2026-11-30"),
    ("by Friday", "2026-11-27"),
    ("end of next week", "2026-11-27"),
    ("early next week", "2026-11-24"),
    ("mid next week", "2026-11-25"),
    ("by December 4", "2026-12-04"),
    ("within 48 hours", "2026-11-22"),
    ("by the end of the month", "2026-11-30"),
    ("in ten days", "2026-11-30"),
    ("soon", None),
]

EXTENSION_ROWS = [
    # Spelling, punctuation, embedding.
    ("We'll get back to you within a week, hopefully sooner", "2026-11-27"),
    ("WITHIN A WEEK!", "2026-11-27"),
    ("“In two weeks.”", "2026-12-04"),
    ("in a week’s time", "2026-11-27"),
    ("in a fortnight's time", "2026-12-04"),
    ("a couple weeks", "2026-12-04"),
    ("in twenty days", "2026-12-10"),
    ("within twenty-one days", "2026-12-11"),
    ("forty-eight hours", "2026-11-22"),
    ("48h", "2026-11-22"),
    ("a 48-hour turnaround", "2026-11-22"),
    # Ranges take the upper bound; hedges change nothing.
    ("3–5 business days", "2026-11-30"),
    ("3 to 5 business days", "2026-11-30"),
    ("between 3 and 5 working days", "2026-11-30"),
    ("three or four days", "2026-11-24"),
    ("a week or two", "2026-12-04"),
    ("1-2 weeks", "2026-12-04"),
    ("a day or two", "2026-11-22"),
    ("a week to ten days", "2026-11-30"),
    ("in the next week or two", "2026-12-04"),
    ("about 2 weeks", "2026-12-04"),
    ("roughly two weeks", "2026-12-04"),
    ("approximately 10 days", "2026-11-30"),
    ("around a week", "2026-11-27"),
    ("2 weeks or so", "2026-12-04"),
    ("2 or so weeks", "2026-12-04"),
    ("a week-ish", "2026-11-27"),
    ("tenish days", "2026-11-30"),
    ("two weeks at the most", "2026-12-04"),
    ("a few more days", "2026-11-23"),
    # Units.
    ("3 days", "2026-11-23"),
    ("3 business days", "2026-11-25"),
    ("3 working days", "2026-11-25"),
    ("5 workdays", "2026-11-30"),
    ("5 weekdays", "2026-11-30"),
    ("2 business weeks", "2026-12-04"),  # business weeks are calendar weeks
    ("a fortnight", "2026-12-04"),
    ("a month", "2026-12-20"),
    ("in 3 months", "2027-02-20"),
    ("a week and a half", "2026-12-01"),  # 10.5 days, rounded up
    ("1.5 weeks", "2026-12-01"),
    ("half a day", "2026-11-21"),
    ("within 24 hours", "2026-11-21"),
    ("within 9 hours", "2026-11-21"),  # 15:00 + 9 h = Saturday 00:00
    ("within 8 hours", "2026-11-20"),
    ("the next 10 days", "2026-11-30"),
    ("in the next few days", "2026-11-23"),
    ("within the next week", "2026-11-27"),
    ("within 24 business hours", None),  # ambiguous: not understood
    ("2 weeks ago", None),
    # Weeks (start Monday): start Mon, early Tue, mid Wed, late/end Fri; "this" rolls when not after said_on.
    ("next week", "2026-11-27"),
    ("sometime next week", "2026-11-27"),
    ("start of next week", "2026-11-23"),
    ("late next week", "2026-11-27"),
    ("by the end of the following week", "2026-11-27"),
    ("end of this week", "2026-11-27"),  # said on that Friday: the next one
    ("end of the week", "2026-11-27"),
    ("by the end of the week", "2026-11-27"),
    ("end of the business week", "2026-11-27"),
    ("EOW", "2026-11-27"),
    ("later this week", "2026-11-27"),
    ("midweek next week", "2026-11-25"),
    # Weekdays: the next one strictly after the interview date; "next" does not skip a week.
    ("by Monday", "2026-11-23"),
    ("by next Tuesday", "2026-11-24"),
    ("on Thursday", "2026-11-26"),
    ("by Fri", "2026-11-27"),
    ("this Friday", "2026-11-27"),
    ("Wednesday next week", "2026-11-25"),
    ("next week on Monday", "2026-11-23"),
    # Days.
    ("tomorrow", "2026-11-21"),
    ("the day after tomorrow", "2026-11-22"),
    ("by end of day", "2026-11-20"),
    ("EOD", "2026-11-20"),
    ("today", "2026-11-20"),
    # Months: start 1st, early 10th, mid 15th, late/end last day; a bare "next month" is its end.
    ("early next month", "2026-12-10"),
    ("mid next month", "2026-12-15"),
    ("late next month", "2026-12-31"),
    ("end of next month", "2026-12-31"),
    ("next month", "2026-12-31"),
    ("by the beginning of next month", "2026-12-01"),
    ("by month-end", "2026-11-30"),
    ("EOM", "2026-11-30"),
    ("end of the year", "2026-12-31"),
    ("next year", "2027-12-31"),
    ("early next year", None),
    # Absolute dates; no year and before the interview date means next year.
    ("by Dec 4th", "2026-12-04"),
    ("December 4th", "2026-12-04"),
    ("Dec. 4", "2026-12-04"),
    ("4 December", "2026-12-04"),
    ("the 4th of December", "2026-12-04"),
    ("December the 4th", "2026-12-04"),
    ("December 4, 2026", "2026-12-04"),
    ("12/4", "2026-12-04"),  # month first in the US
    ("12/4/26", "2026-12-04"),
    ("13/12", "2026-12-13"),  # a number over 12 is the day
    ("2026-12-04", "2026-12-04"),
    ("4.12.", "2026-12-04"),
    ("by Jan 5", "2027-01-05"),
    ("November 3", "2027-11-03"),
    ("November 20", "2026-11-20"),  # the interview date itself is not "before"
    ("2025-12-04", None),  # an explicit year in the past
    ("February 30", None),
    ("by the 4th", "2026-12-04"),
    ("by the 25th", "2026-11-25"),
    ("early December", "2026-12-10"),
    ("mid-December", "2026-12-15"),
    ("late December", "2026-12-31"),
    ("end of December", "2026-12-31"),
    ("by the end of January 2027", "2027-01-31"),
    ("in December", "2026-12-31"),
    ("in early March", "2027-03-10"),
    # Weeks of a month: that week's Friday; a week belongs to the month holding its Thursday (ISO 8601).
    ("first week of December", "2026-12-04"),  # Dec 1 is a Tuesday: the week of Nov 30
    ("the first week of December", "2026-12-04"),
    ("by the 1st week of December", "2026-12-04"),
    ("second week of December", "2026-12-11"),
    ("in the third week of December", "2026-12-18"),
    ("fourth week of December", "2026-12-25"),
    ("last week of December", "2027-01-01"),  # Dec 31 is a Thursday: the week of Dec 28
    ("the last week of November", "2026-11-27"),  # Nov 30 is a Monday: the week before
    ("first week of January", "2027-01-08"),  # Jan 1 2027 is a Friday: the week after
    ("the first week of the new year", "2027-01-08"),
    ("first week of November", "2027-11-05"),  # passed: next year's
    ("first week of March 2027", "2027-03-05"),
    ("first week of October 2026", None),  # an explicit year in the past
    ("first week", None),
    # Quarters (calendar): start 1st, early 10th of the first month, mid 15th of the middle one, end/bare last day.
    ("end of Q4", "2026-12-31"),
    ("by the end of Q4", "2026-12-31"),
    ("Q4", "2026-12-31"),
    ("Q1", "2027-03-31"),
    ("in Q1", "2027-03-31"),
    ("early Q1", "2027-01-10"),
    ("mid-Q1", "2027-02-15"),
    ("start of Q2", "2027-04-01"),
    ("Q1 2027", "2027-03-31"),
    ("Q3 2026", None),
    ("in the first quarter", "2027-03-31"),
    ("the 4th quarter", "2026-12-31"),
    ("end of the quarter", "2026-12-31"),
    ("by the end of this quarter", "2026-12-31"),
    ("quarter-end", "2026-12-31"),
    ("EOQ", "2026-12-31"),
    ("this quarter", "2026-12-31"),
    ("early this quarter", "2027-01-10"),  # Oct 10 has passed: rolls over
    ("next quarter", "2027-03-31"),
    ("within the next quarter", "2027-03-31"),
    ("the following quarter", "2027-03-31"),
    ("start of next quarter", "2027-01-01"),
    ("early next quarter", "2027-01-10"),
    ("mid next quarter", "2027-02-15"),
    ("end of next quarter", "2027-03-31"),
    ("last quarter", None),
    # "After X" = the first business day after X: holidays by the name the US table gives them.
    ("after Thanksgiving", "2026-11-27"),  # Thu Nov 26; the Friday after is no federal holiday
    ("after Thanksgiving Day", "2026-11-27"),
    ("post-Thanksgiving", "2026-11-27"),
    ("after Christmas", "2026-12-28"),  # Fri Dec 25
    ("after Labor Day", "2027-09-07"),
    ("after Independence Day", "2027-07-06"),  # Sun Jul 4, observed Mon Jul 5
    ("after Christmas, within two weeks", "2026-12-28"),
    ("after the new year", "2027-01-04"),  # Fri Jan 1
    ("after New Year's", "2027-01-04"),
    ("after New Year's Day", "2027-01-04"),
    ("in the new year", "2027-01-04"),
    ("at the start of the new year", "2027-01-04"),
    ("after the holidays", "2027-01-04"),
    ("after the holiday season", "2027-01-04"),
    ("after the Christmas holidays", "2027-01-04"),
    ("early in the new year", None),  # as "early next year"
    ("after Easter", "2027-03-29"),  # Easter Sunday, Mar 28 2027; Easter Monday is no US holiday
    ("after Juneteenth", "2027-06-21"),  # Sat Jun 19 2027 (table name "Juneteenth National Independence Day")
    ("after the meeting", None),
    ("after the meeting next week", None),  # "after" is left unread: no partial reads
    # Several phrases: the latest wins, whatever the order.
    ("by Friday, at the latest within two weeks", "2026-12-04"),
    ("within two weeks, probably by Friday", "2026-12-04"),
    ("a decision by Monday, offers out early December", "2026-12-10"),
    # Not understood.
    ("several weeks", None),
    ("shortly", None),
    ("ASAP", None),
    ("in the coming weeks", None),
    ("", None),
    ("we will be in touch", None),
]


@pytest.mark.parametrize(("text", "expected"), ISSUE_ROWS + EXTENSION_ROWS, ids=lambda v: str(v))
def test_phrase_said_on_the_issue_friday(text, expected):
    assert parse_timeline(text, FRIDAY, FRIDAY_END, US) == (d(expected) if expected else None)


@pytest.mark.parametrize(
    ("text", "said_on", "country", "expected"),
    [
        # Weeks and weekdays on other days of the week.
        ("end of the week", "2026-11-16", "US", "2026-11-20"),  # Monday: this Friday
        ("end of the week", "2026-11-21", "US", "2026-11-27"),  # Saturday: this Friday has passed
        ("later this week", "2026-11-17", "US", "2026-11-20"),
        ("by Friday", "2026-11-19", "US", "2026-11-20"),
        ("on Monday", "2026-11-23", "US", "2026-11-30"),  # strictly after: not the same day
        ("next Tuesday", "2026-11-16", "US", "2026-11-17"),
        ("Tuesday next week", "2026-11-16", "US", "2026-11-24"),
        ("Thursday this week", "2026-11-16", "US", "2026-11-19"),
        ("Thursday this week", "2026-11-20", "US", "2026-11-26"),  # passed: the next one
        ("next week", "2026-11-22", "US", "2026-11-27"),  # Sunday still belongs to the week of the 16th
        ("early next week", "2026-11-16", "US", "2026-11-24"),
        ("next week", "2026-12-28", "US", "2027-01-08"),
        # Months and years.
        ("by the end of the month", "2026-11-30", "US", "2026-12-31"),  # on its last day: the next month's
        ("end of the month", "2027-01-31", "US", "2027-02-28"),
        ("in a month", "2027-01-31", "US", "2027-02-28"),  # clamped
        ("in one month", "2028-01-31", "US", "2028-02-29"),
        ("in 3 months", "2026-11-30", "US", "2027-02-28"),
        ("end of next month", "2027-01-15", "US", "2027-02-28"),
        ("end of the year", "2026-12-31", "US", "2027-12-31"),
        ("in 3 days", "2026-12-30", "US", "2027-01-02"),
        ("mid December", "2026-12-20", "US", "2027-12-15"),  # before the interview date: next year
        ("end of December", "2026-12-20", "US", "2026-12-31"),
        ("December 4", "2026-12-04", "US", "2026-12-04"),
        ("Feb 29", "2027-01-10", "US", "2028-02-29"),
        ("by the 4th", "2026-12-05", "US", "2027-01-04"),
        ("by the 31st", "2027-02-10", "US", "2027-03-31"),
        # Numeric dates follow the country's habit.
        ("12/4", "2026-11-20", "GB", "2027-04-12"),
        ("4/12", "2026-11-20", "GB", "2026-12-04"),
        ("4/12", "2026-11-20", "US", "2027-04-12"),
        ("12/4", "2026-11-20", None, "2026-12-04"),
        ("4.12.2026", "2026-11-20", "DE", "2026-12-04"),
        # Business days in other countries.
        ("3 business days", "2026-12-24", "US", "2026-12-30"),  # Christmas
        ("3 business days", "2026-12-24", "GB", "2026-12-31"),  # Christmas, Boxing Day observed on Monday
        ("3 business days", "2026-12-24", "DE", "2026-12-30"),
        ("2 business days", "2027-03-25", "US", "2027-03-29"),  # Good Friday is no US federal holiday
        ("2 business days", "2027-03-25", "GB", "2027-03-30"),  # Good Friday
        ("2 business days", "2027-03-25", "DE", "2027-03-31"),  # Good Friday, Easter Monday
        ("5 business days", "2026-11-25", None, "2026-12-02"),  # no country: weekdays only
        ("5 business days", "2026-11-25", "US", "2026-12-03"),  # Thanksgiving
        ("a week", "2026-12-24", "GB", "2026-12-31"),  # calendar days ignore holidays
        # Weeks of a month.
        ("first week of October", "2026-09-15", "US", "2026-10-02"),  # Oct 1 is a Thursday: its week
        ("first week of May", "2026-04-10", "GB", "2026-05-08"),  # May 1 is a Friday: the week after
        ("last week of April", "2027-03-25", "GB", "2027-04-30"),
        ("first week of December", "2026-12-04", "US", "2026-12-04"),  # on its Friday: that day
        # Quarters.
        ("end of the quarter", "2027-03-31", "US", "2027-06-30"),  # on its last day: the next one's
        ("Q1", "2027-03-31", "GB", "2027-03-31"),  # an absolute quarter may be the interview date
        ("mid quarter", "2027-02-14", "DE", "2027-02-15"),
        ("next quarter", "2027-12-31", None, "2028-03-31"),
        # After a holiday, in other countries.
        ("after Boxing Day", "2026-12-01", "GB", "2026-12-29"),  # Sat Dec 26, observed Mon Dec 28
        ("after Christmas", "2026-12-01", "GB", "2026-12-29"),
        ("after Good Friday", "2027-03-01", "GB", "2027-03-29"),  # Mar 26, read whole, not as "Friday"
        ("after May Day", "2027-03-01", "GB", "2027-05-04"),
        ("after May", "2027-03-01", "GB", None),  # a month name is never a holiday's short name
        ("after Christmas", "2026-12-01", "DE", "2026-12-28"),  # Second Day of Christmas, then the weekend
        ("after Christmas", "2026-12-01", None, "2026-12-28"),  # no holiday table: Christmas is Dec 25 still
        ("after Christmas", "2026-12-25", "US", "2026-12-28"),  # said on the day
        ("after Christmas", "2026-12-27", "US", "2027-12-27"),  # passed: next year's
        ("after the holidays", "2026-12-01", "GB", "2027-01-04"),
        ("after the holidays", "2026-06-20", "US", None),  # summer: which holidays?
        ("after the new year", "2025-11-20", None, "2026-01-02"),  # no country: Jan 1, then weekdays
        ("after the new year", "2027-01-01", "US", "2027-01-04"),  # said on Jan 1: this one
    ],
)
def test_phrase_said_on_other_days_and_countries(text, said_on, country, expected):
    assert parse_on(text, d(said_on), country) == (d(expected) if expected else None)


def test_business_days_with_a_subdivision():
    # Easter Monday is a bank holiday in England, not in the GB-wide table.
    assert parse_on("2 business days", d("2027-03-25"), "GB", "ENG") == d("2027-03-31")


@pytest.mark.parametrize(
    ("ended_at", "expected"),
    [
        # Fall back (Sun 2026-11-01): 48 elapsed hours end at 23:30 CST, not 00:30 the next day.
        (datetime(2026, 10, 31, 0, 30, tzinfo=CHICAGO), "2026-11-01"),
        # Spring forward (Sun 2027-03-14): 48 elapsed hours end at 00:30 CDT the next day.
        (datetime(2027, 3, 12, 23, 30, tzinfo=CHICAGO), "2027-03-15"),
    ],
)
def test_hours_count_elapsed_time_across_dst(ended_at, expected):
    said_on = ended_at.date()
    assert parse_timeline("within 48 hours", said_on, ended_at, US) == d(expected)


def test_hours_count_from_the_end_in_the_interviews_zone():
    # Given in UTC, the end is converted back to its own zone for the date.
    ended_at = datetime(2026, 11, 21, 5, 0, tzinfo=UTC).astimezone(CHICAGO)  # 23:00 Chicago on the 20th
    assert parse_timeline("within 2 hours", FRIDAY, ended_at, US) == d("2026-11-21")


def test_normalize_is_canonical():
    assert normalize("About “3–5” Business-Days, or so!").split() == ["5", "business", "days", ","]
    assert normalize("a week or two").split() == ["2", "week"]


# --- through the plugin hook ----------------------------------------------------------------------------------


def test_hook_uses_the_interviews_local_dates():
    load_plugins()
    interview = factories.interview()
    result = pm.hook.calsync_parse_timeline(text="3-5 business days", interview=interview, calendar=US)
    assert result == d("2026-11-30")
    # Start and end given in UTC: still the Chicago date (Fri 21:00-22:00 there, Sat in UTC).
    late = factories.interview(
        start=datetime(2026, 11, 21, 3, 0, tzinfo=UTC), end=datetime(2026, 11, 21, 4, 0, tzinfo=UTC)
    )
    assert pm.hook.calsync_parse_timeline(text="by Friday", interview=late, calendar=US) == d("2026-11-27")
    assert pm.hook.calsync_parse_timeline(text="soon", interview=late, calendar=US) is None


def test_a_plugin_overrides_the_built_in_parser():
    load_plugins()

    class Override:
        @hookimpl
        def calsync_parse_timeline(self, text):
            if "bientôt" in text:
                return date(2030, 1, 1)
            return None  # falls through to the built-in parser

    plugin = Override()
    pm.register(plugin, "test-timeline-override")
    try:
        interview = factories.interview()
        assert pm.hook.calsync_parse_timeline(text="bientôt", interview=interview, calendar=US) == d("2030-01-01")
        assert pm.hook.calsync_parse_timeline(text="in a week", interview=interview, calendar=US) == d("2026-11-27")
    finally:
        pm.unregister(plugin)
    assert pm.hook.calsync_parse_timeline(text="bientôt", interview=factories.interview(), calendar=US) is None


# --- properties -----------------------------------------------------------------------------------------------

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
         "twenty"]  # fmt: skip
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
countries = st.sampled_from(["US", "GB", "DE", None])


@st.composite
def numbers(draw, max_value: int):
    """A number and how it is written: digits, or a word up to twenty."""
    n = draw(st.integers(0, max_value))
    spelled = WORDS[n] if n < len(WORDS) and draw(st.booleans()) else str(n)
    return n, spelled


def ended(said_on: date) -> datetime:
    return datetime.combine(said_on, time(15, 0), tzinfo=CHICAGO)


@given(said_on=dates, number=numbers(1000))
def test_in_n_days_is_calendar_arithmetic(said_on, number):
    n, spelled = number
    assert parse_timeline(f"in {spelled} days", said_on, ended(said_on), US) == said_on + timedelta(days=n)


@given(said_on=dates, number=numbers(150))
def test_within_n_weeks_is_seven_days_each(said_on, number):
    n, spelled = number
    assert parse_timeline(f"within {spelled} weeks", said_on, ended(said_on), US) == said_on + timedelta(weeks=n)


@given(said_on=dates, number=numbers(40), country=countries)
def test_n_business_days_is_the_calendars_arithmetic(said_on, number, country):
    n, spelled = number
    calendar = calendar_for(country, None)
    assert parse_timeline(f"{spelled} business days", said_on, ended(said_on), calendar) == calendar.add(said_on, n)


PHRASES = ["in {n} days", "within {n} weeks", "{n} business days", "{n} months", "within {n} hours", "by Friday",
           "end of next week", "early next week", "end of the week", "by the end of the month", "December 4",
           "by the 4th", "next week", "12/4", "tomorrow", "mid-January", "end of next month",
           "the first week of March", "last week of December", "end of the quarter", "Q1", "early next quarter",
           "after the new year"]  # fmt: skip


@given(said_on=dates, template=st.sampled_from(PHRASES), n=st.integers(0, 60), country=countries)
def test_never_before_the_interview_date(said_on, template, n, country):
    result = parse_timeline(template.format(n=n), said_on, ended(said_on), calendar_for(country, None))
    assert result is not None
    assert result >= said_on


@given(
    said_on=dates,
    bounds=st.tuples(st.integers(0, 30), st.integers(0, 30)).map(sorted),
    separator=st.sampled_from(["-", "–", " - ", " to ", " or "]),
    unit=st.sampled_from(["days", "business days", "working days", "weeks", "months"]),
)
def test_a_range_gives_its_upper_bound(said_on, bounds, separator, unit):
    low, high = bounds
    ranged = parse_timeline(f"{low}{separator}{high} {unit}", said_on, ended(said_on), US)
    assert ranged == parse_timeline(f"{high} {unit}", said_on, ended(said_on), US)


@given(
    said_on=dates,
    template=st.sampled_from(PHRASES),
    n=st.integers(0, 60),
    before=st.sampled_from(["", "Thanks! ", "They said: ", "Great chat. We'll get back to you "]),
    after=st.sampled_from(["", " - we'll see", ", hopefully sooner.", "!"]),
)
def test_filler_around_the_phrase_changes_nothing(said_on, template, n, before, after):
    phrase = template.format(n=n)
    alone = parse_timeline(phrase, said_on, ended(said_on), US)
    assert parse_timeline(f"{before}{phrase}{after}", said_on, ended(said_on), US) == alone


@given(said_on=dates, nth=st.sampled_from(["first", "second", "third", "fourth", "last"]), month=st.integers(1, 12))
def test_a_week_of_a_month_is_the_friday_after_its_thursday(said_on, nth, month):
    name = date(2000, month, 1).strftime("%B")
    result = parse_timeline(f"the {nth} week of {name}", said_on, ended(said_on), US)
    assert result is not None
    assert result >= said_on
    assert result.weekday() == 4
    thursday = result - timedelta(days=1)
    assert thursday.month == month
    if nth == "last":
        assert (thursday + timedelta(days=7)).month != month
    else:
        assert (thursday.day - 1) // 7 == ["first", "second", "third", "fourth"].index(nth)


@given(said_on=dates, country=countries)
def test_end_of_the_quarter_is_the_next_quarter_end(said_on, country):
    result = parse_timeline("by the end of the quarter", said_on, ended(said_on), calendar_for(country, None))
    assert result is not None
    assert said_on < result <= said_on + timedelta(days=92)
    assert result.month % 3 == 0
    assert (result + timedelta(days=1)).day == 1


VOCABULARY = ["in", "within", "a", "the", "of", "next", "this", "end", "early", "mid", "late", "week", "weeks",
              "day", "days", "business", "month", "months", "hours", "fortnight", "friday", "monday", "december",
              "dec", "4th", "12/4", "4.12.", "2026-12-04", "3-5", "or", "to", "and", "half", "couple", "few",
              "-", "1.5", "99999999999999999999", "0", "31", "ish", "ago", "tomorrow", "by", "’", "!", "q4",
              "quarter", "first", "last", "after", "thanksgiving", "christmas", "new", "year", "holidays",
              "good"]  # fmt: skip


@given(said_on=dates, text=st.text(max_size=200) | st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join))
def test_garbage_never_raises(said_on, text):
    result = parse_timeline(text, said_on, ended(said_on), US)
    assert result is None or (isinstance(result, date) and result >= said_on)


# --- no partial reads -------------------------------------------------------------------------------------------

# Words that carry time meaning the grammar does not understand: a phrase holding one is never read in part.
UNKNOWN_TIME_WORDS = ["several", "soon", "shortly", "ASAP", "eventually", "spring", "summer", "winter", "decade",
                      "semester", "overnight", "previous", "past", "ago", "since", "least", "longer",
                      "while", "earliest", "yesterday", "biweekly",
                      "quarterly", "recess", "break", "vacation", "Hanukkah", "Ramadan", "Passover", "Halloween",
                      "not", "than", "imminently", "fortnightly", "someday", "whenever", "lately", "meanwhile",
                      "afterwards", "thereafter", "postponed", "trimester", "Kwanzaa", "Lent"]  # fmt: skip


def _understood_corpus_rows():
    from test_timeline_corpus import corpus

    return [row for row in corpus() if row.expected is not None]


@given(
    row=st.sampled_from(_understood_corpus_rows()),
    word=st.sampled_from(UNKNOWN_TIME_WORDS),
    position=st.integers(0, 40),
)
def test_an_unknown_time_word_never_gives_an_earlier_date(row, word, position):
    said_on, ended_at = row.start.date(), row.start + timedelta(hours=1)
    calendar = calendar_for(row.country, None)
    words = row.phrase.split()
    base = parse_timeline(row.phrase, said_on, ended_at, calendar)
    words.insert(position % (len(words) + 1), word)
    changed = parse_timeline(" ".join(words), said_on, ended_at, calendar)
    assert changed is None or base is None or changed >= base


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("within a week, maybe longer", ["longer"]),
        ("after the board meeting", ["after"]),
        ("several weeks", ["several", "weeks"]),
        ("at least two weeks", ["least"]),
        ("2 weeks ago", ["2", "weeks", "ago"]),
        ("before next week", ["before"]),
        ("February 30", ["february 30"]),
    ],
)
def test_a_half_read_phrase_gives_no_date_and_names_the_words(text, unknown):
    reading = read(text, FRIDAY, FRIDAY_END, US)
    assert reading.date is None
    assert list(reading.unknown) == unknown


@pytest.mark.parametrize(
    "text", ["We'll get back to you", "hopefully", "the team will reach a decision", "get back to you"]
)
def test_fillers_alone_name_no_date_and_no_unknown_word(text):
    reading = read(text, FRIDAY, FRIDAY_END, US)
    assert reading.date is None
    assert reading.unknown == ()


def test_several_bounds_the_latest_wins_however_joined():
    for text in ["a week, maybe two", "a week maybe two", "a week or two", "a week - two", "1-2 weeks",
                 "within a week, two weeks at the latest", "a week to two weeks"]:  # fmt: skip
        assert parse_timeline(text, FRIDAY, FRIDAY_END, US) == d("2026-12-04"), text


# --- holidays per country ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "easter_sunday", "after", "before"),
    [
        # Easter 2027 is Mar 28; Good Friday Mar 26; Easter Monday Mar 29 where it is a public holiday.
        ("US", "2027-03-28", "2027-03-29", "2027-03-26"),  # neither is a federal holiday
        ("GB", "2027-03-28", "2027-03-29", "2027-03-25"),  # Good Friday only, in the GB-wide table
        ("DE", "2027-03-28", "2027-03-30", "2027-03-25"),
        ("FR", "2027-03-28", "2027-03-30", "2027-03-26"),  # Easter Monday only
        ("IN", "2027-03-28", "2027-03-29", "2027-03-25"),  # Good Friday only
        ("AU", "2027-03-28", "2027-03-30", "2027-03-25"),
        (None, "2027-03-28", "2027-03-29", "2027-03-26"),
    ],
)
def test_easter_is_easter_sunday_whatever_the_table_lists(country, easter_sunday, after, before):
    said_on = d("2027-01-10")
    assert parse_on("by Easter", said_on, country) == d(easter_sunday)
    assert parse_on("after Easter", said_on, country) == d(after)
    assert parse_on("before Easter", said_on, country) == d(before)


def test_orthodox_easter_comes_from_the_countrys_table():
    # Greece keeps Orthodox Easter: May 2 2027 (Easter Monday May 3 in its table).
    assert parse_on("by Easter", d("2027-01-10"), "GR") == d("2027-05-02")


@pytest.mark.parametrize(
    ("text", "said_on", "country", "expected"),
    [
        # An observed day counts as the holiday's: "before" skips it, "after" too (it is no business day).
        ("before Independence Day", "2026-06-01", "US", "2026-07-02"),  # Sat Jul 4, observed Fri Jul 3
        ("after Independence Day", "2026-06-01", "US", "2026-07-06"),
        ("by Independence Day", "2026-06-01", "US", "2026-07-04"),  # the day itself, not the observed one
        ("after Boxing Day", "2026-12-01", "GB", "2026-12-29"),  # Sat Dec 26, observed Mon Dec 28
        ("after Christmas", "2027-12-01", "GB", "2027-12-29"),  # Sat 25 and Sun 26, observed Mon 27, Tue 28
        ("after Christmas", "2027-12-01", "US", "2027-12-27"),  # Sat Dec 25, observed Fri Dec 24
        ("before Christmas", "2027-12-01", "US", "2027-12-23"),
        ("after Juneteenth", "2027-06-01", "US", "2027-06-21"),
        ("after Australia Day", "2026-12-01", "AU", "2027-01-27"),
        ("after Diwali", "2026-10-01", "IN", "2026-11-09"),
        ("after Bastille Day", "2026-07-01", "FR", "2026-07-15"),
        ("after Whit Monday", "2027-04-01", "DE", "2027-05-18"),
        ("after Anzac Day", "2027-01-01", "AU", "2027-04-26"),
        ("after Diwali", "2026-10-01", "US", None),  # no such holiday in the US table: not understood
    ],
)
def test_holidays_and_observed_days(text, said_on, country, expected):
    assert parse_on(text, d(said_on), country) == (d(expected) if expected else None)


def test_holiday_tables_are_built_once_per_country_and_year():
    from calsync.businessdays import _holidays_of_year

    calendar = calendar_for("FR", None)
    parse_on("after Bastille Day", d("2026-07-01"), "FR")
    before = _holidays_of_year.cache_info().misses
    for day in range(1, 28):
        parse_timeline("after Bastille Day", date(2026, 7, day), ended(date(2026, 7, day)), calendar)
    assert _holidays_of_year.cache_info().misses == before


def test_the_planner_assumes_d_for_a_half_read_phrase_and_names_the_words():
    from calsync.planner import plan

    result = plan([factories.interview(timeline="within ten days, maybe longer")])
    check_in = next(f for f in result.followups if f.kind.value == "check_in")
    assert check_in.assumed
    assert check_in.deadline == d("2026-11-27")  # the interview + 7 days, not the 10 days half read
    assert len(result.warnings) == 1
    assert "'longer'" in result.warnings[0]
    assert "2026-11-27" in result.warnings[0]


# --- modifiers: after / before / the week of -----------------------------------------------------------------


@given(said_on=dates, target=st.dates(min_value=date(2020, 1, 1), max_value=date(2036, 12, 31)), country=countries)
def test_after_before_and_the_week_of_a_date(said_on, target, country):
    calendar = calendar_for(country, None)
    name = f"{target:%B} {target.day}, {target.year}"
    plain = parse_timeline(name, said_on, ended(said_on), calendar)
    after = parse_timeline(f"after {name}", said_on, ended(said_on), calendar)
    before = parse_timeline(f"before {name}", said_on, ended(said_on), calendar)
    week = parse_timeline(f"the week of {name}", said_on, ended(said_on), calendar)
    if plain is None:  # in the past: nothing built on it is understood either
        assert after is None and before is None
        return
    assert after == calendar.after(target) and after > target
    if before is not None:
        assert before < target and calendar.is_business_day(before) and before >= said_on
        assert all(not calendar.is_business_day(day) for day in _days_between(before, target))
    if week is not None:
        assert week.isocalendar()[:2] == target.isocalendar()[:2] and week.weekday() <= 4


def _days_between(first: date, last: date):
    return [first + timedelta(days=n) for n in range(1, (last - first).days)]


@given(row=st.sampled_from(_understood_corpus_rows()), ending=st.sampled_from(["", ".", "!", "?", " :)", "…"]))
def test_casing_and_a_final_punctuation_change_nothing(row, ending):
    said_on, ended_at = row.start.date(), row.start + timedelta(hours=1)
    calendar = calendar_for(row.country, None)
    base = parse_timeline(row.phrase, said_on, ended_at, calendar)
    for variant in (row.phrase.upper(), row.phrase.lower(), row.phrase.title()):
        assert parse_timeline(variant + ending, said_on, ended_at, calendar) == base, variant + ending
