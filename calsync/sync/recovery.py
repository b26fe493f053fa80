"""What the engine does when the state and the target disagree about an item's existence: it reads the item back.

- An item on the target that the state does not know (a crash between a write and its record, a lost state) is
  read, and its seal (``X-CALSYNC-HASH``) says whether it still holds what calsync wrote or was edited by the user.
- A sync that finds calsync items but has no state at all stops once and asks for ``--adopt``, saying what adopting
  would do.
- A "not found" answer to a conditional write is believed only once a read confirms it.

The engine calls these; they talk to the provider's optional :meth:`~calsync.provider.Provider.read` and nothing
else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from calsync.errors import CalsyncError, NotFound, UserError
from calsync.provider import Create, Outcome, Provider, RemoteItem, Target
from calsync.sync.diff import Desired, Found
from calsync.sync.state import StateRow


class Unconfirmed(CalsyncError):
    """The target said "not found", but reading the item back did not confirm it: it stays live, and the action is
    tried again at the next sync."""

    def __init__(self, href: str, why: str) -> None:
        self.href = href
        super().__init__(why)


def read_unknown(
    provider: Provider, desired: Mapping[str, Desired], state: Mapping[str, StateRow], remote: Mapping[str, RemoteItem]
) -> dict[str, Found]:
    """Read back the planned items the target holds but the state does not know, to tell ours (matching their seal)
    from the user's edits. Nothing to read in the usual case; a provider without ``read`` is trusted."""
    if not provider.can_read:
        return {}
    found = {}
    for uid in desired:
        if uid in state or uid not in remote:
            continue
        try:
            fetched = provider.read(remote[uid].href)
        except NotFound:
            continue  # gone since the scan: it is created again
        found[uid] = found_in(fetched.ical)
    return found


def found_in(data: bytes) -> Found:
    """What a stored item read back says about itself: edited or not (its seal), its seal, its SEQUENCE."""
    import icalendar

    from calsync.seal import HASH_PROPERTY, seal_matches

    try:
        calendar = icalendar.Calendar.from_ical(data)
        component = next(c for c in calendar.walk() if c.name in ("VEVENT", "VTODO"))
    except (ValueError, IndexError, KeyError, StopIteration):  # not iCalendar any more: someone rewrote it
        return Found(edited=True)
    sealed = component.get(HASH_PROPERTY)
    try:
        sequence = int(str(component.get("SEQUENCE", 0)))
    except ValueError:
        sequence = 0
    return Found(
        edited=not seal_matches(component), sealed=str(sealed) if sealed is not None else None, sequence=sequence
    )


def check_lost_state(
    target: Target, found: Mapping[str, Found], unknown: list[str], *, adopt: bool, dry_run: bool
) -> str | None:
    """No state, yet ``unknown`` calsync items on the target: a deleted, emptied or reset state database (a first
    sync finds none). Without ``adopt``, a sync stops with one line saying what adopting means; with it, or in a
    dry run, the same is returned as a note.

    :raises UserError: ``adopt`` is needed.
    """
    if not unknown:
        return None
    kept = sum(1 for uid in unknown if uid in found and found[uid].edited)
    counts = f"{len(unknown) - kept} {{verb}}, {kept} kept as edited by you"
    if adopt:
        return (
            f"no sync state for this target: {counts.format(verb='adopted')} of the {len(unknown)} calsync item(s) "
            "found; follow-ups you deleted there before may have come back"
        )
    message = (
        f"target {target.name!r} holds {len(unknown)} calsync item(s) but calsync has no sync state for it (deleted, "
        f"emptied or from elsewhere): {counts.format(verb='would be adopted')}; follow-ups you deleted there "
        "before may come back"
    )
    if dry_run:
        return message + " (a sync needs --adopt)"
    raise UserError(f"{message}; run `calsync sync {target.name} --adopt` to go on")


def confirmed(provider: Provider, outcome: Outcome) -> Outcome:
    """``outcome`` as it stands, unless it is a NotFound that a read does not confirm: then an :class:`Unconfirmed`
    error (a spurious 404 from a proxy or a server in trouble must not pass for a deletion by the user)."""
    if not isinstance(outcome.error, NotFound) or not provider.can_read or isinstance(outcome.action, Create):
        return outcome
    try:
        provider.read(outcome.action.href)
    except NotFound:
        return outcome  # confirmed: it is gone
    except (CalsyncError, OSError) as exc:  # whatever the read says, the absence is not confirmed
        return dataclasses.replace(outcome, error=Unconfirmed(outcome.action.href, f"cannot read it back: {exc}"))
    return dataclasses.replace(outcome, error=Unconfirmed(outcome.action.href, "it is still there"))
