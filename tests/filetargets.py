"""Helpers for sync tests on file targets: an interview file that evolves, a config, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from calsync.cli import cli

BASE_INTERVIEW = """
[[interviews]]
id = "acme-staff"
company = "Acme Corp"
role = "Staff Engineer"
start = 2026-11-20T14:00:00
end = 2026-11-20T15:00:00
timezone = "America/Chicago"
timeline = "We'll get back to you within a week"
follow_up = "email"
approved = true
requested = ["portfolio link", "two references"]
country = "US"

[[interviews.interviewers]]
name = "Dana Smith"
email = "dana@acme.example"
primary = true
timezone = "America/New_York"

[[interviews.interviewers]]
name = "Lee Park"
email = "lee@acme.example"
"""


def event(day: str, kind: str, decision_by: str | None = None) -> str:
    text = f'\n[[interviews.events]]\ndate = {day}\nkind = "{kind}"\n'
    return text + (f"decision_by = {decision_by}\n" if decision_by else "")


class Workspace:
    """A folder with an interview file, a config with file targets, and a state dir."""

    def __init__(self, root: Path, targets: str) -> None:
        self.root = root
        self.interviews = root / "interviews.toml"
        self.config = root / "config.toml"
        self.state = root / "state"
        self.write_interviews()
        self.config.write_text(
            f'timezone = "America/Chicago"\ncountry = "US"\ninterviews = "{self.interviews}"\n'
            f'state_dir = "{self.state}"\n\n{targets}'
        )

    def write_interviews(self, *events: str) -> None:
        self.interviews.write_text(BASE_INTERVIEW + "".join(events))

    def run(self, *args: str, expect: int = 0) -> str:
        result = CliRunner().invoke(cli, ["--config", str(self.config), *args], catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result.output

    def sync_json(self, *args: str) -> list[dict]:
        return json.loads(self.run("sync", "--json", *args))

    def plan(self) -> list[dict]:
        return json.loads(self.run("plan", "--json"))

    def by_kind(self) -> dict[str, list[dict]]:
        """The plan's rows grouped by kind ("check_in": [...], ...)."""
        result: dict[str, list[dict]] = {}
        for row in self.plan():
            result.setdefault(row["kind"], []).append(row)
        return result


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The installed ``calsync`` in a subprocess: for exit codes and stderr as a user sees them."""
    return subprocess.run(
        [sys.executable, "-m", "calsync", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


# A calsync run in a child process that, on exit, writes the names of every module it loaded to a file.
_RUN_AND_LIST_MODULES = (
    "import atexit, json, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
    "sys.argv[0] = 'calsync'\n"
    "runpy.run_module('calsync', run_name='__main__', alter_sys=True)\n"
)


def sync_listing_modules(ws: Workspace) -> tuple[dict, list[str]]:
    """``calsync sync --json`` in a subprocess: its report for the (first) target, and the modules it had loaded."""
    out = ws.root / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST_MODULES, str(out), "--config", str(ws.config), "sync", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0], json.loads(out.read_text())


def loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` among ``modules``."""
    return [name for name in modules if name.split(".")[0] in packages]
