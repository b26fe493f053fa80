"""Finding the calendar with the caldav library: the well-known address (RFC 6764), the principal, its calendar home
set and calendars, MKCALENDAR when asked to create one, the calendar's supported components.

Run once per configuration: the provider keeps the result in its state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from caldav.elements import cdav, dav
from caldav.lib import error
from caldav.response import PropfindResult

from calsync.errors import ProviderError
from calsync_caldav.dav import Session, propfind_body, resource_types, text

if TYPE_CHECKING:
    from caldav.collection import Calendar, Principal


# is it a calendar (and which), a principal, a server root?
_PROBE = propfind_body(dav.ResourceType(), dav.DisplayName(), dav.CurrentUserPrincipal(), cdav.CalendarHomeSet())


@dataclass(frozen=True)
class Wanted:
    """What the target's options ask for."""

    where: str
    url: str
    calendar: str | None
    create: bool
    component: str  # VEVENT or VTODO
    username: str | None


def discover(session: Session, wanted: Wanted) -> tuple[str, list[str] | None]:
    """The calendar's URL (a collection URL, ending in /) and its components (None: the server takes any)."""
    url, here = wanted.url, None
    if urlsplit(url).path in ("", "/"):
        url, here = _well_known(session, url)
    if here is None:
        here = _probe(session, wanted, url)
    client = session.client
    if cdav.Calendar.tag in resource_types(here):  # the url is a calendar's own
        display = text(here, dav.DisplayName)
        if wanted.calendar is not None and not _matches(wanted.calendar, url, display):
            raise ProviderError(
                f"{wanted.where}: url {url} is a calendar, but calendar = {wanted.calendar!r} names another: "
                "give the server's address as url, or drop calendar"
            )
        calendar = client.calendar(url=url, name=display)
        return _as_collection(str(calendar.url)), _components(session, calendar)

    principal = client.principal(url=here.properties.get(dav.CurrentUserPrincipal.tag) or url)
    home_href = here.properties.get(cdav.CalendarHomeSet.tag)
    if isinstance(home_href, list):  # several homes: the first, as the library does
        home_href = home_href[0] if home_href else None
    if isinstance(home_href, str) and home_href.strip():
        principal.calendar_home_set = home_href.strip()  # the url was the principal's: no second PROPFIND
    return _find_calendar(session, wanted, principal)


def _well_known(session: Session, root: str) -> tuple[str, PropfindResult | None]:
    """The context path that ``/.well-known/caldav`` redirects to (RFC 6764 section 5), else the root itself; with
    what the redirected PROPFIND said about it when that is enough to go on (saves the probe).

    The library's own RFC 6764 discovery (caldav.discovery) runs only for a URL without a scheme, only over https
    and without the ca_bundle, on every new DAVClient; this step runs once, through the target's session, which
    follows the redirect.
    """
    parts = urlsplit(root)
    root = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    reply = session.request("PROPFIND", urljoin(root, "/.well-known/caldav"), _PROBE, {"Depth": "0"})
    if reply.status != 207:
        return root, None
    results = [result for result in reply.results(session.where) if result.status != 404]
    if not results or not results[0].href.strip():
        return root, None
    context = _as_collection(urljoin(root, results[0].href.strip()))  # a path: the host and scheme stay the root's
    told = results[0].properties
    enough = cdav.Calendar.tag in resource_types(results[0]) or any(
        told.get(tag) for tag in (dav.CurrentUserPrincipal.tag, cdav.CalendarHomeSet.tag)
    )
    return context, results[0] if enough else None


def _probe(session: Session, wanted: Wanted, url: str) -> PropfindResult:
    """One PROPFIND of the url: is it a calendar, a principal, a server root? Errors say what to fix in url."""
    reply = session.request("PROPFIND", url, _PROBE, {"Depth": "0"})
    if reply.status == 404:
        raise ProviderError(f"{wanted.where}: nothing at {url} (404): check url")
    if reply.status == 403:
        raise ProviderError(f"{wanted.where}: {url} refused access (403): check url and username")
    if reply.status != 207:
        raise ProviderError(
            f"{wanted.where}: {url} is not a CalDAV server (PROPFIND answered {reply.status}): check url"
        )
    results = reply.results(wanted.where)
    path = unquote(urlsplit(url).path).rstrip("/")
    found = [result for result in results if result.href.rstrip("/") == path]
    if not found and len(results) == 1:  # RFC 4918 9.1: the href may differ from the request URL
        found = results
    if not found or found[0].status == 404:
        raise ProviderError(f"{wanted.where}: nothing at {url} (404): check url")
    return found[0]


