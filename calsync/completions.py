"""Recording what was done on the phone: each completion becomes a ``sent`` event in the interview file, written
by :mod:`calsync.interview_file` (tomlkit: every comment, blank line and key order kept), as ``calsync done`` does.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

from calsync.model import EventKind, HistoryEvent, Interview


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
            from calsync.interview_file import append_event

            append_event(path, current.id, fields)
        events = tuple(sorted((*current.events, event), key=lambda e: e.date))
        result[position] = dataclasses.replace(current, events=events)
        done.append((completion, path if write else None))
    return result, done
