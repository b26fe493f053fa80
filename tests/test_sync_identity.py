"""The id-change guard: fixing the company name of an interview without an ``id`` must not silently replace every
reminder; the sync stops before writing, says which edit did it and what keeps the reminders."""

from __future__ import annotations

from pathlib import Path

import pytest
from filetargets import BASE_INTERVIEW, Workspace

NO_ID = BASE_INTERVIEW.replace('id = "acme-staff"\n', "")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "calendar"}"\n')
    workspace.interviews.write_text(NO_ID.replace("Acme Corp", "Acme Crop"))
    return workspace


def files(ws: Workspace) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ws.root / "calendar").glob("*.ics"))}


def test_a_company_fix_that_changes_the_derived_id_stops_the_sync(ws):
    first = ws.sync_json()[0]
    before = files(ws)
    assert first["created"] == len(before) > 0
    ws.interviews.write_text(NO_ID)  # "Acme Crop" -> "Acme Corp": the id becomes acme-corp-2026-11-20
    result = ws.run("sync", expect=2)
    message = result.strip().splitlines()[-1]
    assert message.startswith("calsync: error: interview 'acme-corp-2026-11-20' (")
    assert f"{ws.interviews}:2)" in message
    assert "its company changed from 'Acme Crop' to 'Acme Corp'" in message
    assert f"cancel its {len(before)} reminder(s) filed under 'acme-crop-2026-11-20'" in message
    assert 'Add id = "acme-crop-2026-11-20" to that interview to keep its reminders' in message
    assert "--force" in message
    assert files(ws) == before  # nothing written
    assert "Add id = " in ws.run("sync", "--dry-run", expect=2)  # a dry run says so too


def test_setting_the_old_id_keeps_the_reminders(ws):
    ws.sync_json()
    before = files(ws)
    ws.interviews.write_text(NO_ID.replace("[[interviews]]\n", '[[interviews]]\nid = "acme-crop-2026-11-20"\n', 1))
    report = ws.sync_json()[0]
    assert report["created"] == 0 and report["deleted"] == 0
    assert set(files(ws)) == set(before)  # the same items, updated in place with the new name


def test_force_goes_on(ws):
    ws.sync_json()
    before = files(ws)
    ws.interviews.write_text(NO_ID)
    report = ws.sync_json("--force")[0]
    assert report["created"] == len(before) and report["updated"] == len(before)  # the old ones cancelled


def test_another_interview_on_the_same_day_is_not_mistaken_for_a_rename(ws):
    ws.sync_json()
    other = NO_ID.replace("Acme Corp", "Initech").replace("T14:00:00", "T09:00:00").replace("T15:00:00", "T10:00:00")
    ws.interviews.write_text(other)
    report = ws.sync_json()[0]
    assert report["created"] > 0 and report["updated"] > 0


def test_an_explicit_id_that_changes_is_not_guarded(ws):
    ws.interviews.write_text(BASE_INTERVIEW)
    ws.sync_json()
    ws.interviews.write_text(BASE_INTERVIEW.replace('id = "acme-staff"', 'id = "acme-staff-2"'))
    assert ws.sync_json()[0]["created"] > 0
