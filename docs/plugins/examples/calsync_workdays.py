"""A command plugin: `calsync workdays 2026-11-20 3 --country US` says which day is 3 business days later."""

from __future__ import annotations

import click

from calsync import calendar_for, hookimpl


@click.command("workdays")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("count", type=click.IntRange(min=0))
@click.option("--country", help="ISO country code for public holidays (default: weekdays only).")
def workdays_command(start, count: int, country: str | None) -> None:
    """Print the date COUNT business days after START (what "in COUNT business days" means to calsync)."""
    calendar = calendar_for(country, None)
    click.echo(calendar.add(start.date(), count).isoformat())


@hookimpl
def calsync_register_commands(cli: click.Group) -> None:
    cli.add_command(workdays_command)
