"""Sync one target: render the plan, scan the target, diff, write, record. The only module here doing I/O, and
only through the provider and the state database."""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from calsync.errors import ItemRefused, NotFound, PreconditionFailed, UserError, WritesRefused
from calsync.model import FollowUp, Policy
from calsync.provider import Action, Create, Delete, Item, Outcome, Provider, RemoteItem, Scan, Target, Update
from calsync.sync import refusals
from calsync.sync.diff import Adopt, AdoptEtag, Conflict, Desired, Forget, MarkGone, SettleIntent, diff
from calsync.sync.identity import Identity, remote_uid, with_uid
from calsync.sync.lock import is_locked, target_lock
from calsync.sync.recovery import Unconfirmed, check_lost_state, confirmed, read_unknown
from calsync.sync.render_cache import RenderCache
from calsync.sync.state import StateDB, StateRow, damaged, is_damage, move_aside, state_path

#: How long a sync waits for another one of the same target to finish, by default (``lock_wait`` in the config).
DEFAULT_LOCK_WAIT = 5.0

Decorate = Callable[[Any, FollowUp], None]
#: Called after each write: (writes done, writes in all, the action's verb, the item's label).
Progress = Callable[[int, int, str, str], None]
#: Told of the to-dos completed on the target (new ones only); returns the whole plan with them done.
OnCompleted = Callable[[list[Any]], Sequence[FollowUp]]


@dataclass(frozen=True)
class FailedItem:
    """An item not written because the target refused it: ``state`` is "refused" (this run), "waiting" (refused
    before; retried after ``retry_at``) or "given up" (refused too often for the same reason; retried once its
    content changes)."""

    uid: str
    summary: str
    due: str
    reason: str
    status: int | None
    attempts: int
    state: str
    retry_at: str | None = None


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
    failed: list[FailedItem] = field(default_factory=list)
    #: how each item is named in messages: its summary and due time, never its UID alone
    labels: dict[str, str] = field(default_factory=dict)
    #: items whose due time changes: (uid, old due, new due), as the user reads them
    moves: list[tuple[str, str, str]] = field(default_factory=list)
    #: to-dos completed on the target and recorded as sent in the interview file
    completed: list[str] = field(default_factory=list)

    #: names an item not labelled yet (labels are made when first needed: most items are never mentioned)
    labeller: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)

    def label(self, uid: str) -> str:
        found = self.labels.get(uid)
        if found is None and self.labeller is not None:
            found = self.labeller(uid)
            if found is not None:
                self.labels[uid] = found
        return found if found is not None else uid

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
            "actions": [
                {"action": verb, "uid": uid, "summary": summary, "item": self.label(uid)}
                for verb, uid, summary in self.planned
            ],
            "notes": self.notes,
            "failed": [dataclasses.asdict(f) for f in self.failed],
            "completed": self.completed,
            "moves": [{"uid": uid, "item": self.label(uid), "from": old, "to": new} for uid, old, new in self.moves],
        }


def target_settings(
    target: Target, provider_cls: type[Provider], policy: Policy
) -> tuple[str, str, int | dict[str, int]]:
    """The generic target options: component, cancelled mode, alarm lead time (the target's ``alarm_minutes`` for
    every follow-up, else the policy's per kind); checked, errors naming the config's line."""
    component = target.choice("component", "event", ("event", "todo"))
    if component == "todo" and not provider_cls.supports_todo:
        raise target.error("component", f"the {target.provider!r} provider cannot store to-dos")
    cancelled = target.choice("cancelled", "keep", ("keep", "delete"))
    if target.option("alarm_minutes", None) is None:
        return component, cancelled, policy.alarm_minutes()
    alarm = target.number("alarm_minutes", 0, low=0, high=7 * 24 * 60, whole=True)
    return component, cancelled, alarm


