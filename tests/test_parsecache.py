"""A large interview file is parsed piece by piece, each ``[[interviews]]`` table's parse kept (calsync/parsecache.py):
joined, the pieces are the whole file's parse, or the whole file is parsed (its result or its error)."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync import keptlines, parsecache
from calsync.errors import InputError
from calsync.interviews import load_interviews

# Pieces of interview files, tricky ones among them: a header line inside a multi-line string or array, a header
# with a comment or spaces, another top-level table after the interviews, CRLF line ends, pieces that do not parse
# alone but do together (a string opened in one, closed in the next).
PIECES = [
    '[[interviews]]\nid = "a"\nstart = 2027-01-04T10:00:00\n',
    '[[interviews]] # the second\nid = "b"\n\n[[interviews.interviewers]]\nname = "Dana"\n',
    '  [[ interviews ]]\r\nid = "c"\r\nnotes = """\n[[interviews]]\nid = "not one"\n"""\n',
    "[[interviews]]\nid = 'd'\nnotes = '''\n[[interviews]]\n'''\n",
    '[[interviews]]\nrequested = [\n"x",\n]\n[interviews.extra]\nkey = 1\n',
    '[[interviews]]\nid = "e"\ncount = 1\ncount = 2\n',
    "[[interviews]]\nid = \"f\"\n[me]\nname = 'x'\n",
    'title = "my interviews"\n',
    "# just a comment\n",
    "interviews = []\n",
    '[[interviews]]\nid = "g"\nwhen = 2027-01-04\nat = 10:30:00\nlist = [1, 2.5, true]\n',
    '[[interviews]]\nid = "h"\ntext = """\n',
    '"""\n[[interviews]]\nid = "i"\n',
    '[[interviews]]\nid = "j"\nwhen = 2027-01-04T10:00:00+05:30\n',
]


def whole(text: str):
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


@given(
    chosen=st.lists(st.sampled_from(PIECES), min_size=1, max_size=6),
    edit=st.integers(0, 5),
    other=st.sampled_from(PIECES),
)
def test_a_file_parsed_piece_by_piece_parses_as_a_whole(tmp_path_factory, chosen, edit, other):
    path = tmp_path_factory.mktemp("pieces") / "interviews.toml"
    edited = "".join([*chosen[:edit], other, *chosen[edit + 1 :]])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parsecache, "MIN_BYTES", 0)
        for text in ("".join(chosen), edited, "".join(chosen)):
            expected = whole(text)
            for _ in range(2):  # parsed, then (the same text) from the pieces kept
                got = parsecache.parse(path, text.encode(), text, lambda _text: None)
                if got is not None:  # None: the caller parses the whole file
                    assert got == expected
                    assert shapes(got) == shapes(expected)
            if expected is None:
                assert got is None  # a file that does not parse never passes for one


def test_only_the_edited_piece_is_parsed_again(tmp_path, monkeypatch):
    monkeypatch.setattr(parsecache, "MIN_BYTES", 0)
    path = tmp_path / "interviews.toml"
    blocks = [f'[[interviews]]\nid = "i{n}"\ncompany = "C{n}"\n\n' for n in range(50)]
    text = "".join(blocks)
    parsecache.parse(path, text.encode(), text, lambda _text: None)
    parsed = []
    real = tomllib.loads
    monkeypatch.setattr(parsecache.tomllib, "loads", lambda piece: parsed.append(piece) or real(piece))
    blocks[7] = blocks[7].replace('"C7"', '"Changed"')
    text = "".join(blocks)
    data = parsecache.parse(path, text.encode(), text, lambda _text: None)
    assert parsed == [blocks[7]]
    assert data == tomllib.loads(text)


def test_the_shape_is_checked_before_a_piece_is_parsed(tmp_path, monkeypatch):
    monkeypatch.setattr(parsecache, "MIN_BYTES", 0)
    path = tmp_path / "interviews.toml"
    text = '[[interviews]]\nid = "a"\n'
    checked = []
    parsecache.parse(path, text.encode(), text, checked.append)
    assert checked == [text]
    checked.clear()
    parsecache.parse(path, text.encode(), text, checked.append)
    assert checked == []  # nothing new to parse: the text passed the check when it was kept


