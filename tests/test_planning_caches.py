"""What planning remembers gives what it would compute afresh.

Planning 10,000 follow-ups reads the same few timeline phrases thousands of times, asks the same holiday tables,
checks the same file; each of those is remembered (per phrase, per country and year, in the cache dir between runs).
These properties compare every remembered answer with the one computed from scratch, over random phrases, dates,
countries and files: a cache may only ever be faster, never different.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from importlib.metadata import entry_points as metadata_entry_points
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync import businessdays, holidaycache, timeline, tomlfile
from calsync.businessdays import calendar_for
from calsync.entrypoints import entry_points
from calsync.errors import InputError, UserError

ZONE = ZoneInfo("America/Chicago")
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "AU", None]
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2034, 12, 31))
# Words every rule of the grammar reads, modifiers and holiday names among them, and words it does not.
WORDS = ["in", "within", "a", "the", "of", "next", "this", "end", "early", "mid", "late", "week", "weeks", "day",
         "days", "business", "working", "month", "months", "hours", "fortnight", "friday", "monday", "tuesday",
         "december", "march", "dec", "4th", "15th", "12/4", "4.12.", "2027-03-04", "3-5", "or", "to", "and", "half",
         "couple", "few", "-", ",", "1.5", "0", "2", "10", "31", "ish", "ago", "tomorrow", "today", "by", "after",
         "before", "prior", "until", "no", "later", "than", "following", "q1", "q4", "quarter", "year", "first",
         "last", "thanksgiving", "christmas", "easter", "boxing", "labor", "new", "years", "holidays", "good",
         "weekend", "from", "now", "at", "5pm", "maybe", "hopefully", "we'll", "get", "back", "soon"]  # fmt: skip
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)


def ended(day: date) -> datetime:
    return datetime.combine(day, time(15), tzinfo=ZONE)


@given(text=phrases, first=dates, then=dates, country=st.sampled_from(COUNTRIES))
def test_a_remembered_phrase_reads_as_a_fresh_one(text, first, then, country):
    calendar = calendar_for(country, None)
    timeline.read(text, first, ended(first), calendar)  # remembered now, read on another day
    remembered = timeline.read(text, then, ended(then), calendar)
    assert remembered == timeline.read(text, then, ended(then), calendar, memo=False)


@given(text=phrases, day=dates, countries=st.lists(st.sampled_from(COUNTRIES), min_size=2, max_size=3))
def test_a_phrase_remembered_for_one_country_reads_right_in_another(text, day, countries):
    for country in countries:
        calendar = calendar_for(country, None)
        assert timeline.read(text, day, ended(day), calendar) == timeline.read(
            text, day, ended(day), calendar, memo=False
        )


@given(year=st.integers(2000, 2040), country=st.sampled_from(["US", "GB", "DE", "JP", "IN"]))
def test_a_year_from_the_cache_dir_is_the_holidays_packages_year(tmp_path_factory, module_holiday_cache, year, country):
    import holidays

    fresh = holidays.country_holidays(country)
    fresh.get(date(year, 1, 1))
    expected = {day: name for day, name in fresh.items() if day.year == year}
    forget_holidays()
    assert businessdays._year_table(country, None, year) == expected  # computed, and written to the cache dir
    forget_holidays()
    assert holidaycache.read(country, None) is not None
    assert businessdays._year_table(country, None, year) == expected  # read back from it


def forget_holidays() -> None:
    """This process forgets every holiday table (the cache dir keeps them), as a new run would start."""
    businessdays._known.clear()
    businessdays._year_table.cache_clear()
    businessdays._holidays_of_year.cache_clear()
    businessdays._calendar.cache_clear()


@contextlib.contextmanager
def holiday_cache_in(folder: Path) -> Iterator[None]:
    """The holiday cache in ``folder`` (the process forgetting what it knew before and after)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(folder))
        holidaycache.folder.cache_clear()
        forget_holidays()
        try:
            yield
        finally:
            holidaycache.folder.cache_clear()
            forget_holidays()


@pytest.fixture(scope="module")
def module_holiday_cache(tmp_path_factory):
    """The holiday cache in a folder of this module's own, emptied first."""
    with holiday_cache_in(tmp_path_factory.mktemp("cache")):
        yield


@pytest.fixture
def holiday_cache(tmp_path):
    """The holiday cache in this test's own folder."""
    with holiday_cache_in(tmp_path):
        yield


