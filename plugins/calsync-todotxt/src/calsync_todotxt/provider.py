"""The todo.txt provider: one line per follow-up, in the file you already keep.

A line of calsync's looks like this (https://github.com/todotxt/todo.txt, one task per line)::

    2026-11-20 Check in with Dana Smith by email — Acme Corp due:2026-11-30 at:10:00-05:00 calsync:3f2…@calsync seq:0

``calsync:UID`` marks it as calsync's: every other line is the user's and is never read, rewritten or moved (the
file is rewritten whole, but other lines are copied byte for byte, in their place). ``due:`` is the date todo.txt
apps understand; ``at:`` the time with its UTC offset; ``seq:`` the iCalendar SEQUENCE. A cancelled follow-up is
completed (``x DATE …``) with ``status:cancelled``; one the user completes is theirs: calsync sees the edit and
keeps it.

HREF is the UID; ETAG a hash of the line, so any edit of the line (completing it, too) changes it.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

from calsync import (
    Fetched,
    Item,
    NotFound,
    Option,
    PreconditionFailed,
    Provider,
    ProviderError,
    RemoteItem,
    Written,
    write_atomic,
)

_TAG = re.compile(r"(?:^|\s)calsync:(\S+)")
_FIELD = re.compile(r"(?:^|\s)([a-z]+):(\S+)")
_DONE = re.compile(r"^x (\d{4}-\d{2}-\d{2}) ")


class TodoTxtProvider(Provider):
    name = "todotxt"
    can_read = True
    options = (Option("path", str, path=True, required=True, help="the todo.txt file (created when missing)"),)

    def __init__(self, target) -> None:
        super().__init__(target)
        self.path = Path(target.option("path")).expanduser()

    def describe(self) -> str:
        return str(self.path)

    # --- the file: read whole, changed in memory, written atomically -----------------------------------------

    def _lines(self) -> list[bytes]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ProviderError(f"{self.path}: cannot read: {exc.strerror}") from None
        return data.splitlines(keepends=True)

    def _save(self, lines: list[bytes]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, b"".join(lines))
        except OSError as exc:
            raise ProviderError(f"{self.path}: cannot write: {exc.strerror}") from None

    def _find(self, lines: list[bytes], uid: str) -> int | None:
        for number, line in enumerate(lines):
            if _uid_of(line) == uid:
                return number
        return None

    # --- the interface ------------------------------------------------------------------------------------

    def list_items(self):
        for line in self._lines():
            uid = _uid_of(line)
            if uid is not None:
                yield RemoteItem(uid, uid, _etag(line))

    def create(self, item: Item) -> Written:
        lines = self._lines()
        if self._find(lines, item.uid) is not None:
            raise PreconditionFailed(item.uid, f"{self.path} has a line for {item.uid} already")
        if lines and not lines[-1].endswith(b"\n"):
            lines[-1] += b"\n"  # the user's last line had no newline: end it, or ours would join it
        line = render_line(item)
        self._save([*lines, line])
        return Written(item.uid, _etag(line))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        lines = self._lines()
        number = self._checked(lines, href, etag)
        ending = b"\n" if lines[number].endswith(b"\n") else b""
        line = render_line(item).rstrip(b"\n") + ending
        lines[number] = line
        self._save(lines)
        return Written(href, _etag(line))

    def delete(self, href: str, etag: str | None) -> None:
        lines = self._lines()
        del lines[self._checked(lines, href, etag)]
        self._save(lines)

    def read(self, href: str) -> Fetched:
        lines = self._lines()
        number = self._find(lines, href)
        if number is None:
            raise NotFound(href)
        return Fetched(href, to_ical(lines[number]), _etag(lines[number]))

    def _checked(self, lines: list[bytes], href: str, etag: str | None) -> int:
        number = self._find(lines, href)
        if number is None:
            raise NotFound(href)
        if etag is not None and _etag(lines[number]) != etag:
            raise PreconditionFailed(href)
        return number


# --- the line format ------------------------------------------------------------------------------------------


def render_line(item: Item) -> bytes:
    """The todo.txt line of ``item`` (with its newline)."""
    component = item.component
    due = component.decoded("DUE") if component.name == "VTODO" else component.decoded("DTSTART")
    if not isinstance(due, datetime):
        due = datetime(due.year, due.month, due.day)
    stamp = component.decoded("DTSTAMP").date().isoformat()
    summary = " ".join(str(component.get("SUMMARY", "")).split())
    summary = _FIELD.sub(lambda m: m.group(0).replace(":", "\u2236"), summary)  # no key:value look-alikes in text
    at = due.strftime("%H:%M") + _offset(due)
    fields = f"due:{due.date().isoformat()} at:{at} calsync:{item.uid} seq:{item.sequence}"
    if item.cancelled or str(component.get("STATUS", "")).upper() == "CANCELLED":
        return f"x {stamp} {stamp} {summary} {fields} status:cancelled\n".encode()
    return f"{stamp} {summary} {fields}\n".encode()


def to_ical(line: bytes) -> bytes:
    """A line of calsync's as a VCALENDAR with one VTODO: UID, SUMMARY, DUE, SEQUENCE, STATUS (COMPLETED)."""
    import icalendar

    text = line.decode("utf-8", "replace").strip()
    done = _DONE.match(text)
    fields = {key: value for key, value in _FIELD.findall(text)}
    words = [w for w in text.split() if not _FIELD.fullmatch(" " + w)]
    if done:
        words = words[2:]  # "x" and the completion date
    if words and re.fullmatch(r"\d{4}-\d{2}-\d{2}", words[0]):
        words = words[1:]  # the creation date
    todo = icalendar.Todo()
    todo.add("UID", fields.get("calsync", ""))
    todo.add("SUMMARY", " ".join(words).replace("\u2236", ":"))
    if "due" in fields:
        when = datetime.fromisoformat(f"{fields['due']}T{fields['at']}" if "at" in fields else fields["due"])
        todo.add("DUE", when.astimezone(UTC) if when.tzinfo else when)  # an offset is no zone: say it in UTC
    todo.add("SEQUENCE", int(fields.get("seq", "0")))
    if fields.get("status") == "cancelled":
        todo.add("STATUS", "CANCELLED")
    elif done:
        todo.add("STATUS", "COMPLETED")
        todo.add("COMPLETED", datetime.fromisoformat(done.group(1)))
    else:
        todo.add("STATUS", "NEEDS-ACTION")
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//calsync-todotxt//EN")
    calendar.add("VERSION", "2.0")
    calendar.add_component(todo)
    return calendar.to_ical()


def _uid_of(line: bytes) -> str | None:
    found = _TAG.search(line.decode("utf-8", "replace"))
    return found.group(1) if found else None


def _etag(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\r\n")).hexdigest()[:20]


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
