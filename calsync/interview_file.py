"""The one module that writes the person's interview file.

The file is theirs: they edit it by hand, comment it, order its keys. calsync only ever *appends* (an interview, an
event of an interview), through tomlkit, so that every byte already there stays as it was: the new file is the old
one with one block inserted. A block of comments separated by a blank line from what precedes it belongs to what
follows it (``# --- Globex ---`` above the next ``[[interviews]]``), so a new table goes in before that block, not
between it and its header. Comments hugging the last line of a table stay with that table.

Writes are atomic (a temporary file beside it, then a rename; the file keeps its mode; a symlink keeps pointing at
the file it points at) and serialised with an advisory lock where the platform has one, so a ``calsync record``
and a sync recording a completion never lose each other's event.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import tomlkit
from tomlkit.items import AoT, Array, Table, Whitespace

from calsync.errors import CalsyncError, InputError, UserError
from calsync.files import create_exclusive, read_regular, write_atomic
from calsync.tomlfile import MAX_BYTES, LineIndex, check_shape

T = TypeVar("T")

_BOM = "\ufeff"


def append_interview(path: Path, fields: Mapping[str, Any]) -> int:
    """Append one ``[[interviews]]`` table (``interviewers``/``events`` lists of mappings become sub-tables) to the
    file at ``path``, creating the file if there is none. Returns the line of the new table's header."""
    return _rewrite(path, lambda text: with_interview(text, fields), missing_ok=True)


def append_event(path: Path, interview_id: str, fields: Mapping[str, Any]) -> int:
    """Append one ``[[interviews.events]]`` table to the interview whose id is ``interview_id`` (written, or derived
    from company and date as the loader does). Returns the line of the new table's header."""
    return _rewrite(path, lambda text: with_event(text, interview_id, fields))


# --- pure: text in, text out ------------------------------------------------------------------------------------


def with_interview(text: str, fields: Mapping[str, Any]) -> tuple[str, int]:
    """``text`` with an interview appended, and the line of its header."""
    doc = _parse(text)
    entries = doc.get("interviews")
    table = _table(fields)
    if entries is None:
        aot = tomlkit.aot()
        doc.append("interviews", aot)
        if doc.body[:-1] and not text.endswith("\n\n") and text.strip():
            table.trivia.indent = "\n"  # a blank line after what the file had
        aot.append(table)
        index = 0
    elif isinstance(entries, AoT):
        before = _tail(entries[-1]) if len(entries) else None
        moved = _detach_trailing_block(before) if before is not None else []
        table.trivia.indent = _separator(before)
        entries.append(table)
        _attach(_tail(table), moved)
        index = len(entries) - 1
    else:
        raise UserError("'interviews' is not a list of [[interviews]] tables; calsync can only append to one")
    new = _dumps(doc, text)
    _check(text, new, lambda data: data["interviews"][index], fields)
    return new, _line(new, ("interviews", index))


def with_event(text: str, interview_id: str, fields: Mapping[str, Any]) -> tuple[str, int]:
    """``text`` with an event appended to interview ``interview_id``, and the line of its header."""
    doc = _parse(text)
    entries = doc.get("interviews")
    index = find_interview(entries if isinstance(entries, AoT) else [], interview_id)
    interview = entries[index]
    existing = interview.get("events")
    if isinstance(existing, Array):  # written inline: events = [{...}]
        existing.append(tomlkit.inline_table())
        existing[-1].update(_plain(fields))
        number = len(existing) - 1
        where: tuple = ("interviews", index)
        key: str | None = "events"
    else:
        table = _table(fields)
        if existing is None:
            before = _tail(interview)
            moved = _detach_trailing_block(before)
            table.trivia.indent = _separator(before)
            aot = tomlkit.aot()
            aot.append(table)
            interview.append("events", aot)
            number = 0
        elif isinstance(existing, AoT):
            before = _tail(existing[-1])
            moved = _detach_trailing_block(before)
            table.trivia.indent = _separator(before)
            existing.append(table)
            number = len(existing) - 1
        else:
            raise UserError(f"interview {interview_id!r}: 'events' is not a list of [[interviews.events]] tables")
        _attach(_tail(table), moved)
        where, key = ("interviews.events", index, number), None
    new = _dumps(doc, text)
    _check(text, new, lambda data: data["interviews"][index]["events"][number], fields)
    return new, _line(new, where, key)


