"""Plugins are checked: at load (hooks and arguments), at every call (results, exceptions), and in the config
(declared target options). Each failure is one line naming the plugin, exit status 2, no traceback."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

import calsync
from calsync import hookimpl
from calsync.cli import cli
from calsync.errors import PluginError
from calsync.model import Kind
from calsync.options import Option
from calsync.plugins import pm
from calsync.provider import Target
from calsync.testing import MemoryProvider, SyncHarness

CALSYNC = Path(sys.executable).parent / "calsync"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"


def install(site: Path, name: str, source: str) -> None:
    """A distribution ``calsync-NAME`` on ``site`` (a sys.path entry): module ``NAME`` and its entry point."""
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"calsync_{name}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: calsync-{name}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[calsync]\n{name} = {name}\n")


def run(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(site), **env}
    environment.pop("CALSYNC_LOAD_PLUGINS", None)
    return subprocess.run([str(CALSYNC), *args], capture_output=True, text=True, env=environment, timeout=120)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# --- at load ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            "from calsync import hookimpl\n@hookimpl\ndef calsync_adjust_plans(followups):\n    return None\n",
            ["'typo'", "unknown hook 'calsync_adjust_plans'", "did you mean 'calsync_adjust_plan'", "no:typo"],
        ),
        (  # not even marked: a calsync_* function is a hook implementation all the same
            "def calsync_parse_timelin(text):\n    return None\n",
            ["'typo'", "did you mean 'calsync_parse_timeline'"],
        ),
        (
            "from calsync import hookimpl\n@hookimpl\ndef calsync_adjust_plan(followup, interview):\n    return None\n",
            ["'typo'", "calsync_adjust_plan", "'followup'", "did you mean 'followups'"],
        ),
    ],
)
def test_a_plugin_that_does_not_fit_its_hooks_stops_calsync_with_one_line(tmp_path, source, words):
    install(tmp_path / "site", "typo", source)
    message = one_line_error(run(tmp_path / "site", "plan", "-f", str(EXAMPLE)))
    for word in words:
        assert word in message, message


def test_a_plugin_that_does_not_fit_can_be_disabled_and_is_listed_as_failed(tmp_path):
    source = "from calsync import hookimpl\n@hookimpl\ndef calsync_adjust_plans(followups):\n    return None\n"
    install(tmp_path / "site", "typo", source)
    # Disabled, it is out of the way, as with pytest's -p no:NAME.
    assert run(tmp_path / "site", "-p", "no:typo", "plan", "-f", str(EXAMPLE)).returncode == 0
    assert run(tmp_path / "site", "plan", "-f", str(EXAMPLE), CALSYNC_DISABLE_PLUGINS="x,typo").returncode == 0
    disabled = json.loads(run(tmp_path / "site", "-p", "no:typo", "plugins", "--json").stdout)
    assert disabled["disabled"] == ["typo"] and disabled["failed"] == []
    listed = json.loads(run(tmp_path / "site", "plugins", "--json").stdout)
    assert [row["name"] for row in listed["failed"]] == ["typo"]


def test_a_plugin_that_cannot_be_imported_is_skipped_with_one_warning(tmp_path):
    install(tmp_path / "site", "broken", "import no_such_module_anywhere\n")
    done = run(tmp_path / "site", "plan", "--json", "-f", str(EXAMPLE))
    assert done.returncode == 0 and json.loads(done.stdout)
    warnings = [line for line in done.stderr.splitlines() if "broken" in line]
    assert len(warnings) == 1 and "no_such_module_anywhere" in warnings[0] and "Traceback" not in done.stderr
    listed = json.loads(run(tmp_path / "site", "plugins", "--json").stdout)
    (failed,) = listed["failed"]
    assert failed["name"] == "broken" and "no_such_module_anywhere" in failed["error"]


def test_the_plugins_command_says_who_registers_what(tmp_path):
    install(
        tmp_path / "site",
        "notes",
        """
        from calsync import Option, Provider, hookimpl

        class Notes(Provider):
            name = "notes"
            options = (Option("folder", str, path=True, required=True, help="where the notes go"),
                       Option("api_key_env", str, None, help="the variable holding the key"),
                       Option("token", str, "s3cret-default", secret=True, help="never shown"))

        @hookimpl
        def calsync_register_providers(register):
            register("notes", Notes)
        """,
    )
    listed = json.loads(run(tmp_path / "site", "plugins", "--json").stdout)
    rows = {row["name"]: row for row in listed["plugins"]}
    for bundled in ("ics", "vdir", "caldav", "google"):
        assert rows[bundled]["bundled"] and rows[bundled]["distribution"] == "calsync"
        assert [p["name"] for p in rows[bundled]["providers"]] == [bundled]
    notes = rows["notes"]
    assert not notes["bundled"] and (notes["distribution"], notes["version"]) == ("calsync-notes", "0.3")
    assert notes["hooks"] == ["calsync_register_providers"]
    options = {option["name"]: option for option in notes["providers"][0]["options"]}
    assert options["folder"]["path"] and options["folder"]["required"]
    assert options["token"]["secret"] and options["token"]["default"] is None  # a secret's default is not shown
    assert {"provider", "component", "cancelled", "alarm_minutes"} <= set(options)
    table = run(tmp_path / "site", "plugins").stdout
    assert "notes  [third-party]  calsync-notes 0.3" in table and "vdir  [bundled]" in table
    assert "folder: string [required, path]" in table and "s3cret" not in table


# --- at every call ----------------------------------------------------------------------------------------------


class Returns:
    """A plugin whose parse_timeline returns ``value``."""

    def __init__(self, value) -> None:
        self.value = value

    @hookimpl
    def calsync_parse_timeline(self, text):
        return self.value


def plan_result(*args: str):
    return CliRunner().invoke(cli, [*args, "plan", "-f", str(EXAMPLE)])


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (datetime(2026, 12, 1, 9, 0), "returned a datetime"),
        ("2026-12-01", "returned a str"),
        (42, "returned a int"),
    ],
)
def test_a_timeline_plugin_returning_anything_but_a_date_is_named(register, value, words):
    register(Returns(value), "sloppy")
    result = plan_result()
    assert result.exit_code == 2
    assert f"plugin 'sloppy': calsync_parse_timeline {words}" in result.stderr
    assert "expected a datetime.date" in result.stderr and "Traceback" not in result.output


class AdjustReturns:
    def __init__(self, make) -> None:
        self.make = make

    @hookimpl
    def calsync_adjust_plan(self, followups):
        return self.make(followups)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda fs: "drop them all", "returned a str"),
        (lambda fs: [f.uid for f in fs], "holding a str"),
        (lambda fs: [*fs, fs[0]], "two follow-ups with uid"),
        (lambda fs: [dataclasses.replace(fs[0], due=fs[0].due.replace(tzinfo=None))], "naive datetime"),
    ],
)
def test_a_plan_plugin_returning_anything_but_follow_ups_is_named(register, make, words):
    register(AdjustReturns(make), "planner-x")
    result = plan_result()
    assert result.exit_code == 2, result.output
    assert "plugin 'planner-x': calsync_adjust_plan" in result.stderr and words in result.stderr


class Raises:
    @hookimpl
    def calsync_adjust_plan(self, followups):
        return {}["no such key"]


def test_an_exception_in_a_hook_is_one_line_and_debug_shows_the_traceback(register):
    register(Raises(), "crashy")
    result = plan_result()
    assert result.exit_code == 2
    expected = "calsync: error: plugin 'crashy': calsync_adjust_plan raised KeyError: 'no such key'"
    assert result.stderr.strip() == expected
    debug = plan_result("--debug")
    assert debug.exit_code == 2 and "Traceback" in debug.stderr and 'return {}["no such key"]' in debug.stderr


class RenamesUid:
    @hookimpl
    def calsync_decorate_component(self, component):
        component["UID"] = "something-else@example.org"


def test_a_decorator_may_not_change_the_uid(register, tmp_path):
    register(RenamesUid(), "renamer")
    result = CliRunner().invoke(cli, ["export", "-f", str(EXAMPLE), "-o", str(tmp_path / "out.ics")])
    assert result.exit_code == 2 and "plugin 'renamer': calsync_decorate_component changed the UID" in result.stderr


class NotAProvider:
    @hookimpl
    def calsync_register_providers(self, register):
        register("odd", dict)


def test_registering_something_that_is_not_a_provider_is_named(register):
    register(NotAProvider(), "odd-plugin")
    result = CliRunner().invoke(cli, ["sync", "-n", "-f", str(EXAMPLE)])
    assert result.exit_code == 2 and "plugin 'odd-plugin': provider 'odd'" in result.stderr


def test_a_class_registered_as_a_plugin_is_checked_like_an_instance():
    class AsClass:
        @hookimpl
        def calsync_adjust_plan(self, followups):
            return None

    pm.register(AsClass, "as-class")  # pluggy drops ``self``; so does the check
    pm.unregister(AsClass)


def test_registering_a_misspelt_hook_in_process_raises_too():
    class Misspelt:
        @hookimpl
        def calsync_decorate_componnet(self, component):
            pass

    with pytest.raises(PluginError, match="did you mean 'calsync_decorate_component'"):
        pm.register(Misspelt(), "misspelt")
    assert pm.get_plugin("misspelt") is None


def test_tracing_shows_every_hook_call_adjust_plan_included(tmp_path):
    done = run(tmp_path, "plan", "-f", str(EXAMPLE), CALSYNC_TRACE_HOOKS="1")
    assert done.returncode == 0
    for hook in ("calsync_parse_timeline", "calsync_adjust_plan"):
        assert hook in done.stderr, hook


# --- adjust_plan gets the business calendar; SEQUENCE follows content --------------------------------------------


class LinkedIn:
    """The cookbook's plan plugin in short: a reminder the business day after each thank-you."""

    seen: ClassVar[list] = []

    @hookimpl
    def calsync_adjust_plan(self, followups, interview, calendar):
        self.seen.append(calendar)
        extra = []
        for f in followups:
            if f.kind is Kind.THANK_YOU:
                day = calendar.after(f.due.date())
                extra.append(dataclasses.replace(f, uid=calsync.make_uid(f.uid, "linkedin"), due=f.due.replace(
                    year=day.year, month=day.month, day=day.day)))  # fmt: skip
        return [*followups, *extra]


