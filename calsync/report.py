"""Plans and sync results as text and JSON for the terminal."""

from __future__ import annotations

import json
from datetime import UTC
from typing import TYPE_CHECKING, Any

from calsync.model import FollowUp

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
                f.status.value,
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


def plugins_table(found: dict[str, Any]) -> str:
    """``calsync plugins`` for people: one block per plugin, its providers and their options, then the failures."""
    from calsync.options import GENERIC_OPTIONS

    generic = ", ".join(option.name for option in GENERIC_OPTIONS)
    lines = []
    for row in found["plugins"]:
        origin = "bundled" if row["bundled"] else "third-party"
        dist = f"{row['distribution']} {row['version']}" if row["distribution"] else "calsync (core)"
        lines.append(f"{row['name']}  [{origin}]  {dist}")
        lines.append(f"  hooks: {', '.join(row['hooks']) or '-'}")
        for provider in row["providers"]:
            lines.append(f"  provider {provider['name']!r} (and the options every target has: {generic}):")
            for option in provider["options"]:
                if option["name"] in generic:
                    continue
                flags = [flag for flag in ("required", "path", "secret") if option[flag]]
                default = "" if option["default"] is None else f" = {json.dumps(option['default'])}"
                choices = f" ({' | '.join(map(str, option['choices']))})" if option["choices"] else ""
                extra = f" [{', '.join(flags)}]" if flags else ""
                lines.append(f"    {option['name']}: {option['type']}{default}{choices}{extra}  {option['help']}")
            if not provider["declares_options"]:
                lines.append("    (declares no options of its own: any other option is passed on unchecked)")
    for failure in found["failed"]:
        lines.append(f"{failure['name']}  [failed to load]  {failure['error']}")
    for name in found.get("disabled", []):
        lines.append(f"{name}  [disabled]")
    return "\n".join(lines) if lines else "no plugins loaded"