def render_desired(
    followups: Sequence[FollowUp],
    component: str,
    alarm_minutes: int | dict[str, int],
    templates=None,
    decorate: Decorate | None = None,
    *,
    now: datetime | None = None,
    pushed: dict[str, str] | None = None,
    uid_on_target: Callable[[str], str] | None = None,
    cache: RenderCache | None = None,
) -> dict[str, Desired]:
    """Every follow-up rendered for the target, under the UID it carries there (``uid_on_target``; the state's
    hashes are of that form). With ``now``, one already due is rendered overdue (no alarm) -- unless ``pushed``
    (UID -> content hash in the state) shows it went out in its plain form when it was still ahead: that form
    stays, so nothing is rewritten just because time passed.

    With a ``cache`` (see :mod:`calsync.sync.render_cache`), a follow-up whose inputs are those of the last sync
    takes its hash from there and is rendered only if the diff needs its item."""
    from calsync.model import as_planned, is_overdue
    from calsync.rewrite import content_hash
    from calsync.sync.render_cache import OVERDUE, PLAIN

    options = dict(component=component, alarm_minutes=alarm_minutes, templates=templates, decorate=decorate)

    def rendered(followup: FollowUp, remote: str, form: str) -> Item:
        from calsync.render import render_item

        return render_item(as_planned(followup), now=now if form == OVERDUE else None, uid=remote, **options)

    def hash_of(followup: FollowUp, remote: str, form: str, made: dict[str, Item]) -> str:
        """The content hash of ``followup`` in ``form``: the cache's, or rendered now (the item kept in ``made``)."""
        key = cache.key(followup, remote, form) if cache is not None else ""
        found = cache.hash_for(followup.uid, form, key) if cache is not None else None
        if found is None:
            made[form] = rendered(followup, remote, form)
            found = content_hash(made[form])
            if cache is not None:
                cache.learn(followup.uid, form, key, found)
        return found

    desired: dict[str, Desired] = {}
    for followup in followups:
        uid = followup.uid
        remote = uid_on_target(uid) if uid_on_target is not None else uid
        made: dict[str, Item] = {}
        form, known = PLAIN, None
        if is_overdue(followup, now):
            form = OVERDUE
            known = hash_of(followup, remote, OVERDUE, made)
            went_out = pushed.get(uid) if pushed else None
            # Which form is on the target: the overdue one, or the plain one (it went out while still ahead)?
            if went_out is not None and known != went_out and hash_of(followup, remote, PLAIN, made) == went_out:
                form, known = PLAIN, went_out
        if known is None:
            known = hash_of(followup, remote, PLAIN, made)
        desired[uid] = Desired(
            uid=uid,
            item=made.get(form),  # type: ignore[arg-type]
            hash=known,
            due=followup.due.astimezone(UTC).isoformat(),
            cancelled=followup.cancelled,
            revision=followup.revision,
            remote=None if remote == uid else remote,
            followup=followup,
            render=functools.partial(rendered, followup, remote, form),
        )
    return desired


