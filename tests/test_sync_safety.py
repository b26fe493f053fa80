"""What calsync must never do to the user's items: take a copy of its own item (a user's copy, an imported export)
for its own, delete an item the user edited because its interview left the file, or believe a spurious 404.

The user's files are compared byte for byte."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from googletargets import make_target
from reliability import count
from syncsafety import (
    caldav_target,
    components,
    config,
    dav_blobs,
    file_target,
    interviews,
    lost_items,
    planned,
    run_here,
)

from calsync.cli import cli
from calsync.errors import NotFound
from calsync.provider import Target
from calsync.sync.engine import sync_target
from calsync.sync.state import StateDB, state_path


def uid_of(plan: dict[str, dict], interview: str, kind: str) -> str:
    (uid,) = [uid for uid, row in plan.items() if row["interview"] == interview and row["kind"] == kind]
    return uid


def edited(data: bytes, summary: bytes = b"SUMMARY:Mine now") -> bytes:
    """The item as the user's calendar app saves it after they retitled it."""
    lines = data.split(b"\r\n")
    return b"\r\n".join(summary if line.startswith(b"SUMMARY:") else line for line in lines)


def ok(result):
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.reports[0]


# --- an item is ours only where we put it ------------------------------------------------------------------------


def test_a_marked_copy_under_another_name_is_the_users(tmp_path):
    where = tmp_path / "cal"
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", file_target("vdir", where, extra='cancelled = "delete"\n'))
    plan.write_text(interviews([1, 2]))
    ok(run_here(cfg, plan))
    rows = planned(cfg, plan)
    check_in = uid_of(rows, "co1-eng", "check_in")
    gone_uid = uid_of(rows, "co2-eng", "check_in")
    ours = where / f"{check_in}.ics"
    # The user's copies: one as is, one edited, one of an item whose interview will leave the file, and an
    # imported `calsync export` (every item, marked, in one file).
    users = {
        "copy-of-check-in.ics": ours.read_bytes(),
        "edited-copy.ics": edited(ours.read_bytes()),
        "keep-this.ics": (where / f"{gone_uid}.ics").read_bytes(),
    }
    for name, data in users.items():
        (where / name).write_bytes(data)
    exported = CliRunner().invoke(
        cli, ["--config", str(cfg), "export", "--file", str(plan), "-o", str(where / "imported.ics")]
    )
    assert exported.exit_code == 0, exported.output
    users["imported.ics"] = (where / "imported.ics").read_bytes()

    plan.write_text(interviews([1], extended={1}))  # the check-in moves; interview 2 leaves: deleted
    report = ok(run_here(cfg, plan, "--force"))
    again = ok(run_here(cfg, plan, "--force"))

    for name, data in users.items():
        assert (where / name).read_bytes() == data, f"the user's {name} was changed"
    moved = planned(cfg, plan)[check_in]["due"]
    assert f"DTSTART;TZID=America/Chicago:{moved[:19].replace('-', '').replace(':', '')}".encode() in ours.read_bytes()
    assert not (where / f"{gone_uid}.ics").exists()
    assert report["conflicts"] == [] and again["created"] + again["updated"] + again["deleted"] == 0
    count("sync safety", "vdir: user's marked copies kept byte for byte", len(users))


def test_caldav_leaves_an_imported_copy_alone(tmp_path, radicale_server):
    """The user imported a `calsync export` into the calendar before calsync synced to it: the server then holds
    calsync's UIDs, marked, under the import's names. They stay the user's, whatever the sync is asked to do."""
    from calsync.render import parse_items

    server = radicale_server
    env = {"CALSYNC_TEST_CALDAV_PASSWORD": server.password}
    calendar = server.unique_name("import")
    path = server.make_calendar(calendar)
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", caldav_target(server, calendar, extra='cancelled = "delete"\n'))
    plan.write_text(interviews([1, 2]))
    exported = CliRunner().invoke(cli, ["--config", str(cfg), "export", "--file", str(plan)])
    check_in = uid_of(planned(cfg, plan), "co1-eng", "check_in")
    (item,) = [item for item in parse_items(exported.stdout_bytes) if item.uid == check_in]
    status, _ = server.put(path + "imported-event.ics", item.ical)
    assert status in (201, 204)
    users = server.get(path + "imported-event.ics")

    first = ok(run_here(cfg, plan, env=env))
    assert [c["uid"] for c in first["conflicts"]] == [check_in]  # the server holds that UID already: not ours
    plan.write_text(interviews([2]))  # interview 1 leaves the file: delete mode, forced
    ok(run_here(cfg, plan, "--force", env=env))
    assert server.get(path + "imported-event.ics") == users
    count("sync safety", "caldav: imported copies kept byte for byte")


# --- deletes check like updates ----------------------------------------------------------------------------------


class VdirSide:
    def __init__(self, tmp_path: Path) -> None:
        self.where = tmp_path / "cal"
        self.env = None

    def target(self) -> str:
        return file_target("vdir", self.where, extra='cancelled = "delete"\n')

    def items(self) -> dict[str, bytes]:
        return {p.name[: -len(".ics")]: p.read_bytes() for p in self.where.glob("*.ics")}

    def edit(self, uid: str) -> bytes:
        path = self.where / f"{uid}.ics"
        path.write_bytes(edited(path.read_bytes()))
        return path.read_bytes()


