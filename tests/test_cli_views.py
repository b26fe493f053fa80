"""``agenda``, ``draft``, ``list`` and ``show`` through the CLI: sections in the user's zone (across zones and DST),
done and cancelled items, references, drafts signed with the config's [me], and JSON."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from calsync.cli import cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    (tmp_path / "interviews.toml").write_bytes(EXAMPLE.read_bytes())
    config(tmp_path, "Europe/Berlin")
    return tmp_path


def config(home: Path, zone: str, me: str = 'name = "Alex Doe"\nsignature = "Alex Doe\\nalex.example"\n') -> None:
    (home / "config.toml").write_text(f'timezone = "{zone}"\ninterviews = "interviews.toml"\n[me]\n{me}')


def run(home: Path, *args: str, code: int = 0):
    result = CliRunner().invoke(cli, ["--config", str(home / "config.toml"), *args], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


def agenda_json(home: Path, now: str, *args: str) -> dict:
    return json.loads(run(home, "agenda", "--json", "--now", now, *args).stdout)


def add_events(home: Path, text: str) -> None:
    path = home / "interviews.toml"
    source = path.read_text()
    head, sep, tail = source.partition('[[interviews]]\nid = "globex-sre"')
    path.write_text(head + text + "\n" + sep + tail)


# --- agenda -------------------------------------------------------------------------------------------------------


def test_agenda_sections_in_the_users_zone(home):
    # Mon 30 Nov 2026, 09:00 in Berlin: the thank-yous are overdue, Dana's check-in (10:00 New York = 16:00 Berlin)
    # is today, the retry (Thu 3 Dec) is within the week, Globex's check-in (Fri 11 Dec) is not.
    result = agenda_json(home, "2026-11-30T09:00")
    by_ref = {item["ref"]: item for item in result["items"]}
    assert result["timezone"] == "Europe/Berlin"
    assert by_ref["acme-staff/thank-you/dana-smith"]["section"] == "overdue"
    assert by_ref["globex-sre/thank-you/jonas-weber"]["section"] == "overdue"
    check_in = by_ref["acme-staff/check-in"]
    assert (check_in["section"], check_in["due"]) == ("today", "2026-11-30T16:00:00+01:00")
    assert (check_in["to"], check_in["medium"], check_in["what"]) == ("Dana Smith", "email", "check-in")
    assert (check_in["their_time"], check_in["their_timezone"]) == ("2026-11-30T10:00:00-05:00", "America/New_York")
    assert by_ref["acme-staff/retry"]["section"] == "upcoming"
    assert "globex-sre/check-in" not in by_ref
    assert "acme-staff/closing" not in by_ref  # the interview is over: nothing to ask any more
    sections = [item["section"] for item in result["items"]]
    assert sections == sorted(sections, key=["overdue", "today", "upcoming"].index)


def test_the_recipients_time_is_shown_only_when_their_clock_differs(home):
    config(home, "America/New_York")
    by_ref = {item["ref"]: item for item in agenda_json(home, "2026-11-30T08:00")["items"]}
    assert by_ref["acme-staff/check-in"]["their_time"] is None  # Dana is in New York too
    assert by_ref["acme-staff/check-in"]["due"] == "2026-11-30T10:00:00-05:00"
    assert by_ref["acme-staff/thank-you/lee-park"]["their_timezone"] == "America/Chicago"
    text = run(home, "agenda", "--now", "2026-11-30T08:00").stdout
    line = next(line for line in text.splitlines() if "acme-staff/thank-you/lee-park" in line)
    assert "(16:00 their time, America/Chicago)" in line and line.lstrip().startswith("Fri 20 Nov 17:00")


def test_today_is_the_users_day_not_utcs(home):
    # 23:30 on Sun 29 Nov in Los Angeles is already Monday in UTC; Dana's check-in (Mon 07:00 in LA) is tomorrow.
    config(home, "America/Los_Angeles")
    items = agenda_json(home, "2026-11-29T23:30", "--days", "1")["items"]
    check_in = next(item for item in items if item["ref"] == "acme-staff/check-in")
    assert (check_in["section"], check_in["due"]) == ("upcoming", "2026-11-30T07:00:00-08:00")
    config(home, "Asia/Tokyo")  # 10:00 New York is midnight in Tokyo: Tuesday, a day later than Dana's
    items = agenda_json(home, "2026-12-01T00:30", "--days", "0")["items"]
    check_in = next(item for item in items if item["ref"] == "acme-staff/check-in")
    assert check_in["section"] == "overdue" and check_in["due"] == "2026-12-01T00:00:00+09:00"


def test_agenda_across_a_dst_change(home):
    # Europe leaves summer time on 25 Oct 2026, the US on 1 Nov: in between New York is 5 hours behind Berlin,
    # not 6. An interview in New York on Fri 23 Oct with a decision by Mon 26 Oct: check-in Wed 28 Oct 10:00 there.
    (home / "interviews.toml").write_text(
        '[[interviews]]\nid = "initech"\ncompany = "Initech"\nstart = 2026-10-23T09:00:00\n'
        'timezone = "America/New_York"\ndecision_by = 2026-10-26\ncountry = "US"\n'
        '[[interviews.interviewers]]\nname = "Bill Lumbergh"\nemail = "bill@initech.example"\n'
    )
    items = agenda_json(home, "2026-10-24T12:00", "--days", "10")["items"]
    by_ref = {item["ref"]: item for item in items}
    assert by_ref["initech/check-in"]["due"] == "2026-10-28T15:00:00+01:00"  # winter time in Berlin
    assert by_ref["initech/check-in"]["their_time"] == "2026-10-28T10:00:00-04:00"  # still summer time there
    # Retry three business days later, Mon 2 Nov: both on winter time, six hours apart again.
    assert by_ref["initech/retry"]["due"] == "2026-11-02T16:00:00+01:00"


def test_done_and_cancelled_follow_ups_are_not_on_the_agenda(home):
    add_events(
        home,
        '[[interviews.events]]\ndate = 2026-11-20\nkind = "sent"\nfollowup = "thank_you"\nto = "Dana Smith"\n'
        '[[interviews.events]]\ndate = 2026-11-21\nkind = "sent"\nfollowup = "thank_you"\nto = "Lee Park"\n'
        '[[interviews.events]]\ndate = 2026-12-01\nkind = "sent"\nfollowup = "check_in"\n',
    )
    refs = [item["ref"] for item in agenda_json(home, "2026-12-01T12:00")["items"]]
    assert not any(ref.startswith("acme-staff/thank-you") for ref in refs)
    assert "acme-staff/check-in" not in refs
    retry = next(item for item in agenda_json(home, "2026-12-01T12:00")["items"] if item["ref"] == "acme-staff/retry")
    assert retry["due"].startswith("2026-12-04T")  # three business days after the real check-in, Tue 1 Dec
    add_events(home, '[[interviews.events]]\ndate = 2026-12-02\nkind = "offer"\n')
    refs = [item["ref"] for item in agenda_json(home, "2026-12-02T12:00")["items"]]
    assert not any(ref.startswith("acme-staff/") for ref in refs)


def test_agenda_text_and_nothing_to_do(home):
    text = run(home, "agenda", "--now", "2026-11-30T09:00").stdout
    assert text.splitlines()[0] == "Overdue"
    assert "Today, Mon 30 Nov" in text and "Next 7 day(s)" in text
    line = next(line for line in text.splitlines() if line.rstrip().endswith("acme-staff/check-in"))
    assert "check-in to Dana Smith by email (10:00 their time, America/New_York)" in line
    sent = [("thank_you", "Dana Smith"), ("thank_you", "Lee Park"), ("check_in", None), ("retry", None)]
    for followup, to in sent:
        to_line = f'to = "{to}"\n' if to else ""
        add_events(home, f'[[interviews.events]]\ndate = 2026-12-07\nkind = "sent"\nfollowup = "{followup}"\n{to_line}')
    text = run(home, "agenda", "--now", "2026-12-07T20:00", "--days", "2").stdout
    assert "acme-staff" not in text
    config(home, "Europe/Berlin")
    (home / "interviews.toml").write_text("")
    assert run(home, "agenda").stdout == "Nothing to do in the next 7 day(s).\n"


def test_agenda_bad_now_is_one_line(home):
    result = run(home, "agenda", "--now", "yesterday", code=2)
    assert result.stderr.startswith("calsync: error: --now:") and len(result.stderr.splitlines()) == 1


# --- draft ----------------------------------------------------------------------------------------------------------


def test_draft_of_an_email_is_signed_with_the_users_name(home):
    out = run(home, "draft", "acme-staff/check-in").stdout
    lines = out.splitlines()
    assert lines[0] == "To: Dana Smith <dana@acme.example>"
    assert lines[1] == "Subject: Following up — Staff Engineer interview"
    assert lines[3] == "Hi Dana,"
    assert lines[-3:] == ["Best regards,", "Alex Doe", "alex.example"]


def test_draft_of_a_call_has_the_number_and_a_script_with_the_users_name(home):
    out = run(home, "draft", "globex-sre/check-in").stdout
    assert out.splitlines()[0] == "Call Jonas Weber: +49 30 5550 1234"
    assert "it's Alex Doe." in out and "[your name]" not in out
    assert out.rstrip().endswith("Alex Doe\nalex.example")


def test_draft_without_me_in_the_config_leaves_a_blank_to_fill(home):
    config(home, "Europe/Berlin", me="")
    out = run(home, "draft", "globex-sre/check-in").stdout
    assert "it's [your name]." in out


def test_draft_of_an_unknown_reference(home):
    result = run(home, "draft", "acme-staff/chekin", code=2)
    assert "did you mean 'check-in'?" in result.stderr


def test_draft_open_hands_the_link_to_the_system(home, tmp_path, monkeypatch):
    # A stand-in for the desktop's opener: a real program on PATH that writes down what it was given.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "opened.txt"
    for name in ("xdg-open", "open"):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{seen}"\n')
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run(home, "draft", "acme-staff/check-in", "--open")
    for _ in range(100):
        if seen.exists() and seen.read_text():
            break
        time.sleep(0.05)
    link = seen.read_text()
    assert link.startswith("mailto:dana@acme.example?subject=Following%20up")
    assert "Alex%20Doe" in link
    seen.unlink()
    run(home, "draft", "globex-sre/check-in", "--open")
    for _ in range(100):
        if seen.exists() and seen.read_text():
            break
        time.sleep(0.05)
    assert seen.read_text() == "tel:+493055501234"


# --- list and show --------------------------------------------------------------------------------------------------


def test_list_one_row_per_interview(home):
    rows = json.loads(run(home, "list", "--json", "--now", "2026-11-25T12:00").stdout)
    assert [row["id"] for row in rows] == ["acme-staff", "globex-sre"]
    acme, globex = rows
    assert (acme["company"], acme["role"], acme["stage"]) == ("Acme Corp", "Staff Engineer", "decision by 2026-11-27")
    assert acme["next"]["ref"] == "acme-staff/thank-you/dana-smith" and acme["next"]["state"] == "overdue"
    assert globex["stage"] == "extended to 2026-12-09"
    text = run(home, "list", "--now", "2026-11-25T12:00").stdout
    assert text.splitlines()[0].split() == ["ID", "COMPANY", "ROLE", "STAGE", "NEXT"]
    assert "acme-staff/thank-you/dana-smith" in text and "(overdue)" in text


def test_list_before_the_interview_and_after_an_offer(home):
    rows = json.loads(run(home, "list", "--json", "--now", "2026-11-19T12:00").stdout)
    assert rows[0]["stage"] == "scheduled" and rows[0]["next"]["kind"] == "closing"
    add_events(home, '[[interviews.events]]\ndate = 2026-11-26\nkind = "offer"\n')
    rows = json.loads(run(home, "list", "--json", "--now", "2026-12-10T12:00").stdout)
    assert rows[0]["stage"] == "offer"


def test_show_tells_the_story_with_each_state(home):
    add_events(
        home,
        '[[interviews.events]]\ndate = 2026-11-20\nkind = "sent"\nfollowup = "thank_you"\nto = "Dana Smith"\n',
    )
    story = json.loads(run(home, "show", "acme-staff", "--json", "--now", "2026-11-30T17:00").stdout)
    steps = [(s["what"], s["state"]) for s in story["story"]]
    assert steps == [
        ("interview", None),
        ("thank-you", "done"),
        ("thank-you", "overdue"),
        ("deadline", None),
        ("check-in", "due"),
        ("retry", "planned"),
    ]
    assert story["story"][1]["ref"] == "acme-staff/thank-you/dana-smith"
    add_events(home, '[[interviews.events]]\ndate = 2026-12-01\nkind = "replied"\nnote = "Next week"\n')
    story = json.loads(run(home, "show", "acme-staff", "--json", "--now", "2026-12-02T09:00").stdout)
    states = {s["what"]: s["state"] for s in story["story"]}
    assert states["retry"] == "cancelled" and states["check-in"] == "overdue"
    assert any(s["what"] == "replied" and s["detail"] == "Next week" for s in story["story"])
    text = run(home, "show", "acme-staff", "--now", "2026-12-02T09:00").stdout
    assert text.splitlines()[0] == "Acme Corp, Staff Engineer (acme-staff): replied"
    assert "✓ done" in text and "x cancelled" in text


def test_show_an_unknown_id(home):
    assert "did you mean 'acme-staff'?" in run(home, "show", "acme-staf", code=2).stderr


# --- plan --json ----------------------------------------------------------------------------------------------------


def test_plan_json_says_what_is_done(home):
    add_events(home, '[[interviews.events]]\ndate = 2026-12-01\nkind = "sent"\nfollowup = "check_in"\n')
    rows = json.loads(run(home, "plan", "--json").stdout)
    check_in = next(row for row in rows if row["ref"] == "acme-staff/check-in")
    assert (check_in["done"], check_in["sent_on"], check_in["status"]) == (True, "2026-12-01", "planned")
    assert all(row["done"] is False for row in rows if row["ref"] != "acme-staff/check-in")


def test_every_view_takes_another_interview_file(home):
    other = home / "other.toml"
    other.write_text(
        '[[interviews]]\nid = "initech"\ncompany = "Initech"\nstart = 2026-11-24T09:00:00\n'
        'timezone = "Europe/Berlin"\ndecision_by = 2026-11-30\n'
        '[[interviews.interviewers]]\nname = "Bill Lumbergh"\nphone = "+49 30 1234567"\n'
    )
    for flag in ("--file", "-f"):
        items = agenda_json(home, "2026-12-02T09:00", flag, str(other))["items"]
        assert {item["interview"] for item in items} == {"initech"}
        assert [row["id"] for row in json.loads(run(home, "list", "--json", flag, str(other)).stdout)] == ["initech"]
        assert json.loads(run(home, "show", "initech", "--json", flag, str(other)).stdout)["company"] == "Initech"
        assert run(home, "draft", "initech/thank-you", flag, str(other)).stdout.startswith("Call Bill Lumbergh: +49")
