"""``calsync add``: one interview into the interview file, from flags, a calendar invitation, or questions."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsync.commands._common import (
    dry_run_option,
    file_option,
    interactive,
    no_input_option,
    read_text,
    snapshot,
    today,
)
from calsync.errors import UserError

if TYPE_CHECKING:
    from calsync.capture import Answers
    from calsync.cli import App
    from calsync.config import Config
    from calsync.invite import Invite
    from calsync.model import Interview


@click.command("add")
@click.option("--company", help="The company (asked on a terminal when missing).")
@click.option("--role", help="The job title.")
@click.option("--at", "at", metavar="WHEN", help="When it starts: '2026-12-01 14:00', 'tomorrow 2pm'.")
@click.option("--duration", metavar="LENGTH", help="How long: 45m, 1h, 1h30m (default 1h).")
@click.option("--end", "end", metavar="WHEN", help="When it ends, instead of --duration.")
@click.option("--tz", "tz", metavar="ZONE", help="The interview's time zone (default: the config's).")
@click.option(
    "--interviewer",
    "interviewers",
    multiple=True,
    metavar="'NAME <EMAIL>'",
    help="Someone you met; repeat for each. The first is the check-in contact unless --primary says otherwise.",
)
@click.option("--phone", metavar="NUMBER", help="The primary contact's phone number.")
@click.option("--primary", metavar="NAME", help="Which interviewer gets the check-ins.")
@click.option("--timeline", help="What they said about the decision, verbatim: 'within a week'.")
@click.option("--decision-by", "decision_by", metavar="WHEN", help="The decision date, or a phrase: 'next Friday'.")
@click.option("--medium", type=click.Choice(["email", "phone"]), help="How they prefer to be followed up.")
@click.option("--requested", multiple=True, metavar="THING", help="What they asked you to send; repeatable.")
@click.option("--approved/--not-approved", "approved", default=None, help="Whether they agreed to a follow-up.")
@click.option("--country", metavar="CODE", help="Public holidays: ISO code (default: the config's).")
@click.option("--subdivision", metavar="CODE", help="Public holidays of a state or region (with --country).")
@click.option("--id", "ident", metavar="ID", help="The interview's id (default: from company and role).")
@click.option(
    "--from-invite",
    "invite",
    type=click.File("rb"),
    metavar="INVITE.ics",
    help="Take the time and the people from a calendar invitation ('-' reads standard input).",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@no_input_option
@dry_run_option
@file_option
@click.pass_obj
def add_command(app: App, invite, yes: bool, no_input: bool, dry_run: bool, file: Path | None, **given) -> None:
    """Add an interview, from flags, an invitation or questions.

    Shows how its timeline reads and the follow-ups it plans, then appends it to the interview file.

    \b
    calsync add --company "Acme Corp" --role "Staff Engineer" --at "2026-12-01 14:00" --duration 45m \\
        --interviewer "Dana Smith <dana@acme.example>" --timeline "within a week"
    calsync add --from-invite ~/Downloads/invite.ics --timeline "by the end of next week"
    """
    config = app.config
    path = file or config.interviews_file
    ask = interactive(no_input)
    invitation = _read_invite(invite, config, given["tz"]) if invite is not None else None
    answers = _answers(config, given, invitation, ask)
    old_text = read_text(path, missing_ok=True)
    before = snapshot(old_text, path, config)
    from calsync.capture import interview_fields
    from calsync.interview_file import append_interview, with_interview

    fields = interview_fields(answers, [i.id for i in before.interviews])
    new_text, line = with_interview(old_text, fields)
    after = snapshot(new_text, path, config)  # the loader's own checks, before anything is written
    interview = next(i for i in after.interviews if i.id == fields["id"])
    click.echo(_summary(interview, config, after, given))
    if dry_run:
        click.echo(f"(dry run: nothing written to {path})")
        return
    if ask and not yes and not click.confirm(f"Add it to {path}?", default=True):
        click.echo("Nothing written.")
        return
    line = append_interview(path, fields)
    click.echo(f"Added {interview.id} to {path}:{line}")


def _read_invite(stream, config: Config, tz: str | None) -> Invite:
    from calsync.invite import read_invite

    data = stream.read()
    me = [value for value in (config.me.email, config.me.name) if value]
    if not config.me.email:
        where = config.path or "the config"
        click.echo(f"note: no [me] email in {where}: your own address may be taken for an interviewer", err=True)
    return read_invite(data, me=me, default_zone=_zone(tz) if tz else config.timezone)


def _answers(config: Config, given: dict, invite: Invite | None, ask: bool) -> Answers:
    from calsync.businessdays import calendar_for
    from calsync.capture import Answers, choose_primary
    from calsync.when import parse_day
    from calsync.zones import zone_named

    zone_name = _zone(given["tz"]) if given["tz"] else (invite.zone if invite else config.timezone)
    if invite is not None and not invite.zone_from_invite and not given["tz"]:
        click.echo(f"note: the invitation gives no zone of its own; times shown in {zone_name} (--tz to change)",
                   err=True)  # fmt: skip
    country = _country(given["country"]) if given["country"] else None
    # The config's subdivision goes with the config's country only, as in the loader.
    same = country is None or country == (config.country or "").upper()
    calendar = calendar_for(country or config.country, given["subdivision"] or (config.subdivision if same else None))
    company, role = _company_and_role(given, invite, ask)
    start, end = _times(config, given, invite, zone_named(zone_name), calendar, ask)
    people = choose_primary(_people(given, invite, ask), given["primary"], given["phone"])
    timeline = given["timeline"]
    if timeline is None and ask and not given["decision_by"]:
        timeline = _prompt("What did they say about the timeline? (empty: not asked)", default="", required=False)
    medium = given["medium"]
    if medium is None and ask:
        medium = click.prompt("Follow up by", type=click.Choice(["email", "phone"]), default="email")
    decision_by = None
    if given["decision_by"]:
        decision_by = parse_day(given["decision_by"], start.date(), calendar, what="--decision-by")
        if decision_by < start.date():
            raise UserError(f"--decision-by: {decision_by} is before the interview ({start.date()})")
    return Answers(
        company=company,
        role=role or None,
        start=start,
        end=end,
        timezone=zone_name,
        interviewers=people,
        timeline=timeline or None,
        decision_by=decision_by,
        medium=medium,
        requested=list(given["requested"]),
        approved=given["approved"],
        country=country,
        subdivision=given["subdivision"],
        id=given["ident"],
    )


def _company_and_role(given: dict, invite: Invite | None, ask: bool) -> tuple[str, str | None]:
    """From the flags; else guessed from the invitation (offered as the default on a terminal, said on stderr
    elsewhere); else asked."""
    from calsync.invite import company_from

    company = given["company"]
    if not company and invite is not None:
        guess = company_from(invite)
        if ask:
            company = _prompt("Company", default=guess)
        elif guess:
            company = guess
            click.echo(f"company: {guess} (from the invitation's addresses; --company to set)", err=True)
    company = company or _required("Company", "--company", ask)
    role = given["role"]
    if role is None and ask:
        role = _prompt("Role", default=_role_from(invite, company) or "", required=False)
    elif role is None and (guess := _role_from(invite, company)):
        role = guess
        click.echo(f"role: {guess} (from the invitation's title; --role to set)", err=True)
    return company, role


def _times(config: Config, given: dict, invite: Invite | None, zone, calendar, ask: bool) -> tuple[datetime, datetime]:
    """Start and end as wall times in ``zone`` (an end in a repeated DST hour keeps its offset)."""
    from calsync.capture import end_after, instant
    from calsync.when import parse_duration, parse_moment

    if given["end"] and given["duration"]:
        raise UserError("give --end or --duration, not both")
    if given["at"]:
        start = parse_moment(given["at"], today(config), calendar)
    elif invite is not None:
        start = invite.start.astimezone(zone).replace(tzinfo=None)
    else:
        start = parse_moment(_required("When (e.g. 2026-12-01 14:00)", "--at", ask), today(config), calendar)
    if given["end"]:
        end = parse_moment(given["end"], start.date(), calendar, what="--end")
    elif given["duration"]:
        end = end_after(start, parse_duration(given["duration"]), zone)
    elif invite is not None:  # the invitation's length, from wherever the interview starts
        end = end_after(start, invite.end - invite.start, zone)
    else:
        length = _prompt("How long", default="1h") if ask else "1h"
        end = end_after(start, parse_duration(length), zone)
    if instant(end, zone) <= instant(start, zone):
        raise UserError(f"the interview ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})")
    return start, end


def _people(given: dict, invite: Invite | None, ask: bool) -> list:
    """The --interviewer flags; else the invitation's people; else asked, one at a time."""
    from calsync.capture import Person, parse_person

    people = [parse_person(spec) for spec in given["interviewers"]]
    if not people and invite is not None:
        people = [Person(p.name, p.email) for p in invite.people]
    if not people and ask:
        while spec := _prompt("Interviewer (Name <email>; empty when done)", default="", required=False):
            try:
                people.append(parse_person(spec))
            except UserError as exc:
                click.echo(f"  {exc}", err=True)
    return people


