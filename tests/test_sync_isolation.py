"""One refused item never stops a sync: the engine against the memory provider, with a store that refuses chosen
items the way a server answers 400/403/409 (ItemRefused), or fails as a whole (ProviderError).

The CalDAV end-to-end versions of these (Radicale, Xandikos behind the fault-injecting proxy) are in
test_caldav_faults.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from factories import many_followups

from calsync.errors import ItemRefused, ProviderError
from calsync.provider import Item, Target, Written
from calsync.report import sync_summary
from calsync.sync.engine import sync_target
from calsync.sync.refusals import BACKOFF_START, GIVE_UP_AFTER
from calsync.sync.state import StateDB, state_path
from calsync.testing.memory import MemoryProvider, uid_in

_stores = itertools.count()
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Refusing(MemoryProvider):
    """The memory store, refusing every write of the UIDs in ``refused`` (and failing everything after ``down``)."""

    refused: ClassVar[dict[str, str]] = {}
    down = False
    attempts: ClassVar[list[str]] = []

    def _gate(self, uid: str) -> None:
        if Refusing.down:
            raise ProviderError("target mem: cannot reach the store (connection refused)")
        Refusing.attempts.append(uid)
        if uid in Refusing.refused:
            raise ItemRefused(uid, Refusing.refused[uid], status=400)

    def create(self, item: Item) -> Written:
        self._gate(item.uid)
        return super().create(item)

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._gate(item.uid)
        return super().update(href, item, etag)


@pytest.fixture
def target(tmp_path):
    Refusing.refused, Refusing.down, Refusing.attempts = {}, False, []
    return Target("mem", "memory", {"store": f"isolation-{next(_stores)}"}, state_dir=tmp_path)


def sync(target, followups, now=NOW, **kwargs):
    return sync_target(target, followups, provider=Refusing(target), now=now, **kwargs)


def stored_uids(target) -> set[str]:
    return {uid_in(data) for data in MemoryProvider.stores[target.option("store")].values()}


def test_a_refused_item_is_reported_and_the_others_are_written(target):
    plan = many_followups(5)
    bad = plan[1]  # sorted by UID, the engine would meet it at any position: make sure it is not the last
    Refusing.refused = {bad.uid: "400 Bad Request: invalid DESCRIPTION"}
    report = sync(target, plan)
    assert stored_uids(target) == {f.uid for f in plan} - {bad.uid}
    assert sorted(report.created) == sorted(f.uid for f in plan if f is not bad)
    [failed] = report.failed
    assert failed.uid == bad.uid and failed.state == "refused" and failed.attempts == 1
    assert failed.reason == "400 Bad Request: invalid DESCRIPTION" and failed.status == 400
    text = sync_summary(report)
    assert "failed:" in text and "invalid DESCRIPTION" in text
    assert f"{bad.due:%Y-%m-%d %H:%M}" in text and bad.due.tzinfo.key in text
    # the refusal is in the state, with its reason
    db = StateDB(state_path(target, target.state_dir))
    try:
        assert db.refusals()[bad.uid].reason == "400 Bad Request: invalid DESCRIPTION"
    finally:
        db.close()


def test_the_summary_names_the_item_as_the_person_knows_it(target):
    plan = many_followups(2)
    Refusing.refused = {plan[0].uid: "403 Forbidden"}
    report = sync(target, plan)
    [failed] = report.failed
    assert failed.summary and failed.summary != plan[0].uid  # the SUMMARY, not the UID
    assert failed.summary in sync_summary(report)


def test_refused_items_are_retried_with_backoff_then_left_alone_until_they_change(target):
    plan = many_followups(3)
    bad = plan[0]
    Refusing.refused = {bad.uid: "409 Conflict"}
    sync(target, plan)  # refusal 1
    Refusing.attempts.clear()
    report = sync(target, plan, now=NOW + timedelta(minutes=1))  # the next sync retries at once: refusal 2
    assert Refusing.attempts == [bad.uid] and report.failed[0].attempts == 2
    Refusing.attempts.clear()
    report = sync(target, plan, now=NOW + timedelta(minutes=2))  # within the backoff: not sent
    assert Refusing.attempts == [] and report.failed[0].state == "waiting" and report.writes == 0
    assert "tried again after" in sync_summary(report)
    moment = NOW + timedelta(minutes=2)
    for attempt in range(3, GIVE_UP_AFTER + 1):  # each wait doubles
        moment += BACKOFF_START * 2 ** (attempt - 2)
        Refusing.attempts.clear()
        report = sync(target, plan, now=moment)
        assert Refusing.attempts == [bad.uid], attempt
    assert report.failed[0].state == "given up"
    Refusing.attempts.clear()
    report = sync(target, plan, now=moment + timedelta(days=30))  # a month later: still left alone
    assert Refusing.attempts == [] and report.failed[0].state == "given up"
    assert "left alone until the item changes" in sync_summary(report)
    # its content changes (a new due time): tried again at once, and written once the store takes it
    Refusing.refused = {}
    moved = [f if f is not bad else dataclasses.replace(bad, due=bad.due + timedelta(days=2)) for f in plan]
    report = sync(target, moved, now=moment + timedelta(days=30, minutes=1))
    assert report.failed == [] and bad.uid in report.created
    assert stored_uids(target) == {f.uid for f in plan}
    db = StateDB(state_path(target, target.state_dir))
    try:
        assert db.refusals() == {}
    finally:
        db.close()


def test_a_refused_item_never_holds_up_the_others(target):
    plan = many_followups(4)
    Refusing.refused = {f.uid: "400 Bad Request" for f in plan[:2]}
    sync(target, plan)
    Refusing.refused = {plan[0].uid: "400 Bad Request"}
    more = many_followups(6)
    Refusing.attempts.clear()
    report = sync(target, more, now=NOW + timedelta(minutes=1))
    # items refused before go last: the new ones are written before the old refusals are tried again
    assert set(Refusing.attempts[:2]) == {more[4].uid, more[5].uid}
    assert set(Refusing.attempts[2:]) == {plan[0].uid, plan[1].uid}
    assert stored_uids(target) == {f.uid for f in more} - {plan[0].uid}
    assert [f.uid for f in report.failed] == [plan[0].uid]


def test_a_connection_failure_still_stops_the_target_at_once(target):
    plan = many_followups(3)
    Refusing.down = True
    with pytest.raises(ProviderError, match="cannot reach"):
        sync(target, plan)
    assert stored_uids(target) == set()


def test_the_cli_exits_1_on_partial_failure_and_lists_the_item(tmp_path, register):
    from filetargets import Workspace

    from calsync.testing.memory import MemoryPlugin

    class RefusingPlugin(MemoryPlugin):
        from calsync import hookimpl

        @hookimpl
        def calsync_register_providers(self, register):
            register("refusing", Refusing)

    Refusing.refused, Refusing.down = {}, False
    register(RefusingPlugin(), "refusing-plugin")
    ws = Workspace(tmp_path, f'[targets.mem]\nprovider = "refusing"\nstore = "cli-{next(_stores)}"\n')
    check_in = ws.by_kind()["check_in"][0]
    Refusing.refused = {check_in["uid"]: "413 Request Entity Too Large"}
    out = ws.run("sync", expect=1)
    assert "failed:" in out and "413 Request Entity Too Large" in out
    assert check_in["due"][:10] in out
    Refusing.refused = {}
    out = ws.run("sync", expect=0)
    assert "1 created" in out


# --- a to-do target from before to-dos had UIDs of their own: moved, crash-safe ------------------------------------


def _legacy_todo_target(tmp_path, followups):
    """What an older calsync left in a vdir to-do target: to-dos under the plan's UIDs, and a state saying so."""
    from calsync.plugins import provider_class
    from calsync.render import content_hash, render_item
    from calsync.sync.state import StateRow

    target = Target("tasks", "vdir", {"path": str(tmp_path / "tasks"), "component": "todo"}, state_dir=tmp_path)
    provider = provider_class("vdir")(target)
    db = StateDB(state_path(target, tmp_path))
    for f in followups:
        item = render_item(f, component="todo")
        written = provider.create(item)
        db.put(StateRow(f.uid, written.href, written.etag, content_hash(item), 0, f.due.isoformat(), False, False,
                        item.ical))  # fmt: skip
    db.close()
    return target


