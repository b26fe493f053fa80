"""``calsync init``, ``add``, ``record`` and ``done`` through CliRunner: what they print, what they write, and that
a hand-commented interview file keeps every comment, blank line and key order."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from calsync.cli import cli
from calsync.config import load_config
from calsync.interviews import load_interviews

INVITES = Path(__file__).resolve().parent / "invites"

HAND_WRITTEN = """\
# Job hunt 2026 — my notes stay as I wrote them.

[[interviews]]
company = "Acme Corp"          # key order: mine
id = "acme-staff"
role = "Staff Engineer"
start = 2026-11-20T14:00:00
end = 2026-11-20T15:00:00
timezone = "America/Chicago"
timeline = "We'll get back to you within a week"

[[interviews.interviewers]]
name = "Dana Smith"
email = "dana@acme.example"
primary = true
timezone = "America/New_York"

[[interviews.interviewers]]
name = "Lee Park"              # met at lunch
email = "lee@acme.example"

# ---- Globex: phone screen ----

[[interviews]]
id = "globex-sre"
company = "Globex"
start = 2026-11-23T10:00:00
timezone = "Europe/Berlin"
country = "DE"
subdivision = "BE"

[[interviews.interviewers]]
name = "Jonas Weber"
email = "jonas@globex.example"
"""


def inserted(old: str, new: str) -> str:
    """What ``new`` adds to ``old``; fails unless ``new`` is ``old`` with one block inserted, byte for byte."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    assert start + end == len(old), "the existing text changed"
    return new[start : len(new) - end]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A config (Chicago, US, [me]) and the hand-written interview file; returns the config's path."""
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(HAND_WRITTEN)
    config = tmp_path / "config.toml"
    config.write_text(
        f'timezone = "America/Chicago"\ncountry = "US"\ninterviews = "{interviews}"\n\n'
        '[me]\nname = "Alex Candidate"\nemail = "alex.candidate@gmail.com"\n'
    )
    return config


def run(config: Path | None, *args: str, stdin: bytes | str | None = None):
    prefix = ["--config", str(config)] if config else []
    return CliRunner().invoke(cli, [*prefix, *args], input=stdin, catch_exceptions=False)


def ok(config: Path | None, *args: str, stdin: bytes | str | None = None) -> str:
    result = run(config, *args, stdin=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(config: Path | None, *args: str, stdin: bytes | str | None = None) -> str:
    """The one-line error of a command that must fail with exit status 2 and no traceback."""
    result = run(config, *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("calsync: error: "), result.stderr
    return lines[0]


def interviews_of(config: Path) -> Path:
    return load_config(config).interviews_file


def plan_rows(config: Path) -> list[dict]:
    return json.loads(ok(config, "plan", "--json"))


def row(rows: list[dict], interview: str, kind: str, recipient: str | None = None) -> dict:
    (found,) = [
        r for r in rows if r["interview"] == interview and r["kind"] == kind and recipient in (None, r["recipient"])
    ]
    return found


def short(day: date | str) -> str:
    day = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    return f"{day:%a} {day.day} {day:%b}"


# --- init -------------------------------------------------------------------------------------------------------


def test_init_writes_a_config_and_a_commented_starter(tmp_path):
    config = tmp_path / "conf" / "config.toml"
    interviews = tmp_path / "jobs" / "interviews.toml"
    out = ok(
        config,
        "init",
        "--timezone", "Europe/Berlin",
        "--country", "de",
        "--subdivision", "BY",
        "--interviews", str(interviews),
        "--name", "Alex Candidate",
        "--email", "alex@example.com",
    )  # fmt: skip
    assert str(config) in out and str(interviews) in out
    loaded = load_config(config)
    assert (loaded.timezone, loaded.country, loaded.subdivision) == ("Europe/Berlin", "DE", "BY")
    assert loaded.interviews_file == interviews
    assert (loaded.me.name, loaded.me.email) == ("Alex Candidate", "alex@example.com")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    starter = interviews.read_text()
    assert starter.startswith("#") and all(not line or line.startswith("#") for line in starter.splitlines())
    assert load_interviews(interviews) == []
    # The starter's commented example is a valid interview once uncommented.
    uncommented = "\n".join(line[2:] for line in starter.splitlines() if line.startswith("# ") or line == "#")
    tail = uncommented[uncommented.index("\n[[interviews]]") :]
    (example,) = load_interviews_text(tmp_path, tail)
    assert example.id == "acme-staff"


def load_interviews_text(tmp_path: Path, text: str):
    path = tmp_path / "example.toml"
    path.write_text(text)
    return load_interviews(path)


def test_init_never_overwrites(tmp_path):
    config = tmp_path / "config.toml"
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(HAND_WRITTEN)
    out = ok(config, "init", "--timezone", "UTC", "--interviews", str(interviews))
    assert "Kept the interview file" in out
    assert interviews.read_text() == HAND_WRITTEN
    before = config.read_bytes()
    assert "a config is already there" in fails(config, "init", "--timezone", "UTC")
    assert config.read_bytes() == before


def test_init_takes_the_system_zone(tmp_path):
    config = tmp_path / "config.toml"
    env = {**os.environ, "TZ": "America/Denver"}  # tzlocal reads TZ first; a fresh process, as tzlocal caches
    calsync = Path(sys.executable).parent / "calsync"
    result = subprocess.run(
        [str(calsync), "--config", str(config), "init", "--interviews", str(tmp_path / "i.toml")],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded = load_config(config)
    assert loaded.timezone == "America/Denver"
    assert loaded.country is None and loaded.me.name is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "PST"], "'America/Los_Angeles'"),
        (["--timezone", "Europe/Berln"], "'Europe/Berlin'"),
        (["--country", "Germany"], "'DE'"),
        (["--subdivision", "CA"], "--subdivision needs --country"),
        (["--country", "US", "--subdivision", "ZZ"], "US has no subdivision 'ZZ'"),
        (["--email", "alex"], "not an email address"),
    ],
)
def test_init_bad_answers_teach(tmp_path, args, message):
    config = tmp_path / "config.toml"
    assert message in fails(config, "init", "--interviews", str(tmp_path / "i.toml"), *args)
    assert not config.exists()


