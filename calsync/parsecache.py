"""The parsed form of a large TOML file, kept in the cache dir table by table, so that only what changed is parsed.

``tomllib`` reads about 2.5 MB a second: a quarter of a second for the interview file of 2,000 interviews, paid on
every ``calsync sync`` that cron runs although the file rarely changed since the last one, and paid in full again
after an edit of one interview. So a file over :data:`MIN_BYTES` is cut into its pieces at each ``[[interviews]]``
header line (the text before the first one is a piece too), and each piece's parse is kept beside the SHA-256 of
its text (under the Python version, whose ``tomllib`` parsed it). A run parses only the pieces it does not find
kept, and joins them.

Joining pieces is parsing the whole file when each piece parses on its own: a header line inside a multi-line
string or array leaves the piece before it unterminated, which does not parse, and a piece after the first one
defines nothing but its ``[[interviews]]`` table (which its sub-tables extend, as in the whole file). Anything else
-- a piece that does not parse, another top-level key -- is left to the caller's parse of the whole file, which
gives its result or its error with the right line. Only pieces that parsed are kept, and the file's shape is
checked (:func:`calsync.tomlfile.check_shape`) before any piece is parsed.

The form is JSON (read by the C decoder, and unable to run code whatever the file holds), with TOML's dates and
times as one-key objects ``{"\\u0000datetime": "2026-12-01T10:00:00"}``; a table of the file that happens to look
like one is written as ``{"\\u0000table": [[key, value]]}``. A file cut short or damaged is not valid JSON, or not
of the expected header, and everything is parsed afresh. Files are written for the owner alone (mode 0600): they
hold what the interview file holds.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from calsync import keptlines

FORMAT = "calsync parsed toml pieces 1"
MIN_BYTES = 64 * 1024  # smaller files parse in a few milliseconds: not worth a file
_TAGS = {"\0datetime": datetime.fromisoformat, "\0date": date.fromisoformat, "\0time": time.fromisoformat}
_TABLE = "\0table"
_PIECE = re.compile(r"^[ \t]*\[\[[ \t]*interviews[ \t]*\]\][ \t]*(?:#[^\n]*)?\r?$", re.MULTILINE)
_KEY = "interviews"


def _header() -> str:
    return f"{FORMAT}\t{sys.version}"


def pieces(text: str) -> list[str]:
    """``text`` cut before each ``[[interviews]]`` header line (the first piece may be empty)."""
    starts = [match.start() for match in _PIECE.finditer(text)]
    return [text[a:b] for a, b in zip([0, *starts], [*starts, len(text)], strict=True)]


def parse(path: Path, raw: bytes, text: str, check: Callable[[str], None]) -> dict[str, Any] | None:
    """What ``text`` (the decoded ``raw`` bytes of ``path``) parses to, from the pieces kept and the others parsed
    now (after ``check(text)``); None when the file is small, or not made of pieces that join (the caller parses
    the whole file: the result or the error, with its line)."""
    if len(raw) < MIN_BYTES:
        return None
    kept_file = keptlines.cache_file("parsed", path)
    if kept_file is None:
        return None
    known = keptlines.read(kept_file, _header(), 8 * len(raw) + 4096)
    parts = pieces(text)
    keys = [hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest() for part in parts]
    lines: dict[str, str] = {}  # what is kept after this run: key -> the piece's JSON line
    parsed: list[Any] = []
    checked = False
    for key, part in zip(keys, parts, strict=True):
        if key in lines or key in known:
            try:  # each position gets objects of its own, even a piece written twice
                parsed.append(_piece(lines.get(key) or known[key]))
                lines[key] = lines.get(key) or known[key]
                continue
            except (ValueError, RecursionError):  # a damaged line: parsed again
                pass
        if not checked:
            check(text)
            checked = True
        try:
            piece = tomllib.loads(part)
        except (tomllib.TOMLDecodeError, RecursionError, ValueError):
            return None
        parsed.append(piece)
        lines[key] = _line(piece)
    data = _joined(parsed)
    if data is not None and lines != known:
        keptlines.write(kept_file, _header(), lines)
    return data


def _piece(line: str) -> Any:
    return json.loads(line, object_hook=_decoded)


def _line(piece: Any) -> str:
    """A piece's JSON: one line (JSON writes a newline inside a string as ``\\n``)."""
    return json.dumps(_encoded(piece), ensure_ascii=False, separators=(",", ":"))


def _joined(parsed: list[Any]) -> dict[str, Any] | None:
    """The pieces' tables as one: the first piece's keys and every piece's ``interviews`` entries, in order; None
    when a piece after the first defines anything else, or the first defines ``interviews`` itself."""
    if not parsed or not all(isinstance(piece, dict) for piece in parsed):
        return None
    head, rest = parsed[0], parsed[1:]
    if _KEY in head:
        return None
    entries: list[Any] = []
    for piece in rest:
        if set(piece) != {_KEY} or not isinstance(piece[_KEY], list):
            return None
        entries.extend(piece[_KEY])
    return {**head, _KEY: entries} if rest else head


def _encoded(value: Any) -> Any:
    if isinstance(value, dict):
        table = {key: _encoded(item) for key, item in value.items()}
        if len(table) == 1 and next(iter(table)) in (*_TAGS, _TABLE):
            return {_TABLE: list(table.items())}  # a table of the file that looks like a tag
        return table
    if isinstance(value, list):
        return [_encoded(item) for item in value]
    if isinstance(value, datetime):
        return {"\0datetime": value.isoformat()}
    if isinstance(value, date):
        return {"\0date": value.isoformat()}
    if isinstance(value, time):
        return {"\0time": value.isoformat()}
    return value


def _decoded(table: dict[str, Any]) -> Any:
    if len(table) == 1:
        key, value = next(iter(table.items()))
        if key == _TABLE:
            return dict(value)
        convert = _TAGS.get(key)
        if convert is not None:
            return convert(value)
    return table