def find_interview(entries: Sequence[Any], interview_id: str) -> int:
    """The index of the interview called ``interview_id`` among the file's entries; a miss suggests the closest."""
    ids = [entry_id(entry) for entry in entries]
    if interview_id in ids:
        return ids.index(interview_id)
    known = [i for i in ids if i]
    close = difflib.get_close_matches(interview_id, known, n=3, cutoff=0.5)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    listing = f"; known: {', '.join(known)}" if known and not close else ""
    raise UserError(f"no interview with id {interview_id!r}{hint}{listing}")


def entry_id(entry: Any) -> str | None:
    """The id of one ``[[interviews]]`` table as the loader sees it: written, else derived."""
    from calsync.interviews import derive_id
    from calsync.zones import zone_named

    if not isinstance(entry, Mapping):
        return None
    written = entry.get("id")
    if isinstance(written, str) and written.strip():
        return written.strip()
    company, start = entry.get("company"), entry.get("start")
    if not isinstance(company, str) or not isinstance(start, (datetime, str)):
        return None
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start)
        except ValueError:
            return None
    if start.tzinfo is not None:
        zone = zone_named(str(entry.get("timezone", ""))) if entry.get("timezone") else None
        start = start.astimezone(zone) if zone else start
    return derive_id(company.strip(), start.date())


# --- tomlkit details ---------------------------------------------------------------------------------------------


def _parse(text: str) -> tomlkit.TOMLDocument:
    check_shape(text, None)  # the nesting limit, before tomlkit recurses into it
    try:
        return tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise InputError(f"invalid TOML: {exc}", None, getattr(exc, "line", None)) from None


def _table(fields: Mapping[str, Any]) -> Table:
    """A table of ``fields`` in their order; lists of mappings become arrays of sub-tables."""
    table = tomlkit.table()
    nested = []
    for key, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            nested.append((key, value))
            continue
        table.add(key, _value(value))
    for key, rows in nested:
        aot = tomlkit.aot()
        for row in rows:
            sub = _table(row)
            sub.trivia.indent = "\n"
            aot.append(sub)
        table.add(key, aot)
    return table


