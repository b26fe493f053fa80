"""Real CalDAV servers that misbehave the way real services do, through the fault-injecting proxy of
caldav_servers.py (Radicale and Xandikos each): refused items, ETag drift, trash bins, one UID per account, rate
limits, dropped connections and slow answers.

After each: the rest of the sync is done, nothing is duplicated or lost, the user's own events are byte-identical,
the report names the failed item, and the exit status is 0 (all written), 1 (some items refused) or 2 (the target
failed).
"""

from __future__ import annotations

import json

import icalendar
import pytest
from caldav_servers import Faults, Server
from filetargets import Workspace, event, run_cli

from calsync.errors import NotFound
from calsync.provider import Target
from calsync.render import content_hash, render_item
from calsync.sync.identity import remote_uid
from calsync.sync.state import StateDB, StateRow, state_path
from calsync_caldav.provider import CalDAVProvider

EXTENSION = event("2026-11-25", "extended", "2026-12-04")


def user_event(n: int) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//Calendar 1.0//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:user-event-{n}@phone.example\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:202612{1 + n:02d}T090000Z\r\nDTEND:202612{1 + n:02d}T100000Z\r\n"
        f"SUMMARY:My own appointment {n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


class Account:
    """A workspace whose targets are calendars of one account on ``server``."""

    def __init__(self, server: Server, tmp_path, **targets: dict) -> None:
        self.server = server
        self.paths: dict[str, str] = {}
        blocks = []
        for name, extra in targets.items():
            calendar = server.unique_name(name)
            server.make_calendar(calendar)
            self.paths[name] = f"{server.home}{calendar}/"
            options = server.options(calendar, **extra)
            lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
            blocks.append(f'[targets.{name}]\nprovider = "caldav"\n{lines}')
        self.ws = Workspace(tmp_path, "\n".join(blocks))
        self.mine: dict[str, bytes] = {}

    def add_my_events(self, target: str, n: int = 3) -> None:
        for i in range(n):
            path = f"{self.paths[target]}mine-{i}.ics"
            assert self.server.put(path, user_event(i))[0] in (200, 201, 204)
            self.mine[path] = self.server.get(path)[1]

    def my_events_untouched(self) -> bool:
        return all(self.server.get(path) == (200, body) for path, body in self.mine.items())

    def items(self, target: str) -> dict[str, tuple[str, icalendar.cal.Component]]:
        """calsync's items in one calendar, read from the server: UID -> (path, component); no UID twice."""
        found = {}
        for path in self.server.members(self.paths[target]):
            status, body = self.server.get(path)
            assert status == 200
            for comp in icalendar.Calendar.from_ical(body).walk():
                if comp.name in ("VEVENT", "VTODO") and comp.get("X-CALSYNC-MANAGED") == "1":
                    assert str(comp["UID"]) not in found, "duplicate UID on the server"
                    found[str(comp["UID"])] = (path, comp)
        return found

    def planned(self) -> dict[str, dict]:
        return {row["uid"]: row for row in self.ws.plan() if row["status"] == "planned"}

    def summary(self, uid: str) -> str:
        exported = icalendar.Calendar.from_ical(self.ws.run("export").encode())
        return next(str(c["SUMMARY"]) for c in exported.walk("VEVENT") if str(c["UID"]) == uid)

    @property
    def faults(self) -> Faults:
        return self.server.proxy.faults


@pytest.fixture
def radicale(radicale_server, monkeypatch) -> Server:
    """Radicale alone, for what does not depend on the server (the exit status, the library's waits)."""
    radicale_server.proxy.reset()
    radicale_server.proxy.faults = Faults()
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", radicale_server.password or "")
    return radicale_server


@pytest.fixture
def account(caldav_server, tmp_path) -> Account:
    acc = Account(caldav_server, tmp_path, phone={})
    acc.add_my_events("phone")
    return acc


# --- one refused item ---------------------------------------------------------------------------------------------


def test_refused_items_are_named_and_the_rest_is_written(account):
    kinds = account.ws.by_kind()
    refused = {kinds["check_in"][0]["uid"]: 400, kinds["thank_you"][0]["uid"]: 403, kinds["retry"][0]["uid"]: 409}
    account.faults.refuse = {uid.encode(): status for uid, status in refused.items()}
    out = account.ws.run("sync", expect=1)
    failed = [line for line in out.splitlines() if "failed:" in line]
    assert len(failed) == len(refused)
    due = {row["uid"]: row["due"][:10] for row in account.ws.plan()}
    for uid, status in refused.items():
        [line] = [line for line in failed if account.summary(uid) in line]
        assert f" {status} " in line and due[uid] in line and "refused by the test proxy" in line
    planned = account.planned()
    assert set(account.items("phone")) == set(planned) - set(refused)
    assert account.my_events_untouched()
    account.faults.refuse = {}
    out = account.ws.run("sync", expect=0)  # the next sync retries them
    assert set(account.items("phone")) == set(planned) and "failed" not in out
    assert account.my_events_untouched()