@pytest.mark.parametrize(
    "damage",
    [
        lambda lines: [*lines[:2], lines[2].split("\t")[0] + "\t{not json", *lines[3:]],
        lambda lines: [*lines[:2], lines[2].replace("2027-01-04", "2027-13-45"), *lines[3:]],
        lambda lines: lines[:-1],  # cut short: no end line
        lambda lines: ["another format", *lines[1:]],
    ],
    ids=["not json", "not a date", "cut short", "another header"],
)
def test_a_damaged_kept_file_is_parsed_around(tmp_path, monkeypatch, damage):
    monkeypatch.setattr(parsecache, "MIN_BYTES", 0)
    path = tmp_path / "interviews.toml"
    text = "".join(f'[[interviews]]\nid = "i{n}"\nstart = 2027-01-04T10:00:00\n\n' for n in range(5))
    parsecache.parse(path, text.encode(), text, lambda _text: None)
    kept = keptlines.cache_file("parsed", path)
    assert kept.stat().st_mode & 0o777 == 0o600
    kept.write_text("\n".join(damage(kept.read_text().split("\n"))))
    assert parsecache.parse(path, text.encode(), text, lambda _text: None) == tomllib.loads(text)
    assert parsecache.parse(path, text.encode(), text, lambda _text: None) == tomllib.loads(text)


# --- the kept form, and the whole interview file --------------------------------------------------------------

# What tomllib gives: local date-times, or ones with a fixed offset (whole minutes, less than a day).
offsets = st.just(UTC) | st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
keys = st.text(min_size=0, max_size=8) | st.sampled_from(["\0datetime", "\0date", "\0time", "\0table"])
scalars = (
    st.text(max_size=20)
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.datetimes(min_value=datetime(1, 1, 2), timezones=st.none() | offsets)
    | st.dates()
    | st.times()
)
toml_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=20
)


@given(data=st.dictionaries(keys, toml_values, max_size=5))
def test_what_is_kept_reads_back_as_it_was(data):
    import json

    back = json.loads(json.dumps(parsecache._encoded(data), ensure_ascii=False), object_hook=parsecache._decoded)
    assert back == data
    assert shapes(back) == shapes(data)  # the same types all the way down (a date stays a date)


def shapes(value):
    if isinstance(value, dict):
        return {key: shapes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shapes(item) for item in value]
    return type(value), getattr(value, "tzinfo", None) and value.utcoffset()


def test_the_interview_file_is_parsed_again_when_its_bytes_change(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "interviews.toml"
    entries = "".join(
        f'[[interviews]]\nid = "i{n}"\ncompany = "C{n}"\nstart = 2027-01-04T10:00:00\nnotes = "{"x" * 40}"\n\n'
        for n in range(1000)
    )
    path.write_text(entries)
    assert path.stat().st_size > parsecache.MIN_BYTES
    first = load_interviews(path)
    assert list((tmp_path / "cache").rglob("*.json"))  # kept
    assert [iv.id for iv in load_interviews(path)] == [iv.id for iv in first]  # read back
    path.write_text(entries.replace('company = "C7"', 'company = "Changed"'))
    assert load_interviews(path)[7].company == "Changed"
    path.write_text(entries.replace('company = "C7"', "company = Changed"))  # now broken: the error, with its line
    with pytest.raises(InputError) as failed:
        load_interviews(path)
    assert failed.value.line == 7 * 6 + 3 and "invalid TOML" in failed.value.message
    (kept,) = (tmp_path / "cache").rglob("*.json")
    path.write_text(entries)
    kept.write_bytes(kept.read_bytes()[:-100])  # a kept file cut short is parsed afresh
    assert [iv.company for iv in load_interviews(path)] == [iv.company for iv in first]
