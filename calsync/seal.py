"""The seal: what calsync wrote, recognisable without the state database.

Every item calsync writes carries ``X-CALSYNC-HASH``, a hash of the values a person sees and edits. A stored item
whose values no longer match its seal was edited by someone; one that matches is calsync's, untouched, even when
the state that remembered it is lost.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from icalendar import Component

#: A hash of what calsync wrote (see :func:`seal`): an item that no longer matches it was edited by someone.
HASH_PROPERTY = "X-CALSYNC-HASH"

#: The properties :func:`seal` covers: what a person sees and edits, and what every provider keeps (a CalDAV server
#: may refold or reorder lines, the ics provider re-serialises, Google keeps only these), so a stored item still
#: matches its seal after a round trip unless someone changed it.
SEALED_PROPERTIES = ("UID", "SUMMARY", "DESCRIPTION", "LOCATION", "DTSTART", "DTEND", "DUE", "STATUS", "COMPLETED")


def seal(component: Component) -> str:
    """The value of ``X-CALSYNC-HASH``: a hash of the component's :data:`SEALED_PROPERTIES`, as values (times in
    UTC, text with its line breaks as ``\\n``), so formatting does not count and the property does not cover itself."""
    return _digest(_sealed_value(component.get(name)) for name in SEALED_PROPERTIES)


def seal_matches(component: Component) -> bool | None:
    """Whether a stored component still holds what calsync wrote: True (untouched), False (edited), None (it
    carries no seal: written by a calsync from before seals, or by something else)."""
    stored = component.get(HASH_PROPERTY)
    if stored is None:
        return None
    return str(stored).strip() == seal(component)


def _sealed_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # a property given twice: all of it counts
        return "|".join(_sealed_value(v) for v in value)
    moment = getattr(value, "dt", None)
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat() + " floating"
    if moment is not None:
        return moment.isoformat()
    return _text_of(str(value))


def seal_of_values(values: dict[str, object]) -> str:
    """:func:`seal` of a component not built as an object: ``values`` maps sealed property names to their values
    (text as ``str``, times as aware ``datetime``); a name not given counts as absent."""
    return _digest(_text_of(values.get(name)) for name in SEALED_PROPERTIES)


def _text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value).replace("\r\n", "\n").replace("\n", "\\n")


def _digest(texts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for name, text in zip(SEALED_PROPERTIES, texts, strict=True):
        digest.update(f"{name}={text}\n".encode())
    return digest.hexdigest()[:32]
