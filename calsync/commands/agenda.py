"""``calsync agenda``: what to do, overdue first, then today, then the next days, in your own zone."""

from __future__ import annotations

from pathlib import Path

import click

from calsync.commands.common import echo_json, now_option, planned, resolve_now, table, user_zone, when_text


def render_agenda(result) -> str:
    """The agenda as text: one section per heading, one line per follow-up."""
    titles = {
        "overdue": "Overdue",
        "today": f"Today, {result.now:%a} {result.now.day} {result.now:%b}",
        "upcoming": f"Next {result.days} day(s)",
    }
    blocks = []
    for name, title in titles.items():
        entries = result.section(name)
        if not entries:
            continue
        rows = []
        for entry in entries:
            f = entry.followup
            what = entry.what
            if f.recipient is not None:
                what += f" to {f.recipient.name}"
            if f.medium is not None:
                what += f" by {f.medium.value}"
            if entry.their_time is not None:
                zone = getattr(entry.their_time.tzinfo, "key", "")
                day = "" if entry.their_time.date() == entry.when.date() else f" {entry.their_time:%a}"
                what += f" ({entry.their_time:%H:%M}{day} their time, {zone})"
            rows.append((when_text(entry.when), what, entry.ref))
        blocks.append(f"{title}\n{table(rows, '  ')}")
    if not blocks:
        return f"Nothing to do in the next {result.days} day(s)."
    return "\n\n".join(blocks)


@click.command("agenda")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, dir_okay=False), help="The interview file.")
@click.option("--days", default=7, show_default=True, type=click.IntRange(0, 366), help="How many days ahead.")
@click.option("--json", "as_json", is_flag=True, help="Print the agenda as JSON.")
@now_option
@click.pass_obj
def agenda_command(app, file: Path | None, days: int, as_json: bool, now_text: str | None) -> None:
    """What to do: overdue follow-ups, today's, and the next days' (in your zone).

    Each line ends with a reference for `calsync draft` and `calsync done`, e.g. acme-staff/check-in.
    """
    from calsync.views import agenda

    zone = user_zone(app)
    result = agenda(planned(app, file).followups, resolve_now(now_text, zone), zone, days)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(render_agenda(result))


def register(cli: click.Group) -> None:
    cli.add_command(agenda_command)