# --- add --------------------------------------------------------------------------------------------------------


def test_add_with_every_flag_keeps_the_hand_written_file(home):
    path = interviews_of(home)
    out = ok(
        home,
        "add",
        "--company", "Initech",
        "--role", "Backend Engineer",
        "--at", "2026-12-01 14:00",
        "--duration", "45m",
        "--tz", "America/New_York",
        "--interviewer", "Sam Ortiz <sam@initech.example>",
        "--interviewer", "Ann Lee <ann@initech.example>",
        "--primary", "ann",
        "--phone", "+1 212 555 0199",
        "--timeline", "within a week",
        "--medium", "phone",
        "--requested", "references",
        "--requested", "code sample",
        "--approved",
        "--country", "US",
        "--subdivision", "NY",
    )  # fmt: skip
    new = path.read_text()
    block = inserted(HAND_WRITTEN, new)
    assert new.startswith(HAND_WRITTEN)
    table = tomllib.loads(block)["interviews"][0]
    assert table == {
        "id": "initech-backend",
        "company": "Initech",
        "role": "Backend Engineer",
        "start": datetime(2026, 12, 1, 14, 0),
        "end": datetime(2026, 12, 1, 14, 45),
        "timezone": "America/New_York",
        "timeline": "within a week",
        "follow_up": "phone",
        "approved": True,
        "requested": ["references", "code sample"],
        "country": "US",
        "subdivision": "NY",
        "interviewers": [
            {"name": "Sam Ortiz", "email": "sam@initech.example"},
            {"name": "Ann Lee", "email": "ann@initech.example", "phone": "+1 212 555 0199", "primary": True},
        ],
    }
    rows = plan_rows(home)
    check_in = row(rows, "initech-backend", "check_in")
    assert check_in["recipient"] == "Ann Lee" and check_in["medium"] == "phone"
    assert f"decision by {short(check_in['deadline'])} — from 'within a week'" in out
    assert f"{short(check_in['due'])} {check_in['due'][11:16]}  check-in to Ann Lee  (initech-backend/check-in)" in out
    assert "thank-you to Sam Ortiz  (initech-backend/thank-you/sam-ortiz)" in out
    assert f"Added initech-backend to {path}:" in out


