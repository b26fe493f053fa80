"""What a todo.txt user sees: the lines calsync writes, the lines it never touches, and what completing one does."""

from __future__ import annotations

import re

import pytest

from calsync import Target
from calsync.testing import SyncHarness
from calsync_todotxt.provider import TodoTxtProvider

MINE = b"(A) Water the plants @home due:2027-03-02\n2027-03-01 Pay rent +flat calsync-ish: not a tag\n"


@pytest.fixture
def harness(tmp_path):
    todo = tmp_path / "todo.txt"
    todo.write_bytes(MINE)
    provider = TodoTxtProvider(Target("todo", "todotxt", {"path": str(todo)}))
    return SyncHarness(provider, tmp_path / "sync")


def ours(harness) -> list[str]:
    return [line for line in harness.provider.path.read_text().splitlines() if " calsync:" in line]


def test_a_sync_adds_one_tagged_line_per_follow_up_after_the_users_lines(harness):
    report = harness.sync()
    data = harness.provider.path.read_bytes()
    assert data.startswith(MINE)
    lines = ours(harness)
    assert len(lines) == report["created"] == len(harness.planned())
    for line in lines:
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d .+ due:\d{4}-\d\d-\d\d at:\d\d:\d\d[+-]\d\d:\d\d calsync:\S+@calsync seq:\d+", line
        ), line


def test_the_check_in_is_due_on_its_day_at_its_time(harness):
    harness.sync()
    uid = harness.check_in_uid()
    (row,) = [row for row in harness.plan() if row["uid"] == uid]
    (line,) = [line for line in ours(harness) if f"calsync:{uid}" in line]
    assert f"due:{row['due'][:10]}" in line and f"at:{row['due'][11:16]}{row['due'][-6:]}" in line


def test_an_extension_rewrites_the_line_in_place_with_the_next_sequence(harness):
    harness.sync()
    uid = harness.check_in_uid()
    before = ours(harness)
    harness.extend()
    harness.sync()
    after = ours(harness)
    position = next(n for n, line in enumerate(before) if uid in line)
    assert uid in after[position] and after[position] != before[position]
    assert int(after[position].rsplit("seq:", 1)[1]) > int(before[position].rsplit("seq:", 1)[1])
    assert harness.provider.path.read_bytes().startswith(MINE)


def test_a_cancelled_follow_up_is_completed_with_x(harness):
    harness.sync()
    text = harness.interviews.read_text()
    harness.interviews.write_text(
        text + '\n[[interviews.events]]\ndate = 2027-03-03\nkind = "offer"\n', encoding="utf-8"
    )
    harness.sync()
    cancelled = [line for line in ours(harness) if line.endswith("status:cancelled")]
    assert cancelled and all(re.match(r"x \d{4}-\d\d-\d\d \d{4}-\d\d-\d\d ", line) for line in cancelled)
    assert harness.provider.path.read_bytes().startswith(MINE)


def test_a_line_the_user_completes_stays_completed(harness):
    harness.sync()
    uid = harness.check_in_uid()
    path = harness.provider.path
    lines = path.read_text().splitlines(keepends=True)
    lines = ["x 2027-03-02 " + line if f"calsync:{uid}" in line else line for line in lines]
    path.write_text("".join(lines))
    harness.extend()  # calsync would move it now: the user's completion wins
    report = harness.sync()
    assert uid in {conflict["uid"] for conflict in report["conflicts"]}
    (line,) = [line for line in ours(harness) if f"calsync:{uid}" in line]
    assert line.startswith("x 2027-03-02 ")
    assert harness.stored(uid)["STATUS"] == "COMPLETED"


def test_lines_without_the_tag_are_never_read_as_ours(tmp_path):
    todo = tmp_path / "todo.txt"
    todo.write_bytes(MINE + b"x 2027-01-01 calsync without a colon\n")
    assert list(TodoTxtProvider(Target("todo", "todotxt", {"path": str(todo)})).list_items()) == []