def render_cache(db: StateDB, component: str, alarm, templates, decorate: Decorate | None) -> RenderCache | None:
    """The render cache of this target, for these settings; None (every follow-up rendered) when a decorating
    plugin declares no inputs, or custom templates cannot say what they depend on."""
    from calsync.sync.render_cache import RenderCache, decoration_key, settings_text

    decoration = decoration_key(decorate)
    if templates is None:
        templates_key: str | None = "calsync"
    else:
        keyer = getattr(templates, "cache_key", None)
        templates_key = keyer() if callable(keyer) else None
    if decoration is None or templates_key is None:
        return None
    return RenderCache(known=db.renders(), settings=settings_text(component, alarm, templates_key, decoration))


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
    progress: Progress | None = None,
    on_completed: OnCompleted | None = None,
    lock_wait: float | None = DEFAULT_LOCK_WAIT,
    adopt: bool = False,
    rebuild_state: bool = False,
) -> SyncReport:
    """Bring ``target`` in step with ``followups``. Writes nothing with ``dry_run``; ``progress`` hears of each
    write as it completes. On a to-do target whose provider can read items back, to-dos completed there are
    handed to ``on_completed``, which records them and returns the plan that follows (see :func:`_read_back`).

    One sync per target at a time: this one waits ``lock_wait`` seconds (None: as long as it takes) for another to
    finish. ``adopt`` lets a sync that has no state take over the calsync items it finds; ``rebuild_state`` moves
    the state database aside first (a damaged one) and adopts."""
    from calsync.plugins import provider_class

    policy = policy or Policy()
    provider_cls = type(provider) if provider is not None else provider_class(target.provider)
    component, cancelled_mode, alarm = target_settings(target, provider_cls, policy)
    now = now or datetime.now(UTC)
    directory = state_dir or target.state_dir
    if directory is None:
        from calsync import paths

        directory = paths.state_dir()
    path = state_path(target, directory)

    def run(db: StateDB, provider: Provider, adopt: bool, dry_run: bool) -> SyncReport:
        state = db.rows()
        pushed = {uid: row.hash for uid, row in state.items() if not row.gone}
        naming = Naming(component, uid_suffix(target), db.identities())
        cache = render_cache(db, component, alarm, templates, decorate)
        options = dict(now=now, pushed=pushed, uid_on_target=naming.wanted, cache=cache)
        desired = render_desired(followups, component, alarm, templates, decorate, **options)
        read_back = None
        if on_completed is not None and component == "todo" and provider_cls.can_read:

            def read_back(report, state, remote, desired, now):
                def rerender(plan):
                    fresh = render_desired(plan, component, alarm, templates, decorate, **options)
                    return {uid: _carrying(want, naming.wanted(uid)) for uid, want in fresh.items()}

                return _read_back(report, provider, db, state, remote, desired, on_completed, rerender, dry_run, now)

        report = _sync(
            target, provider, db, desired, dry_run, force, cancelled_mode, now, naming, adopt, progress, read_back,
            state,
        )  # fmt: skip
        if not dry_run and cache is not None:
            db.put_renders(cache.learnt, forget=cache.forgotten(set(desired)))
        return report

    if dry_run:  # read-only: never waits for, nor takes, the lock
        report = _open_and_sync(target, path, provider, provider_cls, run, adopt, dry_run=True)
        running = is_locked(path)
        if running:
            report.notes.append(f"a sync of this target is running now ({running}): this may change")
        return report
    with target_lock(path, target.name, lock_wait):
        note = None
        if rebuild_state:
            adopt = True  # rebuilding adopts what it finds
            note = f"the previous state was moved to {move_aside(path)}" if path.exists() else "there was no state"
        report = _open_and_sync(target, path, provider, provider_cls, run, adopt, dry_run=False)
        if note:
            report.notes.append(f"state rebuilt from the target; {note}")
        return report


def _open_and_sync(target, path, provider, provider_cls, run, adopt: bool, *, dry_run: bool) -> SyncReport:
    db = StateDB(path, read_only=dry_run, target=target.name)
    provider = provider or provider_cls(target)
    try:
        provider.state = db.provider_state()
        report = run(db, provider, adopt, dry_run)
        if not dry_run:
            db.backup()  # the state of this good sync, should the next one find the database damaged
        return report
    except sqlite3.Error as exc:
        if is_damage(exc):  # a truncated file can open fine and fail on the first page it reads
            raise damaged(path, target.name, exc) from None
        raise UserError(f"{path}: the sync state database failed: {exc}") from None
    finally:
        provider.close()
        db.close()


def uid_suffix(target: Target) -> str | None:
    """The ``uid_suffix`` option: for an account with two event targets, the UIDs of one get this mixed in."""
    value = target.option("uid_suffix")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"targets.{target.name}.uid_suffix: expected a non-empty string, got {value!r}")
    return value.strip()


@dataclass
class Naming:
    """The UIDs items carry on this target (see identity.py): ``ids`` as recorded in the state."""

    component: str
    suffix: str | None
    ids: dict[str, Identity]

    def generation(self, uid: str) -> int:
        found = self.ids.get(uid)
        return found.generation if found is not None else 0

    def wanted(self, uid: str) -> str:
        if self.component != "todo" and not self.suffix and uid not in self.ids:
            return uid  # an event target's own UIDs (asked four times per item per sync: kept cheap)
        return remote_uid(uid, self.component, self.suffix, self.generation(uid))

    def in_use(self, uid: str) -> str:
        """The UID of what calsync wrote last (none recorded: the plan's, as before identities existed)."""
        found = self.ids.get(uid)
        return found.remote if found is not None else uid