def test_add_says_when_the_deadline_is_assumed_and_reads_decision_by_phrases(home):
    out = ok(home, "add", "--company", "Hooli", "--at", "2026-12-02 09:00", "--dry-run")
    deadline = date(2026, 12, 2) + timedelta(days=7)
    assert f"decision by {short(deadline)} — assumed: no timeline given, so 7 days after the interview" in out
    assert interviews_of(home).read_text() == HAND_WRITTEN  # a dry run writes nothing
    out = ok(home, "add", "--company", "Hooli", "--at", "2026-12-02 09:00", "--decision-by", "next friday")
    (hooli,) = [i for i in load_interviews(interviews_of(home)) if i.company == "Hooli"]
    assert hooli.decision_by == date(2026, 12, 4)  # the Friday after Wednesday 2 December
    assert "decision by Fri 4 Dec — given (--decision-by 'next friday')" in out
    assert hooli.end - hooli.start == timedelta(hours=1)


def test_add_always_writes_a_new_unique_id(home):
    for _ in range(3):
        ok(home, "add", "--company", "Acme Corp", "--role", "Staff Engineer", "--at", "2026-12-03 10:00")
    ids = [i.id for i in load_interviews(interviews_of(home))]
    assert ids == ["acme-staff", "globex-sre", "acme-staff-2", "acme-staff-3", "acme-staff-4"]
    assert "already has an interview 'globex-sre'" in fails(
        home, "add", "--company", "G", "--at", "2026-12-03 10:00", "--id", "globex-sre"
    )
    ok(home, "add", "--company", "G", "--at", "2026-12-03 10:00", "--id", "g-1")
    assert load_interviews(interviews_of(home))[-1].id == "g-1"


@pytest.mark.parametrize(
    ("at", "zone"),
    [("2026-11-01 01:30", "America/Chicago"), ("2026-11-01 00:45", "America/Chicago"),
     ("2026-03-08 01:30", "America/Chicago"), ("2026-10-25 02:15", "Europe/Berlin")],
)  # fmt: skip
def test_add_across_a_dst_change_keeps_the_elapsed_length(home, at, zone):
    ok(home, "add", "--company", "Night", "--at", at, "--duration", "1h", "--tz", zone)
    night = load_interviews(interviews_of(home))[-1]
    assert night.end.astimezone(ZoneInfo("UTC")) - night.start.astimezone(ZoneInfo("UTC")) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "missing --company (no terminal to ask on)"),
        (["--company", "X"], "missing --at (no terminal to ask on)"),
        (["--company", "X", "--at", "2026-12-01"], "has no time of day; write it as '2026-12-01 14:00'"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--tz", "PST"], "did you mean 'America/Los_Angeles'?"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--tz", "CET"], "'Europe/Paris' or 'Europe/Berlin'"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--country", "Germany"], "did you mean 'DE'?"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--duration", "forever"], "--duration: cannot read"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--duration", "1h", "--end", "15:00"], "not both"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--primary", "Dana"], "there is no --interviewer"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--interviewer", "Dana <nope>"], "cannot read"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--decision-by", "2026-11-01"], "before the interview"),
        (["--company", "X", "--at", "2026-12-01 14:00", "--id", "a b"], "use letters, digits"),
    ],
)
def test_add_bad_input_teaches(home, args, message):
    assert message in fails(home, "add", *args)
    assert interviews_of(home).read_text() == HAND_WRITTEN


def test_add_to_a_broken_file_names_the_line_and_writes_nothing(home):
    path = interviews_of(home)
    broken = HAND_WRITTEN.replace("start = 2026-11-23T10:00:00", "start = 2026-11-23 10:00")
    path.write_text(broken)
    line = broken.splitlines().index("start = 2026-11-23 10:00") + 1
    message = fails(home, "add", "--company", "X", "--at", "2026-12-01 14:00")
    assert f"{path}:{line}: start: TOML needs the seconds in a date-time: write start = 2026-11-23T10:00:00" in message
    assert path.read_text() == broken


