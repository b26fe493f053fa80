"""A write that lands after the scan: a run killed while its request was in flight, which the server finished only
after the next run had listed the calendar. The next run's create is refused ("exists already"); the item is
calsync's own, unedited, so it is taken over, not reported as a conflict. An edited one stays a conflict."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from factories import interview

from calsync.files import create_exclusive
from calsync.planner import plan
from calsync.provider import Target
from calsync.render import render_item
from calsync.sync.engine import sync_target
from calsync_vdir.provider import VdirProvider, file_name

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


class LateWriter(VdirProvider):
    """The real vdir provider; while it lists the folder, an earlier run's write of ``item`` lands in it."""

    late: ClassVar[list[bytes]] = []

    def scan(self, known, token):
        listed = super().scan(known, token)
        for data in self.late:
            uid = next(line[4:] for line in data.decode().split("\r\n") if line.startswith("UID:"))
            self.folder.mkdir(parents=True, exist_ok=True)
            create_exclusive(self.folder / file_name(uid), data)
        return listed


def setup(tmp_path: Path, edit: bool):
    target = Target("t", "vdir", {"path": str(tmp_path / "cal")}, state_dir=tmp_path / "state")
    followups = plan([interview()], parse_timeline=lambda *a: None).followups
    late = render_item(followups[0], now=NOW).ical
    if edit:
        late = late.replace(b"SUMMARY:", b"SUMMARY:(mine) ", 1)
    LateWriter.late = [late]
    return target, followups


def test_an_earlier_runs_write_arriving_late_is_taken_over(tmp_path):
    target, followups = setup(tmp_path, edit=False)
    report = sync_target(target, followups, provider=LateWriter(target), now=NOW)
    assert report.conflicts == []
    assert len(report.created) == len(followups) - 1
    files = sorted((tmp_path / "cal").glob("*.ics"))
    assert len(files) == len(followups)  # nothing twice
    again = sync_target(target, followups, now=NOW)
    assert again.writes == 0 and again.conflicts == []


def test_an_edited_item_in_the_way_stays_a_conflict(tmp_path):
    target, followups = setup(tmp_path, edit=True)
    report = sync_target(target, followups, provider=LateWriter(target), now=NOW)
    assert [c.uid for c in report.conflicts] == [followups[0].uid]
    data = (tmp_path / "cal" / file_name(followups[0].uid)).read_bytes()
    assert b"SUMMARY:(mine) " in data  # the person's version is kept
