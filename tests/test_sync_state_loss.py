"""State loss: the state database deleted, emptied, truncated, damaged, or from an older calsync. Whatever happened,
no edit of the user's is overwritten without --force, nothing is duplicated, and every message is one line.

Each case: a sync, then the user edits one follow-up and deletes another, then the state is lost, then the plan
moves the edited follow-up (so calsync would want to write it)."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import icalendar
import pytest
from googletargets import make_target
from reliability import count
from syncsafety import (
    ROUNDS,
    caldav_target,
    components,
    config,
    dav_blobs,
    file_blobs,
    file_target,
    interviews,
    planned,
    run_here,
)

from calsync.config import load_config
from calsync.sync.state import SCHEMA_VERSION, state_path

LOSSES = ["deleted", "emptied", "truncated", "damaged", "older version"]


def lose(path: Path, how: str) -> None:
    """Do to the state database what a disk, a user or an old calsync did."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    if how == "deleted":
        path.unlink()
    elif how == "emptied":
        path.write_bytes(b"")
    elif how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "damaged":
        path.write_bytes(b"this is not a database, it is what a broken disk left\n" * 300)
    else:  # what calsync wrote before its state had a version number, columns added since, and intents
        db = sqlite3.connect(path)
        db.executescript(
            "create table old as select uid, href, etag, hash, sequence, due, ical from items;"
            "drop table items; drop table intents;"
            "create table items (uid text primary key, href text not null, etag text, hash text not null,"
            " sequence integer not null, due text not null, ical blob not null);"
            "insert into items select * from old; drop table old; pragma user_version = 0;"
        )
        db.close()


