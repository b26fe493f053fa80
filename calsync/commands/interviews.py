"""``calsync list`` (one row per interview) and ``calsync show ID`` (one interview's story)."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from calsync.commands.common import echo_json, now_option, planned, resolve_now, table, user_zone, when_text
from calsync.errors import UserError

file_option = click.option(
    "--file", "-f", "file", type=click.Path(path_type=Path, dir_okay=False), help="The interview file."
)


def render_rows(rows, zone) -> str:
    from calsync.refs import ref_of
    from calsync.views import LABELS

    if not rows:
        return "No interviews yet (calsync add)."
    lines = [("ID", "COMPANY", "ROLE", "STAGE", "NEXT")]
    for row in rows:
        f = row.next
        if f is None:
            upcoming = "-"
        else:
            mark = " (overdue)" if row.next_state == "overdue" else ""
            upcoming = f"{when_text(f.due.astimezone(zone))} {LABELS[f.kind]}{mark}  {ref_of(f)}"
        lines.append((row.interview.id, row.interview.company, row.interview.role or "-", row.stage, upcoming))
    return table(lines)


@click.command("list")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@now_option
@click.pass_obj
def list_command(app, file: Path | None, as_json: bool, now_text: str | None) -> None:
    """One line per interview: company, role, where it stands, and the next follow-up."""
    from calsync.views import interview_rows

    zone = user_zone(app)
    interviews = app.interviews(file)
    rows = interview_rows(interviews, planned(app, file).followups, resolve_now(now_text, zone))
    if as_json:
        echo_json([row.as_dict() for row in rows])
    else:
        click.echo(render_rows(rows, zone))


_MARKS = {"done": "✓", "overdue": "!", "due": "•", "planned": " ", "cancelled": "x"}


def render_story(result) -> str:
    iv = result.interview
    lines = [f"{iv.title} ({iv.id}): {result.stage}"]
    rows = []
    for line in result.lines:
        when = when_text(line.when) if hasattr(line.when, "hour") else f"{line.when:%a} {line.when.day} {line.when:%b}"
        state = f"{_MARKS.get(line.state, ' ')} {line.state}" if line.state else ""
        rows.append((when, line.what, state, line.detail, line.ref or ""))
    lines.append(table(rows, "  "))
    return "\n".join(lines)


@click.command("show")
@click.argument("ident", metavar="ID")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON.")
@now_option
@click.pass_obj
def show_command(app, ident: str, file: Path | None, as_json: bool, now_text: str | None) -> None:
    """One interview's story: interview, news, deadline, check-in, retry, feedback — each done, due, overdue,
    planned or cancelled."""
    from calsync.views import story

    zone = user_zone(app)
    interviews = {iv.id: iv for iv in app.interviews(file)}
    if ident not in interviews:
        close = difflib.get_close_matches(ident, list(interviews), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(interviews) or 'none'}"
        raise UserError(f"no interview with id {ident!r} ({hint})")
    result = story(interviews[ident], planned(app, file).followups, resolve_now(now_text, zone), zone)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(render_story(result))


def register(cli: click.Group) -> None:
    cli.add_command(list_command)
    cli.add_command(show_command)
