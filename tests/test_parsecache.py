"""A large interview file is parsed piece by piece, each ``[[interviews]]`` table's parse kept (calsync/parsecache.py):
joined, the pieces are the whole file's parse, or the whole file is parsed (its result or its error)."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calsync import parsecache

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


def shapes(value):
    if isinstance(value, dict):
        return {key: shapes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shapes(item) for item in value]
    return type(value), getattr(value, "tzinfo", None) and value.utcoffset()


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
    kept = parsecache._file(path)
    assert kept.stat().st_mode & 0o777 == 0o600
    kept.write_text("\n".join(damage(kept.read_text().split("\n"))))
    assert parsecache.parse(path, text.encode(), text, lambda _text: None) == tomllib.loads(text)
    assert parsecache.parse(path, text.encode(), text, lambda _text: None) == tomllib.loads(text)
