"""Files of keyed lines (calsync/keptlines.py): what is written reads back whole, or not at all."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from calsync import keptlines

keys = st.text("0123456789abcdef", min_size=1, max_size=64)
values = st.text().map(lambda text: json.dumps(text, ensure_ascii=False))  # one line of JSON, as the callers keep


@given(entries=st.dictionaries(keys, values, max_size=20))
def test_what_is_written_reads_back(tmp_path_factory, entries):
    path = tmp_path_factory.mktemp("kept") / "f.json"
    keptlines.write(path, "format 1\tdepends", entries)
    assert keptlines.read(path, "format 1\tdepends", 1 << 20) == entries
    assert keptlines.read(path, "format 2\tdepends", 1 << 20) == {}  # another format's: nothing
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_file_cut_short_or_too_large_reads_as_empty(tmp_path):
    path = tmp_path / "f.json"
    keptlines.write(path, "h", {"a": '"x"', "b": '"y\\u2028z"'})
    whole = path.read_bytes()
    for cut in range(len(whole)):
        path.write_bytes(whole[:cut])
        assert keptlines.read(path, "h", 1 << 20) == {}
    path.write_bytes(whole)
    assert keptlines.read(path, "h", len(whole) - 1) == {}


def test_a_cache_dir_that_cannot_be_written_keeps_nothing_quietly(tmp_path):
    (tmp_path / "cache").write_text("a file where the folder should be")
    keptlines.write(tmp_path / "cache" / "f.json", "h", {"a": "1"})
    assert (tmp_path / "cache").read_text() == "a file where the folder should be"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no temporary file left behind
