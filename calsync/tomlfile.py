"""Reading the user's TOML files with errors that say where: ``path:line: what is wrong``.

``tomllib`` gives no positions for values, so :class:`LineIndex` finds them in the text: the line of each table
header and of each ``key =`` under it. Good enough for the files people write by hand; when a key cannot be
found the error points at its table.

A file is refused before it is parsed when it is larger than :data:`MAX_BYTES` or nests deeper than
:data:`MAX_DEPTH` (brackets, braces, or the parts of one dotted key): ``tomllib`` recurses on nesting and
its memory grows with the square of a dotted key's length, so a hostile file could exhaust either. The check
is one cheap pass over the text; no file a person writes comes near the limits.
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calsync.errors import InputError

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")

MAX_BYTES = 4 * 1024 * 1024  # a thousand interviews take about 1 MiB
MAX_DEPTH = 32  # interview files nest 3 deep

# Strings and comments, blanked out before counting brackets and dots. Each form, once opened, runs to its end
# or to the end of its line (or of the text), possessively: one pass, whatever the text holds.
_SKIPPED = re.compile(
    r'"""(?:[^"\\]++|\\[\s\S]?|"(?!""))*+(?:"""|\Z)'
    r"|'''(?:[^']++|'(?!''))*+(?:'''|\Z)"
    r'|"(?:[^"\\\n]++|\\[^\n]?)*+(?:"|$)'
    r"|'[^'\n]*+(?:'|$)"
    r"|#[^\n]*+",
    re.MULTILINE,
)
# A run of key characters, blanked strings and dots: a dotted key (a float or a date-time holds one dot at most).
_KEY_RUN = re.compile(r"[A-Za-z0-9_\-\"' \t.]++")
_BRACKETS = re.compile(r"[\[\]{}]")
# The quick pass of :func:`check_shape`: everything but the brackets; a run of MAX_DEPTH dots joined by key characters.
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_DEEP_KEY = re.compile(rf"\.(?:[A-Za-z0-9_\-\"' \t]*+\.){{{MAX_DEPTH - 1}}}")  # a literal first: a fast search


@dataclass
class Table:
    """Where one table (``[name]`` or one ``[[name]]`` entry) starts, and where its keys are."""

    line: int
    keys: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str | None = None) -> int:
        return self.keys.get(key, self.line) if key else self.line


class LineIndex:
    """Table headers and keys by position, for error messages. Built on first use: a file that loads without an
    error never pays for it."""

    def __init__(self, text: str) -> None:
        self._text = text

    @functools.cached_property
    def tables(self) -> dict[tuple, Table]:
        """("interviews", 0) -> Table: the first [[interviews]]; ("interviews.events", 0, 1) -> its 2nd event."""
        tables: dict[tuple, Table] = {(): Table(1)}
        counts: dict[tuple, int] = {}
        current: tuple = ()
        parents: dict[str, int] = {}  # array name -> index of its latest entry
        for number, raw in enumerate(self._text.splitlines(), start=1):
            header = _HEADER.match(raw)
            if header:
                name = header.group(2).replace(" ", "")
                parent_path = tuple(parents[prefix] for prefix in _prefixes(name) if prefix in parents)
                if header.group(1) == "[[":
                    slot = (name, *parent_path)
                    index = counts.get(slot, 0)
                    counts[slot] = index + 1
                    parents[name] = index
                    # An array entry restarts its children's counts.
                    for other in list(parents):
                        if other.startswith(name + "."):
                            del parents[other]
                    current = (name, *parent_path, index)
                else:
                    current = (name, *parent_path)
                tables[current] = Table(number)
                continue
            key = _KEY.match(raw)
            if key:
                tables.setdefault(current, Table(number)).keys.setdefault(key.group(1).strip("\"'"), number)
        return tables

    def line(self, table: tuple, key: str | None = None) -> int | None:
        found = self.tables.get(table)
        return found.line_of(key) if found else None


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts))]


def check_shape(text: str, path: Path | None) -> None:
    """Refuse ``text`` when it nests deeper than :data:`MAX_DEPTH`, before any parser sees it.

    :raises InputError: naming the line where the limit is passed.
    """
    # A quick pass, all in C: strings and comments blanked without keeping their newlines, the brackets' running
    # depth summed. It sees every bracket the careful pass sees and never fewer dots in a key, so a file it passes
    # is within the limits; only a file it doubts takes the careful pass, which finds the line (or clears it: a
    # multi-line string between two dotted keys can join them here).
    bare = _SKIPPED.sub('""', text)
    brackets = _NOT_BRACKETS.sub("", bare)
    too_deep = bool(brackets) and max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > MAX_DEPTH
    if too_deep or (bare.count(".") >= MAX_DEPTH and _DEEP_KEY.search(bare)):
        _check_shape_by_line(text, path)


def _check_shape_by_line(text: str, path: Path | None) -> None:
    """:func:`check_shape`'s careful pass: the same limits, with the line of the first place that passes one."""

    def blank(match: re.Match[str]) -> str:
        # Keep the newlines, so that line numbers stay right; a string becomes one key part.
        return '""' + "\n" * match.group(0).count("\n") if match.group(0)[0] != "#" else ""

    bare = _SKIPPED.sub(blank, text)
    runs = _KEY_RUN.finditer(bare) if bare.count(".") >= MAX_DEPTH else ()
    for run in runs:
        if run.group(0).count(".") >= MAX_DEPTH:
            line = bare.count("\n", 0, run.start()) + 1
            raise InputError(f"a dotted key with more than {MAX_DEPTH} parts: refused", path, line)
    depth = 0
    for bracket in _BRACKETS.finditer(bare):
        depth += 1 if bracket.group(0) in "[{" else -1
        if depth > MAX_DEPTH:
            line = bare.count("\n", 0, bracket.start()) + 1
            raise InputError(f"nested more than {MAX_DEPTH} levels deep: refused", path, line)


def read_toml(path: Path, what: str) -> tuple[dict[str, Any], LineIndex]:
    """Parse a TOML file; every failure is an :class:`InputError` naming the path (and line)."""
    from calsync.files import read_regular

    try:
        raw = read_regular(path, MAX_BYTES)
    except FileNotFoundError:
        raise InputError(f"{what} not found", path) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file", path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path) from None
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (some Windows editors write one) is not content
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {exc.start})", path, line) from None
    from calsync import parsecache

    data = parsecache.parse(path, raw, text, lambda whole: check_shape(whole, path))  # large: what changed
    if data is not None:
        return data, LineIndex(text)
    check_shape(text, path)
    try:
        data = tomllib.loads(text)
    except RecursionError:  # not reached within MAX_DEPTH; a last guard
        raise InputError("nested too deep", path) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        line = int(position.group(1)) if position else None
        message = _TOML_POSITION.sub("", message).strip()
        raise InputError(f"invalid TOML: {message}", path, line) from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise InputError(f"invalid TOML: {str(exc).splitlines()[0]}", path) from None
    return data, LineIndex(text)


# A value TOML 1.0 (and so tomllib) does not take, though people write it: a date-time without seconds
# (``2026-12-01 10:00``, ``2026-12-01T10:00``, ``2026-12-01 9:00``), or a time alone.
_SHORT_DATE_TIME = re.compile(
    r"""^\s*(?P<key>"[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=\s*(?P<day>\d{4}-\d{2}-\d{2})?[T ]?\s*"""
    r"""(?P<h>\d{1,2}):(?P<m>\d{2})(?!:\d)(?P<offset>Z|[+-]\d{2}:\d{2})?\s*(?:#.*)?$""",
    re.I | re.ASCII,
)


def date_time_hint(text: str, line: int | None) -> str | None:
    """What to write instead, when line ``line`` of ``text`` holds a date-time without seconds or a bare time."""
    lines = text.splitlines()
    if line is None or not 0 < line <= len(lines):
        return None
    found = _SHORT_DATE_TIME.match(lines[line - 1])
    if not found:
        return None
    key = found["key"].strip("\"'")
    clock = f"{int(found['h']):02d}:{found['m']}:00{found['offset'] or ''}"
    if found["day"] is None:
        return f"{key}: a time needs its date, with seconds: write {key} = 2026-12-01T{clock} (the real date)"
    return f"{key}: TOML needs the seconds in a date-time: write {key} = {found['day']}T{clock}"


def explained(error: InputError) -> InputError:
    """``error`` with what to write instead when it is a TOML syntax error on a date-time without seconds."""
    if not error.message.startswith("invalid TOML") or error.path is None:
        return error
    try:
        text = error.path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return error
    hint = date_time_hint(text, error.line)
    return InputError(hint, error.path, error.line) if hint else error


def syntax_error(exc: tomllib.TOMLDecodeError, text: str, path: Path) -> InputError:
    """A TOML syntax error in ``text`` (read from ``path``) as one line with where, and what to write when it is a
    date-time without seconds."""
    message = str(exc)
    position = _TOML_POSITION.search(message)
    line = int(position.group(1)) if position else None
    hint = date_time_hint(text, line)
    return InputError(hint or f"invalid TOML: {_TOML_POSITION.sub('', message).strip()}", path, line)
