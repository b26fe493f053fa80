"""Done on the phone flows back: a calsync to-do completed by a real client (the caldav library on Radicale and
Xandikos, todoman on a vdir) is recorded by the next sync as a ``sent`` event in the interview file, moves the
retry, is not a conflict, and is not overwritten."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import icalendar
import pytest
from caldav_servers import Server
from filetargets import Workspace

from calsync.businessdays import calendar_for
from calsync.interviews import load_interviews
from calsync.model import EventKind, Kind

# A hand-commented interview file: a sync that records a completion must keep every byte of it.
COMMENTED = """\
# My job search — written by hand.

[[interviews]]
id = "acme-staff"   # keep this id
company = "Acme Corp"
role = "Staff Engineer"
start = 2026-11-20T14:00:00
end = 2026-11-20T15:00:00
timezone = "America/Chicago"
decision_by = 2026-11-27
country = "US"

[[interviews.interviewers]]
name = "Dana Smith"
email = "dana@acme.example"
timezone = "America/New_York"

# Globex: phone screen only, so far.
[[interviews]]
id = "globex"
company = "Globex"
start = 2026-11-23T10:00:00
timezone = "Europe/Berlin"
decision_by = 2026-12-04
"""


def workspace(root: Path, target: str) -> Workspace:
    ws = Workspace(root, target)
    ws.interviews.write_text(COMMENTED)
    return ws


def sent_events(ws: Workspace) -> list:
    acme = next(iv for iv in load_interviews(ws.interviews) if iv.id == "acme-staff")
    return [e for e in acme.events if e.kind is EventKind.SENT]


def only_added(before: str, after: str) -> str:
    """What ``after`` adds to ``before`` when it only inserts lines (fails otherwise)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    start = next((n for n, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), len(old))
    added = len(new) - len(old)
    assert added > 0 and new[:start] == old[:start] and new[start + added :] == old[start:], after
    return "".join(new[start : start + added])


def check_recorded(ws: Workspace, out: str, day: date, before: str) -> None:
    assert "done on the target, recorded in the interview file: Check in with Dana Smith" in out
    assert "kept the target's version" not in out
    (event,) = sent_events(ws)
    assert (event.followup, event.to, event.date) == (Kind.CHECK_IN, "Dana Smith", day)
    added = only_added(before, ws.interviews.read_text())
    assert added.lstrip("\n").startswith("[[interviews.events]]\n")
    assert f"date = {day.isoformat()}\n" in added and 'kind = "sent"' in added
    rows = {row["ref"]: row for row in ws.plan()}
    assert rows["acme-staff/check-in"]["done"] is True
    retry_day = datetime.fromisoformat(rows["acme-staff/retry"]["due"]).date()
    assert retry_day == calendar_for("US", None).add(day, 3)


# --- CalDAV: Radicale and Xandikos, completed with the caldav library ----------------------------------------------


def caldav_target(server: Server, calendar: str) -> str:
    options = server.options(calendar, component="todo")
    return '[targets.phone]\nprovider = "caldav"\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())


def test_a_todo_completed_on_a_caldav_server_becomes_a_sent_event(caldav_server: Server, tmp_path):
    import caldav

    name = caldav_server.unique_name("readback")
    caldav_server.make_calendar(name)
    ws = workspace(tmp_path, caldav_target(caldav_server, name))
    ws.run("sync")
    before = ws.interviews.read_text()
    check_in = next(row for row in ws.plan() if row["ref"] == "acme-staff/check-in")

    # The phone: another CalDAV client, straight to the server, completes the check-in late, on Wed 2 Dec.
    client = caldav.DAVClient(
        url=caldav_server.direct_url,
        username=caldav_server.username,
        password=caldav_server.password,
        ssl_verify_cert=caldav_server.ca_bundle or True,
    )
    collection = client.calendar(url=f"{caldav_server.direct_url.rstrip('/')}{caldav_server.home}{name}/")
    retry_uid = next(row["uid"] for row in ws.plan() if row["ref"] == "acme-staff/retry")
    retry_sequence = int(
        icalendar.Calendar.from_ical(collection.todo_by_uid(on_target(retry_uid)).data).walk("VTODO")[0]["SEQUENCE"]
    )
    todo = collection.todo_by_uid(on_target(check_in["uid"]))
    todo.complete(completion_timestamp=datetime(2026, 12, 2, 21, 30, tzinfo=UTC))  # 15:30 in Chicago
    completed = bytes(collection.todo_by_uid(on_target(check_in["uid"])).data, "utf-8")

    out = ws.run("sync")
    check_recorded(ws, out, date(2026, 12, 2), before)
    # The phone's version stays as the phone wrote it; the retry on the server moved.
    after = collection.todo_by_uid(on_target(check_in["uid"]))
    assert bytes(after.data, "utf-8") == completed
    retry = next(row for row in ws.plan() if row["ref"] == "acme-staff/retry")
    stored = icalendar.Calendar.from_ical(collection.todo_by_uid(on_target(retry["uid"])).data).walk("VTODO")[0]
    assert stored["DUE"].dt.date() == date(2026, 12, 7)
    assert int(stored["SEQUENCE"]) > retry_sequence  # the same item, moved: clients replace the old one
    # Nothing left to do: a third sync changes nothing and records nothing twice.
    again = ws.sync_json()[0]
    assert (again["created"], again["updated"], again["conflicts"], again["completed"]) == (0, 0, [], [])
    assert len(sent_events(ws)) == 1


