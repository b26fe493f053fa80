"""``calsync init``: the config and a commented starter interview file, asked on a terminal or given as flags."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsync.commands._common import interactive, no_input_option
from calsync.errors import UserError

if TYPE_CHECKING:
    from calsync.cli import App

STARTER = """\
# Your interviews: one [[interviews]] table each, oldest first or in any order you like.
# `calsync add` appends to this file and keeps your comments; you can also edit it by hand.
# `calsync plan` shows the follow-ups. Every key is described in docs/interviews.md.
#
# [[interviews]]
# id = "acme-staff"                 # keep it stable: the reminders are tied to it
# company = "Acme Corp"
# role = "Staff Engineer"
# start = 2026-12-01T14:00:00       # wall time in `timezone`, with seconds
# end = 2026-12-01T14:45:00
# timezone = "{timezone}"
# timeline = "We'll get back to you within a week"   # what they said, verbatim
# follow_up = "email"               # or "phone"
#
# [[interviews.interviewers]]
# name = "Dana Smith"
# email = "dana@acme.example"
#
# [[interviews.events]]             # news: `calsync record acme-staff replied`
# date = 2026-12-07
# kind = "extended"
# decision_by = 2026-12-11
"""


@click.command("init")
@click.option("--timezone", "timezone", metavar="ZONE", help="Your time zone (default: the system's).")
@click.option("--country", metavar="CODE", help="Your public holidays: ISO code such as US, GB, DE.")
@click.option("--subdivision", metavar="CODE", help="A state or region's holidays too (with --country): CA, BY.")
@click.option("--interviews", "interviews", metavar="PATH", type=click.Path(path_type=Path, dir_okay=False),
              help="Where the interview file lives (default: your data directory).")  # fmt: skip
@click.option("--name", metavar="NAME", help="Your name, to sign the drafts.")
@click.option("--email", metavar="EMAIL", help="Your email address (left out of invitations' people).")
@no_input_option
@click.pass_obj
def init_command(
    app: App,
    timezone: str | None,
    country: str | None,
    subdivision: str | None,
    interviews: Path | None,
    name: str | None,
    email: str | None,
    no_input: bool,
) -> None:
    """Write the config and a starter interview file. Never overwrites a file.

    \b
    calsync init --country US --name "Alex Candidate" --email alex@example.com
    """
    from calsync import paths
    from calsync.commands.add import _country, _zone

    config_path = app.config_path or paths.config_file()
    if config_path.exists():
        raise UserError(f"{config_path}: a config is already there; edit it, or pass --config PATH for another")
    ask = interactive(no_input)
    detected = _system_zone()
    if timezone is None and ask:
        timezone = click.prompt("Your time zone", default=detected)
    timezone = _zone(timezone) if timezone else detected
    if country is None and ask:
        country = click.prompt("Country for public holidays (ISO code; empty for none)", default=_country_of(timezone)
                               or "", show_default=True).strip() or None  # fmt: skip
    country = _country(country) if country else None
    if subdivision and not country:
        raise UserError("--subdivision needs --country")
    if subdivision:
        from calsync.businessdays import calendar_for

        try:
            calendar_for(country, subdivision)
        except UserError:
            raise UserError(f"--subdivision: {country} has no subdivision {subdivision!r}") from None
    default_file = paths.data_dir() / "interviews.toml"
    if interviews is None and ask:
        interviews = Path(click.prompt("Interview file", default=str(default_file)))
    interviews = (interviews or default_file).expanduser()
    if name is None and ask:
        name = click.prompt("Your name (signs the drafts; empty to skip)", default="", show_default=False).strip()
    if email is None and ask:
        email = click.prompt("Your email (empty to skip)", default="", show_default=False).strip()
    if email and "@" not in email:
        raise UserError(f"--email: {email!r} is not an email address")
    text = config_text(timezone, country, subdivision, interviews.resolve(), name or None, email or None)
    _create(config_path, text.encode("utf-8"), 0o600)
    click.echo(f"Wrote the config: {config_path}")
    if _create(interviews, STARTER.format(timezone=timezone).encode("utf-8"), 0o600, keep_existing=True):
        click.echo(f"Wrote a starter interview file: {interviews}")
    else:
        click.echo(f"Kept the interview file already at {interviews}")
    click.echo("Next: calsync add   (or: calsync add --from-invite invite.ics)")


def config_text(
    timezone: str, country: str | None, subdivision: str | None, interviews: Path, name: str | None, email: str | None
) -> str:
    """The config, commented, through tomlkit (so every value is quoted right)."""
    import tomlkit

    doc = tomlkit.document()
    doc.add(tomlkit.comment("calsync's config. Every setting is described in the README and docs/."))
    doc.add(tomlkit.nl())
    doc.add("timezone", timezone)
    doc["timezone"].comment("your zone: interviews without their own `timezone` are in it")
    if country:
        doc.add("country", country)
        doc["country"].comment("public holidays: follow-ups skip them")
    if subdivision:
        doc.add("subdivision", subdivision)
    doc.add("interviews", str(interviews))
    doc["interviews"].comment("the interview file")
    me = tomlkit.table()
    me.comment("you: the name that signs the drafts, the address left out of an invitation's people")
    if name:
        me.add("name", name)
    if email:
        me.add("email", email)
    doc.add(tomlkit.nl())
    doc.add("me", me)
    doc.add(tomlkit.nl())
    doc.add(tomlkit.comment("Calendars to sync (without any, `calsync sync` writes a vdir folder in your data dir):"))
    doc.add(tomlkit.comment("[targets.phone]"))
    doc.add(tomlkit.comment('provider = "caldav"            # see docs/providers/caldav.md'))
    doc.add(tomlkit.comment('url = "https://caldav.fastmail.com/"'))
    return tomlkit.dumps(doc)


def _system_zone() -> str:
    from calsync.zones import zone_named

    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:
        name = None
    if name in ("Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu"):
        name = "UTC"
    return name if name and zone_named(name) is not None else "UTC"


def _country_of(zone: str) -> str | None:
    """The country of a zone, from the zone table tzdata ships (``America/Chicago`` -> US)."""
    import importlib.resources

    try:
        table = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None
    for row in table.splitlines():
        fields = row.split("\t")
        if len(fields) >= 3 and not row.startswith("#") and fields[2] == zone:
            return fields[0]
    return None


def _create(path: Path, data: bytes, mode: int, keep_existing: bool = False) -> bool:
    from calsync.files import create_exclusive

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        created = create_exclusive(path, data, mode)
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror}") from None
    if not created and not keep_existing:
        raise UserError(f"{path}: a file is already there; not overwritten")
    return created


def register(cli: click.Group) -> None:
    for command in (init_command,):
        cli.add_command(command)