def _sync(
    target,
    provider: Provider,
    db: StateDB,
    desired,
    dry_run,
    force,
    cancelled_mode,
    now,
    naming,
    adopt=False,
    progress=None,
    read_back=None,
    state: dict[str, StateRow] | None = None,
) -> SyncReport:
    report = SyncReport(target.name, provider.describe(), dry_run=dry_run)
    state = dict(state) if state is not None else db.rows()
    if not dry_run:
        _move_to_wanted_uids(db, state, desired, naming)
    desired = {uid: _carrying(want, naming.wanted(uid)) for uid, want in desired.items()}
    retired = db.retired()
    known = {uid: row.remote() for uid, row in state.items() if not row.gone}
    token = db.meta("token")
    scan = _scan(provider, naming, known, token, desired, retired)
    if read_back is not None:
        desired = read_back(report, state, scan.items, desired, now)
    _safety_valves(target, desired, state, scan.items, force)
    if not force:
        _id_change_guard(desired, state)
    found = read_unknown(provider, desired, state, scan.items)
    if db.fresh:
        unknown = [uid for uid in desired if uid not in state and uid in scan.items]
        note = check_lost_state(target, found, unknown, adopt=adopt, dry_run=dry_run)
        report.notes.extend([note] if note else [])
    intents = db.intents()
    state = _adopt_unedited(provider, db, state, desired, scan.items, intents, cancelled_mode, dry_run)
    plan = diff(
        desired,
        state,
        scan.items,
        now=now,
        cancelled_mode=cancelled_mode,
        force=force,
        intents=intents,
        found=found,
    )
    report.conflicts.extend(plan.conflicts)
    report.unchanged = len(desired) - len(plan.actions) - len(plan.conflicts)
    if plan.untouched:
        report.notes.append(f"{len(plan.untouched)} calsync item(s) on the target unknown to this state: left alone")
    _name_items(report, desired, state, plan)
    standing = db.refusals()
    actions = _admit(plan.actions, standing, state, desired, now, report)
    for action in actions:
        report.planned.append((action.verb, action.uid, _summary(action, state)))
    if dry_run:
        return report
    db.mark_started()
    adopted = _adopted_identities(plan.state_changes, desired, naming)  # first: a row is never without its UID
    db.put_identities(adopted)
    naming.ids.update({i.uid: i for i in adopted})
    for change in plan.state_changes:
        _record_state_change(db, state, change)
    db.drop_refusals([uid for uid in standing if uid not in {a.uid for a in plan.actions}])
    db.record_intents(
        [_row_for(action.uid, action.item, desired, state) for action in actions if isinstance(action, Update)]
    )
    fresh = _identities(actions, naming)
    db.put_identities(fresh)
    naming.ids.update({i.uid: i for i in fresh})
    context = _Context(db, state, desired, report, standing, now)
    recreate: list[Create] = []
    arrived: list[Outcome] = []
    by_key = {_key(action): action for action in actions}
    recorded: set[str] = set()
    try:
        for outcome in provider.apply([_on_target(action, naming) for action in actions]):
            outcome = confirmed(provider, _in_plan_terms(outcome, by_key))
            recorded.add(outcome.action.uid)
            if _trash_bin(outcome, state, standing):
                recreate.append(outcome.action)  # type: ignore[arg-type]
                continue
            if _there_already(outcome, provider):
                arrived.append(outcome)
                continue
            _record(context, outcome)
            if progress is not None:
                progress(len(recorded), len(actions), outcome.action.verb, report.label(outcome.action.uid))
        if recreate:
            _recreate_under_new_uids(provider, context, naming, recreate)
        if arrived:
            _take_over_arrived(provider, context, naming, arrived)
        _not_about_the_items(context)
        _retire(provider, db, naming, report)
    except WritesRefused:
        # Not sent: an intent left behind would make a later edit by the user pass for this update.
        for action in actions:
            if isinstance(action, Update) and action.uid not in recorded:
                db.drop_intent(action.uid)
        raise
    finally:
        db.set_provider_state(provider.state)  # what the provider learnt is kept even when the target stops it
    _refresh_token(provider, db, bool(actions) or bool(retired), scan.token, naming, desired)
    return report


def _carrying(want: Desired, uid: str) -> Desired:
    if want.carries == uid:
        return want
    from calsync.rewrite import content_hash

    item = with_uid(want.item, uid)
    return dataclasses.replace(
        want, item=item, hash=content_hash(item), remote=None if uid == want.uid else uid, render=None
    )


def _move_to_wanted_uids(db: StateDB, state: dict[str, StateRow], desired, naming: Naming) -> None:
    """Items written under a UID this target no longer uses (a to-do target from before to-dos had their own
    UIDs, a new ``uid_suffix``): retire the old resource and let the diff create the item under the new UID."""
    if naming.component != "todo" and not naming.suffix and not naming.ids:
        return  # an event target that never changed UIDs: every item carries the plan's UID
    for uid, row in list(state.items()):
        if row.gone or uid not in desired or naming.in_use(uid) == naming.wanted(uid):
            continue
        identity = Identity(uid, naming.wanted(uid), naming.generation(uid))
        db.retire(row, identity)
        naming.ids[uid] = identity
        del state[uid]


