"""Business days: Monday to Friday, less the public holidays of the interview's country."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from calsync.businessdays import BusinessCalendar, calendar_for
from calsync.errors import UserError

THANKSGIVING = date(2026, 11, 26)


def test_weekends_are_not_business_days():
    calendar = BusinessCalendar()
    assert calendar.is_business_day(date(2026, 11, 20))  # Friday
    assert not calendar.is_business_day(date(2026, 11, 21))
    assert not calendar.is_business_day(date(2026, 11, 22))
    assert calendar.is_business_day(date(2026, 11, 23))


def test_public_holidays_of_the_country_are_not_business_days():
    us = calendar_for("US", None)
    assert not us.is_business_day(THANKSGIVING)
    assert us.holiday_name(THANKSGIVING)
    assert calendar_for("GB", None).is_business_day(THANKSGIVING)
    assert not calendar_for("GB", None).is_business_day(date(2026, 12, 28))  # Boxing Day, observed
    assert calendar_for("US", None).is_business_day(date(2026, 12, 28))
    assert not calendar_for("DE", None).is_business_day(date(2028, 10, 3))
    assert not calendar_for("JP", None).is_business_day(date(2026, 11, 23))  # Labour Thanksgiving Day (Mon)


def test_country_codes_are_case_insensitive():
    assert not calendar_for("us", None).is_business_day(THANKSGIVING)


def test_subdivision_holidays():
    # International Women's Day is a holiday in Berlin only.
    assert not calendar_for("DE", "BE").is_business_day(date(2027, 3, 8))
    assert calendar_for("DE", "BY").is_business_day(date(2027, 3, 8))
    assert calendar_for("DE", None).is_business_day(date(2027, 3, 8))


def test_no_country_means_weekdays_only():
    assert calendar_for(None, None).is_business_day(THANKSGIVING)


def test_arithmetic():
    us = calendar_for("US", None)
    assert us.on_or_after(date(2026, 11, 23)) == date(2026, 11, 23)
    assert us.on_or_after(THANKSGIVING) == date(2026, 11, 27)
    assert us.on_or_after(date(2026, 11, 28)) == date(2026, 11, 30)
    assert us.after(date(2026, 11, 25)) == date(2026, 11, 27)
    assert us.after(date(2026, 11, 27)) == date(2026, 11, 30)
    assert us.add(date(2026, 11, 30), 0) == date(2026, 11, 30)
    assert us.add(date(2026, 11, 30), 3) == date(2026, 12, 3)
    assert us.add(date(2026, 11, 24), 3) == date(2026, 11, 30)  # Wed, (Thanksgiving), Fri, Mon
    assert us.add(date(2026, 12, 23), 2) == date(2026, 12, 28)  # Christmas Day on Friday


def test_holidays_of_many_years():
    us = calendar_for("US", None)
    for year in (2020, 2035):
        assert not us.is_business_day(date(year, 7, 4)) or date(year, 7, 4).weekday() >= 5
    assert not us.is_business_day(date(2020, 7, 3))  # July 4th 2020 was a Saturday: observed Friday


@pytest.mark.parametrize(("country", "subdivision"), [("XX", None), ("DE", "ZZ")])
def test_unknown_calendars_are_user_errors(country, subdivision):
    with pytest.raises(UserError, match=country if subdivision is None else subdivision):
        calendar_for(country, subdivision)


def test_every_day_in_a_year_is_either_a_weekday_or_not():
    de = calendar_for("DE", None)
    day = date(2027, 1, 1)
    business = 0
    while day.year == 2027:
        business += de.is_business_day(day)
        day += timedelta(days=1)
    assert 240 < business < 261
