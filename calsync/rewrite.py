"""Items as stored text: hashing them, rewriting a few properties in place, splitting a calendar into items.

Rewriting works on the content lines themselves (every other byte stays as it was), so an item's last pushed form
can be cancelled or re-sequenced without being rendered again; icalendar parses only where an object is needed.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import TYPE_CHECKING

from calsync.errors import UserError
from calsync.ical_text import (
    ITEM_COMPONENTS,
    PRODID,
    content_lines,
    property_name,
    tzids,
    unfold,
    utc_text,
)
from calsync.provider import Item
from calsync.seal import HASH_PROPERTY, seal

if TYPE_CHECKING:
    from icalendar import Calendar, Component


def content_hash(item: Item) -> str:
    """SHA-256 (hex) of the item's content without DTSTAMP and SEQUENCE: equal iff what the user sees is equal.

    Folding and line endings do not count."""
    text = item.ical.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    unfolded = _FOLD.sub("", "\n".join(line for line in text.split("\n") if line))
    kept = [line for line in unfolded.split("\n") if line and not _UNHASHED.match(line)]
    return hashlib.sha256("".join(f"{line}\n" for line in kept).encode("utf-8")).hexdigest()


_FOLD = re.compile(r"\n[ \t]")
# The properties a new revision changes by itself: not content.
_UNHASHED = re.compile(r"(?:DTSTAMP|SEQUENCE)(?![A-Za-z0-9-])", re.IGNORECASE | re.ASCII)


# SUMMARY, its parameters (quoted ones may hold a colon), then the value: "Retry: check in" stays whole.
_SUMMARY = re.compile(rb'^SUMMARY(?:;(?:"[^"\r\n]*"|[^:"\r\n])*)?:(.*?)\r?$', re.M | re.I)
_ESCAPED = re.compile(r"\\([\\;,nN])")


def summary_of(data: bytes) -> str | None:
    """The first SUMMARY of ``data``, unescaped, read from the text (no parsing into objects); None if it has
    none."""
    match = _SUMMARY.search(re.sub(rb"\r?\n[ \t]", b"", data))
    if match is None:
        return None
    text = match.group(1).decode("utf-8", "replace")
    return _ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def with_revision(item: Item, sequence: int, dtstamp: datetime) -> Item:
    """The same item with another SEQUENCE and DTSTAMP; every other byte stays as it is."""
    data = rewrite(item.ical, {"SEQUENCE": str(sequence), "DTSTAMP": utc_text(dtstamp)}, drop_alarms=False)
    return Item(item.uid, data, None, sequence, cancelled=item.cancelled, followup=item.followup)


def with_status_cancelled(item: Item, sequence: int, dtstamp: datetime) -> Item:
    """The item (its last pushed form) as STATUS:CANCELLED, with the new SEQUENCE and DTSTAMP and no alarms."""
    changes = {"SEQUENCE": str(sequence), "DTSTAMP": utc_text(dtstamp), "STATUS": "CANCELLED"}
    data = rewrite(item.ical, changes, drop_alarms=True)
    calendar = parse_calendar(data)
    component = next(c for c in calendar.subcomponents if c.name in ITEM_COMPONENTS)
    if HASH_PROPERTY in component:  # STATUS is sealed: seal the new content (an old item without one stays so)
        data = rewrite(data, {HASH_PROPERTY: seal(component)}, drop_alarms=False)
        calendar = parse_calendar(data)
    return Item(item.uid, data, calendar, sequence, cancelled=True, followup=None)


def parse_items(data: bytes) -> list[Item]:
    """Split iCalendar data into one Item per UID, each with the VTIMEZONEs it uses.

    Components keep their bytes as they are (unfolded lines are refolded as found), so an item written by
    :func:`render_item` and read back has the same :func:`content_hash`. Components without a UID are skipped.

    :raises UserError: the data is not iCalendar.
    """
    parse_calendar(data)  # reject what is not iCalendar at all, with icalendar's message
    header: list[str] = []
    timezones: dict[str, list[str]] = {}
    groups: dict[str, list[list[str]]] = {}
    block: list[str] | None = None
    block_name = ""
    depth = 0
    for unfolded, raw in content_lines(data):
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            if depth == 2:
                block, block_name = [], upper[6:].strip()
        if block is not None:
            block.append(raw)
        elif depth == 1 and not upper.startswith(("BEGIN:", "END:")) and raw not in header:
            header.append(raw)
        if upper.startswith("END:"):
            depth -= 1
            if depth == 1 and block is not None:
                _file_block(block, block_name, timezones, groups)
                block = None
    items = []
    for uid, blocks in groups.items():
        needed: list[str] = []
        for lines in blocks:
            for line in lines:
                needed.extend(tz for tz in tzids(unfold(line)) if tz not in needed)
        parts = ["BEGIN:VCALENDAR", *header]
        for tzid in needed:
            parts.extend(timezones.get(tzid, []))
        for lines in blocks:
            parts.extend(lines)
        parts.append("END:VCALENDAR")
        text = ("\r\n".join(parts) + "\r\n").encode("utf-8")
        calendar = parse_calendar(text)
        master = next(
            (c for c in calendar.subcomponents if c.name in ITEM_COMPONENTS and "RECURRENCE-ID" not in c),
            next(c for c in calendar.subcomponents if c.name in ITEM_COMPONENTS),
        )
        try:
            sequence = int(str(master.get("SEQUENCE", 0)))
        except ValueError:
            sequence = 0
        cancelled = str(master.get("STATUS", "")).upper() == "CANCELLED"
        items.append(Item(uid, text, calendar, sequence, cancelled=cancelled, followup=None))
    return items


def _file_block(
    block: list[str], name: str, timezones: dict[str, list[str]], groups: dict[str, list[list[str]]]
) -> None:
    level = 0
    uid = None
    tzid = None
    for raw in block:
        unfolded = unfold(raw)
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            level += 1
        elif upper.startswith("END:"):
            level -= 1
        elif level == 1:
            prop = property_name(unfolded)
            value = unfolded.split(":", 1)[1] if ":" in unfolded else ""
            if prop == "UID" and uid is None:
                uid = value.strip()
            elif prop == "TZID" and tzid is None:
                tzid = value.strip()
    if name == "VTIMEZONE" and tzid:
        timezones.setdefault(tzid, block)
    elif name in ITEM_COMPONENTS and uid:
        groups.setdefault(uid, []).append(block)


def rewrite(data: bytes, changes: dict[str, str], *, drop_alarms: bool) -> bytes:
    """Set properties of every top-level VEVENT/VTODO/VJOURNAL (replacing or adding them), keeping the rest."""
    out: list[str] = []
    depth = 0
    target_depth = None
    skipping = 0
    done: set[str] = set()
    for unfolded, raw in content_lines(data):
        upper = unfolded.upper()
        if upper.startswith("BEGIN:"):
            depth += 1
            name = upper[6:].strip()
            if depth == 2 and name in ITEM_COMPONENTS:
                target_depth, done = depth, set()
            elif drop_alarms and target_depth is not None and name == "VALARM" and not skipping:
                skipping = depth
        if skipping:
            if upper.startswith("END:") and depth == skipping:
                skipping = 0
            if upper.startswith("END:"):
                depth -= 1
            continue
        if upper.startswith("END:"):
            if depth == target_depth:
                out.extend(f"{prop}:{value}" for prop, value in changes.items() if prop not in done)
                target_depth = None
            depth -= 1
            out.append(raw)
            continue
        if target_depth is not None and depth == target_depth and not upper.startswith("BEGIN:"):
            prop = property_name(unfolded)
            if prop in changes:
                if prop not in done:
                    out.append(f"{prop}:{changes[prop]}")
                    done.add(prop)
                continue
        out.append(raw)
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def parse_calendar(data: bytes) -> Calendar:
    """``data`` parsed by icalendar, several VCALENDARs merged into one.

    :raises UserError: the data is not iCalendar.
    """
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise UserError(f"cannot read the calendar data: {exc}") from None
    if isinstance(calendar, list):  # several VCALENDARs in one file
        merged = calendar_of([])
        for part in calendar:
            merged.subcomponents.extend(part.subcomponents)
        return merged
    return calendar


def calendar_of(timezones: list[Component]) -> Calendar:
    """An empty VCALENDAR of calsync's, holding ``timezones``."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.subcomponents.extend(timezones)
    return calendar
