"""Plans and sync results as text and JSON for the terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from calsync.model import FollowUp
from calsync.refs import ref_of

if TYPE_CHECKING:
    from calsync.provider import Item
    from calsync.sync.engine import SyncReport
    from calsync.sync.state import StateRow

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


def when_label(moment: datetime) -> str:
    """``Mon 30 Nov 2026 10:00 America/New_York``"""
    zone = getattr(moment.tzinfo, "key", None) or moment.tzname() or "UTC"
    return f"{moment:%a} {moment.day} {moment:%b %Y %H:%M} {zone}"


def item_label(item: Item) -> str:
    """How messages name an item: its summary and due time."""
    from calsync.rewrite import summary_of

    followup = item.followup
    summary = summary_of(item.ical) or item.uid
    return f"{summary} ({when_label(followup.due)})" if followup is not None else summary


def row_summary(row: StateRow) -> str:
    """The SUMMARY of an item's last pushed form."""
    from calsync.rewrite import summary_of

    return summary_of(row.ical or b"") or row.uid


def row_label(row: StateRow) -> str:
    """An item known only from the state (no longer planned): its last pushed summary and due time."""
    summary = row_summary(row)
    try:
        due = when_label(datetime.fromisoformat(row.due))
    except ValueError:
        return summary
    return f"{summary} ({due})"


def sync_summary(report: SyncReport) -> str:
    """What a sync did, in a few lines; every item named by its summary and due time."""
    lines = []
    moves = {uid: (old, new) for uid, old, new in report.moves}
    if report.dry_run:
        for verb, uid, _summary in report.planned:
            line = f"  would {verb}: {report.label(uid)}"
            if uid in moves:
                line += f"\n      moves: {moves[uid][0]} -> {moves[uid][1]}"
            lines.append(line)
    if report.dry_run:
        counts = f"would make {len(report.planned)} change(s)"
    else:
        counts = f"{len(report.created)} created, {len(report.updated)} updated, {len(report.deleted)} deleted"
    lines.append(f"{report.target} ({report.where}): {counts}, {report.unchanged} unchanged")
    verb = "would record" if report.dry_run else "recorded"
    lines.extend(f"  done on the target, {verb} in the interview file: {done}" for done in report.completed)
    for conflict in report.conflicts:
        lines.append(
            f"  kept the target's version of {report.label(conflict.uid)}: {conflict.reason} (--force overwrites)"
        )
    lines.extend(f"  note: {note}" for note in report.notes)
    for failed in report.failed:
        lines.append(f"  failed: {failed.summary} (due {failed.due}): {failed.reason}{_next_try(failed)}")
    return "\n".join(lines)


#: More writes than this on a terminal show a progress line.
HANDFUL = 5
_PAST = {"create": "created", "update": "updated", "delete": "deleted"}


def progress_printer(verbose: bool, terminal: bool):
    """The sync's progress callback: with ``verbose`` one line per write on stdout; else, on a terminal and for
    more than a handful of writes, one line on stderr rewritten in place (done/total, current item)."""
    import shutil

    import click

    def report(done: int, total: int, verb: str, label: str) -> None:
        if verbose:
            click.echo(f"  {_PAST.get(verb, verb)}: {label}")
            return
        if not terminal or total <= HANDFUL:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        line = f"[{done}/{total}] {verb}: {label}"[: max(width - 1, 20)]
        click.echo(f"\r\x1b[K{line}", nl=done == total, err=True)

    return report


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


def _next_try(failed) -> str:
    if failed.state == "given up":
        return f" (refused {failed.attempts} times for this reason: left alone until the item changes)"
    if failed.state == "waiting":
        return f" (refused {failed.attempts} time(s); tried again after {failed.retry_at})"
    return f" (refused {failed.attempts} time(s); the next sync tries again)"
