"""``calsync draft REF``: the message to send (or the call to make), ready to copy; ``--open`` opens it."""

from __future__ import annotations

from pathlib import Path

import click

from calsync.commands.common import planned
from calsync.errors import UserError


@click.command("draft")
@click.argument("ref")
@click.option("--file", "-f", "file", type=click.Path(path_type=Path, dir_okay=False), help="The interview file.")
@click.option("--open", "open_link", is_flag=True, help="Open the mailto:/tel: link with your mail or phone app.")
@click.pass_obj
def draft_command(app, ref: str, file: Path | None, open_link: bool) -> None:
    """Print the ready-to-send text of a follow-up: To, Subject and body, or the number and the call script.

    Example: calsync draft acme-staff/check-in --open
    """
    from calsync.refs import resolve
    from calsync.templates import Templates

    followup = resolve(ref, planned(app, file).followups)
    draft = Templates(app.config.templates, app.config.me).draft(followup)
    click.echo(draft.text(), nl=False)
    if open_link:
        if draft.link is None:
            raise UserError(f"{ref}: no {'email address' if draft.medium else 'address'} on file to open")
        if click.launch(draft.link) != 0:
            raise UserError(f"could not open {draft.link.split(':', 1)[0]}: link (no handler on this system?)")


def register(cli: click.Group) -> None:
    cli.add_command(draft_command)
