"""Done on the phone flows back: a calsync to-do completed on the target (STATUS:COMPLETED, its ETag changed) is
read back, so that the sync records it as sent instead of calling it a conflict or overwriting it.

:func:`find_completions` is the one step the engine calls after its scan, for to-do targets whose provider can
read an item back (``Provider.can_read``). It reads only the items whose ETag moved since the last sync.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from calsync.errors import NotFound
from calsync.model import FollowUp, as_planned
from calsync.provider import Provider, RemoteItem
from calsync.sync.state import StateRow


@dataclass(frozen=True)
class Completion:
    """Follow-up ``followup`` was completed on the target on ``day`` (the interview's zone). ``new`` is False when
    the plan already knew it was done (the phone agrees: nothing to record, nothing to overwrite)."""

    uid: str
    followup: FollowUp
    day: date
    href: str
    etag: str | None
    ical: bytes
    new: bool


def find_completions(
    provider: Provider,
    state: Mapping[str, StateRow],
    remote: Mapping[str, RemoteItem],
    planned: Mapping[str, FollowUp],
    today: date,
) -> list[Completion]:
    """The to-dos of ours that were completed on the target since the last sync.

    ``planned`` maps UIDs to the follow-ups of the plan; ``today`` (in the interview's zone, by the caller's
    clock) is the day recorded when the client wrote no COMPLETED time.
    """
    found = []
    for uid, row in sorted(state.items()):
        there, followup = remote.get(uid), planned.get(uid)
        if there is None or followup is None or followup.cancelled or row.gone:
            continue
        if there.etag is None or there.etag == row.etag or b"BEGIN:VTODO" not in (row.ical or b""):
            continue
        followup = as_planned(followup)  # a recalled one (calsync.planmemo) is planned now, and only now
        try:
            fetched = provider.read(there.href)
        except NotFound:
            continue
        day = completed_on(fetched.ical, followup, today)
        if day is not None:
            found.append(Completion(uid, followup, day, fetched.href, fetched.etag, fetched.ical, not followup.done))
    return found


def completed_on(data: bytes, followup: FollowUp, today: date) -> date | None:
    """The day the to-do in ``data`` was completed, in the interview's zone; None when it is not completed."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError):
        return None
    # One item read back: its to-do (a target may give it a UID of its own, derived from the plan's).
    todos = calendar.walk("VTODO")
    todo = next((c for c in todos if str(c.get("UID", "")) == followup.uid), todos[0] if len(todos) == 1 else None)
    if todo is None or str(todo.get("STATUS", "")).upper() != "COMPLETED":
        return None
    stamp = todo.get("COMPLETED")
    moment = getattr(stamp, "dt", None)
    if isinstance(moment, datetime):
        zone = followup.interview.timezone
        return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)).date()
    if isinstance(moment, date):
        return moment
    return today
