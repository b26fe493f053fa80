"""A sync you can follow: -v prints each write, a terminal shows progress, --dry-run shows the moves, and every
message names an item by its summary and due time, never by its UID alone."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from filetargets import BASE_INTERVIEW, Workspace, event

UID = re.compile(r"[0-9a-f]{32}@calsync")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "calendar"}"\n')


def sent(day: str, followup: str) -> str:
    return f'\n[[interviews.events]]\ndate = {day}\nkind = "sent"\nfollowup = "{followup}"\n'


def test_verbose_prints_one_line_per_write_named_by_summary_and_due(ws):
    out = ws.run("sync", "-v")
    writes = [line for line in out.splitlines() if line.startswith("  created: ")]
    assert len(writes) == len(ws.plan())
    assert any(
        line == "  created: Check in with Dana Smith by email — Acme Corp, Staff Engineer "
        "(Mon 30 Nov 2026 10:00 America/New_York)"
        for line in writes
    ), writes
    assert not UID.search(out)
    ws.write_interviews(sent("2026-12-02", "check_in"))
    out = ws.run("sync", "-v")
    assert (
        "  updated: Retry: check in with Dana Smith by email — Acme Corp, Staff Engineer (Mon 7 Dec 2026 10:00" in out
    )
    assert "  updated: ✓ Check in with Dana Smith" in out


def test_dry_run_shows_old_and_new_due_times_of_each_move(ws):
    ws.run("sync")
    ws.write_interviews(sent("2026-12-02", "check_in"))
    out = ws.run("sync", "--dry-run")
    assert (
        "      moves: Thu 3 Dec 2026 10:00 America/New_York -> Mon 7 Dec 2026 10:00 America/New_York"
        in out.splitlines()
    )
    moves = json.loads(ws.run("sync", "--dry-run", "--json"))[0]["moves"]
    assert [(m["from"], m["to"]) for m in moves] == [
        ("Thu 3 Dec 2026 10:00 America/New_York", "Mon 7 Dec 2026 10:00 America/New_York")
    ]
    assert moves[0]["item"].startswith("Retry: check in with Dana Smith")


def test_a_conflict_is_named_by_summary_and_due(ws):
    ws.run("sync")
    calendar = ws.root / "calendar"
    for path in calendar.glob("*.ics"):
        if b"X-CALSYNC-KIND:retry" in path.read_bytes():
            path.write_bytes(path.read_bytes().replace(b"SUMMARY:Retry", b"SUMMARY:My retry"))
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-09"))
    out = ws.run("sync")
    line = next(line for line in out.splitlines() if "kept the target's version" in line)
    assert line.startswith("  kept the target's version of Retry: check in with Dana Smith by email")
    assert "(Wed 16 Dec 2026 10:00 America/New_York)" in line and not UID.search(line)


def test_a_cancelled_item_deleted_is_named_by_its_last_summary(tmp_path):
    where = tmp_path / "calendar"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{where}"\ncancelled = "delete"\n')
    ws.run("sync")
    ws.write_interviews(event("2026-11-25", "replied"))
    out = ws.run("sync", "-v", "--dry-run")
    assert "  would delete: Check in with Dana Smith by email — Acme Corp, Staff Engineer (Mon 30 Nov 2026" in out
    assert not UID.search(out)


def test_a_terminal_shows_progress_for_more_than_a_handful_of_writes(ws):
    ws.interviews.write_text(BASE_INTERVIEW + BASE_INTERVIEW.replace('id = "acme-staff"', 'id = "acme-staff-2"'))
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.run(
        [sys.executable, "-m", "calsync", "--config", str(ws.config), "sync"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
        timeout=120,
    )
    os.close(terminal)
    shown = b""
    try:
        while chunk := os.read(controller, 65536):
            shown += chunk
    except OSError:  # EIO: the other end is closed
        pass
    os.close(controller)
    assert process.returncode == 0
    text = shown.decode()
    total = len(ws.plan())
    assert total > 5
    steps = re.findall(r"\[(\d+)/(\d+)\] create: ([^\r\n\x1b]+)", text)
    assert [(int(a), int(b)) for a, b, _ in steps] == [(n, total) for n in range(1, total + 1)]
    assert all(re.search(r"\(\w{3} \d+ \w{3} 2026 \d\d:\d\d ", label) for _, _, label in steps)
    # Not on a terminal (a pipe, a log): no progress line at all.
    assert "[1/" not in ws.run("sync", "--force")