def test_the_exit_status_of_a_partial_failure_is_1_as_a_process(radicale, tmp_path):
    account = Account(radicale, tmp_path, phone={})
    check_in = account.ws.by_kind()["check_in"][0]
    account.faults.refuse = {check_in["uid"].encode(): 400}
    result = run_cli("--config", str(account.ws.config), "sync")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "failed:" in result.stdout


# --- ETags: drift is not an edit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["weak", "unquoted", "percent"])
def test_etags_in_another_form_on_put_are_not_user_edits(account, form):
    account.faults.etag_form = form
    account.ws.sync_json()
    account.ws.write_interviews(EXTENSION)
    account.server.proxy.reset()
    report = account.ws.sync_json()[0]
    assert report["conflicts"] == [] and report["updated"] >= 1
    assert account.server.proxy.count("GET") == 0  # the same tag in another form: nothing to read back
    check_in = account.ws.by_kind()["check_in"][0]
    assert account.items("phone")[check_in["uid"]][1]["DTSTART"].dt.date().isoformat() == "2026-12-07"
    again = account.ws.sync_json()[0]
    assert again["conflicts"] == [] and again["created"] == again["updated"] == again["deleted"] == 0
    assert account.my_events_untouched()


def test_a_new_etag_without_a_visible_change_is_adopted(account):
    account.ws.sync_json()
    check_in = account.ws.by_kind()["check_in"][0]["uid"]
    path, _ = account.items("phone")[check_in]
    body = account.server.get(path)[1]
    # what servers and sync clients do: re-stamp, add properties of their own; nothing the person sees changes
    touched = body.replace(b"END:VEVENT", b"LAST-MODIFIED:20261124T101010Z\r\nX-SERVER-ADDED:yes\r\nEND:VEVENT", 1)
    touched = touched.replace(b"DTSTAMP:", b"DTSTAMP:20261124T101010Z\r\nX-OLD-DTSTAMP:", 1)
    assert account.server.put(path, touched)[0] in (200, 201, 204)
    account.ws.write_interviews(EXTENSION)
    report = account.ws.sync_json()[0]
    assert report["conflicts"] == []
    assert account.items("phone")[check_in][1]["DTSTART"].dt.date().isoformat() == "2026-12-07"


# --- trash bins ---------------------------------------------------------------------------------------------------


def test_a_uid_kept_in_a_trash_bin_gets_a_fresh_identity(account):
    status = 400 if account.server.kind == "radicale" else 409  # Nextcloud's answer on one, SOGo's on the other
    account.faults.trash_bin, account.faults.trash_status = True, status
    account.ws.sync_json()
    check_in = account.ws.by_kind()["check_in"][0]["uid"]
    path, _ = account.items("phone")[check_in]
    assert account.server.request("DELETE", path, proxied=True)[0] in (200, 204)  # the user, in the web app
    assert account.ws.sync_json()[0]["created"] == 0  # deleted by the user: stays deleted
    account.ws.write_interviews(EXTENSION)  # ... until its due time changes: the server refuses the old UID
    out = account.ws.run("sync", expect=0)
    assert "new UID" in out
    items = account.items("phone")
    fresh = remote_uid(check_in, "event", None, generation=1)
    assert check_in not in items and fresh in items
    assert items[fresh][1]["DTSTART"].dt.date().isoformat() == "2026-12-07"
    assert set(items) == (set(account.planned()) - {check_in}) | {fresh}
    again = account.ws.sync_json()[0]
    assert again["created"] == again["updated"] == again["deleted"] == 0 and again["conflicts"] == []
    account.ws.write_interviews(EXTENSION, event("2026-12-03", "extended", "2026-12-11"))
    account.ws.sync_json()
    moved = account.items("phone")
    assert moved[fresh][0] == items[fresh][0]  # updated in place, under its new UID
    assert set(moved) == set(items) and account.my_events_untouched()


def test_a_second_delete_answered_403_is_gone(caldav_server):
    calendar = caldav_server.unique_name()
    caldav_server.make_calendar(calendar)
    caldav_server.proxy.faults.trash_bin = True
    from factories import followup

    provider = CalDAVProvider(Target("phone", "caldav", caldav_server.options(calendar)))
    written = provider.create(render_item(followup()))
    provider.delete(written.href, written.etag)
    with pytest.raises(NotFound):
        provider.delete(written.href, written.etag)
    assert "trash-bin-delete" in caldav_server.proxy.faults.injected
    provider.close()


# --- one UID per account ------------------------------------------------------------------------------------------


