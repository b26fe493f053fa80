"""The plugin manager: default plugin, entry points, the allow-list, and the planning hooks at work."""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from factories import interview

from calsync import hookimpl, hookspecs
from calsync.cli import cli
from calsync.model import Kind, Policy
from calsync.planner import hook_adjuster, plan
from calsync.plugins import DEFAULT_PLUGINS, describe, load_plugins, pm
from calsync.testing.memory import uid_in
from calsync.uids import make_uid

CALSYNC = Path(sys.executable).parent / "calsync"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"
ENTRY_POINTS = {"ics", "vdir", "caldav", "google", "outlook"}


def plugin_names(env_value: str | None) -> set[str]:
    env = {key: value for key, value in os.environ.items() if key != "CALSYNC_LOAD_PLUGINS"}
    if env_value is not None:
        env["CALSYNC_LOAD_PLUGINS"] = env_value
    done = subprocess.run(
        [str(CALSYNC), "plugins", "--json"], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return {row["name"] for row in json.loads(done.stdout)["plugins"]}


# --- loading ---------------------------------------------------------------------------------------------------


def test_the_default_plugin_is_loaded():
    load_plugins()
    assert DEFAULT_PLUGINS == ("calsync.timeline",)
    assert pm.get_plugin("calsync.timeline") is not None
    rows = {row["name"]: row for row in describe()["plugins"]}
    assert "calsync_parse_timeline" in rows["calsync.timeline"]["hooks"]


def test_built_in_providers_are_entry_point_plugins():
    load_plugins()
    for name in ENTRY_POINTS:
        assert pm.get_plugin(name) is not None, name


def test_load_plugins_runs_once():
    assert load_plugins() is load_plugins() is pm


def test_without_an_allow_list_every_plugin_loads():
    # The bundled four, and any third-party plugin installed next to them (CI installs calsync-todotxt).
    installed = {ep.name for ep in entry_points(group="calsync")}
    assert installed >= ENTRY_POINTS
    assert plugin_names(None) == {"calsync.timeline", *installed}


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        ("", set()),
        ("ics", {"ics"}),
        ("ics, vdir", {"ics", "vdir"}),
        ("google,nonexistent", {"google"}),
    ],
)
def test_the_allow_list(allowed, expected):
    # The default plugin always loads; entry points only when named.
    assert plugin_names(allowed) == {"calsync.timeline", *expected}


def test_auth_is_a_core_command_that_asks_the_targets_provider(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "CALSYNC_LOAD_PLUGINS"}
    config = tmp_path / "config.toml"
    config.write_text(f'[targets.g]\nprovider = "google"\n[targets.f]\nprovider = "ics"\npath = "{tmp_path}/f.ics"\n')
    for allowed in (None, "ics"):
        run_env = env if allowed is None else {**env, "CALSYNC_LOAD_PLUGINS": allowed}
        shown = subprocess.run([str(CALSYNC), "--help"], capture_output=True, text=True, env=run_env, check=True)
        assert " auth " in shown.stdout and " plan " in shown.stdout
    needless = subprocess.run([str(CALSYNC), "--config", str(config), "auth", "f"], capture_output=True, text=True)
    assert needless.returncode == 2 and "needs no `calsync auth`" in needless.stderr
    not_loaded = subprocess.run(
        [str(CALSYNC), "--config", str(config), "auth", "g"],
        capture_output=True, text=True, env={**env, "CALSYNC_LOAD_PLUGINS": "ics"},
    )  # fmt: skip
    assert not_loaded.returncode == 2 and "unknown provider 'google'" in not_loaded.stderr


def test_every_hookspec_has_a_docstring():
    specs = [
        (name, function)
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("calsync_")
    ]
    assert {name for name, _ in specs} == {
        "calsync_register_providers",
        "calsync_parse_timeline",
        "calsync_adjust_plan",
        "calsync_decorate_component",
        "calsync_decoration_inputs",
        "calsync_register_commands",
    }
    for name, function in specs:
        assert function.__doc__ and len(function.__doc__.strip()) > 40, name
        assert hasattr(pm.hook, name)


# --- calsync_adjust_plan ---------------------------------------------------------------------------------------


def week(text, iv, calendar):
    return date(2026, 11, 27)


class DropThankYous:
    @hookimpl
    def calsync_adjust_plan(self, followups):
        return [f for f in followups if f.kind is not Kind.THANK_YOU]


class AddAndMove:
    @hookimpl
    def calsync_adjust_plan(self, followups, interview, policy):
        check_in = next(f for f in followups if f.kind is Kind.CHECK_IN)
        moved = dataclasses.replace(check_in, due=check_in.due + timedelta(hours=2), revision=check_in.revision + 1)
        extra = dataclasses.replace(
            check_in, uid=make_uid(interview.id, "linkedin"), due=check_in.due - timedelta(days=3)
        )
        return [moved if f is check_in else f for f in followups] + [extra]


class LeaveAlone:
    seen: ClassVar[list] = []

    @hookimpl
    def calsync_adjust_plan(self, followups, interview, policy):
        self.seen.append((len(followups), interview.id, policy.retries))


