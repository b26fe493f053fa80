"""The ``calsync`` command line. Heavy modules (providers, icalendar, holidays) load inside the commands."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from calsync.errors import UserError, one_line

if TYPE_CHECKING:
    from calsync.config import Config
    from calsync.model import Interview
    from calsync.planner import Plan


@dataclass
class App:
    """What every command shares: the config (loaded on first use) and the ``--file`` override."""

    config_path: Path | None = None
    debug: bool = False
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        if self._config is None:
            from calsync.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def interviews(self, file: Path | None) -> list[Interview]:
        from calsync.interviews import load_interviews

        config = self.config
        path = file or config.interviews_file
        return load_interviews(path, config.timezone, config.country, config.subdivision)

    def plan(self, file: Path | None) -> Plan:
        return self.plan_of(self.interviews(file))

    def plan_remembering(self, file: Path | None) -> Plan:
        """:meth:`plan`, with the interviews unchanged since the last call recalled (see :mod:`calsync.planmemo`)."""
        from calsync.planmemo import plan_file
        from calsync.timeline import keep_phrases

        config = self.config
        path = file or config.interviews_file
        result = plan_file(path, config.policy, config.timezone, config.country, config.subdivision)
        keep_phrases()
        return result

    def plan_of(self, interviews: list[Interview]) -> Plan:
        from calsync.planner import hook_adjuster, plan
        from calsync.timeline import keep_phrases

        result = plan(interviews, self.config.policy, adjust=hook_adjuster())
        keep_phrases()  # the phrases read, for the next run (the cache dir's phrase book)
        return result


def warn(message: str) -> None:
    """A warning on stderr: one line, of a readable length."""
    click.echo(f"calsync: warning: {one_line(message)}", err=True)


def error(message: str) -> None:
    """An error on stderr: one line, of a readable length."""
    click.echo(f"calsync: error: {one_line(message)}", err=True)


class CalsyncGroup(click.Group):
    """Adds the plugins' commands on first need, and turns every :class:`UserError` into one line on stderr and
    exit status 2."""

    _plugin_commands_added = False

    def _add_plugin_commands(self) -> None:
        if self._plugin_commands_added:
            return
        self._plugin_commands_added = True
        from calsync.plugins import load_plugins

        load_plugins().hook.calsync_register_commands(cli=self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:  # built-in commands need no plugin loading
            self._add_plugin_commands()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            if ctx.find_object(App) is not None and ctx.find_object(App).debug:
                import traceback

                click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
            error(str(exc))
            ctx.exit(2)
        except ModuleNotFoundError as exc:
            from calsync.extras import missing_extra

            message = missing_extra(exc)
            if message is None:
                raise
            error(message)
            ctx.exit(2)


def _disable_plugins(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """``-p no:NAME``: eager, so that it applies before a plugin command is looked up."""
    from calsync.plugins import disable

    names = []
    for value in values:
        if not value.startswith("no:") or not value[3:]:
            raise click.BadParameter(f"expected no:NAME (to disable the plugin NAME), got {value!r}")
        names.append(value[3:])
    disable(names)
    return values


file_option = click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The interview file (default: `interviews` in the config).",
)


@click.group(cls=CalsyncGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="CALSYNC_CONFIG",
    help="The config file (default: $CALSYNC_CONFIG, then the platform's config dir).",
)
@click.option(
    "-p",
    "disabled",
    multiple=True,
    metavar="no:NAME",
    is_eager=True,
    expose_value=False,
    callback=_disable_plugins,
    help="Do not load the plugin NAME (repeatable; also CALSYNC_DISABLE_PLUGINS=a,b).",
)
@click.option("--debug", is_flag=True, envvar="CALSYNC_DEBUG", help="Show the traceback behind an error.")
@click.version_option(package_name="calsync")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, debug: bool) -> None:
    """Plan the follow-ups after your job interviews and keep them in your calendars."""
    ctx.obj = App(config_path, debug=debug)


@cli.command("plan")
@file_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as a JSON list.")
@click.pass_obj
def plan_command(app: App, file: Path | None, as_json: bool) -> None:
    """Show every follow-up to make, and when."""
    from calsync.report import plan_rows, plan_table

    result = app.plan(file)
    for warning in result.warnings:
        warn(warning)
    if as_json:
        click.echo(json.dumps(plan_rows(result.followups), indent=2, ensure_ascii=False))
    else:
        click.echo(plan_table(result.followups))


def _decorate():
    """The plugins' ``calsync_decorate_component`` as one function, with the ``cache_key`` of their declared inputs
    (None when one declares none: nothing is cached); None when no plugin decorates."""
    from calsync.plugins import load_plugins

    hooks = load_plugins().hook
    decorating = {impl.plugin_name for impl in hooks.calsync_decorate_component.get_hookimpls()}
    if not decorating:
        return None
    hook = hooks.calsync_decorate_component

    def decorate(component, followup) -> None:
        hook(component=component, followup=followup)

    declaring = {impl.plugin_name for impl in hooks.calsync_decoration_inputs.get_hookimpls()}
    declared = hooks.calsync_decoration_inputs()
    valid = all(isinstance(value, str) for value in declared)
    decorate.cache_key = json.dumps(sorted(declared)) if decorating <= declaring and valid else None  # type: ignore[attr-defined]
    return decorate


def _templates(app: App):
    from calsync.templates import Templates

    return Templates(app.config.templates, app.config.me)


@cli.command("export")
@file_option
@click.option(
    "--output",
    "-o",
    "output",
    default="-",
    show_default=True,
    type=click.Path(path_type=Path, allow_dash=True),
    help="Where to write the .ics ('-' for standard output).",
)
@click.option("--todo", is_flag=True, help="Write VTODOs (tasks with a due time) instead of VEVENTs.")
@click.pass_obj
def export_command(app: App, file: Path | None, output: Path, todo: bool) -> None:
    """Write the whole plan as one calendar, for importing by hand.

    Cancelled follow-ups are included as STATUS:CANCELLED, so re-importing an updated file updates a calendar
    that has the old one.
    """
    from datetime import UTC, datetime

    from calsync.files import write_output
    from calsync.render import render_calendar

    result = app.plan(file)
    for warning in result.warnings:
        warn(warning)
    data = render_calendar(
        result.followups,
        component="todo" if todo else "event",
        alarm_minutes=app.config.policy.alarm_minutes(),
        templates=_templates(app),
        decorate=_decorate(),
        now=datetime.now(UTC),  # the export's clock: a follow-up already due gets no alarm
    )
    if str(output) == "-":
        click.echo(data, nl=False)  # bytes go to the binary stream untouched
        return
    try:
        write_output(output, data)
    except OSError as exc:
        raise UserError(f"{output}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"Wrote {len(result.followups)} follow-up(s) to {output}", err=True)


@cli.command("sync")
@click.argument("targets", nargs=-1)
@file_option
@click.option("--dry-run", "-n", is_flag=True, help="Show what would change; write nothing anywhere.")
@click.option("--force", is_flag=True, help="Overwrite items changed on the target; pass the safety checks.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="Print one line per write.")
@click.option("--wait", is_flag=True, help="If another sync of a target is running, wait for it however long.")
@click.option("--adopt", is_flag=True, help="Take over the calsync items of a target whose sync state was lost.")
@click.option(
    "--rebuild-state", is_flag=True, help="Move the target's sync state aside (a damaged one) and rebuild it."
)
@click.pass_obj
def sync_command(
    app: App,
    targets: tuple[str, ...],
    file: Path | None,
    dry_run: bool,
    force: bool,
    as_json: bool,
    wait: bool,
    adopt: bool,
    rebuild_state: bool,
    verbose: bool,
) -> None:
    """Bring the configured calendars in step with the plan (no TARGET: all of them).

    With no target configured, syncs a vdir folder in your data directory, which needs no server. Exit status: 0
    all written, 1 some items refused by a target (listed; the rest is written), 2 bad input or a target failed.
    One sync per target runs at a time: another waits `lock_wait` seconds (config), or with --wait until it is done.
    """
    from calsync.report import progress_printer, sync_summary
    from calsync.sync.engine import sync_target

    config = app.config
    chosen = [config.target(name) for name in targets] if targets else config.default_targets()
    result = app.plan_remembering(file)
    for warning in result.warnings:
        warn(warning)
    reports, failed = [], 0
    templates, decorate = _templates(app), _decorate()
    # To-dos completed on a phone are recorded as sent; the next targets get the plan that follows.
    current: dict[str, Any] = {"interviews": None, "followups": result.followups}

    def recorder(target_name: str):
        def on_completed(found):
            from calsync.completions import record

            interviews = current["interviews"] or app.interviews(file)  # read in full only when needed
            current["interviews"], _done = record(interviews, found, target_name, write=not dry_run)
            current["followups"] = app.plan_of(current["interviews"]).followups
            return current["followups"]

        return on_completed

    for target in chosen:
        try:
            report = sync_target(
                target,
                current["followups"],
                policy=config.policy,
                dry_run=dry_run,
                force=force,
                templates=templates,
                decorate=decorate,
                state_dir=config.state_dir,
                progress=progress_printer(verbose and not as_json, sys.stderr.isatty()),
                on_completed=recorder(target.name),
                lock_wait=None if wait else config.lock_wait,
                adopt=adopt,
                rebuild_state=rebuild_state and not dry_run,
            )
        except UserError as exc:
            if len(chosen) == 1:
                raise
            # One unreachable calendar must not keep the others out of date: report it, go on, exit 2 at the end.
            error(f"target {target.name!r}: {exc}")
            failed += 1
            continue
        reports.append(report)
        if not as_json:
            click.echo(sync_summary(report))
    if as_json:
        click.echo(json.dumps([report.as_dict() for report in reports], indent=2, ensure_ascii=False))
    if failed:
        raise click.exceptions.Exit(2)
    if not dry_run and any(report.failed for report in reports):
        raise click.exceptions.Exit(1)  # partial: some items were refused, the rest is written


@cli.command("auth")
@click.argument("target_name", metavar="TARGET")
@click.option(
    "--no-browser",
    is_flag=True,
    help="Open no browser: print a URL or a device code instead (over SSH, on a headless machine).",
)
@click.option("--port", type=int, default=0, show_default=True, help="Local port for a browser redirect (0: any free).")
@click.pass_obj
def auth_command(app: App, target_name: str, no_browser: bool, port: int) -> None:
    """Sign in to a calendar service once (Google, Outlook), for the target TARGET.

    Example: calsync auth google --no-browser
    """
    from calsync.plugins import provider_class

    target = app.config.target(target_name)
    provider = provider_class(target.provider)(target)
    try:
        provider.authorize(echo=click.echo, open_browser=not no_browser, port=port)
    finally:
        provider.close()


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print the plugins as JSON (stable keys).")
def plugins_command(as_json: bool) -> None:
    """List the plugins: distribution, version, hooks, the providers they register (and their options), and the
    ones that failed to load."""
    from calsync.plugins import describe
    from calsync.report import plugins_table

    found = describe()
    click.echo(json.dumps(found, indent=2) if as_json else plugins_table(found))


@cli.group("plugin")
def plugin_group() -> None:
    """Write your own plugin."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    default=".",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to create calsync-NAME/.",
)
def plugin_new_command(name: str, parent: Path) -> None:
    """Create calsync-NAME/: a provider plugin whose conformance tests pass before you write any code.

    Example: calsync plugin new notes && cd calsync-notes && pip install -e ".[test]" && python -m pytest
    """
    from calsync.newplugin import new_plugin

    root = new_plugin(name, parent)
    click.echo(f'Created {root}: pip install -e "{root}[test]" && python -m pytest {root}')


def _register_capture_commands() -> None:
    """``init``, ``add``, ``record``, ``done``: the commands that write the interview file."""
    from calsync.commands import add, init, record

    for module in (init, add, record):
        module.register(cli)


_register_capture_commands()


def _register_view_commands() -> None:
    """``agenda``, ``draft``, ``list``, ``show``: what to do and where things stand (they only read)."""
    from calsync.commands import agenda, draft, interviews

    for module in (agenda, draft, interviews):
        module.register(cli)


_register_view_commands()


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="calsync")
    except UserError as exc:  # raised while click builds the help (a plugin that does not fit its hooks)
        click.echo(f"calsync: error: {exc}", err=True)
        raise SystemExit(2) from None


from calsync.explain import explain_command  # noqa: E402  (a command module of its own)

cli.add_command(explain_command)