# --- vdir, completed with todoman -----------------------------------------------------------------------------------


def todo(config: Path, *args: str) -> str:
    command = [str(Path(sys.executable).parent / "todo"), "--config", str(config), *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


def test_a_todo_completed_with_todoman_becomes_a_sent_event(tmp_path):
    lists = tmp_path / "calendars"
    ws = workspace(tmp_path, f'[targets.phone]\nprovider = "vdir"\npath = "{lists / "jobs"}"\ncomponent = "todo"\n')
    ws.run("sync")
    before = ws.interviews.read_text()
    config = tmp_path / "todoman.py"
    config.write_text(
        f'path = "{lists}/*"\ndate_format = "%Y-%m-%d"\ntime_format = "%H:%M"\n'
        f'default_list = "jobs"\ncache_path = "{tmp_path / "todoman.sqlite3"}"\n'
    )
    todos = json.loads(todo(config, "--porcelain", "list"))
    number = next(t["id"] for t in todos if t["summary"].startswith("Check in with Dana Smith"))
    todo(config, "done", str(number))
    done = next(t for t in json.loads(todo(config, "--porcelain", "list", "--status", "ANY")) if t["id"] == number)
    assert done["completed"] is True
    day = datetime.fromtimestamp(done["completed_at"], UTC).astimezone(load_interviews(ws.interviews)[0].timezone)
    path = next(p for p in (lists / "jobs").glob("*.ics") if b"STATUS:COMPLETED" in p.read_bytes())
    completed = path.read_bytes()

    out = ws.run("sync")
    check_recorded(ws, out, day.date(), before)
    assert path.read_bytes() == completed  # not overwritten


def test_a_dry_run_records_nothing(tmp_path):
    where = tmp_path / "tasks"
    ws = workspace(tmp_path, f'[targets.phone]\nprovider = "vdir"\npath = "{where}"\ncomponent = "todo"\n')
    ws.run("sync")
    path = where / f"{on_target(next(row['uid'] for row in ws.plan() if row['ref'] == 'acme-staff/check-in'))}.ics"
    # Completed as todoman and most clients write it.
    path.write_bytes(
        path.read_bytes().replace(
            b"STATUS:NEEDS-ACTION", b"STATUS:COMPLETED\r\nCOMPLETED:20261201T160000Z\r\nPERCENT-COMPLETE:100"
        )
    )
    before = ws.interviews.read_text()
    out = ws.run("sync", "--dry-run")
    assert "would record in the interview file: Check in with Dana Smith" in out
    assert "kept the target's version" not in out
    assert ws.interviews.read_text() == before
    assert "recorded in the interview file" in ws.run("sync")
    assert sent_events(ws)[0].date == date(2026, 12, 1)


def test_an_event_target_reads_nothing_back(tmp_path):
    where = tmp_path / "events"
    ws = workspace(tmp_path, f'[targets.phone]\nprovider = "vdir"\npath = "{where}"\n')
    ws.run("sync")
    path = where / f"{next(row['uid'] for row in ws.plan() if row['ref'] == 'acme-staff/check-in')}.ics"
    path.write_bytes(path.read_bytes().replace(b"STATUS:CONFIRMED", b"STATUS:COMPLETED"))
    ws.run("sync")
    assert sent_events(ws) == []


@pytest.mark.parametrize("status", [b"IN-PROCESS", b"NEEDS-ACTION"])
def test_an_edit_that_is_not_a_completion_is_left_to_the_usual_rules(tmp_path, status):
    where = tmp_path / "tasks"
    ws = workspace(tmp_path, f'[targets.phone]\nprovider = "vdir"\npath = "{where}"\ncomponent = "todo"\n')
    ws.run("sync")
    path = where / f"{on_target(next(row['uid'] for row in ws.plan() if row['ref'] == 'acme-staff/check-in'))}.ics"
    path.write_bytes(path.read_bytes().replace(b"STATUS:NEEDS-ACTION", b"STATUS:" + status))
    ws.run("sync")
    assert sent_events(ws) == []


def on_target(uid: str) -> str:
    """The UID a to-do carries on a to-do target (derived from the plan's: one UID per account)."""
    from calsync.sync.identity import remote_uid

    return remote_uid(uid, "todo", None)
