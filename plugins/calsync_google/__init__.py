"""The Google Calendar provider: ``provider = "google"`` targets and the ``calsync auth TARGET`` command.

Importing this module stays cheap: the Google client libraries load only when a google target is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from calsync import hookimpl
from calsync.errors import UserError

if TYPE_CHECKING:
    from calsync.provider import Provider


def _provider_class() -> type[Provider]:
    from calsync_google.provider import GoogleProvider

    return GoogleProvider


@hookimpl
def calsync_register_providers(register):
    register("google", _provider_class())


@hookimpl
def calsync_register_commands(cli: click.Group) -> None:
    cli.add_command(auth_command)


@click.command("auth")
@click.argument("target_name", metavar="TARGET")
@click.option(
    "--no-browser",
    is_flag=True,
    help="Do not open a browser: print the URL (for a headless machine; forward the port with ssh -L).",
)
@click.option("--port", type=int, default=0, show_default=True, help="Local port for the redirect (0: any free).")
@click.pass_context
def auth_command(ctx: click.Context, target_name: str, no_browser: bool, port: int) -> None:
    """Authorize calsync to write to a Google calendar (OAuth, once per target)."""
    from calsync_google import auth

    target = _find_target(ctx, target_name)
    if target.provider != "google":
        raise UserError(f"target {target_name!r} uses provider {target.provider!r}, not google")
    if target.option("auth", "oauth") == "service_account":
        raise UserError(f"target {target_name!r} uses a service account: it needs no `calsync auth`")
    auth.run_flow(target, open_browser=not no_browser, echo=click.echo, port=port)


def _find_target(ctx: click.Context, name: str):
    from calsync.cli import App  # the CLI's context object

    app = ctx.find_object(App)
    if app is None:
        raise UserError("no configuration loaded")
    config = app.config
    try:
        return config.targets[name]
    except KeyError:
        known = ", ".join(sorted(config.targets)) or "none"
        raise UserError(f"no target named {name!r} in the config (targets: {known})") from None