def _value(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(microsecond=0)
    if isinstance(value, (list, tuple)):
        return [_value(v) for v in value]
    return value


def _plain(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _value(value) for key, value in fields.items() if value is not None}


def _tail(table: Table) -> Table:
    """The table whose last line is the last line ``table`` renders (itself, or its last sub-table's tail)."""
    for key, item in reversed(table.value.body):
        if key is None:
            continue
        if isinstance(item, AoT) and len(item):
            return _tail(item[-1])
        if isinstance(item, Table):
            return _tail(item)
        return table
    return table


def _separator(before: Table | None) -> str:
    """The header's indent: one blank line after ``before``'s last line (two newlines if that line has none)."""
    if before is None:
        return ""
    body = before.value.body
    if not body:
        trail = before.trivia.trail
    elif isinstance(body[-1][1], Whitespace):
        trail = body[-1][1].s
    else:
        trail = body[-1][1].trivia.trail
    return "\n" if trail.endswith("\n") else "\n\n"


def _detach_trailing_block(table: Table) -> list[Any]:
    """Remove and return the comments and blank lines at the end of ``table`` from its first blank line on: they
    introduce what follows (the next header), so they go after the new table."""
    body = table.value.body
    last_key = max((i for i, (key, _) in enumerate(body) if key is not None), default=-1)
    start = next(
        (i for i in range(last_key + 1, len(body)) if isinstance(body[i][1], Whitespace) and "\n" in body[i][1].s),
        len(body),
    )
    moved = [item for _, item in body[start:]]
    del body[start:]  # the trailing items carry no key: the container's key map is unaffected
    return moved


def _attach(table: Table, items: list[Any]) -> None:
    for item in items:
        table.value.body.append((None, item))


def _dumps(doc: tomlkit.TOMLDocument, original: str) -> str:
    new = tomlkit.dumps(doc)
    if "\r\n" in original:  # a Windows file: what we add gets its line endings too
        start, end = _inserted(original, new)
        middle = new[start:end].replace("\r\n", "\n").replace("\n", "\r\n")
        new = new[:start] + middle + new[end:]
    return new


def _inserted(old: str, new: str) -> tuple[int, int]:
    """Where ``new`` differs from ``old``: ``new[start:end]`` is what was inserted when the rest is unchanged."""
    prefix = _common(old, new)
    suffix = _common(old[prefix:][::-1], new[prefix:][::-1])
    return prefix, len(new) - suffix


def _common(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _check(old: str, new: str, pick: Callable[[dict], Any], fields: Mapping[str, Any]) -> None:
    """The new text must read back with the new table holding exactly ``fields``, and the old text must survive
    byte for byte around one inserted block. Anything else is a bug: nothing is written."""
    try:
        written = pick(tomllib.loads(new))
        expected = tomllib.loads(tomlkit.dumps({"x": _plain(fields)}))["x"]
    except (tomllib.TOMLDecodeError, KeyError, IndexError) as exc:
        raise CalsyncError(f"internal error: the appended TOML does not read back ({exc}); nothing written") from None
    if written != expected:
        raise CalsyncError("internal error: the appended table reads back differently; nothing written")
    start, end = _inserted(old, new)
    if start + (len(new) - end) < len(old):
        raise CalsyncError("internal error: appending would change the existing text; nothing written")


def _line(text: str, where: tuple, key: str | None = None) -> int:
    line = LineIndex(text).line(where, key)
    if line is None:  # pragma: no cover - the index and tomlkit agree on every file that reads back
        raise CalsyncError(f"internal error: cannot find the new table {where} in the written file")
    return line


# --- I/O --------------------------------------------------------------------------------------------------------


def _rewrite(path: Path, change: Callable[[str], tuple[str, T]], missing_ok: bool = False) -> T:
    real = Path(os.path.realpath(path))  # a symlinked file stays a symlink to the updated file
    while True:
        done, result = _rewrite_once(path, real, change, missing_ok)
        if done:
            return result


def _rewrite_once(path: Path, real: Path, change: Callable[[str], tuple[str, T]], missing_ok: bool) -> tuple[bool, T]:
    """One locked read-change-write; (False, _) when the file appeared while we were creating it: try again."""
    with _locked(real, missing_ok) as exists:
        if exists:
            try:
                raw = read_regular(real, MAX_BYTES)  # a size limit, as for every TOML file calsync reads
                mode = stat.S_IMODE(real.stat().st_mode)
            except OSError as exc:
                raise InputError(f"cannot read the interview file: {exc.strerror}", path) from None
        else:
            raw, mode = b"", 0o600
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text (byte {exc.start}); not written", path) from None
        bom = text.startswith(_BOM)
        try:
            new, result = change(text[1:] if bom else text)
        except InputError as exc:
            raise InputError(exc.message, path, exc.line) from None
        except UserError as exc:
            raise InputError(str(exc), path) from None
        data = ((_BOM if bom else "") + new).encode("utf-8")
        try:
            real.parent.mkdir(parents=True, exist_ok=True)
            if not exists:  # a new file: never over one another command created meanwhile
                return create_exclusive(real, data, mode), result
            write_atomic(real, data, mode)
        except OSError as exc:
            raise InputError(f"cannot write the interview file: {exc.strerror}", path) from None
    return True, result


@contextlib.contextmanager
def _locked(path: Path, missing_ok: bool) -> Iterator[bool]:
    """Hold an exclusive advisory lock on the file at ``path`` (yields whether it exists). A writer that waited
    for the lock re-opens the file if the holder replaced it, so it appends to the new version."""
    from calsync.files import check_writable_target

    try:
        check_writable_target(path)  # a FIFO or a device there must not hang the run, nor be replaced
    except OSError as exc:
        raise InputError(f"cannot open the interview file: {exc}", path) from None
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace only
        yield path.exists()
        return
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            if not missing_ok:
                raise InputError("interview file not found", path) from None
            yield False
            return
        except OSError as exc:
            raise InputError(f"cannot open the interview file: {exc.strerror}", path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(fd).st_ino:
                yield True
                return
        finally:
            os.close(fd)  # closing releases the lock


__all__ = ["append_event", "append_interview", "entry_id", "find_interview", "with_event", "with_interview"]
