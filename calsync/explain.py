"""``calsync explain "PHRASE"``: how the timeline grammar reads a phrase -- the words used (and by which rule), the
words ignored, the words not understood, and D. A thin click shell over :func:`calsync.timeline.read`; its
``--json`` form is the stable one (tests and plugin authors use it)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

import click

from calsync.errors import UserError


@click.command("explain")
@click.argument("phrase")
@click.option("--on", "said_on", metavar="DATE", help="The interview's date (default: today), e.g. 2026-11-20.")
@click.option("--country", metavar="CC", help="Public holidays of this country (default: the config's).")
@click.option("--tz", "zone_name", metavar="ZONE", help="The interview's zone (default: the config's).")
@click.option("--json", "as_json", is_flag=True, help="Print the reading as JSON.")
@click.pass_obj
def explain_command(app, phrase: str, said_on: str | None, country: str | None, zone_name: str | None, as_json: bool):
    """Show how a timeline phrase is read, e.g. calsync explain "within a week, two at the latest" --on 2026-11-20."""
    from calsync.businessdays import calendar_for
    from calsync.timeline import read
    from calsync.zones import zone_named

    config = app.config
    name = zone_name or config.timezone
    zone = zone_named(name)
    if zone is None:
        raise UserError(f"--tz: unknown time zone {name!r} (an IANA name such as 'America/Chicago')")
    try:
        day = date.fromisoformat(said_on) if said_on else datetime.now(zone).date()
    except ValueError:
        raise UserError(f"--on: expected a date such as 2026-11-20, got {said_on!r}") from None
    country = country or config.country
    calendar = calendar_for(country, config.subdivision if country == config.country else None)
    # Hours count from the interview's end: without one, an hour after noon.
    ended_at = datetime.combine(day, time(12), tzinfo=zone) + timedelta(hours=1)
    reading = read(phrase, day, ended_at, calendar)
    result = {"on": day.isoformat(), "country": country, "timezone": name, **reading.as_dict()}
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    click.echo(f"phrase:     {phrase}")
    click.echo(f"normalized: {result['normalized']}")
    for piece in reading.pieces:
        modifier = f" ({piece.modifier})" if piece.modifier else ""
        when = piece.date.isoformat() if piece.date else "no date"
        click.echo(f"used:       {piece.words!r} -> {piece.rule}{modifier}: {when}")
    if reading.ignored:
        click.echo(f"ignored:    {' '.join(reading.ignored)}")
    if reading.unknown:
        click.echo(f"unknown:    {', '.join(reading.unknown)}")
    if reading.date is not None:
        click.echo(f"D:          {reading.date.isoformat()} ({reading.date:%A}, by {reading.rule}; the latest wins)")
    else:
        click.echo("D:          not understood: the plan assumes the interview + default_deadline_days")