# --- add --from-invite ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invite", "start", "zone", "minutes", "people", "company", "role"),
    [
        (
            "google.ics",
            datetime(2026, 12, 1, 14, 0),
            "America/Los_Angeles",
            45,
            [("Priya Raman", "priya.raman@acme.example"), ("Dana Smith", "dana.smith@acme.example")],
            "Acme",
            "Staff Engineer",
        ),
        (
            "outlook.ics",
            datetime(2026, 12, 1, 14, 0),
            "America/Los_Angeles",  # TZID "Pacific Standard Time", a Windows name
            60,
            [
                ("Priya Raman", "Priya.Raman@acme.example"),  # CN "Raman, Priya"
                ("Dana Smith", "Dana.Smith@acme.example"),
                ("Lee Park", "lee.park@acme.example"),
            ],
            "Acme",
            "Staff Engineer",
        ),
        (
            "outlook-display-name.ics",
            datetime(2026, 12, 1, 14, 0),
            "America/Los_Angeles",  # TZID "(UTC-08:00) Pacific Time (US & Canada)"
            60,
            [
                ("Priya Raman", "Priya.Raman@acme.example"),
                ("Dana Smith", "Dana.Smith@acme.example"),
                ("Lee Park", "lee.park@acme.example"),
            ],
            "Acme",
            "Staff Engineer",
        ),
        (
            "apple.ics",
            datetime(2026, 12, 3, 10, 30),
            "Europe/Berlin",
            60,
            [("Jonas Weber", "jonas@globex.example"), ("Mira Hoffmann", "mira.hoffmann@globex.example")],
            "Globex",
            "Site Reliability Engineer",
        ),
        (
            "scheduler-utc.ics",
            datetime(2026, 12, 2, 10, 0),  # 16:00Z in the user's zone, Chicago
            "America/Chicago",
            45,
            [("Sam Ortiz", "sam.ortiz@initech.example")],  # the no-reply organizer is nobody to thank
            "Initech",
            "Backend Engineer",
        ),
    ],
)
def test_add_from_invite(home, invite, start, zone, minutes, people, company, role):
    path = interviews_of(home)
    out = ok(home, "add", "--from-invite", str(INVITES / invite), "--timeline", "by the end of next week")
    table = tomllib.loads(inserted(HAND_WRITTEN, path.read_text()))["interviews"][0]
    assert (table["company"], table["role"]) == (company, role)
    assert table["start"] == start and table["timezone"] == zone
    assert table["end"] - table["start"] == timedelta(minutes=minutes)
    assert [(p["name"], p.get("email")) for p in table["interviewers"]] == people
    assert "follow_up" not in table  # what an invitation cannot know is left for later
    assert "alex" not in json.dumps(table, default=str).lower()  # the user's own address is left out
    assert f"Added {table['id']}" in out


def test_add_from_invite_on_stdin_with_flags_winning(home):
    data = (INVITES / "google.ics").read_bytes()
    ok(home, "add", "--from-invite", "-", "--company", "Acme Corp", "--tz", "America/Chicago",
       "--interviewer", "Dana Smith <dana@acme.example>", "--medium", "email", stdin=data)  # fmt: skip
    acme = load_interviews(interviews_of(home))[-1]
    assert acme.company == "Acme Corp"
    assert acme.start == datetime(2026, 12, 1, 14, 0, tzinfo=ZoneInfo("America/Los_Angeles"))  # same instant
    assert acme.start.astimezone(acme.timezone).hour == 16 and acme.timezone.key == "America/Chicago"
    assert [p.name for p in acme.interviewers] == ["Dana Smith"]


def test_a_cancelled_invitation_is_not_an_interview(home):
    assert "cancels the meeting" in fails(home, "add", "--from-invite", str(INVITES / "google-cancel.ics"))


def test_the_user_is_left_out_by_name_too(tmp_path, home):
    config = tmp_path / "other.toml"
    config.write_text(f'timezone = "UTC"\ninterviews = "{interviews_of(home)}"\n[me]\nname = "Alex Candidate"\n')
    result = run(config, "add", "--from-invite", str(INVITES / "outlook.ics"))
    assert result.exit_code == 0, result.output
    assert "Alex Candidate" not in [p.name for p in load_interviews(interviews_of(home))[-1].interviewers]
    assert "note: no [me] email" in result.stderr


# --- record -----------------------------------------------------------------------------------------------------


def test_record_extended_prints_old_and_new_and_keeps_the_file(home):
    path = interviews_of(home)
    before = plan_rows(home)
    out = ok(home, "record", "acme-staff", "extended", "--on", "2026-11-25", "--decision-by", "in two weeks",
             "--note", "hiring manager away")  # fmt: skip
    assert inserted(HAND_WRITTEN, path.read_text()).lstrip().startswith("[[interviews.events]]")
    event = tomllib.loads(path.read_text())["interviews"][0]["events"][-1]
    assert event == {"date": date(2026, 11, 25), "kind": "extended", "decision_by": date(2026, 12, 9),
                     "note": "hiring manager away"}  # fmt: skip
    after = plan_rows(home)
    old, new = row(before, "acme-staff", "check_in"), row(after, "acme-staff", "check_in")
    assert new["due"] != old["due"]
    assert f"check-in {short(old['due'])} -> {short(new['due'])}  (acme-staff/check-in)" in out
    old_retry, new_retry = row(before, "acme-staff", "retry"), row(after, "acme-staff", "retry")
    assert f"retry {short(old_retry['due'])} -> {short(new_retry['due'])}" in out
    assert "globex" not in out  # only the interview recorded


