"""The sync engine against the two file providers, end to end through `calsync sync`."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import icalendar
import pytest
from crashing import Crash, crashing
from filetargets import Workspace, event, run_cli

from calsync.config import load_config
from calsync.interviews import load_interviews
from calsync.planner import plan
from calsync.sync.engine import sync_target
from calsync.sync.identity import remote_uid

VDIR = 'provider = "vdir"'
ICS = 'provider = "ics"'


@pytest.fixture(params=["vdir", "ics"])
def ws(request, tmp_path: Path) -> Workspace:
    where = tmp_path / ("calendar" if request.param == "vdir" else "followups.ics")
    workspace = Workspace(tmp_path, f'[targets.main]\nprovider = "{request.param}"\npath = "{where}"\n')
    workspace.kind = request.param
    workspace.where = where
    return workspace


def stored(ws: Workspace) -> dict[str, icalendar.cal.Component]:
    """Every calsync component on the target, by UID."""
    if ws.kind == "vdir":
        blobs = [p.read_bytes() for p in sorted(ws.where.glob("*.ics"))] if ws.where.exists() else []
    else:
        blobs = [ws.where.read_bytes()] if ws.where.exists() else []
    found = {}
    for blob in blobs:
        for comp in icalendar.Calendar.from_ical(blob).walk():
            if comp.name in ("VEVENT", "VTODO") and comp.get("X-CALSYNC-MANAGED") == "1":
                assert str(comp["UID"]) not in found, "duplicate UID on the target"
                found[str(comp["UID"])] = comp
    return found


def snapshot(ws: Workspace) -> dict[str, tuple[bytes, int]]:
    paths = sorted(ws.where.glob("*")) if ws.kind == "vdir" else [ws.where]
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def test_first_sync_creates_exactly_the_plan(ws):
    report = ws.sync_json()[0]
    planned = {row["uid"]: row for row in ws.plan() if row["status"] == "planned"}
    items = stored(ws)
    assert set(items) == set(planned)
    assert report["created"] == len(planned)
    for uid, comp in items.items():
        due = comp["DTSTART"].dt
        assert due.isoformat() == planned[uid]["due"]
        assert int(comp["SEQUENCE"]) == 0


def test_second_sync_writes_nothing(ws):
    ws.sync_json()
    before = snapshot(ws)
    report = ws.sync_json()[0]
    assert report["created"] == report["updated"] == report["deleted"] == 0
    assert snapshot(ws) == before


def test_extension_moves_the_check_in_with_the_same_uid(ws):
    ws.sync_json()
    check_in = ws.by_kind()["check_in"][0]
    old = stored(ws)[check_in["uid"]]
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    report = ws.sync_json()[0]
    moved = stored(ws)[check_in["uid"]]
    assert report["created"] == 0
    assert int(moved["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert moved["DTSTART"].dt.date().isoformat() == "2026-12-07"  # first business day on/after Dec 4 + 2
    assert moved["DTSTART"].dt != old["DTSTART"].dt


def test_reply_cancels_check_in_and_retry(ws):
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "replied"))
    ws.sync_json()
    items = stored(ws)
    kinds = ws.by_kind()
    for row in kinds["check_in"] + kinds["retry"]:
        assert items[row["uid"]]["STATUS"] == "CANCELLED"
        assert int(items[row["uid"]]["SEQUENCE"]) == 1
    for row in kinds["thank_you"]:
        assert items[row["uid"]]["STATUS"] == "CONFIRMED"


def test_rejection_adds_the_feedback_request(ws):
    ws.sync_json()
    ws.write_interviews(event("2026-12-01", "rejected"))
    report = ws.sync_json()[0]
    feedback = ws.by_kind()["feedback_request"][0]
    assert report["created"] == 1
    assert stored(ws)[feedback["uid"]]["DTSTART"].dt.date().isoformat() == "2026-12-02"


def test_cancelled_delete_mode_removes_them(tmp_path):
    where = tmp_path / "cal"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{where}"\ncancelled = "delete"\n')
    ws.kind, ws.where = "vdir", where
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "replied"))
    report = ws.sync_json()[0]
    assert report["deleted"] == 2
    remaining = stored(ws)
    assert all(comp["STATUS"] != "CANCELLED" for comp in remaining.values())
    assert ws.sync_json()[0]["created"] == 0  # not recreated


def test_dry_run_writes_nothing_anywhere(ws):
    report = ws.sync_json("--dry-run")[0]
    assert report["dry_run"] and len(report["actions"]) == len(ws.plan())
    assert not ws.where.exists()
    assert not list(ws.state.glob("*.sqlite")) if ws.state.exists() else True
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "replied"))
    before = snapshot(ws)
    report = ws.sync_json("--dry-run")[0]
    assert [a["action"] for a in report["actions"]] == ["update", "update"]
    assert snapshot(ws) == before
    assert ws.sync_json()[0]["updated"] == 2  # the dry run recorded nothing


def test_user_edit_is_kept_unless_forced(ws):
    ws.sync_json()
    check_in = ws.by_kind()["check_in"][0]["uid"]
    _edit_on_target(ws, check_in, b"SUMMARY:", b"SUMMARY:(my note) ")
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    report = ws.sync_json()[0]
    assert [c["uid"] for c in report["conflicts"]] == [check_in]
    assert str(stored(ws)[check_in]["SUMMARY"]).startswith("(my note)")
    report = ws.sync_json("--force")[0]
    assert not str(stored(ws)[check_in]["SUMMARY"]).startswith("(my note)")
    assert stored(ws)[check_in]["DTSTART"].dt.date().isoformat() == "2026-12-07"


def test_user_edit_with_nothing_new_from_us_is_left_alone(ws):
    ws.sync_json()
    check_in = ws.by_kind()["check_in"][0]["uid"]
    _edit_on_target(ws, check_in, b"SUMMARY:", b"SUMMARY:(mine) ")
    report = ws.sync_json()[0]
    assert report["conflicts"] == [] and report["updated"] == 0
    assert str(stored(ws)[check_in]["SUMMARY"]).startswith("(mine)")


def test_user_deletion_sticks_unless_the_due_time_changes(tmp_path):
    where = tmp_path / "cal"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{where}"\n')
    ws.kind, ws.where = "vdir", where
    ws.sync_json()
    kinds = ws.by_kind()
    thank_you, check_in = kinds["thank_you"][0]["uid"], kinds["check_in"][0]["uid"]
    for uid in (thank_you, check_in):
        (where / f"{uid}.ics").unlink()
    assert ws.sync_json()[0]["created"] == 0
    assert thank_you not in stored(ws) and check_in not in stored(ws)
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # the check-in's due time changes
    report = ws.sync_json()[0]
    items = stored(ws)
    assert check_in in items and thank_you not in items
    assert int(items[check_in]["SEQUENCE"]) >= 1
    assert report["created"] == 1


def test_foreign_files_in_the_vdir_are_untouched(tmp_path):
    where = tmp_path / "cal"
    where.mkdir()
    mine = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//me//EN\r\nBEGIN:VEVENT\r\nUID:dentist@me\r\n"
        b"DTSTAMP:20261101T000000Z\r\nDTSTART:20261130T150000Z\r\nSUMMARY:Dentist\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (where / "dentist.ics").write_bytes(mine)
    (where / "notes.txt").write_text("hello")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in where.iterdir()}
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{where}"\n')
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "offer"))
    ws.sync_json()
    ws.interviews.write_text("")  # every interview gone: calsync cancels only its own
    ws.sync_json("--force")
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in where.iterdir() if p.name in before}
    assert after == before


def test_ics_refuses_a_file_it_did_not_write(tmp_path):
    target = tmp_path / "mine.ics"
    original = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//me//EN\r\nEND:VCALENDAR\r\n"
    target.write_bytes(original)
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "ics"\npath = "{target}"\n')
    result = run_cli("--config", str(ws.config), "sync")
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert target.read_bytes() == original


def test_empty_plan_does_not_mass_cancel_without_force(ws):
    ws.sync_json()
    before = snapshot(ws)
    ws.interviews.write_text("")
    result = run_cli("--config", str(ws.config), "sync")
    assert result.returncode == 2 and "--force" in result.stderr
    assert snapshot(ws) == before


@pytest.mark.parametrize("history", [(), (event("2026-11-25", "extended", "2026-12-04"),)])
def test_interrupted_sync_converges_without_duplicates(tmp_path, history):

    for kind in ("vdir", "ics"):
        first_total = None
        for k in range(0, 8):
            root = tmp_path / f"{kind}-{k}"
            root.mkdir()
            where = root / ("cal" if kind == "vdir" else "f.ics")
            ws = Workspace(root, f'[targets.main]\nprovider = "{kind}"\npath = "{where}"\n')
            ws.kind, ws.where = kind, where
            ws.sync_json()  # a first sync, then a change interrupted after k of its actions
            ws.write_interviews(*history, event("2026-11-27", "rejected"))
            config = load_config(ws.config)
            target = config.target("main")
            followups = plan(load_interviews(ws.interviews, config.timezone)).followups
            with pytest.raises(Crash) if k < 3 else contextlib.nullcontext():  # the change has 3 actions
                sync_target(target, followups, provider=crashing(target, k), state_dir=config.state_dir)
            ws.sync_json()
            assert ws.sync_json()[0]["created"] == 0  # converged: nothing left to do
            items = stored(ws)
            wanted = {row["uid"]: row for row in ws.plan()}
            assert set(items) == set(wanted)
            for uid, row in wanted.items():
                assert (items[uid]["STATUS"] == "CANCELLED") == (row["status"] == "cancelled")
                assert items[uid]["DTSTART"].dt.isoformat() == row["due"]
            first_total = first_total or len(items)
            assert len(items) == first_total


def test_no_config_syncs_to_a_default_vdir(tmp_path):
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_STATE_HOME": str(tmp_path / "state"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)}  # fmt: skip
    example = Path(__file__).parent.parent / "examples" / "interviews.toml"
    result = run_cli("sync", "--file", str(example), env=env)
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "data" / "calsync" / "calendar"
    assert str(folder) in result.stdout
    assert len(list(folder.glob("*.ics"))) >= 5
    again = run_cli("sync", "--file", str(example), env=env)
    assert "0 created, 0 updated, 0 deleted" in again.stdout


def _edit_on_target(ws: Workspace, uid: str, old: bytes, new: bytes) -> None:
    path = ws.where / f"{uid}.ics" if ws.kind == "vdir" else ws.where
    data = path.read_bytes()
    if ws.kind == "vdir":
        path.write_bytes(data.replace(old, new, 1))
        return
    # In the single file, edit only this UID's component.
    start = data.index(f"UID:{uid}".encode())
    begin = data.rindex(b"BEGIN:VEVENT", 0, start)
    end = data.index(b"END:VEVENT", start)
    block = data[begin:end].replace(old, new, 1)
    path.write_bytes(data[:begin] + block + data[end:])
    os.utime(path)


def test_every_written_file_passes_three_parsers(ws):
    import vobject
    from ical.calendar_stream import IcsCalendarStream

    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"), event("2026-12-08", "rejected"))
    ws.sync_json()
    files = sorted(ws.where.glob("*.ics")) if ws.kind == "vdir" else [ws.where]
    uids = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        strict = IcsCalendarStream.calendar_from_ics(text)
        uids.update(item.uid for item in [*strict.events, *strict.todos])
        parsed = vobject.readOne(text)
        parsed.validate()
        for vevent in getattr(parsed, "vevent_list", []):
            assert vevent.dtstart.value.tzinfo is not None
    assert uids == set(stored(ws))


def test_todo_targets_get_vtodos_that_move_too(tmp_path):
    where = tmp_path / "tasks.ics"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "ics"\npath = "{where}"\ncomponent = "todo"\n')
    ws.sync_json()
    check_in = ws.by_kind()["check_in"][0]
    todo_uid = remote_uid(check_in["uid"], "todo", None)  # a to-do's UID is not its event's (one UID per account)
    todos = {str(c["UID"]): c for c in icalendar.Calendar.from_ical(where.read_bytes()).walk("VTODO")}
    assert len(todos) == len(ws.plan()) and not icalendar.Calendar.from_ical(where.read_bytes()).walk("VEVENT")
    assert check_in["uid"] not in todos
    assert todos[todo_uid]["DUE"].dt.isoformat() == check_in["due"]
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    assert ws.sync_json()[0]["updated"] == 2
    todos = {str(c["UID"]): c for c in icalendar.Calendar.from_ical(where.read_bytes()).walk("VTODO")}
    assert todos[todo_uid]["DUE"].dt.date().isoformat() == "2026-12-07"


def test_bad_target_options_are_one_line_errors(tmp_path):
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "c"}"\ncancelled = "purge"\n')
    result = run_cli("--config", str(ws.config), "sync")
    assert result.returncode == 2 and "cancelled" in result.stderr and "Traceback" not in result.stderr
    ws.config.write_text(ws.config.read_text().replace('provider = "vdir"', 'provider = "nope"'))
    result = run_cli("--config", str(ws.config), "sync")
    assert result.returncode == 2 and "unknown provider 'nope'" in result.stderr


def test_a_failing_target_does_not_stop_the_others(tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad.ics"
    bad.write_text("not a calendar of calsync's")
    ws = Workspace(
        tmp_path,
        f'[targets.bad]\nprovider = "ics"\npath = "{bad}"\n\n[targets.good]\nprovider = "vdir"\npath = "{good}"\n',
    )
    result = run_cli("--config", str(ws.config), "sync")
    assert result.returncode == 2
    assert result.stderr.count("calsync: error: target 'bad'") == 1 and "Traceback" not in result.stderr
    assert "good (" in result.stdout and len(list(good.glob("*.ics"))) == len(ws.plan())
    assert bad.read_text() == "not a calendar of calsync's"


def test_the_state_database_is_private(tmp_path):
    where = tmp_path / "cal"
    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{where}"\n')
    ws.sync_json()
    (database,) = ws.state.glob("*.sqlite")
    assert database.stat().st_mode & 0o777 == 0o600
