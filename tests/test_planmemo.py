"""The plan memo (calsync/planmemo.py): a sync plans only the interviews that changed, and what it recalls of the
others is what planning them afresh gives -- whatever was edited, moved, added or removed in between."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync import keptlines
from calsync.cli import cli
from calsync.errors import InputError
from calsync.interviews import load_interviews
from calsync.model import Policy, as_planned
from calsync.planmemo import Recalled, plan_file
from calsync.planner import plan
from calsync.sync.render_cache import followup_digest

ZONES = ["America/Chicago", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]
TIMELINES = ["within a week", "3-5 business days", "by the end of next week", "after Thanksgiving", "soonish", ""]


@st.composite
def interview_tables(draw, n: int) -> str:
    day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)))
    zone, hour = draw(st.sampled_from(ZONES)), draw(st.integers(8, 17))
    timeline = draw(st.sampled_from(TIMELINES))
    text = (
        f'\n[[interviews]]\nid = "iv-{n}"\ncompany = "Company {n}"\nstart = {day}T{hour:02d}:00:00\n'
        f'timezone = "{zone}"\ncountry = "{draw(st.sampled_from(["US", "DE", "GB"]))}"\n'
    )
    if timeline:
        text += f'timeline = "{timeline}"\n'
    for person in range(draw(st.integers(1, 3))):
        text += f'\n[[interviews.interviewers]]\nname = "Person {n}.{person}"\nemail = "p{n}.{person}@x.example"\n'
    for event in range(draw(st.integers(0, 3))):
        when = day + timedelta(days=1 + 3 * event)
        kind = draw(st.sampled_from(["extended", "replied", "rejected", "sent"]))
        text += f'\n[[interviews.events]]\ndate = {when}\nkind = "{kind}"\n'
        if kind == "extended":
            text += f"decision_by = {when + timedelta(days=draw(st.integers(1, 30)))}\n"
        if kind == "sent":
            text += 'followup = "check_in"\n'
    return text


def fresh(path: Path, policy: Policy, zone: str = "UTC"):
    """What planning the file from scratch gives."""
    return plan(load_interviews(path, zone), policy)


def assert_same_plan(path: Path, policy: Policy, zone: str = "UTC") -> list:
    remembered, expected = plan_file(path, policy, zone), fresh(path, policy, zone)
    assert remembered.warnings == expected.warnings
    assert [f.uid for f in remembered.followups] == [f.uid for f in expected.followups]
    for got, want in zip(remembered.followups, expected.followups, strict=True):
        # what a no-change sync reads of a recalled follow-up, without planning it
        assert (got.uid, got.kind, got.due, got.status, got.sent_on, got.revision, got.cancelled, got.done) == (
            want.uid, want.kind, want.due, want.status, want.sent_on, want.revision, want.cancelled, want.done
        )  # fmt: skip
        assert got.due.utcoffset() == want.due.utcoffset() and str(got.due.tzinfo) == str(want.due.tzinfo)
        if isinstance(got, Recalled):
            assert got.digest == followup_digest(want)  # the render cache's key: the same item
        assert as_planned(got) == want
    return remembered.followups


@settings(max_examples=max(20, settings.default.max_examples // 4))  # each example plans a file up to six times
@given(
    tables=st.lists(st.integers(0, 10**6), min_size=1, max_size=5).flatmap(
        lambda seeds: st.tuples(*[interview_tables(n) for n in range(len(seeds))])
    ),
    edits=st.lists(st.tuples(st.sampled_from(["change", "remove", "move", "add"]), st.integers(0, 4)), max_size=4),
    replacement=interview_tables(99),
)
def test_what_is_recalled_is_what_planning_afresh_gives(tmp_path_factory, tables, edits, replacement):
    path = tmp_path_factory.mktemp("memo") / "interviews.toml"
    blocks = list(tables)
    policy = Policy()
    path.write_text("".join(blocks))
    assert not any(isinstance(f, Recalled) for f in assert_same_plan(path, policy))  # nothing to recall yet
    assert all(isinstance(f, Recalled) for f in assert_same_plan(path, policy))  # nothing changed: all recalled
    for step, (action, index) in enumerate(edits):
        index %= len(blocks)
        if action == "change":  # another table under the same id
            ident = re.search(r'id = "([^"]+)"', blocks[index]).group(1)
            blocks[index] = replacement.replace('"iv-99"', f'"{ident}"')
        elif action == "remove" and len(blocks) > 1:
            del blocks[index]
        elif action == "move":
            blocks.insert(0, blocks.pop(index))
        elif action == "add":
            blocks.append(replacement.replace('"iv-99"', f'"iv-new-{step}"'))
        path.write_text("".join(blocks))
        assert_same_plan(path, policy)


def write(path: Path, *blocks: str) -> None:
    path.write_text("".join(blocks))


def block(n: int, timeline: str = "within a week", extra: str = "") -> str:
    return (
        f'\n[[interviews]]\nid = "iv-{n}"\ncompany = "Company {n}"\nstart = 2027-03-0{n + 1}T10:00:00\n'
        f'timezone = "America/Chicago"\ntimeline = "{timeline}"\n{extra}'
        f'\n[[interviews.interviewers]]\nname = "Dana {n}"\nemail = "dana{n}@x.example"\n'
    )


def test_only_the_changed_interview_is_planned_again(tmp_path):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1), block(2))
    plan_file(path, Policy())
    write(path, block(0), block(1, "3-5 business days"), block(2))
    followups = assert_same_plan(path, Policy())
    planned_again = {as_planned(f).interview.id for f in followups if not isinstance(f, Recalled)}
    assert planned_again == {"iv-1"}


def test_moving_an_interview_in_the_file_recalls_it_with_its_new_line(tmp_path):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1))
    plan_file(path, Policy())
    write(path, block(1), "\n# a comment that moves everything down\n", block(0))
    followups = assert_same_plan(path, Policy())
    assert all(isinstance(f, Recalled) for f in followups)
    recalled = next(f for f in followups if f.interview_id == "iv-0")
    assert as_planned(recalled).interview.source.line == path.read_text().splitlines().index("[[interviews]]", 5) + 1


@pytest.mark.parametrize(
    "change",
    [
        lambda: (Policy(check_in_days_after_deadline=5), "UTC"),
        lambda: (Policy(send_time=Policy().send_time.replace(hour=8)), "UTC"),
        lambda: (Policy(), "Asia/Tokyo"),
    ],
    ids=["policy days", "send time", "default zone"],
)
def test_a_change_of_policy_or_defaults_plans_everything_again(tmp_path, change):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1))
    plan_file(path, Policy())
    policy, zone = change()
    followups = assert_same_plan(path, policy, zone)
    assert not any(isinstance(f, Recalled) for f in followups)


def test_a_plugin_that_adjusts_plans_turns_the_memo_off(tmp_path, register):
    path = tmp_path / "interviews.toml"
    write(path, block(0))
    plan_file(path, Policy())

    class Later:
        from calsync.hookspecs import hookimpl

        @hookimpl
        def calsync_adjust_plan(self, followups, interview, policy, calendar):
            import dataclasses

            return [dataclasses.replace(f, due=f.due + timedelta(days=1)) for f in followups]

    register(Later(), "later")
    followups = plan_file(path, Policy()).followups
    assert not any(isinstance(f, Recalled) for f in followups)
    assert [f.due for f in followups] == [f.due + timedelta(days=1) for f in fresh(path, Policy()).followups]


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: text.replace('"check_in"', '"no such kind"'),
        lambda text: text.replace("America/Chicago", "Nowhere/Atlantis"),
        lambda text: "\n".join(
            [text.split("\n")[0], *(line.split("\t")[0] + "\t[1, 2, 3]" for line in text.split("\n")[1:-1]), "end"]
        ),
        lambda text: "",
    ],
    ids=["cut short", "unknown kind", "unknown zone", "not a table", "empty"],
)
def test_a_damaged_memo_is_planned_around(tmp_path, damage):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1))
    plan_file(path, Policy())
    memo = keptlines.cache_file("plans", path)
    assert memo is not None and memo.stat().st_mode & 0o777 == 0o600  # it names the user's interviews
    memo.write_text(damage(memo.read_text()))
    assert_same_plan(path, Policy())
    followups = assert_same_plan(path, Policy())  # and written again, whole
    assert all(isinstance(f, Recalled) for f in followups)


def test_errors_in_a_changed_interview_name_the_line_beside_recalled_ones(tmp_path):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1))
    plan_file(path, Policy())
    write(path, block(0), block(1).replace('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"'))
    with pytest.raises(InputError) as caught:
        plan_file(path, Policy())
    line = path.read_text().splitlines().index('timezone = "Mars/Olympus"') + 1
    assert f":{line}:" in str(caught.value) or caught.value.line == line
    assert "Mars/Olympus" in str(caught.value)


def test_a_duplicate_id_is_refused_when_one_of_the_two_is_recalled(tmp_path):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1))
    plan_file(path, Policy())
    write(path, block(0), block(1), block(2).replace('"iv-2"', '"iv-0"'))
    with pytest.raises(InputError, match="duplicate id 'iv-0'"):
        plan_file(path, Policy())


def test_the_memo_keeps_only_the_interviews_of_the_file(tmp_path):
    path = tmp_path / "interviews.toml"
    write(path, block(0), block(1), block(2))
    plan_file(path, Policy())
    write(path, block(2))
    plan_file(path, Policy())
    kept = keptlines.cache_file("plans", path).read_text().split("\n")[1:-1]
    assert [json.loads(line.split("\t", 1)[1])[0] for line in kept] == ["iv-2"]


def test_a_sync_that_recalls_its_plan_still_warns_and_still_follows_news(tmp_path):
    from filetargets import Workspace

    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "calendar"}"\n')
    ws.interviews.write_text(block(0, timeline="when the moon is blue") + block(1))
    first = CliRunner().invoke(cli, ["--config", str(ws.config), "sync"])
    again = CliRunner().invoke(cli, ["--config", str(ws.config), "sync"])
    assert first.exit_code == again.exit_code == 0, again.output
    warning = "interview 'iv-0': timeline 'when the moon is blue' not understood"
    assert warning in first.stderr and warning in again.stderr  # recalled, not forgotten
    assert "0 created, 0 updated, 0 deleted" in again.stdout
    ws.interviews.write_text(
        block(0, timeline="when the moon is blue")
        + block(1, extra='\n[[interviews.events]]\ndate = 2027-03-03\nkind = "replied"\n')
    )
    replied = CliRunner().invoke(cli, ["--config", str(ws.config), "sync"])
    assert "0 created, 2 updated, 0 deleted" in replied.stdout  # iv-1's check-in and retry, cancelled
    cancelled = [p for p in (tmp_path / "calendar").glob("*.ics") if b"STATUS:CANCELLED" in p.read_bytes()]
    assert len(cancelled) == 2


def test_a_sync_plans_only_the_interview_edited_even_beside_a_removed_one(tmp_path, monkeypatch):
    from filetargets import Workspace

    from calsync import planner

    ws = Workspace(tmp_path, f'[targets.main]\nprovider = "vdir"\npath = "{tmp_path / "calendar"}"\n')
    ws.interviews.write_text(block(0) + block(1) + block(2))
    ws.run("sync")
    ws.interviews.write_text(block(0) + block(1))  # iv-2 removed: its items stay in the state, cancelled
    ws.run("sync")
    planned: list[str] = []
    real = planner.plan_interview
    monkeypatch.setattr(planner, "plan_interview", lambda iv, *rest: planned.append(iv.id) or real(iv, *rest))
    ws.interviews.write_text(block(0, "within two weeks") + block(1))
    assert "0 created, 2 updated" in ws.run("sync")  # iv-0's check-in and retry moved
    assert planned == ["iv-0"]
    planned.clear()
    assert "0 created, 0 updated, 0 deleted" in ws.run("sync")
    assert planned == []
