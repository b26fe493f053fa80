"""``calsync record ID KIND`` (news about an interview) and ``calsync done REF`` (a follow-up was sent)."""

from __future__ import annotations

import difflib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calsync.commands._common import Snapshot, dry_run_option, file_option, read_text, snapshot, today
from calsync.errors import UserError

if TYPE_CHECKING:
    from calsync.cli import App
    from calsync.model import Interview

_KINDS = ("replied", "extended", "rejected", "offer", "withdrawn", "next-round", "sent")
_FOLLOWUPS = ("closing", "thank_you", "check_in", "retry", "feedback_request")


@click.command("record")
@click.argument("interview_id", metavar="ID")
@click.argument("kind", metavar="KIND")
@click.option("--on", "on", metavar="DATE", help="When it happened (default today): 2026-12-02, yesterday, monday.")
@click.option(
    "--decision-by",
    "decision_by",
    metavar="WHEN",
    help="The new decision date, for extended/replied: a date or a phrase read from --on ('next Friday').",
)
@click.option("--note", metavar="TEXT", help="A note kept with the event.")
@click.option("--followup", metavar="KIND", help=f"For 'sent': which follow-up ({' | '.join(_FOLLOWUPS)}).")
@click.option("--to", "to", metavar="NAME", help="For 'sent': the interviewer it went to.")
@file_option
@dry_run_option
@click.pass_obj
def record_command(
    app: App,
    interview_id: str,
    kind: str,
    on: str | None,
    decision_by: str | None,
    note: str | None,
    followup: str | None,
    to: str | None,
    file: Path | None,
    dry_run: bool,
) -> None:
    """Record news about an interview; shows what moves.

    Prints what changed in the plan, old -> new.

    KIND is one of replied, extended, rejected, offer, withdrawn, next-round, sent.

    \b
    calsync record acme-staff extended --decision-by "next Friday"
    calsync record acme-staff replied --on yesterday --note "second round in January"
    calsync record acme-staff sent --followup check_in
    """
    from calsync.businessdays import calendar_for
    from calsync.when import parse_day

    config = app.config
    path = file or config.interviews_file
    before = snapshot(read_text(path), path, config)
    interview = before.interview(interview_id)
    kind = _event_kind(kind)
    calendar = calendar_for(interview.country, interview.subdivision)
    day = _event_day(on, config, interview, calendar)
    fields: dict[str, Any] = {"date": day, "kind": kind}
    if kind == "sent":
        if decision_by:
            raise UserError("--decision-by goes with 'extended' or 'replied', not with 'sent'")
        fields.update(_sent_fields(interview, before, followup, to))
    else:
        if followup or to:
            raise UserError(f"--followup and --to go with 'sent', not with {kind!r}")
        if decision_by:
            if kind not in ("extended", "replied"):
                raise UserError(f"--decision-by goes with 'extended' or 'replied', not with {kind!r}")
            new_date = parse_day(decision_by, day, calendar, what="--decision-by")
            if new_date < day:
                raise UserError(f"--decision-by: {new_date} is before the event itself ({day})")
            fields["decision_by"] = new_date
        elif kind == "extended":
            raise UserError("'extended' needs the new date: --decision-by WHEN ('next Friday', '2026-12-11')")
    if note:
        fields["note"] = note
    _append_and_report(app, path, before, interview, fields, dry_run)


@click.command("done")
@click.argument("ref", metavar="REF")
@click.option("--on", "on", metavar="DATE", help="When it was sent (default today): 2026-12-02, yesterday, monday.")
@click.option("--note", metavar="TEXT", help="A note kept with the event.")
@file_option
@dry_run_option
@click.pass_obj
def done_command(app: App, ref: str, on: str | None, note: str | None, file: Path | None, dry_run: bool) -> None:
    """Mark a follow-up sent.

    Records a 'sent' event in the interview file.

    REF is the short reference `calsync add` and `calsync agenda` show: acme-staff/check-in,
    acme-staff/thank-you/dana-smith.
    """
    from calsync.businessdays import calendar_for
    from calsync.refs import resolve

    config = app.config
    path = file or config.interviews_file
    before = snapshot(read_text(path), path, config)
    followup = resolve(ref, before.followups)
    interview = followup.interview
    calendar = calendar_for(interview.country, interview.subdivision)
    day = _event_day(on, config, interview, calendar)
    to = followup.recipient.name if followup.recipient else None
    if _already_sent(before.text, interview.id, followup.kind.value, to, day):  # the same news twice: written once
        click.echo(f"Already recorded: {ref} sent on {day}. Nothing written.")
        return
    if followup.cancelled:
        click.echo(f"note: {ref} was cancelled in the plan; recording that it was sent anyway.", err=True)
    fields: dict[str, Any] = {"date": day, "kind": "sent", "followup": followup.kind.value, "to": to}
    if note:
        fields["note"] = note
    _append_and_report(app, path, before, interview, fields, dry_run)


