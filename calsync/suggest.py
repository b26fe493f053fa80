"""'Did you mean …?' for what people mistype: field names, time zones, countries (difflib, like click's commands).

Each function returns a short hint to append to an error message (" (did you mean 'Europe/Berlin'?)") or "".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import cache

# Abbreviations people write for a zone. Ambiguous ones (IST: India, Ireland or Israel; CST: US Central or China)
# take the reading most people mean and name the other in the hint.
ZONE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "PST": ("America/Los_Angeles",), "PDT": ("America/Los_Angeles",), "PT": ("America/Los_Angeles",),
    "MST": ("America/Denver", "America/Phoenix"), "MDT": ("America/Denver",), "MT": ("America/Denver",),
    "CST": ("America/Chicago", "Asia/Shanghai"), "CDT": ("America/Chicago",), "CT": ("America/Chicago",),
    "EST": ("America/New_York",), "EDT": ("America/New_York",), "ET": ("America/New_York",),
    "AKST": ("America/Anchorage",), "HST": ("Pacific/Honolulu",), "AST": ("America/Halifax",),
    "NST": ("America/St_Johns",),
    "GMT": ("Europe/London", "UTC"), "BST": ("Europe/London",), "UK": ("Europe/London",), "WET": ("Europe/Lisbon",),
    "CET": ("Europe/Paris", "Europe/Berlin"), "CEST": ("Europe/Paris", "Europe/Berlin"),
    "EET": ("Europe/Athens", "Europe/Helsinki"), "EEST": ("Europe/Athens",), "MSK": ("Europe/Moscow",),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"), "PKT": ("Asia/Karachi",),
    "SGT": ("Asia/Singapore",), "HKT": ("Asia/Hong_Kong",), "JST": ("Asia/Tokyo",), "KST": ("Asia/Seoul",),
    "AEST": ("Australia/Sydney",), "AEDT": ("Australia/Sydney",), "ACST": ("Australia/Adelaide",),
    "AWST": ("Australia/Perth",), "NZST": ("Pacific/Auckland",), "NZDT": ("Pacific/Auckland",),
    "BRT": ("America/Sao_Paulo",), "ART": ("America/Argentina/Buenos_Aires",),
}  # fmt: skip


def did_you_mean(candidates: Iterable[str]) -> str:
    found = list(dict.fromkeys(candidates))
    return f" (did you mean {' or '.join(repr(c) for c in found)}?)" if found else ""


def closest(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The choices closest to ``word``, ignoring case."""
    by_lower = {choice.lower(): choice for choice in choices}
    return [by_lower[m] for m in difflib.get_close_matches(word.lower(), list(by_lower), n=n, cutoff=cutoff)]


def field_hint(key: str, known: Iterable[str]) -> str:
    return did_you_mean(closest(key.replace("-", "_"), known, n=2, cutoff=0.6))


@cache
def _zones() -> tuple[str, ...]:
    import zoneinfo

    return tuple(sorted(zoneinfo.available_timezones()))


def zone_candidates(name: str) -> list[str]:
    """IANA names for a mistyped or abbreviated zone: ``PST`` -> America/Los_Angeles, ``Europe/Berln`` ->
    Europe/Berlin, ``berlin`` -> Europe/Berlin, ``Pacific Standard Time`` (Windows) -> America/Los_Angeles."""
    text = name.strip()
    if text.upper() in ZONE_ABBREVIATIONS:
        return list(ZONE_ABBREVIATIONS[text.upper()])
    try:
        from tzlocal.windows_tz import win_tz

        if text in win_tz:
            return [win_tz[text]]
    except ImportError:  # pragma: no cover - tzlocal is a dependency
        pass
    zones = _zones()
    wanted = text.replace(" ", "_")
    found = closest(wanted, zones, n=3, cutoff=0.75)
    # A city alone ("berlin", "new york"), or a city mistyped ("Berln"): the zones whose last part is closest.
    cities = {zone.rsplit("/", 1)[-1].lower(): zone for zone in zones if "/" in zone}
    city = wanted.rsplit("/", 1)[-1].lower()
    found += [cities[c] for c in difflib.get_close_matches(city, list(cities), n=2, cutoff=0.8)]
    return list(dict.fromkeys(found))[:2]


def zone_hint(name: str) -> str:
    return did_you_mean(zone_candidates(name))


@cache
def _countries() -> dict[str, str]:
    """Every country the holidays package knows: ISO code -> English name (``DE`` -> "Germany")."""
    from holidays.registry import COUNTRIES

    result = {}
    for entry in COUNTRIES.values():
        name, code = entry[0], entry[1]
        # "UnitedStates" -> "United States"
        result[code] = "".join(" " + c if c.isupper() and i else c for i, c in enumerate(name))
    return result


def country_candidates(name: str) -> list[str]:
    """ISO codes for a mistyped country code or a country's name: ``Germany`` -> DE, ``UK`` -> GB."""
    countries = _countries()
    text = name.strip()
    aliases = {"UK": "GB", "ENGLAND": "GB", "USA": "US", "AMERICA": "US", "HOLLAND": "NL"}
    if text.upper() in aliases:
        return [aliases[text.upper()]]
    by_name = {full.lower(): code for code, full in countries.items()}
    if text.lower() in by_name:
        return [by_name[text.lower()]]
    found = [by_name[m] for m in difflib.get_close_matches(text.lower(), list(by_name), n=2, cutoff=0.75)]
    if len(text) <= 3:
        found += closest(text, countries, n=2, cutoff=0.5)
    return list(dict.fromkeys(found))[:3]


def country_hint(name: str) -> str:
    return did_you_mean(country_candidates(name))


def known_country(code: str) -> bool:
    return code.upper() in _countries()