class Files:
    """A vdir or ics target, edited the way the user's calendar app would."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.where = root / ("cal" if kind == "vdir" else "followups.ics")
        self.env = None

    def target(self) -> str:
        return file_target(self.kind, self.where)

    def held(self) -> tuple[dict, dict]:
        return components(file_blobs(self.kind, self.where))

    def edit(self, uid: str) -> None:
        self._change(uid, lambda comp: comp.__setitem__("SUMMARY", "Mine now"))

    def delete(self, uid: str) -> None:
        if self.kind == "vdir":
            (self.where / f"{uid}.ics").unlink()
        else:
            self._change(uid, None)

    def _change(self, uid: str, how) -> None:
        path = self.where / f"{uid}.ics" if self.kind == "vdir" else self.where
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
        for comp in list(calendar.subcomponents):
            if str(comp.get("UID", "")) == uid:
                if how is None:
                    calendar.subcomponents.remove(comp)
                else:
                    how(comp)
        path.write_bytes(calendar.to_ical())


class Dav:
    def __init__(self, server) -> None:
        self.server = server
        self.calendar = server.unique_name("loss")
        self.path = server.make_calendar(self.calendar)
        self.env = {"CALSYNC_TEST_CALDAV_PASSWORD": server.password}

    def target(self) -> str:
        return caldav_target(self.server, self.calendar)

    def held(self) -> tuple[dict, dict]:
        return components(dav_blobs(self.server, self.path))

    def _member(self, uid: str) -> str:
        (member,) = [m for m in self.server.members(self.path) if uid.encode() in self.server.get(m)[1]]
        return member

    def edit(self, uid: str) -> None:
        member = self._member(uid)
        calendar = icalendar.Calendar.from_ical(self.server.get(member)[1])
        for comp in calendar.walk("VEVENT"):
            comp["SUMMARY"] = "Mine now"
        assert self.server.put(member, calendar.to_ical())[0] in (201, 204)

    def delete(self, uid: str) -> None:
        assert self.server.delete(self._member(uid)) in (200, 204)


def scenario(tmp_path: Path, side, how: str) -> None:
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", side.target())
    plan.write_text(interviews([1, 2]))
    first = run_here(cfg, plan, env=side.env)
    assert first.code == 0, first.stderr
    rows = planned(cfg, plan)
    check_in = next(u for u, r in rows.items() if r["interview"] == "co1-eng" and r["kind"] == "check_in")
    closing = next(u for u, r in rows.items() if r["interview"] == "co2-eng" and r["kind"] == "closing")
    side.edit(check_in)
    side.delete(closing)
    before, _ = side.held()
    mine = before[check_in].to_ical()

    config_ = load_config(cfg)
    lose(state_path(config_.target("main"), config_.state_dir), how)
    plan.write_text(interviews([1, 2], extended={1}))  # calsync now wants to move the edited check-in

    result = run_here(cfg, plan, env=side.env)
    assert "Traceback" not in result.stderr
    if result.code == 2:
        (line,) = result.stderr.strip().splitlines()
        if "--adopt" in line:
            assert how in ("deleted", "emptied", "truncated")
            assert "1 kept as edited" in line and "may come back" in line
            result = run_here(cfg, plan, "--adopt", env=side.env)
        else:
            assert how in ("damaged", "truncated") and "damaged" in line
            command = line.split("with: ", 1)[1].split()
            assert command[:3] == ["calsync", "sync", "main"]
            result = run_here(cfg, plan, *command[3:], env=side.env)
    else:
        assert how in ("older version", "truncated"), result.stdout
    assert result.code == 0, result.stderr
    report = result.reports[0]
    after, seen = side.held()
    overwritten = int(after[check_in].to_ical() != mine)
    count("state loss", "user edits overwritten", overwritten)
    assert overwritten == 0, "the user's edit was overwritten"
    assert check_in in [c["uid"] for c in report["conflicts"]]
    assert [uid for uid, n in seen.items() if n > 1] == [], "a duplicate"
    untouched = set(before) - {check_in}
    assert all(uid in after for uid in untouched)

    forced = run_here(cfg, plan, "--force", env=side.env)  # and --force does overwrite it: the check is real
    assert forced.code == 0 and forced.reports[0]["updated"] >= 1, forced.stdout
    assert side.held()[0][check_in]["SUMMARY"] != "Mine now"


@pytest.mark.parametrize("how", LOSSES)
@pytest.mark.parametrize("kind", ["vdir", "ics"])
def test_state_loss_on_a_file_target(tmp_path, kind, how):
    for round_ in range(max(1, ROUNDS // 2)):
        root = tmp_path / f"round{round_}"
        root.mkdir()
        scenario(root, Files(kind, root), how)
        count("state loss", f"{kind}: state {how}, survived")


@pytest.mark.parametrize("how", ["deleted", "damaged"])
def test_state_loss_on_caldav(tmp_path, radicale_server, how):
    scenario(tmp_path, Dav(radicale_server), how)
    count("state loss", f"caldav: state {how}, survived")


def test_without_a_state_a_sync_asks_before_adopting(tmp_path):
    """The first sync that finds calsync items and no state exits 2 with one line; --dry-run says the same and
    writes nothing; --adopt goes on."""
    side = Files("vdir", tmp_path)
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", side.target())
    plan.write_text(interviews([1]))
    assert run_here(cfg, plan).code == 0
    for path in (tmp_path / "state").iterdir():
        path.unlink()
    files = {p.name: p.read_bytes() for p in side.where.iterdir()}
    refused = run_here(cfg, plan)
    assert refused.code == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "5 would be adopted, 0 kept as edited" in refused.stderr and "calsync sync main --adopt" in refused.stderr
    dry = run_here(cfg, plan, "--dry-run")
    assert dry.code == 0 and any("--adopt" in note for note in dry.reports[0]["notes"])
    assert {p.name: p.read_bytes() for p in side.where.iterdir()} == files
    assert run_here(cfg, plan).code == 2  # still asking: a refusal or a dry run records nothing
    adopted = run_here(cfg, plan, "--adopt")
    assert adopted.code == 0 and adopted.reports[0]["created"] == 0 and adopted.reports[0]["updated"] == 0
    assert {p.name: p.read_bytes() for p in side.where.iterdir()} == files  # they held what we want already
    assert run_here(cfg, plan).code == 0  # asked once only


def test_each_good_sync_keeps_a_backup_and_a_version(tmp_path):
    side = Files("vdir", tmp_path)
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", side.target())
    plan.write_text(interviews([1]))
    assert run_here(cfg, plan).code == 0
    config_ = load_config(cfg)
    path = state_path(config_.target("main"), config_.state_dir)
    backup = Path(f"{path}.bak")
    db = sqlite3.connect(backup)
    try:
        assert db.execute("select count(*) from items").fetchone()[0] == 5
        assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()
    assert oct(os.stat(backup).st_mode & 0o777) == "0o600"


def test_a_state_from_a_newer_calsync_is_refused_in_one_line(tmp_path):
    side = Files("vdir", tmp_path)
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", side.target())
    plan.write_text(interviews([1]))
    assert run_here(cfg, plan).code == 0
    config_ = load_config(cfg)
    db = sqlite3.connect(state_path(config_.target("main"), config_.state_dir))
    db.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    db.close()
    result = run_here(cfg, plan)
    assert result.code == 2 and "newer calsync" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_state_loss_on_google(google_emulator, tmp_path):
    """Google may skip the listing of a first sync (its creates reconcile by id): a lost state must not look like
    a first sync, or those creates would overwrite the user's edits."""
    from factories import followup

    from calsync.errors import UserError
    from calsync.sync.engine import sync_target
    from calsync_google.events import event_id

    first = followup()
    target = make_target(google_emulator, tmp_path)
    sync_target(target, [first])
    google_emulator.user_edit("primary", event_id(first.uid), summary="Mine now")
    for path in tmp_path.glob("**/*.sqlite*"):
        path.unlink()
    moved = followup(due=first.due + timedelta(days=2), revision=1)
    with pytest.raises(UserError, match="0 would be adopted, 1 kept as edited"):
        sync_target(target, [moved])
    report = sync_target(target, [moved], adopt=True)
    assert [c.uid for c in report.conflicts] == [first.uid]
    (event,) = google_emulator.events()
    assert event["summary"] == "Mine now"
    count("state loss", "google: state deleted, survived")


