"""The pure heart of sync: what the plan wants, what the state remembers and what the target holds, in; the
smallest list of actions out. No I/O here.

Rules, per UID:

- planned, never pushed: create it (a cancelled follow-up that was never pushed is not pushed at all). If the
  target already holds a managed item with this UID (a crash between the write and the state record, or a lost
  state), take it over instead of creating a duplicate: by an update, or by recording it when it holds what we
  want already. One whose content no longer matches its seal (``X-CALSYNC-HASH``) was edited by the user: it is
  kept and recorded as edited (``force`` overwrites it).
- pushed and unchanged on the target: update it if its content changed (SEQUENCE + 1), else nothing.
- pushed and edited on the target (another ETag): the user's version wins; if ours changed too it is a conflict,
  overwritten only with ``force``.
- pushed and gone from the target: the user deleted it; it stays deleted unless its due time changes.
- pushed and no longer planned (the interview left the file): cancelled (or deleted with ``cancelled="delete"``);
  either way, one edited on the target is kept and reported (an edit beats a delete).
- on the target, managed, but unknown to the state and the plan: never touched.

An update that a previous run sent but did not record (it stopped in between) left an *intent* in the state. If
the target's ETag moved since, that was our own write: the intent becomes the state, and no conflict is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from calsync.lazy import Lazy
from calsync.model import FollowUp
from calsync.provider import Action, Create, Delete, Item, RemoteItem, Update
from calsync.sync.state import StateRow

CancelledMode = Literal["keep", "delete"]


def _render(want: Desired) -> Item:
    if want.render is None:
        raise ValueError(f"{want.uid}: neither an item nor a way to render it")
    return want.render()


@dataclass(frozen=True)
class Desired:
    """A follow-up rendered for this target; ``item`` carries SEQUENCE = the planner's revision.

    ``hash`` is always known; ``item`` may be rendered only when asked for (``render``), which the diff does only
    for what it writes: an unchanged follow-up whose hash the render cache knows is never rendered."""

    uid: str
    item: Item = field(default=Lazy(_render), compare=False, repr=False)  # type: ignore[assignment]
    hash: str = ""
    due: str = ""
    cancelled: bool = False
    revision: int = 0
    #: the UID the item carries on the target (None: the plan's)
    remote: str | None = None
    followup: FollowUp | None = field(default=None, compare=False, repr=False)
    render: Callable[[], Item] | None = field(default=None, compare=False, repr=False)

    @property
    def carries(self) -> str:
        """The UID the item carries on the target."""
        return self.remote or self.uid


# --- changes to the state alone (no write to the target) ----------------------------------------------------------


@dataclass(frozen=True)
class MarkGone:
    """The item is not on the target any more: remember that, with the due time it had."""

    uid: str


@dataclass(frozen=True)
class AdoptEtag:
    """The target holds the item with an ETag the state did not know (a server that gave none on PUT, or an
    item deleted and restored on the target): record it, and that the item is there."""

    uid: str
    etag: str | None


@dataclass(frozen=True)
class Found:
    """A managed item on the target that the state does not know, as read back: ``edited`` when its content no
    longer matches its seal (or it has none); ``sealed`` the seal it carries; ``sequence`` its SEQUENCE. The engine
    passes None for an item it could not read (a provider without :meth:`Provider.read`)."""

    edited: bool
    sealed: str | None = None
    sequence: int = 0


@dataclass(frozen=True)
class Adopt:
    """Record an item found on the target without writing to it: ``row`` says what it is (``kept`` when the user
    had edited it: it then stays theirs exactly like an item edited after a sync)."""

    uid: str
    row: StateRow


@dataclass(frozen=True)
class Forget:
    """Nothing left to remember about this UID."""

    uid: str


@dataclass(frozen=True)
class Conflict:
    """Both sides changed: the target's version is kept, and the user is told."""

    uid: str
    href: str
    reason: str


@dataclass(frozen=True)
class SettleIntent:
    """An unrecorded update of a previous run: ``row`` if it landed (the ETag moved), else None (drop it)."""

    uid: str
    row: StateRow | None


StateChange = MarkGone | AdoptEtag | Forget | SettleIntent | Adopt


@dataclass
class Diff:
    actions: list[Action] = field(default_factory=list)
    state_changes: list[StateChange] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)  # managed items unknown to the state, left alone

    @property
    def empty(self) -> bool:
        return not (self.actions or self.state_changes)


def diff(
    desired: Mapping[str, Desired],
    state: Mapping[str, StateRow],
    remote: Mapping[str, RemoteItem],
    *,
    now: datetime,
    cancelled_mode: CancelledMode = "keep",
    force: bool = False,
    intents: Mapping[str, StateRow] | None = None,
    found: Mapping[str, Found] | None = None,
) -> Diff:
    """Decide what to do. ``now`` stamps the DTSTAMP of updates (the only clock the diff sees). ``found`` is what
    the engine read back of managed items the state does not know (see :class:`Found`)."""
    from calsync.rewrite import with_revision, with_status_cancelled

    result = Diff()
    state = _settle_intents(result, state, remote, intents or {})
    for uid in sorted(desired.keys() | state.keys() | remote.keys()):
        want, row, there = desired.get(uid), state.get(uid), remote.get(uid)
        if want is not None and cancelled_mode == "delete" and want.cancelled:
            _delete_cancelled(result, uid, row, there, force)
        elif want is not None and row is None:
            _first_push(result, want, there, (found or {}).get(uid), force)
        elif want is not None and row is not None:
            _pushed(result, want, row, there, now, force, with_revision)
        elif row is not None:
            _left_the_plan(result, row, there, now, cancelled_mode, force, with_status_cancelled)
        else:
            result.untouched.append(uid)
    return result


def _settle_intents(result: Diff, state, remote, intents: Mapping[str, StateRow]) -> Mapping[str, StateRow]:
    if not intents:
        return state
    settled = dict(state)
    for uid, intent in intents.items():
        row, there = state.get(uid), remote.get(uid)
        if row is not None and there is not None and there.etag != row.etag:
            landed = replace(intent, href=there.href, etag=there.etag)
            settled[uid] = landed
            result.state_changes.append(SettleIntent(uid, landed))
        else:
            result.state_changes.append(SettleIntent(uid, None))
    return settled


def _first_push(result: Diff, want: Desired, there: RemoteItem | None, found: Found | None, force: bool) -> None:
    if there is not None:
        # Ours by UID and mark, but unrecorded (a crash after the write, a lost state): never duplicate it.
        row = StateRow(
            want.uid, there.href, there.etag, want.hash, max(found.sequence if found else 0, want.revision),
            want.due, want.cancelled, False, want.item.ical,
        )  # fmt: skip
        if found is not None and found.edited and not force:
            # Recorded as an edit of what we wrote then: silent while we want that still, else a conflict.
            then = want.hash if found.sealed == _seal_of(want.item) else ""
            result.state_changes.append(Adopt(want.uid, replace(row, kept=True, hash=then)))
            result.conflicts.append(Conflict(want.uid, there.href, "edited on the target, and not in the state: kept"))
        elif found is not None and not found.edited and found.sealed == _seal_of(want.item):
            result.state_changes.append(Adopt(want.uid, row))  # it holds what we want: nothing to write
        else:
            result.actions.append(Update(want.uid, there.href, there.etag, want.item))
    elif not want.cancelled:
        result.actions.append(Create(want.uid, want.item))


def _pushed(result: Diff, want: Desired, row: StateRow, there: RemoteItem | None, now, force, with_revision) -> None:
    if there is None:
        # Deleted on the target (by the user): it stays deleted unless it is now due at another time.
        if want.due != row.due and not want.cancelled:
            sequence = max(row.sequence + 1, want.revision)
            result.actions.append(Create(want.uid, with_revision(want.item, sequence, now)))
            return
        if not row.gone:
            result.state_changes.append(MarkGone(want.uid))
        return
    edited = _edited(row, there) and not row.gone
    if row.gone or (row.etag is None and there.etag is not None):
        # It is there after all (restored by the user, or the target gave no ETag when we wrote it).
        result.state_changes.append(AdoptEtag(want.uid, there.etag))
        edited = False
    if want.hash == row.hash:
        return  # nothing of ours changed; an edit of theirs is theirs to keep
    if edited and not force:
        result.conflicts.append(Conflict(want.uid, there.href, "changed on the target since the last sync"))
        return
    sequence = max(row.sequence + 1, want.revision)
    result.actions.append(Update(want.uid, there.href, there.etag, with_revision(want.item, sequence, now)))


def _left_the_plan(result: Diff, row: StateRow, there, now, cancelled_mode, force, with_status_cancelled) -> None:
    if there is None or row.gone:
        result.state_changes.append(Forget(row.uid))
        return
    if row.cancelled and cancelled_mode != "delete":
        return  # already shown as cancelled
    if _edited(row, there) and not force:
        # An edit beats a delete and a cancellation alike: the same check on both paths.
        result.conflicts.append(Conflict(row.uid, there.href, "left the plan, but was changed on the target: kept"))
        return
    if cancelled_mode == "delete":
        result.actions.append(Delete(row.uid, there.href, there.etag))
        return
    result.actions.append(
        Update(row.uid, there.href, there.etag, with_status_cancelled(_item_of(row), row.sequence + 1, now))
    )


def _delete_cancelled(result: Diff, uid: str, row: StateRow | None, there: RemoteItem | None, force: bool) -> None:
    if there is not None and row is not None:
        if _edited(row, there) and not force:
            result.conflicts.append(Conflict(uid, there.href, "cancelled, but changed on the target: kept"))
            return
        result.actions.append(Delete(uid, there.href, there.etag))
    elif row is not None and not row.gone:
        result.state_changes.append(MarkGone(uid))


def _edited(row: StateRow, there: RemoteItem) -> bool:
    """Changed on the target since we wrote it: another ETag, or found edited when the state was rebuilt."""
    return row.kept or (row.etag is not None and there.etag != row.etag)


def _seal_of(item: Item) -> str | None:
    from calsync.seal import HASH_PROPERTY

    value = item.component.get(HASH_PROPERTY)
    return str(value) if value is not None else None


def _item_of(row: StateRow) -> Item:
    from calsync.rewrite import parse_items

    return parse_items(row.ical)[0]