def test_adjust_plan_receives_the_interviews_business_calendar(register):
    LinkedIn.seen = []
    register(LinkedIn(), "linkedin")
    result = CliRunner().invoke(cli, ["plan", "--json", "-f", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert {(c.country, c.subdivision) for c in LinkedIn.seen} == {("US", None), ("DE", "BE")}  # each its own
    rows = {row["uid"]: row for row in json.loads(result.stdout)}
    reminders = {calsync.make_uid(uid, "linkedin"): uid for uid, row in rows.items() if row["kind"] == "thank_you"}
    pairs = [(rows[origin], rows[uid]) for uid, origin in reminders.items() if uid in rows]
    assert len(pairs) == 3  # one per interviewer of the example's two interviews (2 + 1)
    for thank_you, reminder in pairs:
        said, then = (datetime.fromisoformat(r["due"]).date() for r in (thank_you, reminder))
        assert then > said and then.weekday() < 5


class Shift:
    """Moves every check-in by ``hours`` and changes nothing else: no revision, no SEQUENCE."""

    hours: ClassVar[int] = 0

    @hookimpl
    def calsync_adjust_plan(self, followups):
        return [
            dataclasses.replace(f, due=f.due + timedelta(hours=self.hours)) if f.kind is Kind.CHECK_IN else f
            for f in followups
        ]


def test_a_plugin_that_moves_a_follow_up_raises_its_sequence(register, tmp_path):
    """SEQUENCE is the sync's job: the plugin never touches ``revision``, and calendars still see a newer version."""
    store = f"sequence-{tmp_path.name}"
    harness = SyncHarness(MemoryProvider(Target("t", "memory", {"store": store})), tmp_path)
    try:
        Shift.hours = 0
        register(Shift(), "shift")
        harness.sync()
        uid = harness.check_in_uid()
        before = harness.stored(uid)
        Shift.hours = 3
        report = harness.sync()
        after = harness.stored(uid)
        assert report["updated"] >= 1
        assert harness.when(after) - harness.when(before) == timedelta(hours=3)
        assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
        assert harness.sync()["updated"] == 0  # and settles
    finally:
        MemoryProvider.stores.pop(store, None)


# --- declared target options ------------------------------------------------------------------------------------


def config_error(tmp_path, table: str) -> str:
    config = tmp_path / "config.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n\n[targets.t]\n{table}')
    result = CliRunner().invoke(cli, ["--config", str(config), "sync", "-n", "-f", str(EXAMPLE)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("table", "line", "words"),
    [
        ('provider = "vdir"\npath = "cal"\ncomponnet = "todo"\n', 6, "unknown option; did you mean 'component'?"),
        ('provider = "caldav"\nurl = "https://dav.example/"\ntimeout = "30s"\n', 6, "timeout: expected a number"),
        ('provider = "vdir"\npath = 1\n', 5, "path: expected a string, got 1"),
        ('provider = "ics"\npath = "a\\u0000b.ics"\n', 5, "NUL"),
        ('provider = "caldav"\nurl = "ftp://dav.example.com/cal"\n', 5, "expected an http:// or https:// address"),
        ('provider = "caldav"\nurl = "https://dav.example.com:99999/"\n', 5, "is not a web address"),
        ('provider = "vdir"\npath = "~nosuchuser-xyz/cal"\n', 5, "no user named 'nosuchuser-xyz'"),
        ('provider = "google"\nauth = "password"\n', 5, "expected one of 'oauth', 'service_account'"),
        ('provider = "vdir"\n', 3, "'path' is required"),
        ('provider = "vdir"\npath = "cal"\nalarm_minutes = -5\n', 6, "expected a number >= 0"),
    ],
)
def test_target_options_are_checked_with_their_line(tmp_path, table, line, words):
    message = config_error(tmp_path, table)
    assert message.startswith(f"calsync: error: {tmp_path / 'config.toml'}:{line}: targets.t"), message
    assert words in message


def test_paths_are_resolved_relative_to_the_config_file(tmp_path):
    from calsync.config import load_config

    config = tmp_path / "conf" / "config.toml"
    config.parent.mkdir()
    config.write_text('[targets.t]\nprovider = "vdir"\npath = "cal"\n[targets.g]\nprovider = "google"\n'
                      'client_secrets = "secrets/client.json"\ncalendar = "work"\n')  # fmt: skip
    loaded = load_config(config)
    assert loaded.targets["t"].options["path"] == str(config.parent / "cal")
    assert loaded.targets["g"].options["client_secrets"] == str(config.parent / "secrets" / "client.json")
    assert loaded.targets["g"].options["calendar"] == "work"  # not a path: as written


def test_a_provider_that_declares_no_options_gets_them_unchecked(register, tmp_path):
    from calsync.config import load_config

    class Legacy(MemoryProvider):
        name = "legacy"
        options = None

    class LegacyPlugin:
        @hookimpl
        def calsync_register_providers(self, register):
            register("legacy", Legacy)

    register(LegacyPlugin(), "legacy-plugin")
    config = tmp_path / "config.toml"
    config.write_text('[targets.t]\nprovider = "legacy"\nwhatever = 3\n')
    with pytest.warns(DeprecationWarning, match="declares no options"):
        assert load_config(config).targets["t"].options == {"whatever": 3}


def test_an_option_declaration_describes_itself():
    option = Option("token", str, "x", secret=True, help="h")
    assert option.describe()["default"] is None and option.describe()["type"] == "string"
