"""Random interview histories, synced step by step to a real vdir, with crashes injected at random points.

After every completed sync: no UID twice on the target, every planned follow-up there at its due time, every
cancelled one either absent or STATUS:CANCELLED, and a second sync has nothing to do.
"""

from __future__ import annotations

import contextlib
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
from crashing import Crash, crashing
from factories import interview
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.model import EventKind, HistoryEvent
from calsync.planner import plan
from calsync.provider import Target
from calsync.sync.engine import sync_target

KINDS = [kind for kind in EventKind]


@st.composite
def histories(draw) -> list[HistoryEvent]:
    day = date(2026, 11, 21)
    events = []
    for _ in range(draw(st.integers(0, 4))):
        day += timedelta(days=draw(st.integers(0, 9)))
        kind = draw(st.sampled_from(KINDS))
        decision_by = None
        if kind is EventKind.EXTENDED or (kind is EventKind.REPLIED and draw(st.booleans())):
            decision_by = day + timedelta(days=draw(st.integers(1, 20)))
        events.append(HistoryEvent(day, kind, decision_by))
    return events


def managed(folder: Path) -> dict[str, icalendar.cal.Component]:
    found: dict[str, icalendar.cal.Component] = {}
    for path in folder.glob("*.ics"):
        for comp in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
            uid = str(comp["UID"])
            assert uid not in found, "duplicate UID"
            found[uid] = comp
    return found


@settings(max_examples=40)
@given(
    history=histories(),
    crashes=st.lists(st.integers(0, 6), min_size=5, max_size=5),
    mode=st.sampled_from(["keep", "delete"]),
)
def test_random_histories_converge(history, crashes, mode):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = Target("t", "vdir", {"path": str(root / "cal"), "cancelled": mode}, state_dir=root / "state")
        for step in range(len(history) + 1):
            followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
            with contextlib.suppress(Crash):
                sync_target(target, followups, provider=crashing(target, crashes[step % 5]))
            assert sync_target(target, followups).conflicts == []
            again = sync_target(target, followups)
            assert again.writes == 0 and again.conflicts == []
            items = managed(root / "cal")
            for f in followups:
                if f.cancelled:
                    assert f.uid not in items or (mode == "keep" and items[f.uid]["STATUS"] == "CANCELLED")
                else:
                    assert f.uid in items
                    assert items[f.uid]["DTSTART"].dt == f.due
                    assert items[f.uid]["STATUS"] == "CONFIRMED"
            assert set(items) <= {f.uid for f in followups}


@settings(max_examples=30)
@given(
    history=histories(),
    touches=st.lists(st.tuples(st.sampled_from(["edit", "delete"]), st.integers(0, 20)), max_size=6),
    now=st.datetimes(min_value=datetime(2026, 11, 15), max_value=datetime(2027, 2, 28), timezones=st.just(UTC)),
)
def test_the_users_edits_and_deletions_are_never_undone(history, touches, now):
    """Whatever the clock says: the sync's now is drawn too (an overdue follow-up is rendered another way)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "cal"
        target = Target("t", "vdir", {"path": str(folder)}, state_dir=root / "state")
        edited: set[str] = set()
        deleted: dict[str, object] = {}  # uid -> its due time when the user deleted it
        for step in range(len(history) + 1):
            followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
            _sync_unless_emptied(target, followups, now)
            due = {f.uid: f.due for f in followups}
            present = managed(folder)
            for uid in [uid for uid in deleted if uid in present]:
                assert due[uid] != deleted.pop(uid), "a deleted item came back with its due time unchanged"
            for uid in edited & present.keys():
                assert str(present[uid]["SUMMARY"]).startswith("(mine) "), "the user's edit was overwritten"
            files = sorted(folder.glob("*.ics"))
            for action, pick in touches[step::3] if files else []:
                path = files[pick % len(files)]
                if not path.exists():
                    continue
                uid = next(iter(managed_file(path)))
                if action == "edit":
                    path.write_bytes(path.read_bytes().replace(b"SUMMARY:", b"SUMMARY:(mine) ", 1))
                    edited.add(uid)
                else:
                    # What the user deleted is the item as they saw it: its time there (not the plan's, which a
                    # conflict may have kept from the target).
                    deleted[uid] = managed_file(path)[uid]["DTSTART"].dt
                    path.unlink()
                    edited.discard(uid)
        followups = plan([interview(events=tuple(history))], parse_timeline=lambda *a: None).followups
        if not _sync_unless_emptied(target, followups, now):
            assert not set(deleted) & set(managed(folder)), "the user emptied the calendar, and something came back"
            return
        items = managed(folder)
        for f in followups:
            if f.uid in deleted:
                back = f.due != deleted[f.uid] and not f.cancelled
                assert (f.uid in items) == back
            if f.uid in edited and f.uid in items:
                assert str(items[f.uid]["SUMMARY"]).startswith("(mine) ")


def _sync_unless_emptied(target, followups, now: datetime) -> bool:
    """One sync; False when the safety valve refused it because the user deleted every item calsync put there
    (a refusal that undoes nothing)."""
    from calsync.errors import UserError

    try:
        sync_target(target, followups, now=now)
    except UserError as exc:
        if "is there any more" not in str(exc):
            raise
        return False
    return True


def managed_file(path: Path) -> dict[str, icalendar.cal.Component]:
    return {str(c["UID"]): c for c in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")}
