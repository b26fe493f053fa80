"""Which UID an item carries on one target: pure functions, no I/O.

The plan gives every follow-up one UID (what ``calsync plan --json`` shows). On a target the item may carry another,
derived from it deterministically, for two reasons:

- **one UID per account.** iCloud, Fastmail and others refuse a UID that another calendar of the same account holds.
  A to-do target therefore writes ``make_uid(uid, "todo")``, and a target with ``uid_suffix = "..."`` (the rare
  account with two event targets) ``make_uid(uid, "suffix", value)``. An event target without a suffix keeps the
  plan's UID.
- **a fresh identity after a trash bin.** A server that keeps deleted items in a trash bin refuses to re-create
  their UID (Nextcloud answers 400, SOGo 409). The item then moves to generation 1, 2, ...:
  ``make_uid(base, "generation", n)``. The generation is kept in the state database.

The sync engine diffs by the plan's UID, and translates at the edges: items and actions carry the target's UID.
"""

from __future__ import annotations

from dataclasses import dataclass

from calsync.provider import Item
from calsync.uids import make_uid


@dataclass(frozen=True)
class Identity:
    """The UID that the item of plan UID ``uid`` carries on the target now, and its trash-bin generation."""

    uid: str
    remote: str
    generation: int = 0


def remote_uid(uid: str, component: str, suffix: str | None, generation: int = 0) -> str:
    """The UID the item of plan UID ``uid`` should carry on a target of this kind."""
    remote = uid
    if component == "todo":
        remote = make_uid(remote, "todo")
    if suffix:
        remote = make_uid(remote, "suffix", suffix)
    if generation:
        remote = make_uid(remote, "generation", generation)
    return remote


def with_uid(item: Item, uid: str) -> Item:
    """``item`` carrying another UID: its UID line rewritten, and its seal, which covers the UID, made again when
    it held (an edited item stays recognisably edited); every other byte kept."""
    if item.uid == uid:
        return item
    from icalendar import vText

    from calsync.rewrite import parse_calendar, rewrite
    from calsync.seal import HASH_PROPERTY, seal, seal_matches

    changes = {"UID": uid}
    component = next(c for c in parse_calendar(item.ical).subcomponents if c.name in ("VEVENT", "VTODO"))  # a copy
    if seal_matches(component):
        component["UID"] = vText(uid)
        changes[HASH_PROPERTY] = seal(component)
    data = rewrite(item.ical, changes, drop_alarms=False)
    return Item(uid, data, None, item.sequence, cancelled=item.cancelled, followup=item.followup)