def _scan(provider: Provider, naming: Naming, known, token, desired, retired) -> Scan:
    """The provider's scan, keyed by plan UIDs: what it lists under the UIDs this target uses, mapped back."""
    on_target = {}
    back: dict[str, str] = {}
    for uid, item in known.items():
        remote = naming.in_use(uid)
        on_target[remote] = RemoteItem(remote, item.href, item.etag) if remote != uid else item
        back[remote] = uid
    for uid in desired:
        back.setdefault(naming.wanted(uid), uid)
    scan = provider.scan(on_target, token)
    items: dict[str, RemoteItem] = {}
    for remote, item in scan.items.items():
        if item.href in retired:
            continue
        uid = back.get(remote)
        if uid is None:  # calsync's, but not an identity of this state: listed as unknown, never touched
            uid = remote if remote not in desired else f"{remote} (unknown)"
        items[uid] = item if item.uid == uid else RemoteItem(uid, item.href, item.etag)
    return Scan(items, scan.token)


def _adopt_unedited(provider, db, state, desired, remote, intents, cancelled_mode, dry_run) -> dict[str, StateRow]:
    """Content, not ETags, decides what the user edited: when an item's ETag moved and calsync has something to
    write to it, read it back; if it shows exactly what calsync last pushed, take the new ETag and carry on."""
    if not getattr(provider, "can_read", False):
        return state
    from calsync.sync.content import same_content

    settled = dict(state)
    for uid, row in state.items():
        there = remote.get(uid)
        if there is None or row.gone or row.etag is None or there.etag == row.etag or uid in intents:
            continue
        want = desired.get(uid)
        matters = want is None or want.hash != row.hash or (cancelled_mode == "delete" and want.cancelled)
        if not matters:
            continue
        try:
            found = provider.read(there.href)
        except NotFound:
            continue
        if not same_content(row.ical, found.ical):
            continue
        adopted = dataclasses.replace(row, etag=there.etag)
        settled[uid] = adopted
        if not dry_run:
            db.put(adopted)
    return settled


def _admit(actions: list[Action], standing, state, desired, now, report: SyncReport) -> list[Action]:
    """The actions to send now: those of items refused before wait for their backoff, or for a change of content
    after too many refusals. Items refused before go last, so that they never hold up the others."""
    sent: list[Action] = []
    retried: list[Action] = []
    for action in actions:
        refusal = standing.get(action.uid)
        if refusal is None:
            sent.append(action)
            continue
        verdict = refusals.verdict(refusal, _content(action, state), now)
        if verdict == "send":
            retried.append(action)
            continue
        summary, due = _what(action, state, desired)
        report.failed.append(
            FailedItem(
                action.uid,
                summary,
                due,
                refusal.reason,
                refusal.status,
                refusal.attempts,
                "given up" if verdict == "given_up" else "waiting",
                None if verdict == "given_up" else refusal.retry_at.isoformat(timespec="seconds"),
            )
        )
    return sent + retried


def _content(action: Action, state: dict[str, StateRow]) -> str:
    """What an action would write, for telling "the same item again" from "changed since it was refused"."""
    from calsync.rewrite import content_hash

    if isinstance(action, Delete):
        row = state.get(action.uid)
        return f"delete:{row.hash if row is not None else ''}"
    return f"{action.verb}:{content_hash(action.item)}"


def _what(action: Action, state: dict[str, StateRow], desired) -> tuple[str, str]:
    """The summary and due time of an action's item, as the person knows it."""
    item = None
    if isinstance(action, Delete):
        row = state.get(action.uid)
        if row is not None:
            from calsync.rewrite import parse_items

            items = parse_items(row.ical)
            item = items[0] if items else None
    else:
        item = action.item
    if item is None:
        return action.uid, ""
    component = item.component
    summary = str(component.get("SUMMARY", action.uid))
    followup = item.followup or (desired[action.uid].followup if action.uid in desired else None)
    if followup is not None:
        due = followup.due
    else:
        prop = component.get("DUE") or component.get("DTSTART")
        due = prop.dt if prop is not None else None
    if isinstance(due, datetime):
        zone = getattr(due.tzinfo, "key", None) or str(due.tzinfo or "")
        return summary, f"{due:%a %Y-%m-%d %H:%M} {zone}".strip()
    return summary, str(due or "")


