"""The pure diff, rule by rule: plan x state x target -> actions."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import factories
import pytest

from calsync.model import Kind, Status
from calsync.provider import Create, Delete, RemoteItem, Update
from calsync.render import content_hash
from calsync.sync.diff import AdoptEtag, Forget, MarkGone, SettleIntent, diff
from calsync.sync.engine import render_desired
from calsync.sync.state import StateRow

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def desired(*followups):
    return render_desired(followups, "event", 0)


def pushed(want, etag="e1", **changes) -> StateRow:
    row = StateRow(want.uid, f"{want.uid}.ics", etag, want.hash, want.item.sequence, want.due, want.cancelled, False,
                   want.item.ical)  # fmt: skip
    return dataclasses.replace(row, **changes)


@pytest.fixture
def check_in():
    return factories.followup(Kind.CHECK_IN)


def test_new_follow_up_is_created(check_in):
    want = desired(check_in)
    result = diff(want, {}, {}, now=NOW)
    assert [type(a) for a in result.actions] == [Create]


def test_never_pushed_cancelled_follow_up_is_not_pushed(check_in):
    want = desired(dataclasses.replace(check_in, status=Status.CANCELLED, revision=1))
    assert diff(want, {}, {}, now=NOW).empty


def test_unrecorded_item_on_the_target_is_taken_over_not_duplicated(check_in):
    want = desired(check_in)
    there = {check_in.uid: RemoteItem(check_in.uid, "x.ics", "e9")}
    (action,) = diff(want, {}, there, now=NOW).actions
    assert isinstance(action, Update) and action.href == "x.ics" and action.etag == "e9"


def test_unchanged_means_nothing(check_in):
    want = desired(check_in)
    state = {check_in.uid: pushed(want[check_in.uid])}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "e1")}
    assert diff(want, state, there, now=NOW).empty


def test_moved_follow_up_is_updated_with_the_next_sequence(check_in):
    old = desired(check_in)[check_in.uid]
    moved = dataclasses.replace(check_in, due=check_in.due + timedelta(days=7), revision=1)
    want = desired(moved)
    state = {check_in.uid: pushed(old, sequence=0)}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "e1")}
    (action,) = diff(want, state, there, now=NOW).actions
    assert isinstance(action, Update) and action.etag == "e1"
    assert action.item.sequence == 1 and int(action.item.component["SEQUENCE"]) == 1
    assert action.item.component["DTSTAMP"].dt == NOW


def test_content_change_without_revision_still_bumps_sequence(check_in):
    old = desired(check_in)[check_in.uid]
    state = {check_in.uid: pushed(old, sequence=3, hash="something else")}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "e1")}
    (action,) = diff(desired(check_in), state, there, now=NOW).actions
    assert action.item.sequence == 4


def test_edited_on_the_target_is_a_conflict_unless_forced(check_in):
    moved = dataclasses.replace(check_in, due=check_in.due + timedelta(days=7), revision=1)
    state = {check_in.uid: pushed(desired(check_in)[check_in.uid])}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "their-etag")}
    result = diff(desired(moved), state, there, now=NOW)
    assert result.actions == [] and [c.uid for c in result.conflicts] == [check_in.uid]
    (action,) = diff(desired(moved), state, there, now=NOW, force=True).actions
    assert isinstance(action, Update) and action.etag == "their-etag"


def test_deleted_by_the_user_stays_deleted_until_its_due_time_changes(check_in):
    want = desired(check_in)
    state = {check_in.uid: pushed(want[check_in.uid])}
    first = diff(want, state, {}, now=NOW)
    assert first.actions == [] and first.state_changes == [MarkGone(check_in.uid)]
    gone = {check_in.uid: pushed(want[check_in.uid], gone=True)}
    assert diff(want, gone, {}, now=NOW).empty
    moved = dataclasses.replace(check_in, due=check_in.due + timedelta(days=1), revision=1)
    (action,) = diff(desired(moved), gone, {}, now=NOW).actions
    assert isinstance(action, Create) and action.item.sequence == 1


def test_follow_up_that_left_the_plan_is_cancelled_or_deleted(check_in):
    row = pushed(desired(check_in)[check_in.uid])
    there = {check_in.uid: RemoteItem(check_in.uid, row.href, "e1")}
    (action,) = diff({}, {check_in.uid: row}, there, now=NOW).actions
    assert isinstance(action, Update) and action.item.cancelled
    assert action.item.component["STATUS"] == "CANCELLED" and action.item.sequence == row.sequence + 1
    (action,) = diff({}, {check_in.uid: row}, there, now=NOW, cancelled_mode="delete").actions
    assert isinstance(action, Delete)
    assert diff({}, {check_in.uid: row}, {}, now=NOW).state_changes == [Forget(check_in.uid)]


def test_unknown_managed_items_are_never_touched(check_in):
    there = {"someone-else@calsync": RemoteItem("someone-else@calsync", "a.ics", "e")}
    result = diff({}, {}, there, now=NOW)
    assert result.empty and result.untouched == ["someone-else@calsync"]


def test_a_server_without_etags_is_adopted(check_in):
    want = desired(check_in)
    state = {check_in.uid: pushed(want[check_in.uid], etag=None)}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "late")}
    result = diff(want, state, there, now=NOW)
    assert result.actions == [] and result.state_changes == [AdoptEtag(check_in.uid, "late")]


def test_an_interrupted_update_is_recognised_as_ours(check_in):
    old = desired(check_in)[check_in.uid]
    moved = dataclasses.replace(check_in, due=check_in.due + timedelta(days=7), revision=1)
    want = desired(moved)
    state = {check_in.uid: pushed(old)}
    intent = {check_in.uid: pushed(want[check_in.uid], sequence=1)}
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "after-our-write")}
    result = diff(want, state, there, now=NOW, intents=intent)
    assert result.actions == [] and result.conflicts == []
    (settled,) = result.state_changes
    assert isinstance(settled, SettleIntent) and settled.row.etag == "after-our-write"
    # The write never happened (ETag unchanged): the intent is dropped and the update made again.
    there = {check_in.uid: RemoteItem(check_in.uid, f"{check_in.uid}.ics", "e1")}
    result = diff(want, state, there, now=NOW, intents=intent)
    assert result.state_changes == [SettleIntent(check_in.uid, None)]
    assert [type(a) for a in result.actions] == [Update]


def test_content_hash_is_what_the_state_compares(check_in):
    item = desired(check_in)[check_in.uid].item
    assert content_hash(item) == desired(check_in)[check_in.uid].hash


@pytest.mark.parametrize("left", [True, False])
def test_a_delete_checks_the_etag_like_an_update(check_in, left):
    """cancelled = "delete": an item the user edited is kept (a conflict), whether its interview left the file or
    it was cancelled; --force deletes it."""
    cancelled = desired(dataclasses.replace(check_in, status=Status.CANCELLED, revision=1))
    row = pushed(desired(check_in)[check_in.uid])
    want = {} if left else cancelled
    edited = {check_in.uid: RemoteItem(check_in.uid, row.href, "e2")}
    kept = diff(want, {check_in.uid: row}, edited, now=NOW, cancelled_mode="delete")
    assert kept.actions == [] and [c.uid for c in kept.conflicts] == [check_in.uid]
    forced = diff(want, {check_in.uid: row}, edited, now=NOW, cancelled_mode="delete", force=True)
    assert forced.actions == [Delete(check_in.uid, row.href, "e2")]


def test_an_unknown_item_found_edited_is_kept_and_recorded_as_the_users(check_in):
    """Without a state row (a lost state), an item whose content no longer matches its seal is the user's."""
    from calsync.sync.diff import Adopt, Found

    want = desired(check_in)
    there = {check_in.uid: RemoteItem(check_in.uid, "x.ics", "e9")}
    result = diff(want, {}, there, now=NOW, found={check_in.uid: Found(edited=True)})
    assert result.actions == [] and [c.uid for c in result.conflicts] == [check_in.uid]
    (change,) = result.state_changes
    assert isinstance(change, Adopt) and change.row.kept and change.row.etag == "e9"
    sealed = str(want[check_in.uid].item.component["X-CALSYNC-HASH"])
    clean = diff(want, {}, there, now=NOW, found={check_in.uid: Found(edited=False, sealed=sealed)})
    assert clean.actions == [] and not clean.state_changes[0].row.kept  # holds what we want: recorded, not written
    forced = diff(want, {}, there, now=NOW, force=True, found={check_in.uid: Found(edited=True)})
    assert [type(a) for a in forced.actions] == [Update]
