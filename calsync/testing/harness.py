"""Whole syncs against a provider: real ``calsync sync`` runs (the command line, in this process) with their own
config, data and state folders, on one small interview whose plan the harness can change the way a person would.

``SyncHarness(provider, folder)`` is all it needs; the ``sync_harness`` fixture of ``calsync.testing`` builds one
from your ``provider`` fixture and removes it afterwards. The target a sync writes to is your provider's own
(``provider.target.options`` go into the config file as they are), so what the syncs wrote can be checked with
your provider and your ``read_on_target`` fixture.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from calsync.hookspecs import hookimpl
from calsync.provider import Provider

INTERVIEW = """\
# The harness's interview: a Monday, "within a week", two interviewers (two thank-yous).
[[interviews]]
id = "harness"
company = "Harness Test Co"
role = "Engineer"
start = 2027-03-01T14:00:00
end = 2027-03-01T15:00:00
timezone = "America/Chicago"
timeline = "We'll get back to you within a week"
follow_up = "email"
approved = true

[[interviews.interviewers]]
name = "Dana Smith"
email = "dana@example.org"
primary = true

[[interviews.interviewers]]
name = "Lee Park"
email = "lee@example.org"
"""

EXTENSION = """
[[interviews.events]]
date = 2027-03-03
kind = "extended"
decision_by = 2027-03-19
"""

TARGET = "harness"


class HarnessCrash(Exception):
    """Stands for the process being killed between a write and its record in the state database."""


class _Registration:
    """The plugin through which ``calsync sync`` finds the provider class under test (or its crashing twin)."""

    def __init__(self, name: str, provider_class: type[Provider]) -> None:
        self.name, self.current = name, provider_class

    @hookimpl
    def calsync_register_providers(self, register: Callable[[str, type[Provider]], None]) -> None:
        register(self.name, self.current)


class SyncHarness:
    """Runs ``calsync sync`` against ``provider``'s target with everything else in ``folder``."""

    def __init__(
        self,
        provider: Provider,
        folder: Path,
        read_on_target: Callable[[Provider, str], bytes | None] | None = None,
    ) -> None:
        self.provider, self.folder, self.read_on_target = provider, Path(folder), read_on_target
        self.folder.mkdir(parents=True, exist_ok=True)
        self.interviews = self.folder / "interviews.toml"
        self.interviews.write_text(INTERVIEW, encoding="utf-8")
        self.config = self.folder / "config.toml"
        self.provider_name = f"harness-{type(provider).name or 'provider'}"
        self._plugin = _Registration(self.provider_name, type(provider))
        self.config.write_text(self._config_text(), encoding="utf-8")

    def _config_text(self) -> str:
        lines = [
            f"interviews = {_toml(str(self.interviews))}",
            f"state_dir = {_toml(str(self.folder / 'state'))}",
            "",
            f"[targets.{TARGET}]",
            f"provider = {_toml(self.provider_name)}",
        ]
        for key, value in self.provider.target.options.items():
            if key != "provider" and value is not None:
                lines.append(f"{key} = {_toml(value)}")
        return "\n".join(lines) + "\n"

    # --- running ------------------------------------------------------------------------------------------

    @contextmanager
    def installed(self) -> Iterator[None]:
        """The provider registered and the environment isolated, for the duration of the block."""
        from calsync.plugins import load_plugins

        pm = load_plugins()
        saved = {key: os.environ.get(key) for key in _ISOLATED}
        os.environ.update({key: str(self.folder / key.lower()) for key in _ISOLATED if key.startswith("XDG_")})
        os.environ["CALSYNC_CONFIG"] = str(self.config)
        pm.register(self._plugin, f"calsync-testing-{id(self)}")
        try:
            yield
        finally:
            pm.unregister(self._plugin)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def run(self, *args: str) -> Any:
        """``calsync ARGS`` in this process; the click result (``exit_code``, ``stdout``, ``exception``)."""
        from click.testing import CliRunner

        from calsync.cli import cli

        with self.installed():
            return CliRunner().invoke(cli, ["--config", str(self.config), *args])

    def sync(self, crash_after: int | None = None) -> dict[str, Any] | None:
        """One ``calsync sync --json``: its report (created, updated, deleted, conflicts…).

        With ``crash_after=N`` the provider dies once N actions are written and recorded and one more is written:
        that one is on the target but not in the state. Returns None then."""
        if crash_after is not None:
            self._plugin.current = _crashing(type(self.provider), crash_after)
        try:
            result = self.run("sync", "--json")
        finally:
            self._plugin.current = type(self.provider)
        if crash_after is not None:
            assert isinstance(result.exception, HarnessCrash), (
                f"the sync did not reach action {crash_after + 1} (too few actions?): {result.output}"
            )
            return None
        assert result.exit_code == 0, f"calsync sync failed: {result.output}{_traceback(result)}"
        (report,) = json.loads(result.stdout)
        return report

    def plan(self) -> list[dict[str, Any]]:
        result = self.run("plan", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def planned(self) -> list[str]:
        """The UIDs the plan wants on the target (not cancelled)."""
        return [row["uid"] for row in self.plan() if row["status"] != "cancelled"]

    def check_in_uid(self) -> str:
        """The first check-in: an extension moves it."""
        return next(row["uid"] for row in self.plan() if row["kind"] == "check_in")

    def extend(self) -> None:
        """The company says it needs more time: an ``extended`` event, as a person would add it."""
        with self.interviews.open("a", encoding="utf-8") as handle:
            handle.write(EXTENSION)

    # --- looking at the target ----------------------------------------------------------------------------

    def listed(self) -> list[str]:
        """The UIDs the provider lists (a list: a duplicate shows twice)."""
        return [remote.uid for remote in self.provider.list_items()]

    def href_of(self, uid: str) -> str:
        found = [remote.href for remote in self.provider.list_items() if remote.uid == uid]
        assert len(found) == 1, f"{uid} is listed {len(found)} times"
        return found[0]

    def stored(self, uid: str):
        """The stored VEVENT or VTODO of ``uid``, parsed (through ``read`` when the provider can, else
        ``read_on_target``)."""
        import icalendar

        href = self.href_of(uid)
        if self.provider.can_read:
            data = self.provider.read(href).ical
        else:
            assert self.read_on_target is not None, "a provider without read() needs a read_on_target fixture"
            data = self.read_on_target(self.provider, href)
            assert data is not None, f"{href} cannot be read back"
        calendar = icalendar.cal.Component.from_ical(data)  # a whole VCALENDAR, or one VEVENT or VTODO
        for component in calendar.walk():
            if component.name in ("VEVENT", "VTODO") and str(component.get("UID")) == uid:
                return component
        raise AssertionError(f"{href} holds no component with UID {uid}")

    @staticmethod
    def when(component: Any) -> Any:
        """When a stored follow-up is due: an event's DTSTART, a to-do's DUE."""
        return component.decoded("DTSTART") if component.name == "VEVENT" else component.decoded("DUE")

    def assert_converged(self) -> None:
        """Every planned item is on the target exactly once, and nothing that is not in the plan."""
        listed = self.listed()
        assert len(listed) == len(set(listed)), f"duplicates on the target: {sorted(listed)}"
        plan = self.plan()
        wanted = {row["uid"] for row in plan if row["status"] != "cancelled"}
        known = {row["uid"] for row in plan}
        assert wanted <= set(listed), f"missing on the target: {sorted(wanted - set(listed))}"
        assert set(listed) <= known, f"on the target but in no plan: {sorted(set(listed) - known)}"


_ISOLATED = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CALSYNC_CONFIG")


def _crashing(provider_class: type[Provider], after: int) -> type[Provider]:
    class Crashing(provider_class):  # type: ignore[valid-type, misc]
        def apply(self, actions):
            for n, outcome in enumerate(super().apply(actions)):
                if n == after:
                    raise HarnessCrash(f"killed after {after} recorded actions and one more written")
                yield outcome

    Crashing.__name__ = f"Crashing{provider_class.__name__}"
    return Crashing


def _toml(value: Any) -> str:
    """A TOML value for a string, number or boolean (JSON's string escapes are TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} into the harness's config")


def _traceback(result: Any) -> str:
    if result.exception is None or isinstance(result.exception, SystemExit):
        return ""
    import traceback

    return "\n" + "".join(traceback.format_exception(result.exception))