def test_record_replied_cancels_and_rejected_plans_feedback(home):
    out = ok(home, "record", "acme-staff", "replied", "--on", "2026-11-24")
    assert "check-in" in out and "-> cancelled" in out
    out = ok(home, "record", "globex-sre", "rejected", "--on", "2026-11-27")
    feedback = row(plan_rows(home), "globex-sre", "feedback_request")
    assert f"feedback request: new, {short(feedback['due'])}  (globex-sre/feedback)" in out


def test_record_next_round_offer_withdrawn(home):
    for kind in ("next-round", "offer", "withdrawn"):
        out = ok(home, "record", "globex-sre", kind, "--on", "2026-11-24")
        assert f"Recorded globex-sre: {kind} on Tue 24 Nov" in out
    kinds = [e.kind.value for e in load_interviews(interviews_of(home))[1].events]
    assert kinds == ["next-round", "offer", "withdrawn"]


def test_record_sent_writes_the_agreed_shape(home):
    path = interviews_of(home)
    ok(home, "record", "acme-staff", "sent", "--followup", "check_in", "--on", "2026-12-02")
    block = inserted(HAND_WRITTEN, path.read_text())
    assert block.strip() == (
        '[[interviews.events]]\ndate = 2026-12-02\nkind = "sent"\nfollowup = "check_in"\nto = "Dana Smith"'
    )
    ok(home, "record", "acme-staff", "sent", "--followup", "thank-you", "--to", "lee", "--on", "2026-11-20")
    events = tomllib.loads(path.read_text())["interviews"][0]["events"]
    assert [(e["date"], e["followup"], e["to"]) for e in events] == [
        (date(2026, 12, 2), "check_in", "Dana Smith"),
        (date(2026, 11, 20), "thank_you", "Lee Park"),
    ]
    assert [e.kind.value for e in load_interviews(path)[0].events] == ["sent", "sent"]  # the loader takes them


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme-staf", "replied"], "no interview with id 'acme-staf' (did you mean 'acme-staff'?)"),
        (["acme-staff", "replyed"], "did you mean 'replied'"),
        (["acme-staff", "extended", "--on", "2026-11-25"], "'extended' needs the new date: --decision-by"),
        (["acme-staff", "rejected", "--decision-by", "friday"], "--decision-by goes with 'extended' or 'replied'"),
        (["acme-staff", "replied", "--on", "2026-11-19"], "is before the interview (2026-11-20)"),
        (["acme-staff", "replied", "--on", "someday"], "--on: cannot read 'someday' as a date"),
        (["acme-staff", "sent"], "'sent' needs --followup KIND"),
        (["acme-staff", "sent", "--followup", "thanks-note"], "--followup: unknown follow-up"),
        (["acme-staff", "sent", "--followup", "thank_you"], "say which with --to ('Dana Smith', 'Lee Park')"),
        (["acme-staff", "sent", "--followup", "check_in", "--to", "Pat"], "--to: no interviewer 'Pat'"),
        (["acme-staff", "replied", "--to", "Dana"], "--followup and --to go with 'sent'"),
    ],
)
def test_record_bad_input_teaches(home, args, message):
    assert message in fails(home, "record", *args)
    assert interviews_of(home).read_text() == HAND_WRITTEN


def test_record_on_yesterday_and_a_dry_run(home):
    out = ok(home, "record", "acme-staff", "replied", "--on", "yesterday", "--dry-run")
    assert out.startswith("Would record acme-staff: replied on")
    assert interviews_of(home).read_text() == HAND_WRITTEN
    ok(home, "record", "acme-staff", "replied", "--on", "yesterday")
    yesterday = datetime.now(ZoneInfo("America/Chicago")).date() - timedelta(days=1)
    assert load_interviews(interviews_of(home))[0].events[-1].date == yesterday


# --- done -------------------------------------------------------------------------------------------------------