def _prompt(text: str, default: str | None = None, required: bool = True) -> str:
    if not required:
        return click.prompt(text, default=default or "", show_default=bool(default)).strip()
    while True:
        value = click.prompt(text, default=default or None).strip()
        if value:
            return value


def _required(question: str, flag: str, ask: bool) -> str:
    if ask:
        return _prompt(question)
    where = "no terminal to ask on" if not sys.stdin.isatty() else "--no-input"
    raise UserError(f"missing {flag} ({where})")


def _role_from(invite: Invite | None, company: str) -> str | None:
    """A guess at the role from the invitation's title: "Interview: Alex / Staff Engineer" -> "Staff Engineer"."""
    if invite is None or not invite.summary:
        return None
    import re

    parts = [p.strip() for p in re.split(r"\s+[-–—/|:]\s+|:\s+", invite.summary) if p.strip()]
    parts = [p for p in parts if company.lower() not in p.lower() and "interview" not in p.lower()]
    titled = [p for p in parts if _TITLE_WORDS & set(re.findall(r"[a-z]+", p.lower()))]
    if titled:
        return titled[0]
    return parts[0] if len(parts) == 1 and len(parts[0].split()) <= 5 else None


# Words that make a part of an invitation's title look like a job title rather than a name or a stage.
_TITLE_WORDS = {"engineer", "developer", "manager", "designer", "analyst", "scientist", "architect", "lead",
                "director", "administrator", "consultant", "specialist", "intern", "sre", "devops", "programmer",
                "researcher", "recruiter", "officer", "head", "vp", "product", "engineering", "associate"}  # fmt: skip