def _todo_uids(folder) -> list[str]:
    import icalendar

    return [
        str(c["UID"]) for p in folder.glob("*.ics") for c in icalendar.Calendar.from_ical(p.read_bytes()).walk("VTODO")
    ]


@pytest.mark.parametrize("crash_after", [0, 1, 2, 3])
def test_a_legacy_todo_target_moves_to_its_own_uids_through_crashes(tmp_path, crash_after):
    from crashing import Crash, crashing

    from calsync.sync.identity import remote_uid

    followups = many_followups(3)
    target = _legacy_todo_target(tmp_path, followups)
    folder = tmp_path / "tasks"
    for _ in range(6):  # a crash at the same point of every run (a run with fewer actions left gets through)
        try:
            sync_target(target, followups, provider=crashing(target, crash_after), now=NOW)
            break
        except Crash:
            uids = _todo_uids(folder)
            assert len(uids) == len(set(uids))
            # every follow-up is there under one UID or the other, never lost
            for f in followups:
                assert f.uid in uids or remote_uid(f.uid, "todo", None) in uids
    report = sync_target(target, followups, now=NOW)
    assert report.conflicts == [] and report.failed == []
    assert sorted(_todo_uids(folder)) == sorted(remote_uid(f.uid, "todo", None) for f in followups)
    assert sync_target(target, followups, now=NOW).writes == 0


def test_a_calendar_that_refuses_everything_never_makes_calsync_give_up(target):
    """A read-only or full calendar refuses every item: that is not the items' fault, and once it is fixed they all
    go in (none is left alone as "given up")."""
    plan = many_followups(3)
    Refusing.refused = {f.uid: "403 Forbidden: the calendar is read-only" for f in plan}
    moment = NOW
    for _ in range(GIVE_UP_AFTER + 2):
        report = sync(target, plan, now=moment)
        moment += timedelta(days=1)
        assert {f.state for f in report.failed} <= {"refused"} and len(report.failed) == 3
    assert "problem of the calendar" in sync_summary(report)
    Refusing.refused = {}
    report = sync(target, plan, now=moment)
    assert sorted(report.created) == sorted(f.uid for f in plan) and report.failed == []