def test_done_records_sent_once_and_keeps_the_file(home):
    path = interviews_of(home)
    out = ok(home, "done", "acme-staff/thank-you/lee-park", "--on", "2026-11-20")
    assert out.startswith("Recorded acme-staff: thank-you sent on Fri 20 Nov to Lee Park")
    block = inserted(HAND_WRITTEN, path.read_text())
    assert block.strip() == (
        '[[interviews.events]]\ndate = 2026-11-20\nkind = "sent"\nfollowup = "thank_you"\nto = "Lee Park"'
    )
    assert "Already recorded" in ok(home, "done", "acme-staff/thank-you/lee-park", "--on", "2026-11-20")
    assert path.read_text().count('kind = "sent"') == 1
    ok(home, "done", "acme-staff/check_in", "--on", "2026-12-01")
    ok(home, "done", "globex-sre/closing", "--on", "2026-11-23")
    ok(home, "done", "globex-sre/thank-you", "--on", "2026-11-23")  # one interviewer: no name needed
    text = path.read_text()
    inserted(HAND_WRITTEN, text[: text.index("# ---- Globex")] + HAND_WRITTEN[HAND_WRITTEN.index("# ---- Globex") :])
    events = {i["id"]: [(e["followup"], e.get("to")) for e in i["events"]] for i in tomllib.loads(text)["interviews"]}
    assert events == {
        "acme-staff": [("thank_you", "Lee Park"), ("check_in", "Dana Smith")],
        "globex-sre": [("closing", None), ("thank_you", "Jonas Weber")],
    }
    # Every line of the hand-written file is still there, in order.
    lines = iter(text.splitlines())
    assert all(any(line == mine for line in lines) for mine in HAND_WRITTEN.splitlines())


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("acme-staff/thank-you", "name the interviewer (acme-staff/thank-you/dana-smith, acme-staff/thank-you/lee"),
        ("acme-staff/chek-in", "did you mean 'check-in'"),
        ("acme-stuff/check-in", "no interview 'acme-stuff' (did you mean 'acme-staff'?)"),
    ],
)
def test_done_bad_references_teach(home, ref, message):
    assert message in fails(home, "done", ref)


# --- errors that teach, through the loader -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("start = 2026-11-20T14:00:00", "start = 2026-11-20 14:00", "write start = 2026-11-20T14:00:00"),
        ("start = 2026-11-20T14:00:00", "start = 2026-11-20T14:00", "write start = 2026-11-20T14:00:00"),
        ("start = 2026-11-20T14:00:00", "start = 2026-11-20", "a date-time is needed, not a date: write start = "),
        ('timeline = "We', 'timelime = "We', "timelime: unknown field (did you mean 'timeline'"),
        ('timezone = "America/Chicago"', 'timezone = "America/Chicgo"', "did you mean 'America/Chicago'"),
        ('timezone = "America/Chicago"', 'timezone = "PST"', "did you mean 'America/Los_Angeles'?"),
        ('country = "DE"', 'country = "Germany"', "did you mean 'DE'?"),
    ],
)
def test_the_interview_file_errors_teach(home, old, new, message):
    path = interviews_of(home)
    path.write_text(HAND_WRITTEN.replace(old, new, 1))
    line = fails(home, "plan")
    assert message in line and f"{path}:" in line


def test_the_configs_subdivision_goes_with_the_configs_country_only(tmp_path, home):
    config = tmp_path / "de.toml"
    path = interviews_of(home)
    path.write_text(HAND_WRITTEN.replace('subdivision = "BE"\n', "").replace('country = "DE"\n', 'country = "US"\n'))
    config.write_text(f'country = "DE"\nsubdivision = "BY"\ninterviews = "{path}"\n')
    ok(config, "plan")  # a US interview does not inherit Bavaria
    (config.parent / "bad.toml").write_text(f'subdivision = "BY"\ninterviews = "{path}"\n')
    path.write_text(HAND_WRITTEN.replace('country = "DE"\n', ""))
    assert "the config's subdivision needs the config's country" in fails(config.parent / "bad.toml", "plan")


_MISSING_CALDAV = """
import sys
sys.modules["caldav"] = None  # as if the extra were not installed
from calsync.cli import main
main(sys.argv[1:])
"""