class DavSide:
    def __init__(self, server) -> None:
        self.server = server
        self.calendar = server.unique_name("delete")
        self.path = server.make_calendar(self.calendar)
        self.env = {"CALSYNC_TEST_CALDAV_PASSWORD": server.password}

    def target(self) -> str:
        return caldav_target(self.server, self.calendar, extra='cancelled = "delete"\n')

    def _by_uid(self) -> dict[str, tuple[str, bytes]]:
        found = {}
        for member in self.server.members(self.path):
            data = self.server.get(member)[1]
            uid = next(line[4:] for line in data.decode().splitlines() if line.startswith("UID:"))
            found[uid.strip()] = (member, data)
        return found

    def items(self) -> dict[str, bytes]:
        return {uid: data for uid, (_, data) in self._by_uid().items()}

    def edit(self, uid: str) -> bytes:
        member, data = self._by_uid()[uid]
        status, _ = self.server.put(member, edited(data))
        assert status in (201, 204)
        return self.server.get(member)[1]


@pytest.fixture(params=["vdir", "caldav"])
def side(request, tmp_path):
    if request.param == "vdir":
        return VdirSide(tmp_path)
    return DavSide(request.getfixturevalue("radicale_server"))


def test_delete_mode_keeps_what_the_user_edited(tmp_path, side):
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", side.target())
    plan.write_text(interviews([1, 2]))
    ok(run_here(cfg, plan, env=side.env))
    rows = planned(cfg, plan)
    thank_you = uid_of(rows, "co2-eng", "closing")
    check_in = uid_of(rows, "co1-eng", "check_in")
    kept = {thank_you: side.edit(thank_you)}

    plan.write_text(interviews([1]))  # interview 2 leaves the file: its items are deleted, but not the edited one
    report = ok(run_here(cfg, plan, env=side.env))
    assert [c["uid"] for c in report["conflicts"]] == [thank_you]
    assert report["deleted"] == 4

    kept[check_in] = side.edit(check_in)
    plan.write_text(interviews([1], cancelled={1}))  # an offer: what is ahead is cancelled, i.e. deleted
    report = ok(run_here(cfg, plan, env=side.env))
    assert check_in in [c["uid"] for c in report["conflicts"]]

    items = side.items()
    for uid, data in kept.items():
        assert items[uid] == data, "an edited item was deleted or changed"
    assert uid_of(rows, "co1-eng", "retry") not in items
    count("sync safety", "delete mode: edited items kept", len(kept))


# --- a deletion is confirmed before it is believed ---------------------------------------------------------------


def test_a_spurious_404_is_checked_and_the_write_retried(tmp_path, radicale_server):
    server = radicale_server
    env = {"CALSYNC_TEST_CALDAV_PASSWORD": server.password}
    calendar = server.unique_name("flaky")
    path = server.make_calendar(calendar)
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", caldav_target(server, calendar))
    plan.write_text(interviews([1]))
    ok(run_here(cfg, plan, env=env))
    plan.write_text(interviews([1], extended={1}))  # the check-in and the retry move: two updates

    server.proxy.fake("PUT", 404)  # the server (or a proxy) answers 404 to the first update, once
    report = ok(run_here(cfg, plan, env=env))
    assert report["updated"] == 1
    assert any("not found" in note and "retried next sync" in note for note in report["notes"]), report["notes"]
    again = ok(run_here(cfg, plan, env=env))
    assert again["updated"] == 1 and again["conflicts"] == []
    held, seen = components(dav_blobs(server, path))
    assert lost_items(planned(cfg, plan), held) == [] and max(seen.values()) == 1
    count("faults", "caldav: spurious 404s survived")


def test_a_confirmed_absence_is_the_users_deletion(tmp_path, register):
    from calsync.testing import MemoryPlugin, MemoryProvider

    register(MemoryPlugin(), "memory-safety")

    class DeletedMeanwhile(MemoryProvider):
        """The user deletes the item just before our update reaches it."""

        def update(self, href, item, etag):
            self.items.pop(href, None)
            return super().update(href, item, etag)

    from factories import followup

    target = Target("mem", "memory", {"store": f"confirm-{tmp_path.name}"}, state_dir=tmp_path)
    first = followup()
    sync_target(target, [first])
    moved = followup(due=first.due + timedelta(days=1), revision=1)
    report = sync_target(target, [moved], provider=DeletedMeanwhile(target))
    assert any("gone from the target" in note for note in report.notes)
    db = StateDB(state_path(target, tmp_path))
    try:
        assert db.rows()[first.uid].gone
    finally:
        db.close()
    with pytest.raises(NotFound):
        MemoryProvider(target).read(first.uid)


def test_google_ignores_a_marked_copy_under_another_id(google_emulator, tmp_path):
    """Google derives event ids from UIDs: an event carrying calsync's mark and UID under another id (the user
    duplicated it) is theirs: not listed, not changed, not deleted."""
    from factories import followup

    from calsync.model import Status
    from calsync.render import render_item
    from calsync_google.events import to_event
    from calsync_google.provider import GoogleProvider

    first = followup()
    copy = {**to_event(render_item(first)), "id": "c0ffee0001", "summary": "My copy"}
    target = make_target(google_emulator, tmp_path)
    sync_target(target, [first])
    google_emulator.user_insert("primary", copy)
    provider = GoogleProvider(target)
    try:
        assert [item.href for item in provider.list_items()] == [to_event(render_item(first))["id"]]
    finally:
        provider.close()
    target.options["cancelled"] = "delete"
    sync_target(target, [followup(status=Status.CANCELLED)], force=True)
    (left,) = google_emulator.events()
    assert left["id"] == "c0ffee0001" and left["summary"] == "My copy"
    count("sync safety", "google: user's marked copies kept")
