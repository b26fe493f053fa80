"""Business days: Monday to Friday, less the public holidays of a country (the ``holidays`` package)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from calsync.errors import UserError


class BusinessCalendar:
    """Business-day arithmetic for one country (and optional subdivision); no country means weekdays only."""

    def __init__(self, country: str | None = None, subdivision: str | None = None) -> None:
        self.country = country
        self.subdivision = subdivision
        self._holidays = _holiday_table(country, subdivision) if country else None

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        return self._holidays is None or day not in self._holidays

    def holiday_name(self, day: date) -> str | None:
        return self._holidays.get(day) if self._holidays is not None else None

    def on_or_after(self, day: date) -> date:
        """The first business day on or after ``day``."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def after(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        return self.on_or_after(day + timedelta(days=1))

    def before(self, day: date) -> date:
        """The last business day strictly before ``day``."""
        day -= timedelta(days=1)
        while not self.is_business_day(day):
            day -= timedelta(days=1)
        return day

    def holidays_in(self, year: int) -> tuple[tuple[date, str], ...]:
        """The public holidays of ``year``, (date, name) in date order; one table per country and year, cached."""
        if self.country is None:
            return ()
        return _holidays_of_year(self.country.upper(), self.subdivision, year)

    def add(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``count`` >= 0; 0 gives ``day`` itself)."""
        for _ in range(count):
            day = self.after(day)
        return day


@lru_cache(maxsize=64)
def _holiday_table(country: str, subdivision: str | None):  # -> holidays.HolidayBase
    import holidays  # loaded on first use: the CLI's --help must not pay for it

    try:
        # The table fills in years lazily as they are asked for.
        return holidays.country_holidays(country.upper(), subdiv=subdivision)
    except NotImplementedError as exc:  # holidays says which: "Country XX not available", "... subdivision ZZ"
        raise UserError(
            f"no public-holiday calendar for country={country!r} subdivision={subdivision!r}: {exc}"
        ) from None


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    table = _holiday_table(country, subdivision)
    table.get(date(year, 1, 1))  # fills in the year
    return tuple(sorted((day, name) for day, name in table.items() if day.year == year))


def calendar_for(country: str | None, subdivision: str | None) -> BusinessCalendar:
    return _calendar(country.upper() if country else None, subdivision)


@lru_cache(maxsize=64)
def _calendar(country: str | None, subdivision: str | None) -> BusinessCalendar:
    return BusinessCalendar(country, subdivision)
