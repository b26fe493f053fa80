"""A real client reads what calsync writes: khal lists a synced vdir, and every planned item is at its time."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

from filetargets import Workspace, event

KHAL = Path(sys.executable).with_name("khal")


def khal_list(tmp_path: Path, folder: Path) -> list[tuple[str, str, str]]:
    config = tmp_path / "khal.conf"
    config.write_text(
        f"[calendars]\n[[jobs]]\npath = {folder}\ntype = calendar\n"
        "[locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
        "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n"
        "local_timezone = UTC\ndefault_timezone = UTC\n"
        f"[sqlite]\npath = {tmp_path / 'khal.db'}\n"
    )
    out = subprocess.run(
        [str(KHAL), "-c", str(config), "list", "--format", "{start}|{title}|{status}", "--day-format", "",
         "2026-11-01", "120d"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return [tuple(line.split("|")) for line in out.splitlines() if line.strip()]


def test_khal_finds_every_planned_item_at_its_time(tmp_path):
    folder = tmp_path / "cal"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{folder}"\n')
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    ws.sync_json()
    listed = khal_list(tmp_path, folder)
    planned = [row for row in ws.plan() if row["status"] == "planned"]
    assert len(listed) == len(planned)

    def utc(row: dict) -> str:
        return datetime.fromisoformat(row["due_utc"].replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")

    assert sorted(start for start, _title, _status in listed) == sorted(utc(row) for row in planned)
    for row in planned:
        titles = [title for start, title, _status in listed if start == utc(row)]
        assert any((row["recipient"] or "closing questions") in title for title in titles), (row, titles)


def test_khal_sees_cancellations(tmp_path):
    folder = tmp_path / "cal"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{folder}"\n')
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "replied"))
    ws.sync_json()
    statuses = {title: status.strip() for _start, title, status in khal_list(tmp_path, folder)}
    cancelled = [title for title, status in statuses.items() if status == "CANCELLED"]
    assert len(cancelled) == 2 and all("Dana Smith" in title for title in cancelled)