def test_a_damaged_cache_file_is_asked_again(holiday_cache):
    expected = dict(businessdays._year_table("US", None, 2027))
    (cached,) = holidaycache.folder().glob("*.txt")
    cached.write_text(cached.read_text()[:-40])  # cut off in the middle of a line
    forget_holidays()
    assert holidaycache.read("US", None) is None
    assert businessdays._year_table("US", None, 2027) == expected
    assert not calendar_for("US", None).is_business_day(date(2027, 11, 25))  # Thanksgiving


def test_an_unknown_country_is_refused_whatever_is_cached(holiday_cache):
    for _ in range(2):
        with pytest.raises(UserError, match="no public-holiday calendar"):
            calendar_for("XX", None)


# --- the file's shape check -------------------------------------------------------------------------------------

PIECES = ["[", "]", "{", "}", ".", "a", "a.b", "=", " ", "\n", '"', "'", '"""', "'''", "#", "x = 1\n", "[[t]]\n",
          '"[["', "'}}'", "# [[[\n", "\\", "1.5", "\t"]  # fmt: skip


@given(parts=st.lists(st.sampled_from(PIECES), max_size=60), repeat=st.integers(1, 40))
def test_the_quick_shape_check_refuses_what_the_careful_one_refuses(parts, repeat):
    text = "".join(part * (repeat if part in "[{." else 1) for part in parts)
    outcomes = []
    for check in (tomlfile.check_shape, tomlfile._check_shape_by_line):
        try:
            check(text, None)
            outcomes.append(None)
        except InputError as exc:
            outcomes.append((exc.message, exc.line))
    assert outcomes[0] == outcomes[1]


# --- entry points ---------------------------------------------------------------------------------------------


def test_the_remembered_entry_points_are_the_installed_ones():
    listed = entry_points("calsync")
    again = entry_points("calsync")  # from the cache dir now
    expected = [(ep.name, ep.value, ep.dist.name, ep.dist.version) for ep in metadata_entry_points(group="calsync")]
    for found in (listed, again):
        assert [(ep.name, ep.value, ep.distribution, ep.version) for ep in found] == expected
    assert [ep.load() for ep in again] == [ep.load() for ep in metadata_entry_points(group="calsync")]


def test_a_new_plugin_on_the_path_is_seen_at_once(tmp_path):
    """A distribution installed after the list was remembered: the next run lists it (its folder changed)."""
    code = "from calsync.entrypoints import entry_points; print(sorted(ep.name for ep in entry_points('calsync')))"
    site = tmp_path / "site"
    site.mkdir()
    env = {"PYTHONPATH": str(site), "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    before = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    info = site / "calsync_extra-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: calsync-extra\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[calsync]\nextra = calsync_extra\n")
    after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "'extra'" not in before.stdout and "'extra'" in after.stdout


# --- the phrase book ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def phrase_book(tmp_path_factory):
    """The phrase book in a folder of this module's own."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("phrases")))
    timeline._phrase_book.cache_clear()
    yield
    mp.undo()
    timeline._phrase_book.cache_clear()


def a_new_run() -> None:
    """This process forgets every phrase it read: only the phrase book in the cache dir remembers them."""
    timeline._phrase_book.cache_clear()
    timeline._scan.cache_clear()


@given(text=phrases, first=dates, later=st.integers(0, 364), country=st.sampled_from(COUNTRIES))
def test_a_phrase_from_the_phrase_book_reads_as_a_fresh_one(phrase_book, text, first, later, country):
    then = min(first + timedelta(days=later), date(first.year, 12, 31))  # the same year: the same holiday table
    calendar = calendar_for(country, None)
    timeline.read(text, first, ended(first), calendar)
    timeline.keep_phrases()
    a_new_run()
    assert timeline.read(text, then, ended(then), calendar) == timeline.read(
        text, then, ended(then), calendar, memo=False
    )


def test_a_damaged_phrase_book_is_started_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a_new_run()
    try:
        calendar, day = calendar_for("US", None), date(2027, 3, 3)
        expected = timeline.read("in two weeks", day, ended(day), calendar, memo=False)
        assert timeline.read("in two weeks", day, ended(day), calendar) == expected
        timeline.keep_phrases()
        (book,) = (tmp_path / "calsync" / "phrases").glob("*.json")
        book.write_text(book.read_text()[:-30])
        a_new_run()
        assert timeline.read("in two weeks", day, ended(day), calendar) == expected
        assert timeline.read("in 2 weeks", day, ended(day), calendar).date == date(2027, 3, 17)
    finally:
        a_new_run()
