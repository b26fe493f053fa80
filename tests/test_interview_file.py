"""The one writer of the interview file: every byte already there survives, the new table reads back, atomically."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability import count

from calsync.errors import UserError
from calsync.interview_file import append_event, append_interview, with_event, with_interview
from calsync.interviews import load_interviews

HAND_WRITTEN = """\
# My job hunt, autumn 2026.   <- trailing spaces kept

[[interviews]]
role = "Staff Engineer"        # the key order is mine
company = "Acme Corp"
id = "acme-staff"
start = 2026-11-20T14:00:00
timezone = "America/Chicago"
timeline = "We'll get back to you within a week"

[[interviews.interviewers]]
name = "Dana Smith"            # the hiring manager
email = "dana@acme.example"
# hugging comment: stays with Dana


# ---- Globex ----
# went well, I think

[[interviews]]
company = "Globex"
start = 2026-11-23T10:00:00
timezone = "Europe/Berlin"

	[[interviews.events]]  # indented, with a tab
	date = 2026-11-27
	kind = "extended"
	decision_by = 2026-12-09

# end of file comment, no newline after it"""

SENT = {"date": date(2026, 12, 2), "kind": "sent", "followup": "check_in", "to": "Dana Smith"}


def inserted(old: str, new: str) -> str:
    """What ``new`` adds to ``old``, asserting that ``new`` is ``old`` with one block inserted."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    assert start + end == len(old), "the existing text changed"
    return new[start : len(new) - end]


def test_an_event_goes_into_its_interview_and_every_other_byte_stays():
    new, line = with_event(HAND_WRITTEN, "acme-staff", SENT)
    block = inserted(HAND_WRITTEN, new)
    assert block.strip() == (
        '[[interviews.events]]\ndate = 2026-12-02\nkind = "sent"\nfollowup = "check_in"\nto = "Dana Smith"'
    )
    assert new.splitlines()[line - 1] == "[[interviews.events]]"
    # The comment hugging Dana's table stays with it; the block introducing Globex still sits above Globex.
    assert new.index("# hugging comment") < new.index("[[interviews.events]]") < new.index("# ---- Globex ----")
    data = tomllib.loads(new)
    assert data["interviews"][0]["events"] == [SENT]
    assert data["interviews"][1] == tomllib.loads(HAND_WRITTEN)["interviews"][1]


def test_an_event_for_a_derived_id_and_after_existing_events():
    new, line = with_event(HAND_WRITTEN, "globex-2026-11-23", {"date": date(2026, 12, 10), "kind": "offer"})
    inserted(HAND_WRITTEN, new)
    events = tomllib.loads(new)["interviews"][1]["events"]
    assert [e["kind"] for e in events] == ["extended", "offer"]
    assert new.splitlines()[line - 1].strip() == "[[interviews.events]]"
    assert new.endswith("\n\n# end of file comment, no newline after it")  # still the last line


def test_an_interview_goes_at_the_end():
    fields = {
        "id": "initech-be",
        "company": "Initech",
        "start": datetime(2026, 12, 2, 10, 0),
        "interviewers": [{"name": "Sam Ortiz", "email": "sam@initech.example"}, {"name": "Ann Lee"}],
    }
    new, line = with_interview(HAND_WRITTEN, fields)
    block = inserted(HAND_WRITTEN, new)
    footer = "\n# end of file comment, no newline after it"
    assert new.endswith(footer)  # a comment block at the end stays the file's footer
    assert block.startswith("[[interviews]]") and block.rstrip("\n").endswith('name = "Ann Lee"')
    assert new.splitlines()[line - 1] == "[[interviews]]"
    data = tomllib.loads(new)["interviews"][-1]
    assert data["start"] == datetime(2026, 12, 2, 10, 0)
    assert [p["name"] for p in data["interviewers"]] == ["Sam Ortiz", "Ann Lee"]
    assert list(data) == ["id", "company", "start", "interviewers"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment",
        "# only a comment\n",
        '[[interviews]]\nid = "a"\ncompany = "A"\nstart = 2026-11-20T14:00:00',
    ],
)
def test_interviews_into_small_files(text):
    new, line = with_interview(text, {"id": "b", "company": "B", "start": datetime(2026, 12, 1, 9, 30)})
    inserted(text, new)
    assert tomllib.loads(new)["interviews"][-1]["id"] == "b"
    assert new.splitlines()[line - 1] == "[[interviews]]"


def test_inline_events_get_one_more_inline_table():
    text = (
        '[[interviews]]\nid = "a"\ncompany = "A"\nstart = 2026-11-20T14:00:00\n'
        'events = [\n  {date = 2026-11-21, kind = "replied"},\n]\n'
    )
    new, line = with_event(text, "a", {"date": date(2026, 12, 1), "kind": "offer"})
    inserted(text, new)
    assert [e["kind"] for e in tomllib.loads(new)["interviews"][0]["events"]] == ["replied", "offer"]
    assert new.splitlines()[line - 1].startswith("events")


def test_windows_line_endings_are_kept_in_what_is_added():
    text = HAND_WRITTEN.replace("\n", "\r\n")
    new, _ = with_event(text, "acme-staff", SENT)
    block = inserted(text, new)
    assert "\n" not in block.replace("\r\n", "")


def test_an_unknown_id_suggests_the_closest():
    with pytest.raises(UserError, match=r"no interview with id 'acme-staf' \(did you mean 'acme-staff'\?\)"):
        with_event(HAND_WRITTEN, "acme-staf", SENT)


def test_the_file_keeps_its_mode_its_symlink_and_its_byte_order_mark(tmp_path):
    real = tmp_path / "real.toml"
    real.write_bytes(b"\xef\xbb\xbf" + HAND_WRITTEN.encode())
    real.chmod(0o640)
    link = tmp_path / "interviews.toml"
    link.symlink_to(real)
    line = append_event(link, "acme-staff", SENT)
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    raw = real.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[line - 1] == "[[interviews.events]]"
    assert [e.kind.value for e in load_interviews(link)[0].events] == ["sent"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".calsync-")]  # no temp file left


def test_append_interview_creates_a_missing_file(tmp_path):
    path = tmp_path / "new" / "interviews.toml"
    append_interview(path, {"id": "a", "company": "A", "start": datetime(2026, 12, 1, 9)})
    assert [i.id for i in load_interviews(path)] == ["a"]


def test_append_event_to_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="interview file not found"):
        append_event(tmp_path / "none.toml", "a", SENT)


_WRITER = """
import sys
from datetime import date
from pathlib import Path
from calsync.interview_file import append_event
path, who, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(rounds):
    append_event(path, "acme-staff", {"date": date(2026, 12, 2), "kind": "replied", "note": f"{who}-{n}"})
