"""Plans and sync results as text and JSON for the terminal."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from calsync.model import FollowUp
from calsync.refs import ref_of

if TYPE_CHECKING:
    from calsync.sync.engine import SyncReport

_KIND_LABEL = {
    "closing": "closing questions",
    "thank_you": "thank-you",
    "check_in": "check-in",
    "retry": "retry",
    "feedback_request": "feedback request",
}


def plan_rows(followups: list[FollowUp]) -> list[dict[str, Any]]:
    """The plan as JSON-ready objects; the key set is part of the CLI's contract."""
    return [
        {
            "interview": f.interview.id,
            "company": f.interview.company,
            "role": f.interview.role,
            "kind": f.kind.value,
            "recipient": f.recipient.name if f.recipient else None,
            "medium": f.medium.value if f.medium else None,
            "due": f.due.isoformat(),
            "due_utc": f.due.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "timezone": getattr(f.due.tzinfo, "key", str(f.due.tzinfo)),
            "deadline": f.deadline.isoformat(),
            "assumed": f.assumed,
            "status": f.status.value,
            "round": f.round,
            "attempt": f.attempt,
            "revision": f.revision,
            "uid": f.uid,
            "done": f.done,
            "sent_on": f.sent_on.isoformat() if f.sent_on else None,
            "ref": ref_of(f),
        }
        for f in followups
    ]


def plan_table(followups: list[FollowUp]) -> str:
    """A readable table, sorted by due time."""
    if not followups:
        return "No follow-ups planned."
    header = ("DUE", "ZONE", "INTERVIEW", "FOLLOW-UP", "TO", "BY", "DEADLINE", "STATUS")
    rows = [header]
    for f in sorted(followups, key=lambda f: (f.due.astimezone(UTC), f.interview.id)):
        deadline = f.deadline.isoformat() + (" (assumed)" if f.assumed else "")
        rows.append(
            (
                f.due.strftime("%a %Y-%m-%d %H:%M"),
                getattr(f.due.tzinfo, "key", str(f.due.tzinfo)),
                f.interview.id,
                _KIND_LABEL[f.kind.value],
                f.recipient.name if f.recipient else "-",
                f.medium.value if f.medium else "-",
                deadline,
                "done" if f.done and not f.cancelled else f.status.value,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def sync_summary(report: SyncReport) -> str:
    """What a sync did, in a few lines."""
    lines = []
    if report.dry_run:
        for verb, _uid, summary in report.planned:
            lines.append(f"  would {verb}: {summary}")
    if report.dry_run:
        counts = f"would make {len(report.planned)} change(s)"
    else:
        counts = f"{len(report.created)} created, {len(report.updated)} updated, {len(report.deleted)} deleted"
    lines.append(f"{report.target} ({report.where}): {counts}, {report.unchanged} unchanged")
    for conflict in report.conflicts:
        lines.append(f"  kept the target's version of {conflict.uid}: {conflict.reason} (--force overwrites)")
    lines.extend(f"  note: {note}" for note in report.notes)
    return "\n".join(lines)