def _zone(name: str) -> str:
    from calsync.suggest import zone_hint
    from calsync.zones import zone_named

    if zone_named(name) is not None and ("/" in name or name == "UTC"):
        return name
    raise UserError(f"--tz: unknown time zone {name!r}{zone_hint(name)}")


def _country(code: str) -> str:
    from calsync.suggest import country_hint, known_country

    if known_country(code):
        return code.upper()
    raise UserError(f"--country: no public-holiday calendar for {code!r}{country_hint(code)}")


def _summary(interview: Interview, config: Config, after, given: dict) -> str:
    from calsync.plan_changes import LABEL
    from calsync.refs import ref_of
    from calsync.when import short_day

    start = interview.start
    length = int((interview.end.astimezone(start.tzinfo) - start).total_seconds() // 60)
    lines = [
        f"{interview.title} — {short_day(start)} {start.year} {start:%H:%M}, {length} min, {interview.timezone.key}"
        f"  (id {interview.id})"
    ]
    mine = [f for f in after.followups if f.interview.id == interview.id]
    deadline, assumed = mine[0].deadline, mine[0].assumed  # every follow-up carries D (the closing at least)
    said = short_day(deadline)
    if interview.decision_by is not None:
        lines.append(f"decision by {said} — given (--decision-by {given['decision_by']!r})")
    elif not assumed:
        lines.append(f"decision by {said} — from {interview.timeline!r}")
    else:
        why = f"{interview.timeline!r} is not a timeline calsync reads" if interview.timeline else "no timeline given"
        lines.append(
            f"decision by {said} — assumed: {why}, so {config.policy.default_deadline_days} days after the "
            "interview (--timeline or --decision-by to be exact)"
        )
    lines.append("Follow-ups:")
    for f in mine:
        due = f.due
        what = LABEL[f.kind] + (f" to {f.recipient.name}" if f.recipient and f.kind.value != "closing" else "")
        zone = "" if due.tzinfo == start.tzinfo else f" {getattr(due.tzinfo, 'key', '')}"
        lines.append(f"  {short_day(due)} {due:%H:%M}{zone}  {what}  ({ref_of(f)})")
    if not interview.interviewers:
        lines.append("  (no interviewer: no thank-you; the check-in has nobody to go to — add one with --interviewer)")
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    for command in (add_command,):
        cli.add_command(command)
