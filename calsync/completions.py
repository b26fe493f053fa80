"""Recording what was done on the phone: each completion becomes a ``sent`` event in the interview file.

The interview file is the person's: it is changed only through tomlkit, which keeps every comment, blank line
and key order; the new event goes at the end of its interview's events.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from calsync.errors import InputError, UserError
from calsync.model import EventKind, HistoryEvent, Interview

# The sync's read-back records through this; the capture commands write with calsync.interview_file once it is
# there. Both append one [[interviews.events]] table with tomlkit.


def append_event(path: Path, interview: Interview, index: int, fields: dict[str, Any]) -> None:
    """Append ``fields`` as a new ``[[interviews.events]]`` of the interview at ``index`` in the file (the one
    with ``id = interview.id`` when it has one)."""
    import tomlkit

    from calsync.files import write_atomic

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the interview file: {exc.strerror}") from None
    document = tomlkit.parse(text)
    tables = document.get("interviews")
    if tables is None or len(tables) <= index:
        raise InputError("the interview file changed during the sync; run it again", path)
    table = next((t for t in tables if t.get("id") == interview.id), None) or tables[index]
    event = tomlkit.table()
    for key, value in fields.items():
        event[key] = value
    # What follows the interview's last line (blank lines, a comment about the next interview) stays after the
    # new event, where the person put it: move that trailing trivia from the last table to the new one.
    trailing = _take_trailing_trivia(_last_table(table))
    if "events" in table:
        table["events"].append(event)
    else:
        events = tomlkit.aot()
        events.append(event)
        table["events"] = events
    for item in trailing:
        event.value.append(None, item)
    write_atomic(path, tomlkit.dumps(document).encode("utf-8"), mode=path.stat().st_mode & 0o777)


def _last_table(table):
    """The table whose lines come last in ``table``'s section (itself, or its last sub-table)."""
    from tomlkit.items import AoT, Table

    for key, item in reversed(table.value.body):
        if isinstance(item, AoT) and len(item):
            return _last_table(item[-1])
        if isinstance(item, Table):
            return _last_table(item)
        if key is not None:
            break
    return table


def _take_trailing_trivia(table) -> list:
    from tomlkit.items import Comment, Whitespace

    body = table.value.body
    taken = []
    while body and body[-1][0] is None and isinstance(body[-1][1], (Comment, Whitespace)):
        taken.insert(0, body.pop()[1])
    return taken


def sent_event(day: date, followup, note: str | None) -> tuple[HistoryEvent, dict[str, Any]]:
    """The ``sent`` event for a completed follow-up, as the model has it and as the file will."""
    to = followup.recipient.name if followup.recipient else None
    event = HistoryEvent(day, EventKind.SENT, note=note, followup=followup.kind, to=to)
    fields: dict[str, Any] = {"date": day, "kind": "sent", "followup": followup.kind.value}
    if to:
        fields["to"] = to
    if note:
        fields["note"] = note
    return event, fields


def record(
    interviews: list[Interview], completions, target: str, write: bool
) -> tuple[list[Interview], list[tuple[Any, Path | None]]]:
    """The interviews with a ``sent`` event for each completion; with ``write``, also stored in their files.

    Returns the new interviews, and each completion with the file it was written to (None when not written).
    """
    by_id = {iv.id: n for n, iv in enumerate(interviews)}
    result = list(interviews)
    done = []
    for completion in completions:
        position = by_id.get(completion.followup.interview.id)
        if position is None:
            continue
        current = result[position]
        event, fields = sent_event(completion.day, completion.followup, f"marked done on target {target!r}")
        path = current.source.path if current.source else None
        if write and path is not None:
            siblings = [n for n, iv in enumerate(interviews) if iv.source and iv.source.path == path]
            append_event(path, current, siblings.index(position), fields)
        events = tuple(sorted((*current.events, event), key=lambda e: e.date))
        result[position] = dataclasses.replace(current, events=events)
        done.append((completion, path if write else None))
    return result, done
