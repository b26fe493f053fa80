"""The id-change guard: an interview without an ``id`` gets one derived from its company and date
(``acme-corp-2026-11-20``), so fixing a typo in the company name changes it, and with it every UID. A sync would
then cancel every reminder of the old id and create them all again under the new one. Pure: this module spots
that case in the plan and the state; the engine refuses to go on without ``--force``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from calsync.model import FollowUp, Interview, Kind
from calsync.sync.state import StateRow

_DERIVED = re.compile(r"(?P<slug>.+)-(?P<day>\d{4}-\d{2}-\d{2})")
_PROPERTY = re.compile(rb"^(X-CALSYNC-INTERVIEW|X-CALSYNC-KIND|CATEGORIES)[;:](?:[^:\r\n]*:)?(.*?)\r?$", re.M)


@dataclass(frozen=True)
class IdChange:
    """Interview ``new_id`` was ``old_id`` until its company was edited (``old_company`` -> its company)."""

    interview: Interview
    old_id: str
    old_company: str | None
    items: int  # how many reminders of the old id would be cancelled

    def message(self) -> str:
        iv = self.interview
        where = f" ({iv.source})" if iv.source else ""
        edit = (
            f"its company changed from {self.old_company!r} to {iv.company!r}"
            if self.old_company and self.old_company != iv.company
            else "its company name changed"
        )
        return (
            f"interview {iv.id!r}{where} has no id, so it gets one from its company and date, and {edit}: this "
            f"sync would cancel its {self.items} reminder(s) filed under {self.old_id!r} and create them again. "
            f'Add id = "{self.old_id}" to that interview to keep its reminders, or run with --force to go on'
        )


def is_derived(interview: Interview) -> bool:
    from calsync.interviews import derive_id

    return interview.id == derive_id(interview.company, interview.start.astimezone(interview.timezone).date())


def _fields(row: StateRow) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for match in _PROPERTY.finditer(re.sub(rb"\r?\n[ \t]", b"", row.ical or b"")):
        found.setdefault(match.group(1), match.group(2))
    return found


def id_changes(planned: list[FollowUp], state: Mapping[str, StateRow]) -> list[IdChange]:
    """Interviews whose derived id is new to the state while another derived id of the same day, with a closing
    reminder at the same time, is about to lose all its reminders."""
    by_uid = {f.uid: f for f in planned}
    if state.keys() <= by_uid.keys():
        return []  # every item calsync wrote is still planned: no interview lost its id
    planned_ids = {f.interview_id for f in planned}
    known: dict[str, list[StateRow]] = {}
    for row in state.values():
        if row.gone or row.cancelled:
            continue
        followup = by_uid.get(row.uid)
        if followup is not None:  # still planned: its interview is the one it was written for (no need to read it)
            interview_id = followup.interview_id
        else:
            interview_id = _fields(row).get(b"X-CALSYNC-INTERVIEW", b"").decode("utf-8", "replace").strip()
        if interview_id:
            known.setdefault(interview_id, []).append(row)
    orphans = {old: rows for old, rows in known.items() if old not in planned_ids and _DERIVED.fullmatch(old)}
    if not orphans:
        return []
    changes = []
    for f in planned:
        iv = f.interview
        if f.kind is not Kind.CLOSING or iv.id in known or not is_derived(iv):
            continue
        day = _DERIVED.fullmatch(iv.id)["day"]
        for old, rows in orphans.items():
            if _DERIVED.fullmatch(old)["day"] != day:
                continue
            closing = [r for r in rows if _fields(r).get(b"X-CALSYNC-KIND") == b"closing"]
            if closing and not any(_same_instant(r.due, f.due) for r in closing):
                continue  # another interview that day
            changes.append(IdChange(iv, old, _company(rows), len(rows)))
    return changes


def _same_instant(stored: str, due) -> bool:
    from datetime import datetime

    try:
        return datetime.fromisoformat(stored) == due
    except ValueError:
        return False


def _company(rows: list[StateRow]) -> str | None:
    """The company as the old items' CATEGORIES carry it ("Job search,Check-in,Acme Corp")."""
    for row in rows:
        categories = _fields(row).get(b"CATEGORIES")
        if categories:
            parts = categories.decode("utf-8", "replace").split(",")
            if len(parts) >= 3:
                return parts[2].replace("\\", "").strip() or None
    return None
