"""What the view commands share: the plan of the configured file, the user's zone, "now", and JSON output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from calsync.errors import UserError

#: ``--now`` (hidden): the instant the views are computed for; tests and "what will tomorrow look like" use it.
now_option = click.option(
    "--now",
    "now_text",
    hidden=True,
    help="Pretend it is this ISO date-time (in your zone unless it has an offset).",
)


def user_zone(app):
    from calsync.zones import zone_named

    zone = zone_named(app.config.timezone)
    if zone is None:  # config.py checks it; the platform default may still be odd
        raise UserError(f"unknown time zone {app.config.timezone!r}")
    return zone


def resolve_now(text: str | None, zone) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--now: expected an ISO date-time such as 2026-12-01T09:00, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def planned(app, file):
    """The plan, with its warnings on stderr."""
    result = app.plan(file)
    for warning in result.warnings:
        click.echo(f"calsync: warning: {warning}", err=True)
    return result


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def when_text(moment: datetime) -> str:
    """``Mon 30 Nov 10:00``"""
    return f"{moment:%a} {moment.day} {moment:%b %H:%M}"


def table(rows: list[tuple[str, ...]], indent: str = "") -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )
