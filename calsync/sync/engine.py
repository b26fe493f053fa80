"""Sync one target: render the plan, scan the target, diff, write, record. The only module here doing I/O, and
only through the provider and the state database."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync.errors import NotFound, PreconditionFailed, UserError, WritesRefused
from calsync.model import FollowUp, Policy
from calsync.provider import Create, Delete, Item, Outcome, Provider, RemoteItem, Target, Update
from calsync.sync.diff import AdoptEtag, Conflict, Desired, Forget, MarkGone, SettleIntent, diff
from calsync.sync.state import StateDB, StateRow, state_path

Decorate = Callable[[Any, FollowUp], None]


@dataclass
class SyncReport:
    """What one sync did (or, with ``dry_run``, would do)."""

    target: str
    where: str
    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    planned: list[tuple[str, str, str]] = field(default_factory=list)  # (verb, uid, summary), for --dry-run
    notes: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "where": self.where,
            "dry_run": self.dry_run,
            "created": len(self.created),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": self.unchanged,
            "conflicts": [dataclasses.asdict(c) for c in self.conflicts],
            "actions": [{"action": verb, "uid": uid, "summary": summary} for verb, uid, summary in self.planned],
            "notes": self.notes,
        }


def target_settings(target: Target, provider_cls: type[Provider], policy: Policy) -> tuple[str, str, int]:
    """The generic target options: component, cancelled mode, alarm lead time; checked."""
    component = target.choice("component", "event", ("event", "todo"))
    if component == "todo" and not provider_cls.supports_todo:
        raise target.error("component", f"the {target.provider!r} provider cannot store to-dos")
    cancelled = target.choice("cancelled", "keep", ("keep", "delete"))
    alarm = target.number("alarm_minutes", policy.alarm_minutes_before, low=0, high=7 * 24 * 60, whole=True)
    return component, cancelled, alarm


def render_desired(
    followups: Sequence[FollowUp], component: str, alarm_minutes: int, templates=None, decorate: Decorate | None = None
) -> dict[str, Desired]:
    from calsync.render import content_hash, render_item

    desired: dict[str, Desired] = {}
    for followup in followups:
        item = render_item(
            followup, component=component, alarm_minutes=alarm_minutes, templates=templates, decorate=decorate
        )
        desired[followup.uid] = Desired(
            uid=followup.uid,
            item=item,
            hash=content_hash(item),
            due=followup.due.astimezone(UTC).isoformat(),
            cancelled=followup.cancelled,
            revision=followup.revision,
        )
    return desired


def sync_target(
    target: Target,
    followups: Sequence[FollowUp],
    *,
    policy: Policy | None = None,
    dry_run: bool = False,
    force: bool = False,
    templates=None,
    decorate: Decorate | None = None,
    state_dir: Path | None = None,
    provider: Provider | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Bring ``target`` in step with ``followups``. Writes nothing with ``dry_run``."""
    from calsync.plugins import provider_class

    policy = policy or Policy()
    provider_cls = type(provider) if provider is not None else provider_class(target.provider)
    component, cancelled_mode, alarm = target_settings(target, provider_cls, policy)
    desired = render_desired(followups, component, alarm, templates, decorate)
    directory = state_dir or target.state_dir
    if directory is None:
        from calsync import paths

        directory = paths.state_dir()
    db = StateDB(state_path(target, directory), read_only=dry_run)
    provider = provider or provider_cls(target)
    try:
        provider.state = db.provider_state()
        return _sync(target, provider, db, desired, dry_run, force, cancelled_mode, now or datetime.now(UTC))
    finally:
        provider.close()
        db.close()


def _sync(target, provider: Provider, db: StateDB, desired, dry_run, force, cancelled_mode, now) -> SyncReport:
    report = SyncReport(target.name, provider.describe(), dry_run=dry_run)
    state = db.rows()
    known = {uid: row.remote() for uid, row in state.items() if not row.gone}
    token = db.meta("token")
    scan = provider.scan(known, token)
    _safety_valves(target, desired, state, scan.items, force)
    plan = diff(desired, state, scan.items, now=now, cancelled_mode=cancelled_mode, force=force, intents=db.intents())
    report.conflicts.extend(plan.conflicts)
    report.unchanged = len(desired) - len(plan.actions) - len(plan.conflicts)
    if plan.untouched:
        report.notes.append(f"{len(plan.untouched)} calsync item(s) on the target unknown to this state: left alone")
    for action in plan.actions:
        report.planned.append((action.verb, action.uid, _summary(action)))
    if dry_run:
        return report
    for change in plan.state_changes:
        _record_state_change(db, state, change)
    db.record_intents(
        [_row_for(action.uid, action.item, desired, state) for action in plan.actions if isinstance(action, Update)]
    )
    recorded: set[str] = set()
    try:
        for outcome in provider.apply(plan.actions):
            _record(db, state, desired, outcome, report)
            recorded.add(outcome.action.uid)
    except WritesRefused:
        # Not sent: an intent left behind would make a later edit by the user pass for this update.
        for action in plan.actions:
            if isinstance(action, Update) and action.uid not in recorded:
                db.drop_intent(action.uid)
        raise
    finally:
        db.set_provider_state(provider.state)  # what the provider learnt is kept even when the target stops it
    _refresh_token(provider, db, bool(plan.actions), scan.token)
    return report


def _safety_valves(target: Target, desired, state: dict[str, StateRow], remote: dict[str, RemoteItem], force) -> None:
    """Refuse to mass-delete or mass-forget on evidence that is more likely a mistake than an intent."""
    if force:
        return
    live = [row for row in state.values() if not row.gone]
    if not desired and live:
        raise UserError(
            f"target {target.name!r}: the plan is empty but calsync has {len(live)} item(s) there; "
            "check the interview file, or run with --force to cancel them all"
        )
    if len(live) >= 2 and not any(row.uid in remote for row in live):
        raise UserError(
            f"target {target.name!r}: none of the {len(live)} items calsync put there is there any more (a "
            "different or emptied calendar?); run with --force to accept that they were deleted"
        )


def _summary(action) -> str:
    if isinstance(action, Delete):
        return action.uid  # nothing rendered for it: the UID says which
    return str(action.item.component.get("SUMMARY", ""))


def _record_state_change(db: StateDB, state: dict[str, StateRow], change) -> None:
    if isinstance(change, SettleIntent):
        if change.row is None:
            db.drop_intent(change.uid)
        else:
            state[change.uid] = change.row
            db.put(change.row)
    elif isinstance(change, Forget):
        db.forget(change.uid)
    elif isinstance(change, MarkGone):
        db.put(dataclasses.replace(state[change.uid], gone=True))
    elif isinstance(change, AdoptEtag):
        row = dataclasses.replace(state[change.uid], etag=change.etag, gone=False)
        state[change.uid] = row
        db.put(row)


def _record(db: StateDB, state: dict[str, StateRow], desired: dict[str, Desired], outcome: Outcome, report) -> None:
    """Write one completed action to the state, in its own transaction."""

    action, error = outcome.action, outcome.error
    uid = action.uid
    if error is not None:
        db.drop_intent(uid)
    if isinstance(error, PreconditionFailed):
        reason = "exists already" if isinstance(action, Create) else "changed on the target since the last sync"
        report.conflicts.append(Conflict(uid, error.href, reason + ": kept"))
        return
    if isinstance(error, NotFound):
        if uid in state:
            db.put(dataclasses.replace(state[uid], gone=True))
        elif isinstance(action, Create):
            # Never recorded, and found deleted there (a lost state): the user's deletion is remembered, so it sticks.
            db.put(dataclasses.replace(_row_for(uid, action.item, desired, state), href=error.href, gone=True))
        report.notes.append(f"{uid}: gone from the target")
        return
    if error is not None:
        raise error
    if isinstance(action, Delete):
        want = desired.get(uid)
        if want is not None and uid in state:  # cancelled = "delete": remember it, so it is not recreated
            db.put(dataclasses.replace(state[uid], gone=True, cancelled=True, due=want.due))
        else:
            db.forget(uid)
        report.deleted.append(uid)
        return
    written = outcome.written
    assert written is not None
    row = _row_for(uid, action.item, desired, state)
    db.put(dataclasses.replace(row, href=written.href, etag=written.etag))
    (report.created if isinstance(action, Create) else report.updated).append(uid)


def _row_for(uid: str, item: Item, desired: dict[str, Desired], state: dict[str, StateRow]) -> StateRow:
    """The state row that writing ``item`` makes (href and etag filled in once known)."""
    from calsync.render import content_hash

    want = desired.get(uid)
    return StateRow(
        uid=uid,
        href=state[uid].href if uid in state else "",
        etag=None,
        hash=want.hash if want is not None else content_hash(item),
        sequence=item.sequence,
        due=want.due if want is not None else state[uid].due,
        cancelled=item.cancelled,
        gone=False,
        ical=item.ical,
    )


def _refresh_token(provider: Provider, db: StateDB, wrote: bool, scanned_token: str | None) -> None:
    """Keep the token that lets the next sync skip the listing. After writes, scan again (our own writes changed
    the target) and keep the new token only if the target holds exactly what the state says."""
    if not wrote or scanned_token is None:
        db.set_meta("token", scanned_token)
        return
    rows = db.rows()
    known = {uid: row.remote() for uid, row in rows.items() if not row.gone}
    again = provider.scan(known, scanned_token)
    for uid, row in known.items():
        seen = again.items.get(uid)
        if seen is None:
            db.set_meta("token", None)
            return
        if row.etag is None:
            db.put(dataclasses.replace(rows[uid], etag=seen.etag))
        elif seen.etag != row.etag:
            db.set_meta("token", None)
            return
    db.set_meta("token", again.token)