def _already_sent(text: str, interview_id: str, followup: str, to: str | None, day: date) -> bool:
    """Whether the file already says that ``followup`` went to ``to`` on ``day`` (read from the TOML itself)."""
    import tomllib

    from calsync.interview_file import find_interview

    entries = tomllib.loads(text).get("interviews", [])
    events = entries[find_interview(entries, interview_id)].get("events", [])
    wanted = ("sent", followup, to, day)
    return any(
        (e.get("kind"), str(e.get("followup", "")).replace("-", "_"), e.get("to"), e.get("date")) == wanted
        for e in events
        if isinstance(e, dict)
    )


def _event_day(on: str | None, config, interview: Interview, calendar) -> date:
    """``--on`` (default today), not before the interview."""
    from calsync.when import parse_day

    day = parse_day(on, today(config), calendar, past=True, what="--on") if on else today(config)
    first = interview.start.astimezone(interview.timezone).date()
    if day < first:
        said = f"--on: {day}" if on else f"today ({day})"
        raise UserError(f"{said} is before the interview ({first}); give the day with --on")
    return day


def _event_kind(kind: str) -> str:
    wanted = kind.strip().lower().replace("_", "-")
    if wanted == "nextround":
        wanted = "next-round"
    if wanted in _KINDS:
        return wanted
    close = difflib.get_close_matches(wanted, _KINDS, n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UserError(f"unknown event kind {kind!r} (expected {' | '.join(_KINDS)}){hint}")


def _sent_fields(interview: Interview, before: Snapshot, followup: str | None, to: str | None) -> dict[str, Any]:
    if not followup:
        raise UserError(f"'sent' needs --followup KIND ({' | '.join(_FOLLOWUPS)})")
    name = followup.strip().lower().replace("-", "_")
    name = {"thankyou": "thank_you", "feedback": "feedback_request", "checkin": "check_in"}.get(name, name)
    if name not in _FOLLOWUPS:
        close = difflib.get_close_matches(name, _FOLLOWUPS, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UserError(f"--followup: unknown follow-up {followup!r} (expected {' | '.join(_FOLLOWUPS)}){hint}")
    names = [person.name for person in interview.interviewers]
    if to is not None:
        return {"followup": name, "to": _interviewer(to, names)}
    if name == "thank_you":
        if len(names) > 1:
            choices = ", ".join(repr(n) for n in names)
            raise UserError(f"a thank-you goes to one interviewer: say which with --to ({choices})")
        return {"followup": name, "to": names[0] if names else None}
    contact = interview.primary
    return {"followup": name, "to": contact.name if contact and name != "closing" else None}


def _interviewer(given: str, names: list[str]) -> str:
    from calsync.refs import slug

    for name in names:
        if given.strip().lower() == name.lower() or slug(given) == slug(name):
            return name
    by_word = [name for name in names if slug(given) in slug(name).split("-")]  # a first name or surname alone
    if len(by_word) == 1:
        return by_word[0]
    close = difflib.get_close_matches(given, names, n=2, cutoff=0.4)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    known = ", ".join(repr(n) for n in names) or "none listed"
    raise UserError(f"--to: no interviewer {given!r} (interviewers: {known}){hint}")


def _append_and_report(
    app: App, path: Path, before: Snapshot, interview: Interview, fields: dict[str, Any], dry_run: bool
) -> None:
    """Check the event against the loader and planner, write it, and print what changed in the plan."""
    from calsync.interview_file import append_event, with_event
    from calsync.plan_changes import changes

    new_text, line = with_event(before.text, interview.id, fields)
    after = snapshot(new_text, path, app.config)  # the loader's checks, before anything is written
    if not dry_run:
        line = append_event(path, interview.id, fields)
    what = _describe(fields)
    verb = "Would record" if dry_run else "Recorded"
    click.echo(f"{verb} {interview.id}: {what} ({path}:{line})")
    found = changes(before.followups, after.followups, interview.id)
    if not found:
        click.echo("The plan does not change.")
    for change in found:
        click.echo(f"  {change}")


def _describe(fields: dict[str, Any]) -> str:
    from calsync.when import short_day

    day: date = fields["date"]
    text = f"{fields['kind']} on {short_day(day)}"
    if fields.get("followup"):
        text = f"{fields['followup'].replace('_', '-')} sent on {short_day(day)}"
        if fields.get("to"):
            text += f" to {fields['to']}"
    if fields.get("decision_by"):
        text += f", decision by {short_day(fields['decision_by'])}"
    return text


def register(cli: click.Group) -> None:
    for command in (
        record_command,
        done_command,
    ):
        cli.add_command(command)
