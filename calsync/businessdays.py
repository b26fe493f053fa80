"""Business days: Monday to Friday, less the public holidays of a country (the ``holidays`` package)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from calsync.errors import UserError


class BusinessCalendar:
    """Business-day arithmetic for one country (and optional subdivision); no country means weekdays only.

    :raises UserError: the ``holidays`` package has no calendar for the country or subdivision.
    """

    def __init__(self, country: str | None = None, subdivision: str | None = None) -> None:
        self.country = country
        self.subdivision = subdivision
        self._key = (country.upper(), subdivision) if country else None
        self._years: dict[int, dict[date, str]] = {}  # this calendar's own view of _year_table, for speed
        if self._key is not None:
            _check(*self._key)

    def _year(self, year: int) -> dict[date, str]:
        table = self._years.get(year)
        if table is None:
            table = self._years[year] = _year_table(*self._key, year)  # type: ignore[misc]
        return table

    def is_business_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        return self._key is None or day not in self._year(day.year)

    def holiday_name(self, day: date) -> str | None:
        return self._year(day.year).get(day) if self._key is not None else None

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
        if self._key is None:
            return ()
        return _holidays_of_year(*self._key, year)

    def add(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (``count`` >= 0; 0 gives ``day`` itself)."""
        for _ in range(count):
            day = self.after(day)
        return day


# Every year of every (country, subdivision) this process has read from the cache dir or asked holidays for.
_known: dict[tuple[str, str | None], dict[int, dict[date, str]]] = {}


def _cached(country: str, subdivision: str | None) -> dict[int, dict[date, str]] | None:
    """The years known for the pair (from the cache dir on first ask), or None when it was never checked."""
    key = (country, subdivision)
    if key not in _known:
        from calsync import holidaycache

        found = holidaycache.read(country, subdivision)
        if found is None:
            return None
        _known[key] = found
    return _known[key]


def _check(country: str, subdivision: str | None) -> None:
    """Raise UserError unless holidays has a calendar for the pair (asked once per release: see holidaycache)."""
    if _cached(country, subdivision) is None:
        _holiday_table(country, subdivision)  # raises for an unknown pair
        _known[(country, subdivision)] = {}
        _keep(country, subdivision)


def _keep(country: str, subdivision: str | None) -> None:
    from calsync import holidaycache

    holidaycache.write(country, subdivision, _known[(country, subdivision)])


@lru_cache(maxsize=1024)
def _year_table(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    """The holidays of one year (date -> name, two on one day joined by "; "), from the cache, else the package.

    The package fills in a year with that year's dates only, so a table per year is what its lazily growing
    table holds for those days."""
    years = _cached(country, subdivision)
    if years is None:
        _check(country, subdivision)
        years = _known[(country, subdivision)]
    if year not in years:
        table = _holiday_table(country, subdivision)
        table.get(date(year, 1, 1))  # fills in the year
        years[year] = {day: name for day, name in table.items() if day.year == year}
        _keep(country, subdivision)
    return years[year]


@lru_cache(maxsize=64)
def _holiday_table(country: str, subdivision: str | None):  # -> holidays.HolidayBase
    import holidays  # loaded on first need: most runs read the cache dir instead (see holidaycache)

    try:
        # The table fills in years lazily as they are asked for.
        return holidays.country_holidays(country.upper(), subdiv=subdivision)
    except NotImplementedError as exc:  # holidays says which: "Country XX not available", "... subdivision ZZ"
        raise UserError(
            f"no public-holiday calendar for country={country!r} subdivision={subdivision!r}: {exc}"
        ) from None


@lru_cache(maxsize=256)
def _holidays_of_year(country: str, subdivision: str | None, year: int) -> tuple[tuple[date, str], ...]:
    return tuple(sorted(_year_table(country, subdivision, year).items()))


def calendar_for(country: str | None, subdivision: str | None) -> BusinessCalendar:
    return _calendar(country.upper() if country else None, subdivision)


@lru_cache(maxsize=64)
def _calendar(country: str | None, subdivision: str | None) -> BusinessCalendar:
    return BusinessCalendar(country, subdivision)