def test_an_event_and_a_todo_target_on_one_account(caldav_server, tmp_path):
    caldav_server.proxy.faults.unique_uids = True
    acc = Account(caldav_server, tmp_path, events={}, tasks={"component": "todo"})
    report = acc.ws.run("sync", expect=0)
    planned = acc.planned()
    events, tasks = acc.items("events"), acc.items("tasks")
    assert set(events) == set(planned)  # event targets keep the UIDs `calsync plan --json` shows
    assert len(tasks) == len(planned) and not set(tasks) & set(events)
    assert set(tasks) == {remote_uid(uid, "todo", None) for uid in planned}
    assert "failed" not in report
    again = [r for r in acc.ws.sync_json()]
    assert all(r["created"] == r["updated"] == r["deleted"] == 0 for r in again)


def test_two_event_targets_on_one_account_need_a_uid_suffix(caldav_server, tmp_path):
    caldav_server.proxy.faults.unique_uids = True
    acc = Account(caldav_server, tmp_path, work={}, home={})
    out = acc.ws.run("sync", expect=1)
    assert "uid_suffix" in out and len(acc.items("home")) == 0 and len(acc.items("work")) == len(acc.planned())
    # what the message says to do: the second target gets a suffix, and its items go in at once
    config = acc.ws.config.read_text()
    acc.ws.config.write_text(config.replace("[targets.home]\n", '[targets.home]\nuid_suffix = "home"\n'))
    acc.ws.run("sync", expect=0)
    assert len(acc.items("home")) == len(acc.planned()) and not set(acc.items("home")) & set(acc.items("work"))


def test_a_todo_target_from_before_moves_to_its_own_uids_without_duplicates(caldav_server, tmp_path):
    acc = Account(caldav_server, tmp_path, tasks={"component": "todo"})
    acc.add_my_events("tasks")
    config = acc.ws
    target = Target("tasks", "caldav", caldav_server.options(acc.paths["tasks"].rstrip("/").rsplit("/", 1)[-1]))
    target.options["component"] = "todo"
    # what an older calsync left: to-dos under the plan's UIDs, and a state that says so
    from calsync.config import load_config
    from calsync.interviews import load_interviews
    from calsync.planner import plan

    cfg = load_config(config.config)
    followups = plan(load_interviews(cfg.interviews_file, cfg.timezone, cfg.country, None), cfg.policy).followups
    provider = CalDAVProvider(target)
    db = StateDB(state_path(target, cfg.state_dir))
    for f in followups:
        if f.cancelled:
            continue
        item = render_item(f, component="todo")
        written = provider.create(item)
        db.put(StateRow(f.uid, written.href, written.etag, content_hash(item), 0, f.due.isoformat(), False, False,
                        item.ical))  # fmt: skip
    db.close()
    provider.close()
    assert set(acc.items("tasks")) == set(acc.planned())
    report = acc.ws.sync_json()[0]
    assert report["conflicts"] == [] and report["failed"] == []
    items = acc.items("tasks")
    assert set(items) == {remote_uid(uid, "todo", None) for uid in acc.planned()}
    again = acc.ws.sync_json()[0]
    assert again["created"] == again["updated"] == again["deleted"] == 0
    assert acc.my_events_untouched()


# --- a busy or flaky server -----------------------------------------------------------------------------------------


def test_429_and_503_with_retry_after_are_waited_for(account):
    account.faults.busy = [429, 503]
    report = account.ws.sync_json()[0]
    assert set(account.items("phone")) == set(account.planned()) and report["failed"] == []
    statuses = [r.status for r in account.server.proxy.snapshot()]
    assert statuses.count(429) == 1 and statuses.count(503) == 1
    assert account.my_events_untouched()


def test_a_server_busy_for_longer_than_max_wait_stops_the_target_in_one_line(radicale, tmp_path):
    acc = Account(radicale, tmp_path, phone={"max_wait": 1})
    acc.faults.busy = [429] * 6
    result = run_cli("--config", str(acc.ws.config), "sync")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "slow down" in lines[0] and "Traceback" not in result.stderr


def test_dropped_connections_are_survived_without_duplicates(account):
    account.faults.drop = 3  # three writes land, and their answers are lost
    report = account.ws.sync_json()[0]
    assert report["conflicts"] == [] and report["failed"] == []
    assert set(account.items("phone")) == set(account.planned())
    account.ws.write_interviews(EXTENSION)
    account.faults.drop = 2
    report = account.ws.sync_json()[0]
    assert report["conflicts"] == [] and report["failed"] == []
    again = account.ws.sync_json()[0]
    assert again["created"] == again["updated"] == again["deleted"] == 0 and again["conflicts"] == []
    assert account.faults.injected.count("drop") == 5 and account.my_events_untouched()


def test_slow_answers_are_waited_out_within_the_timeout_and_tried_again(caldav_server, tmp_path):
    acc = Account(caldav_server, tmp_path, phone={"timeout": 1})
    acc.faults.slow = (2, 1.5)
    report = acc.ws.sync_json()[0]
    assert report["failed"] == [] and set(acc.items("phone")) == set(acc.planned())
    assert acc.faults.injected.count("slow") == 2