"""


def test_two_writers_at_once_lose_nothing(tmp_path):
    """Two processes appending at the same time (a `calsync record` and a sync recording a completion)."""
    path = tmp_path / "interviews.toml"
    path.write_text(HAND_WRITTEN)
    rounds = int(os.environ.get("CALSYNC_ROUNDS", "15"))  # deep: CALSYNC_ROUNDS=500
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), who, str(rounds)]) for who in ("a", "b", "c")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    text = path.read_text()
    notes = sorted(e["note"] for e in tomllib.loads(text)["interviews"][0]["events"])
    assert notes == sorted(f"{who}-{n}" for who in "abc" for n in range(rounds))
    count("races", "interview-file appends by 3 writers at once", 3 * rounds)
    count("races", "interview-file events lost", 3 * rounds - len(notes))
    assert text.startswith(HAND_WRITTEN[: HAND_WRITTEN.index("# hugging comment")])


# --- property: any hand-written layout survives -----------------------------------------------------------------

_comment = st.from_regex(r"# [a-zA-Z0-9 .,'-]{0,30}", fullmatch=True)
_gap = st.lists(st.one_of(st.just(""), _comment), max_size=3)


@st.composite
def hand_written_files(draw):
    """Interview files as people lay them out: comments and blank lines anywhere, keys in any order, some with
    interviewers and events, some with an id and some without, with or without a final newline."""
    lines = draw(_gap)
    count = draw(st.integers(1, 4))
    for n in range(count):
        lines.append("[[interviews]]" + draw(st.sampled_from(["", "  # an interview"])))
        keys = [f'company = "Co{n}"', f"start = 2026-11-{10 + n:02d}T09:00:00"]
        if draw(st.booleans()):
            keys.append(f'id = "i{n}"')
        keys = draw(st.permutations(keys))
        for key in keys:
            lines.append(key)
            lines.extend(draw(st.lists(_comment, max_size=1)))
        for sub in ("interviewers", "events"):
            for m in range(draw(st.integers(0, 2))):
                lines.extend(draw(_gap))
                lines.append(f"[[interviews.{sub}]]")
                if sub == "interviewers":
                    lines.append(f'name = "P{n}{m}"')
                else:
                    lines.extend([f"date = 2026-11-{20 + m:02d}", 'kind = "replied"'])
                lines.extend(draw(st.lists(_comment, max_size=2)))
        lines.extend(draw(_gap))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=60)  # tomlkit re-parses the file per example: keep CI time small
@given(hand_written_files(), st.data())
def test_appending_an_event_keeps_every_byte(text, data):
    old = tomllib.loads(text)
    index = data.draw(st.integers(0, len(old["interviews"]) - 1))
    entry = old["interviews"][index]
    ident = entry.get("id") or f"co{index}-{entry['start'].date().isoformat()}"
    event = {"date": date(2026, 12, 1), "kind": "sent", "followup": "thank_you", "to": "P"}
    new, line = with_event(text, ident, event)
    inserted(text, new)
    after = tomllib.loads(new)
    assert after["interviews"][index].get("events", [])[-1] == event
    expected = [*old["interviews"][index].get("events", []), event]
    assert after["interviews"][index].get("events") == expected
    assert [i for n, i in enumerate(after["interviews"]) if n != index] == [
        i for n, i in enumerate(old["interviews"]) if n != index
    ]
    assert new.splitlines()[line - 1] == "[[interviews.events]]"


@settings(max_examples=60)
@given(hand_written_files())
def test_appending_an_interview_keeps_every_byte(text):
    new, line = with_interview(text, {"id": "new", "company": "New", "start": datetime(2026, 12, 1, 9)})
    inserted(text, new)
    assert tomllib.loads(new)["interviews"][:-1] == tomllib.loads(text)["interviews"]
    assert new.splitlines()[line - 1] == "[[interviews]]"


_CREATOR = """
import sys
from datetime import datetime
from pathlib import Path
from calsync.interview_file import append_interview
path, who = Path(sys.argv[1]), sys.argv[2]
append_interview(path, {"id": who, "company": who, "start": datetime(2026, 12, 1, 9)})
"""


def test_two_adds_creating_the_file_at_once_keep_both(tmp_path):
    rounds = int(os.environ.get("CALSYNC_ROUNDS", "2"))
    for n in range(rounds):
        path = tmp_path / f"new-{n}.toml"
        writers = [subprocess.Popen([sys.executable, "-c", _CREATOR, str(path), who]) for who in ("a", "b", "c")]
        assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
        assert sorted(i.id for i in load_interviews(path)) == ["a", "b", "c"]
        count("races", "interview files created by 3 adds at once", 1)


@settings(max_examples=100)
@given(st.text(), st.text(min_size=1).filter(str.strip))
def test_any_note_and_name_read_back_exactly(note, name):
    """Quotes, backslashes, newlines, emoji, control characters: what is appended reads back as it was given."""
    event = {"date": date(2026, 12, 1), "kind": "sent", "followup": "thank_you", "to": name, "note": note}
    new, _ = with_event(HAND_WRITTEN, "acme-staff", event)
    inserted(HAND_WRITTEN, new)
    assert tomllib.loads(new)["interviews"][0]["events"][-1] == event