def test_a_provider_without_its_extra_names_the_install_command(tmp_path, home):
    config = tmp_path / "dav.toml"
    config.write_text(
        f'interviews = "{interviews_of(home)}"\nstate_dir = "{tmp_path / "state"}"\n'
        '[targets.phone]\nprovider = "caldav"\nurl = "http://127.0.0.1:9/"\nusername = "u"\npassword_env = "NOPE"\n'
    )
    env = {**os.environ, "NOPE": "x"}
    result = subprocess.run(
        [sys.executable, "-c", _MISSING_CALDAV, "--config", str(config), "sync"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("calsync: error")]
    assert errors == [
        "calsync: error: the caldav provider needs caldav, which is not installed: pip install 'calsync[caldav]'"
    ]
    assert "Traceback" not in result.stderr


def test_the_remaining_flags(tmp_path, home):
    """--file on add, record and done; add --end, --yes and --no-input; done --note and --dry-run; init --no-input."""
    other = tmp_path / "elsewhere.toml"
    ok(home, "add", "--file", str(other), "--company", "Umbrella", "--at", "2026-12-07 09:00", "--end", "10:30",
       "--interviewer", "Alice <alice@umbrella.example>", "--yes", "--no-input")  # fmt: skip
    (umbrella,) = load_interviews(other)
    assert umbrella.end - umbrella.start == timedelta(minutes=90)
    assert interviews_of(home).read_text() == HAND_WRITTEN  # --file: the configured file is untouched
    ok(home, "record", "umbrella", "offer", "--on", "2026-12-10", "--file", str(other))
    out = ok(home, "done", "umbrella/thank-you", "--on", "2026-12-07", "--file", str(other), "--dry-run")
    assert out.startswith("Would record umbrella: thank-you sent on Mon 7 Dec to Alice")
    ok(home, "done", "umbrella/thank-you", "--on", "2026-12-07", "--note", "sent from my phone", "-f", str(other))
    events = tomllib.loads(other.read_text())["interviews"][0]["events"]
    assert [(e["kind"], e.get("note")) for e in events] == [("offer", None), ("sent", "sent from my phone")]
    config = tmp_path / "quiet.toml"
    ok(config, "init", "--no-input", "--interviews", str(tmp_path / "q.toml"))
    assert load_config(config).interviews_file == tmp_path / "q.toml"


def test_a_moved_invitation_keeps_its_length_and_flags_win(home):
    ok(home, "add", "--from-invite", str(INVITES / "google.ics"), "--at", "2026-12-02 09:00", "--role", "Staff",
       "--country", "US", "--subdivision", "CA")  # fmt: skip
    moved = load_interviews(interviews_of(home))[-1]
    assert moved.start.replace(tzinfo=None) == datetime(2026, 12, 2, 9, 0)
    assert moved.end - moved.start == timedelta(minutes=45)  # the invitation's 14:00-14:45
    assert (moved.role, moved.country, moved.subdivision) == ("Staff", "US", "CA")


_MISSING_GOOGLE = """
import sys
sys.modules["googleapiclient"] = None  # as if the extra were not installed
from calsync.cli import main
main(sys.argv[1:])
"""


def test_google_without_its_extra_names_the_install_command(tmp_path, home):
    config = tmp_path / "g.toml"
    config.write_text(
        f'interviews = "{interviews_of(home)}"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[targets.g]\nprovider = "google"\ncalendar = "Jobs"\ntoken_file = "{tmp_path / "token.json"}"\n'
    )
    result = subprocess.run(
        [sys.executable, "-c", _MISSING_GOOGLE, "--config", str(config), "sync"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("calsync: error")]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert errors == [
        "calsync: error: the google provider needs google-api-python-client, which is not installed: "
        "pip install 'calsync[google]'"
    ]


def test_init_then_add_keeps_the_starter_byte_for_byte(tmp_path):
    config = tmp_path / "config.toml"
    interviews = tmp_path / "interviews.toml"
    ok(config, "init", "--timezone", "Europe/London", "--country", "GB", "--interviews", str(interviews))
    starter = interviews.read_text()
    ok(config, "add", "--company", "Initech", "--at", "2026-12-01 10:00", "--interviewer", "Sam <sam@i.example>")
    text = interviews.read_text()
    assert text.startswith(starter)
    (added,) = load_interviews(interviews)
    assert (added.id, added.timezone.key) == ("initech", "Europe/London")  # the config's zone, written out
    assert "country" not in tomllib.loads(text)["interviews"][0]  # the config's country applies; not copied