def _find_calendar(session: Session, wanted: Wanted, principal: Principal) -> tuple[str, list[str] | None]:
    where = wanted.where
    try:
        home = session.call(lambda: principal.calendar_home_set, str(principal.url))
        home_url = str(home.url)
        calendars = session.call(home.calendars, home_url)
    except error.DAVError as exc:
        raise ProviderError(
            f"{where}: cannot list the calendars of {principal.url} ({exc.status or exc.reason}): check url"
        ) from None
    names = ", ".join(sorted(_label(calendar) for calendar in calendars)) or "none"
    if wanted.calendar is None:
        raise ProviderError(f"{where}: set calendar to one of the calendars at {home_url}: {names}")
    found = [calendar for calendar in calendars if _id_of(calendar) == wanted.calendar]
    if not found:
        found = [calendar for calendar in calendars if _display(calendar) == wanted.calendar]
    if not found:
        folded = wanted.calendar.casefold()
        found = [calendar for calendar in calendars if (_display(calendar) or "").casefold() == folded]
    if len(found) > 1:
        ids = ", ".join(_id_of(calendar) for calendar in found)
        raise ProviderError(
            f"{where}: {len(found)} calendars are named {wanted.calendar!r} ({ids}): set calendar to the id of one"
        )
    if found:
        return _as_collection(str(found[0].url)), _components(session, found[0])
    if not wanted.create:
        raise ProviderError(
            f"{where}: no calendar {wanted.calendar!r} at {home_url} (there: {names}); set create = true to create it"
        )
    return _make_calendar(session, wanted, principal, {_id_of(calendar) for calendar in calendars})


def _make_calendar(
    session: Session, wanted: Wanted, principal: Principal, taken: set[str]
) -> tuple[str, list[str] | None]:
    assert wanted.calendar is not None
    base = re.sub(r"[^a-z0-9]+", "-", wanted.calendar.lower()).strip("-") or "calsync"
    slug, counter = base, 2
    while slug in taken:
        slug, counter = f"{base}-{counter}", counter + 1
    try:
        calendar = session.call(
            lambda: principal.make_calendar(
                name=wanted.calendar, cal_id=slug, supported_calendar_component_set=[wanted.component]
            ),
            str(principal.url),
        )
    except error.DAVError as exc:
        if exc.status == 403:
            raise ProviderError(
                f"{wanted.where}: the server does not let {wanted.username or 'you'} create calendars"
            ) from None
        raise ProviderError(
            f"{wanted.where}: could not create the calendar {wanted.calendar!r} "
            f"(MKCALENDAR answered {exc.status or exc.reason})"
        ) from None
    return _as_collection(str(calendar.url)), [wanted.component]


def _components(session: Session, calendar: Calendar) -> list[str] | None:
    """The calendar's supported-calendar-component-set; None when the server does not say (it takes any)."""
    try:
        components = session.call(lambda: calendar.get_supported_components(with_fallback=False), str(calendar.url))
    except error.DAVError:  # absent (PropfindError) or unreadable: RFC 4791 5.2.3 says any component
        return None
    names = [str(name).upper() for name in components or [] if name]
    return names or None


def _as_collection(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _id_of(calendar: Any) -> str:
    return unquote(str(calendar.url.path).rstrip("/").rsplit("/", 1)[-1])


def _display(calendar: Calendar) -> str | None:
    # from the listing's props: get_display_name() would ask the server again for a calendar without one
    name = calendar.props.get(dav.DisplayName.tag)
    return name.strip() or None if isinstance(name, str) else None


def _label(calendar: Calendar) -> str:
    display, ident = _display(calendar), _id_of(calendar)
    return f"{display!r} ({ident})" if display and display != ident else repr(ident)


def _matches(wanted: str, url: str, display: str | None) -> bool:
    ident = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return wanted in (ident, display or "") or wanted.casefold() == (display or "").casefold()