def _identities(actions: list[Action], naming: Naming) -> list[Identity]:
    """Recorded before writing: the UID each item will carry (only where it is not the plan's own)."""
    fresh = []
    for action in actions:
        if isinstance(action, Delete):
            continue
        identity = Identity(action.uid, action.item.uid, naming.generation(action.uid))
        if naming.ids.get(action.uid) != identity and (identity.remote != identity.uid or action.uid in naming.ids):
            fresh.append(identity)
    return fresh


def _adopted_identities(changes: list, desired: dict[str, Desired], naming: Naming) -> list[Identity]:
    """The UIDs adopted items carry, where not the plan's (a to-do target's): found under them, and known by them
    from now on, as if this state had written them."""
    found = []
    for change in changes:
        want = desired.get(change.uid) if isinstance(change, Adopt) else None
        if want is not None and want.carries != change.uid and change.uid not in naming.ids:
            found.append(Identity(change.uid, want.carries, naming.generation(change.uid)))
    return found


def _on_target(action: Action, naming: Naming) -> Action:
    """The action as the provider sees it: under the UID the item carries there."""
    remote = naming.in_use(action.uid) if isinstance(action, Delete) else action.item.uid
    return action if remote == action.uid else dataclasses.replace(action, uid=remote)


def _in_plan_terms(outcome: Outcome, by_key: dict[tuple[str, str], Action]) -> Outcome:
    """The outcome of an action sent under the target's UID, about the planned action (keyed by :func:`_key`)."""
    planned = by_key.get(_key(outcome.action))
    return outcome if planned is None else dataclasses.replace(outcome, action=planned)


def _key(action: Action) -> tuple[str, str]:
    if isinstance(action, Delete):
        return ("delete", action.href)
    return (action.verb, action.item.uid)


def _trash_bin(outcome: Outcome, state: dict[str, StateRow], standing) -> bool:
    """A create refused for an item this target held before: a server keeping its UID in a trash bin. (Once per
    refusal: if the new UID is refused too, the refusal is recorded and retried like any other.)"""
    error = outcome.error
    return (
        isinstance(error, ItemRefused)
        and isinstance(outcome.action, Create)
        and outcome.action.uid in state
        and outcome.action.uid not in standing
        and error.status in (400, 403, 409)
    )


def _recreate_under_new_uids(provider: Provider, context: _Context, naming: Naming, refused: list[Create]) -> None:
    """Give each item a fresh identity (the next generation of its UID) and create it again, once."""
    fresh: list[Create] = []
    for action in refused:
        generation = naming.generation(action.uid) + 1
        remote = remote_uid(action.uid, naming.component, naming.suffix, generation)
        identity = Identity(action.uid, remote, generation)
        naming.ids[action.uid] = identity
        want = context.desired.get(action.uid)
        if want is not None:
            context.desired[action.uid] = _carrying(want, remote)
        fresh.append(Create(action.uid, with_uid(action.item, remote)))
        context.report.notes.append(
            f"{action.uid}: the target keeps the deleted item's UID (a trash bin): created under a new UID {remote}"
        )
    context.db.put_identities([naming.ids[a.uid] for a in fresh])
    for outcome in provider.apply([_on_target(action, naming) for action in fresh]):
        _record(context, _in_plan_terms(outcome, {_key(action): action for action in fresh}))


def _there_already(outcome: Outcome, provider: Provider) -> bool:
    """A create refused because the item is there already, on a target that can show it."""
    return (
        isinstance(outcome.error, PreconditionFailed)
        and isinstance(outcome.action, Create)
        and getattr(provider, "can_read", False)
    )


