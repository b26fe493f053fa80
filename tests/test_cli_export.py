"""`calsync export`: the whole plan as one calendar, and the render/command hooks seen from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import click
import icalendar
from click.testing import CliRunner
from filetargets import BASE_INTERVIEW, event

from calsync import hookimpl
from calsync.cli import cli


def run(tmp_path: Path, *args: str, events: tuple[str, ...] = ()) -> tuple[str, Path]:
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW + "".join(events))
    config = tmp_path / "config.toml"
    config.write_text('timezone = "America/Chicago"\n')
    result = CliRunner().invoke(
        cli, ["--config", str(config), *args, "--file", str(interviews)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stdout, interviews


def components(data: bytes, name: str = "VEVENT") -> dict[str, icalendar.cal.Component]:
    return {str(c["UID"]): c for c in icalendar.Calendar.from_ical(data).walk(name)}


def test_export_holds_the_whole_plan_with_cancelled_items(tmp_path):
    out = tmp_path / "plan.ics"
    history = (event("2026-11-24", "replied"),)
    run(tmp_path, "export", "-o", str(out), events=history)
    plan = {row["uid"]: row for row in json.loads(run(tmp_path, "plan", "--json", events=history)[0])}
    items = components(out.read_bytes())
    assert set(items) == set(plan)
    for uid, row in plan.items():
        assert items[uid]["DTSTART"].dt.isoformat() == row["due"]
        assert (items[uid]["STATUS"] == "CANCELLED") == (row["status"] == "cancelled")
        assert int(items[uid]["SEQUENCE"]) == row["revision"]
    assert sum(1 for c in items.values() if c["STATUS"] == "CANCELLED") == 2


def test_export_is_deterministic_and_to_stdout_by_default(tmp_path):
    first, _ = run(tmp_path, "export")
    second, _ = run(tmp_path, "export")
    assert first == second and first.startswith("BEGIN:VCALENDAR")
    assert len(icalendar.Calendar.from_ical(first).walk("VTIMEZONE")) == 2  # Chicago and New York, once each


def test_reexport_after_an_extension_raises_the_sequence(tmp_path):
    before = components(run(tmp_path, "export")[0].encode())
    after = components(run(tmp_path, "export", events=(event("2026-11-25", "extended", "2026-12-04"),))[0].encode())
    moved = [uid for uid in before if before[uid]["DTSTART"].dt != after[uid]["DTSTART"].dt]
    assert len(moved) == 2  # the check-in and its retry
    for uid in moved:
        assert int(after[uid]["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
        assert after[uid]["DTSTAMP"].dt > before[uid]["DTSTAMP"].dt


def test_export_todo(tmp_path):
    out, _ = run(tmp_path, "export", "--todo")
    todos = components(out.encode(), "VTODO")
    assert todos and not components(out.encode(), "VEVENT")
    assert all("DUE" in todo for todo in todos.values())


class Location:
    @hookimpl
    def calsync_decorate_component(self, component, followup):
        if followup.kind.value == "check_in":
            component.add("LOCATION", f"Inbox of {followup.recipient.name}")


def test_decorate_hook_changes_what_is_exported(tmp_path, register):
    register(Location(), "location")
    items = components(run(tmp_path, "export")[0].encode())
    located = [c for c in items.values() if "LOCATION" in c]
    assert [str(c["LOCATION"]) for c in located] == ["Inbox of Dana Smith"]


class Hello:
    @hookimpl
    def calsync_register_commands(self, cli):
        @cli.command("hello")
        def hello() -> None:
            """Say hello."""
            click.echo("hello from a plugin")


def test_a_plugin_command_is_added(register):
    register(Hello(), "hello")
    cli._plugin_commands_added = False  # a plugin registered after the CLI first listed its commands
    try:
        result = CliRunner().invoke(cli, ["hello"])
        assert result.exit_code == 0 and result.output.strip() == "hello from a plugin"
    finally:
        cli.commands.pop("hello", None)