def test_adjust_plan_can_drop_add_and_change(register):
    baseline = plan([interview()], Policy(), parse_timeline=week, adjust=hook_adjuster())
    register(DropThankYous(), "drop")
    register(AddAndMove(), "add-move")
    result = plan([interview()], Policy(), parse_timeline=week, adjust=hook_adjuster())
    kinds = [f.kind for f in result.followups]
    assert Kind.THANK_YOU not in kinds
    old_check_in = next(f for f in baseline.followups if f.kind is Kind.CHECK_IN)
    check_ins = [f for f in result.followups if f.kind is Kind.CHECK_IN]
    assert len(check_ins) == 2
    moved = next(f for f in check_ins if f.uid == old_check_in.uid)
    assert moved.due == old_check_in.due + timedelta(hours=2) and moved.revision == 1
    # The result is still sorted by due time, the added item in its place.
    instants = [f.due.timestamp() for f in result.followups]
    assert instants == sorted(instants)


def test_adjust_plan_returning_none_changes_nothing(register):
    baseline = plan([interview()], Policy(retries=2), parse_timeline=week, adjust=hook_adjuster())
    LeaveAlone.seen = []
    register(LeaveAlone(), "leave")
    result = plan([interview()], Policy(retries=2), parse_timeline=week, adjust=hook_adjuster())
    assert result == baseline
    assert LeaveAlone.seen == [(len(baseline.followups), "acme-staff", 2)]


def test_adjust_plan_reaches_the_cli(register, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    register(DropThankYous(), "drop")
    result = CliRunner().invoke(cli, ["plan", "--json", "--file", str(EXAMPLE)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    kinds = {row["kind"] for row in json.loads(result.stdout)}
    assert "thank_you" not in kinds and "check_in" in kinds


# --- calsync_parse_timeline ------------------------------------------------------------------------------------


class Ninety:
    @hookimpl
    def calsync_parse_timeline(self, text, interview):
        return interview.start.date() + timedelta(days=90) if "week" in text else None


class Nothing:
    @hookimpl
    def calsync_parse_timeline(self, text):
        return None


def check_in_of(result):
    return next(f for f in result.followups if f.kind is Kind.CHECK_IN)


def test_the_built_in_parser_answers_by_default():
    # "within a week" of Fri 2026-11-20: the worked example.
    assert check_in_of(plan([interview()], Policy())).deadline == date(2026, 11, 27)


def test_a_plugin_parser_overrides_the_built_in(register):
    register(Ninety(), "ninety")
    result = plan([interview()], Policy())
    assert check_in_of(result).deadline == date(2026, 11, 20) + timedelta(days=90)
    assert result.warnings == []


def test_a_plugin_that_does_not_understand_leaves_it_to_the_built_in(register):
    register(Nothing(), "nothing")
    assert check_in_of(plan([interview()], Policy())).deadline == date(2026, 11, 27)
    register(Ninety(), "ninety")
    assert check_in_of(plan([interview(timeline="in a fortnight")], Policy())).deadline == date(2026, 12, 4)


def test_decision_by_still_wins_over_a_plugin(register):
    register(Ninety(), "ninety")
    assert check_in_of(plan([interview(decision_by=date(2026, 12, 1))], Policy())).deadline == date(2026, 12, 1)


def test_every_hook_is_exercised_by_some_test():
    """A hook nobody calls in a test is a hook whose contract can break unnoticed (datasette's meta-test)."""
    names = [name for name in dir(hookspecs) if name.startswith("calsync_")]
    here = Path(__file__).parent
    text = "\n".join(p.read_text() for p in here.glob("*.py") if p.name != "test_plugins.py")
    text += (here / "test_plugins.py").read_text().split("def test_every_hook_is_exercised_by_some_test")[0]
    missing = [name for name in names if f"def {name}(" not in text]
    assert names and not missing, f"hooks no test implements: {missing}"


def test_a_provider_registered_by_a_plugin_is_synced_to(register, tmp_path):
    from calsync.testing import MemoryPlugin, MemoryProvider

    register(MemoryPlugin(), "memory-plugin")
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[targets.mem]\nprovider = "memory"\nstore = "plugin-test"\n'
    )
    try:
        result = CliRunner().invoke(cli, ["--config", str(config), "sync", "--json", "--file", str(EXAMPLE)])
        assert result.exit_code == 0, result.output
        stored = MemoryProvider.stores["plugin-test"]
        planned = json.loads(
            CliRunner().invoke(cli, ["--config", str(config), "plan", "--json", "-f", str(EXAMPLE)]).stdout
        )
        wanted = {row["uid"] for row in planned if row["status"] == "planned"}
        assert {uid_in(data) for data in stored.values()} == wanted
        again = json.loads(
            CliRunner().invoke(cli, ["--config", str(config), "sync", "--json", "-f", str(EXAMPLE)]).stdout
        )
        assert again[0]["created"] == again[0]["updated"] == 0
    finally:
        MemoryProvider.stores.pop("plugin-test", None)