@pytest.mark.parametrize("extra", ['component = "todo"', 'uid_suffix = "work"'], ids=["to-do", "uid suffix"])
def test_items_under_the_targets_own_uids_are_adopted_after_state_loss(tmp_path, extra):
    """A to-do target (and one with a uid_suffix) writes UIDs of its own, derived from the plan's; the seal covers
    them, so after the state is lost each item is recognised as calsync's, untouched, and adopted, and the syncs
    after that find everything where it is."""
    where = tmp_path / "cal"
    plan = tmp_path / "interviews.toml"
    cfg = config(tmp_path, tmp_path / "state", file_target("vdir", where, extra=extra))
    plan.write_text(interviews([1, 2]))
    assert run_here(cfg, plan).code == 0
    files = {p.name: p.read_bytes() for p in where.iterdir()}
    for path in (tmp_path / "state").iterdir():
        path.unlink()
    refused = run_here(cfg, plan)
    assert refused.code == 2 and f"{len(files)} would be adopted, 0 kept as edited" in refused.stderr
    adopted = run_here(cfg, plan, "--adopt")
    assert adopted.code == 0 and adopted.reports[0]["conflicts"] == [], adopted.stdout
    for _ in range(2):
        again = run_here(cfg, plan)
        assert again.code == 0, again.stderr
        report = again.reports[0]
        assert (report["created"], report["updated"], report["deleted"]) == (0, 0, 0)
        assert report["conflicts"] == [] and report["notes"] == [], report
    assert {p.name: p.read_bytes() for p in where.iterdir()} == files  # nothing rewritten, nothing duplicated


def test_to_dos_on_caldav_are_adopted_after_state_loss(tmp_path, radicale_server):
    side = Dav(radicale_server)
    plan = tmp_path / "interviews.toml"
    target = caldav_target(radicale_server, side.calendar, extra='component = "todo"')
    cfg = config(tmp_path, tmp_path / "state", target)
    plan.write_text(interviews([1]))
    assert run_here(cfg, plan, env=side.env).code == 0
    before = sorted(dav_blobs(radicale_server, side.path))
    for path in (tmp_path / "state").iterdir():
        path.unlink()
    adopted = run_here(cfg, plan, "--adopt", env=side.env)
    assert adopted.code == 0 and adopted.reports[0]["conflicts"] == [], adopted.stdout
    assert f"{len(before)} adopted, 0 kept as edited" in " ".join(adopted.reports[0]["notes"])
    again = run_here(cfg, plan, env=side.env)
    assert again.code == 0 and again.reports[0]["notes"] == [] and again.reports[0]["unchanged"] == len(before)
    assert sorted(dav_blobs(radicale_server, side.path)) == before