def _take_over_arrived(provider: Provider, context: _Context, naming: Naming, refused: list[Outcome]) -> None:
    """Creates refused because the item exists: when it is calsync's own, unedited (its seal matches), it is a
    write of an earlier run that the state never recorded -- a run killed while its request was in flight, which
    the server finished after the scan. It is taken over (recorded, or updated to what is wanted), not reported as
    a conflict; anything else stays a conflict, kept."""
    from calsync.rewrite import content_hash
    from calsync.sync.recovery import found_in

    updates: list[Update] = []
    for outcome in refused:
        action, href = outcome.action, outcome.error.href  # type: ignore[union-attr]
        want = context.desired.get(action.uid)
        try:
            fetched = provider.read(href)
        except NotFound:
            fetched = None
        if want is None or fetched is None or found_in(fetched.ical).edited:
            _record(context, outcome)
            continue
        there = Item(action.item.uid, fetched.ical)
        if content_hash(there) == want.hash:
            row = _row_for(action.uid, action.item, context.desired, context.state)
            context.db.put(dataclasses.replace(row, href=href, etag=fetched.etag))
            context.report.notes.append(f"{context.report.label(action.uid)}: found written by an earlier run: kept")
        else:
            updates.append(Update(action.uid, href, fetched.etag, action.item))
    if updates:
        by_key = {_key(update): update for update in updates}
        for outcome in provider.apply([_on_target(update, naming) for update in updates]):
            _record(context, _in_plan_terms(outcome, by_key))


def _not_about_the_items(context: _Context) -> None:
    """When a run wrote nothing and had several items refused, the calendar is the likelier cause (read-only, full):
    those refusals never count towards giving up, so the items go in once the calendar is fixed."""
    report, refused = context.report, context.refused_now
    if report.writes or len(refused) < 2:
        return
    limit = refusals.GIVE_UP_AFTER - 1
    for refusal in refused.values():
        if refusal.attempts > limit:
            context.db.put_refusal(dataclasses.replace(refusal, attempts=limit))
    report.failed = [
        dataclasses.replace(f, attempts=min(f.attempts, limit), state="refused")
        if f.uid in refused and f.state == "given up"
        else f
        for f in report.failed
    ]
    report.notes.append(
        f"the target refused all {len(refused)} items it was sent: more likely a problem of the calendar "
        "(read-only? full?) than of the items"
    )


def _retire(provider: Provider, db: StateDB, naming: Naming, report: SyncReport) -> None:
    """Delete what calsync left under an old UID, once the item is written under its new one."""
    retired = db.retired()
    if not retired:
        return
    rows = db.rows()
    failed = {f.uid for f in report.failed}
    ready = [
        Delete(uid, href, etag)
        for href, (uid, etag) in retired.items()
        if uid not in failed and (uid not in rows or not rows[uid].gone)
    ]
    for outcome in provider.apply(ready):
        action, error = outcome.action, outcome.error
        if isinstance(error, PreconditionFailed):
            report.notes.append(f"{action.uid}: the copy under its old UID was changed on the target: kept")
        elif isinstance(error, ItemRefused):
            report.notes.append(f"{action.uid}: the copy under its old UID could not be deleted: {error.reason}")
            continue
        elif error is not None and not isinstance(error, NotFound):
            raise error
        db.drop_retired(action.href)  # type: ignore[union-attr]


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


def _read_back(
    report, provider, db, state, remote, desired, on_completed, rerender, dry_run, now
) -> dict[str, Desired]:
    """To-dos completed on the target: the new ones are recorded (``on_completed``) and the plan re-rendered; for
    each, the state takes the target's version as the last one pushed, so it is neither a conflict nor
    overwritten."""
    from calsync.report import when_label
    from calsync.sync.readback import find_completions

    planned = {uid: want.followup for uid, want in desired.items() if want.followup is not None}
    found = find_completions(provider, state, remote, planned, now.date())
    if not found:
        return desired
    new = [completion for completion in found if completion.new]
    if new:
        desired = rerender(on_completed(new))
    for completion in found:
        want = desired.get(completion.uid)
        if want is None:
            continue
        row = dataclasses.replace(
            state[completion.uid], etag=completion.etag, hash=want.hash, ical=completion.ical, gone=False
        )
        state[completion.uid] = row
        if not dry_run:
            db.put(row)
        if completion.new:
            summary = str(want.item.component.get("SUMMARY", ""))
            report.completed.append(f"{summary} ({when_label(completion.followup.due)}): sent {completion.day}")
    return desired


def _id_change_guard(desired: dict[str, Desired], state: dict[str, StateRow]) -> None:
    """Stop before writing when an edit changed an interview's derived id (see :mod:`calsync.sync.idchange`)."""
    from calsync.sync.idchange import id_changes

    planned = [want.followup for want in desired.values() if want.followup is not None]
    changes = id_changes(planned, state)
    if changes:
        raise UserError(changes[0].message())


def _summary(action, state: dict[str, StateRow]) -> str:
    if isinstance(action, Delete):  # nothing rendered for it: its last pushed form says what it was
        from calsync.report import row_summary

        return row_summary(state[action.uid]) if action.uid in state else action.uid
    from calsync.rewrite import summary_of

    return summary_of(action.item.ical) or ""


def _name_items(report: SyncReport, desired: dict[str, Desired], state: dict[str, StateRow], plan) -> None:
    """Let the report label any item it mentions (when it first does), and list the moves (old -> new due time)
    of the updates."""
    from calsync.report import item_label, row_label, when_label

    def labeller(uid: str) -> str | None:
        want = desired.get(uid)
        if want is not None and want.followup is not None:
            return item_label(want.item)
        if uid in state:
            return row_label(state[uid])
        return None

    report.labeller = labeller
    for action in plan.actions:
        want, row = desired.get(action.uid), state.get(action.uid)
        if isinstance(action, Update) and want is not None and row is not None and want.due != row.due:
            zone = want.followup.due.tzinfo if want.followup else UTC
            old = datetime.fromisoformat(row.due).astimezone(zone)
            report.moves.append(
                (action.uid, when_label(old), when_label(datetime.fromisoformat(want.due).astimezone(zone)))
            )


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
    elif isinstance(change, Adopt):
        state[change.uid] = change.row
        db.put(change.row)
    elif isinstance(change, AdoptEtag):
        row = dataclasses.replace(state[change.uid], etag=change.etag, gone=False)
        state[change.uid] = row
        db.put(row)


@dataclass
class _Context:
    """What recording an outcome needs."""

    db: StateDB
    state: dict[str, StateRow]
    desired: dict[str, Desired]
    report: SyncReport
    standing: dict[str, refusals.Refusal]
    now: datetime
    refused_now: dict[str, refusals.Refusal] = field(default_factory=dict)


def _record(context: _Context, outcome: Outcome) -> None:
    """Write one completed action to the state, in its own transaction."""
    db, state, desired, report = context.db, context.state, context.desired, context.report
    action, error = outcome.action, outcome.error
    uid = action.uid
    if error is not None:
        db.drop_intent(uid)
    if isinstance(error, ItemRefused):
        refusal = refusals.refused(
            context.standing.get(uid), uid, _content(action, state), error.reason, error.status, context.now,
            error.retry_after,
        )  # fmt: skip
        db.put_refusal(refusal)
        context.refused_now[uid] = refusal
        summary, due = _what(action, state, desired)
        report.failed.append(
            FailedItem(uid, summary, due, error.reason, error.status, refusal.attempts,
                       "given up" if refusal.given_up else "refused")
        )  # fmt: skip
        return
    if isinstance(error, PreconditionFailed):
        reason = "exists already" if isinstance(action, Create) else "changed on the target since the last sync"
        report.conflicts.append(Conflict(uid, error.href, reason + ": kept"))
        return
    if isinstance(error, Unconfirmed):
        report.notes.append(
            f"{uid}: the target answered 'not found' to the {action.verb}, but {error}: kept, retried next sync"
        )
        return
    if isinstance(error, NotFound):
        if uid in state:
            db.put(dataclasses.replace(state[uid], gone=True))
        elif isinstance(action, Create):
            # Never recorded, and found deleted there (a lost state): the user's deletion is remembered, so it sticks.
            db.put(dataclasses.replace(_row_for(uid, action.item, desired, state), href=error.href, gone=True))
        report.notes.append(f"{report.label(uid)}: gone from the target")
        return
    if error is not None:
        raise error
    if uid in context.standing:
        db.drop_refusals([uid])
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
    from calsync.rewrite import content_hash

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


def _refresh_token(
    provider: Provider, db: StateDB, wrote: bool, scanned_token: str | None, naming: Naming, desired
) -> None:
    """Keep the token that lets the next sync skip the listing. After writes, scan again (our own writes changed
    the target) and keep the new token only if the target holds exactly what the state says."""
    if not wrote or scanned_token is None:
        db.set_meta("token", scanned_token)
        return
    rows = db.rows()
    known = {uid: row.remote() for uid, row in rows.items() if not row.gone}
    again = _scan(provider, naming, known, scanned_token, desired, db.retired())
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
