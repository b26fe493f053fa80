"""Helpers for the sync-safety suites (races, copies, deletions, lost state): interview files with several
interviews, configs for a file or CalDAV target, the installed ``calsync`` script run as a real process, and what a
target holds, read the way another client would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import icalendar
from click.testing import CliRunner

from calsync.cli import cli

CALSYNC = Path(sys.executable).parent / "calsync"
#: Rounds of the race and loss suites: small in CI; 100 for a deep run by hand (see docs/reliability.md).
ROUNDS = int(os.environ.get("CALSYNC_ROUNDS", "2"))

_INTERVIEW = """
[[interviews]]
id = "{id}"
company = "{company}"
role = "Engineer"
start = 2026-11-{day:02d}T14:00:00
end = 2026-11-{day:02d}T15:00:00
timezone = "America/Chicago"
timeline = "We'll get back to you within a week"
follow_up = "email"
approved = true
country = "US"

[[interviews.interviewers]]
name = "Dana {company}"
email = "dana@{id}.example"
primary = true

[[interviews.interviewers]]
name = "Lee {company}"
email = "lee@{id}.example"
"""


def interviews(numbers: list[int], extended: set[int] = frozenset(), cancelled: set[int] = frozenset()) -> str:
    """An interview file: interview ``n`` for each number (5 follow-ups each); ``extended`` ones moved their
    deadline (the check-in moves), ``cancelled`` ones got an offer (what is ahead is cancelled)."""
    parts = []
    for n in numbers:
        parts.append(_INTERVIEW.format(id=f"co{n}-eng", company=f"Co{n}", day=2 + n % 20))
        if n in extended:
            parts.append(
                f'\n[[interviews.events]]\ndate = 2026-11-{4 + n % 20:02d}\nkind = "extended"\n'
                f"decision_by = 2026-12-{10 + n % 15:02d}\n"
            )
        if n in cancelled:
            parts.append(f'\n[[interviews.events]]\ndate = 2026-11-{3 + n % 20:02d}\nkind = "offer"\n')
    return "".join(parts)


def config(root: Path, state: Path, targets: str, extra: str = "") -> Path:
    path = root / "config.toml"
    path.write_text(f'timezone = "America/Chicago"\ncountry = "US"\nstate_dir = "{state}"\n{extra}\n{targets}')
    return path


def file_target(kind: str, where: Path, name: str = "main", extra: str = "") -> str:
    return f'[targets.{name}]\nprovider = "{kind}"\npath = "{where}"\n{extra}'


def caldav_target(server, calendar: str, name: str = "main", extra: str = "") -> str:
    lines = [f"[targets.{name}]", 'provider = "caldav"']
    for key, value in server.options(calendar).items():
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n" + extra


def start(config_path: Path, plan: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """``calsync sync --json`` as a real process of the installed script."""
    return subprocess.Popen(
        [str(CALSYNC), "--config", str(config_path), "sync", "--json", "--file", str(plan), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str

    @property
    def reports(self) -> list[dict]:
        return json.loads(self.stdout) if self.code == 0 else []


def finish(process: subprocess.Popen, timeout: float = 120) -> Finished:
    stdout, stderr = process.communicate(timeout=timeout)
    return Finished(process.returncode, stdout, stderr)


def run(config_path: Path, plan: Path, *args: str, env: dict | None = None) -> Finished:
    return finish(start(config_path, plan, *args, env=env))


def run_here(config_path: Path, plan: Path, *args: str, env: dict | None = None) -> Finished:
    """``calsync sync --json`` in this process (cheaper than a new one where no concurrency is wanted)."""
    result = CliRunner(env=env).invoke(
        cli, ["--config", str(config_path), "sync", "--json", "--file", str(plan), *args], catch_exceptions=False
    )
    return Finished(result.exit_code, result.stdout, result.stderr)


def planned(config_path: Path, plan: Path) -> dict[str, dict]:
    """The plan's rows by UID (``calsync plan --json``)."""
    result = CliRunner().invoke(cli, ["--config", str(config_path), "plan", "--json", "--file", str(plan)])
    assert result.exit_code == 0, result.output
    return {row["uid"]: row for row in json.loads(result.stdout)}


def components(blobs: list[bytes]) -> tuple[dict[str, icalendar.cal.Component], Counter]:
    """calsync's components by UID, and how many times each UID occurs (a duplicate counts twice)."""
    found, seen = {}, Counter()
    for blob in blobs:
        for comp in icalendar.Calendar.from_ical(blob).walk():
            if comp.name in ("VEVENT", "VTODO") and str(comp.get("X-CALSYNC-MANAGED", "")) == "1":
                seen[str(comp["UID"])] += 1
                found[str(comp["UID"])] = comp
    return found, seen


def file_blobs(kind: str, where: Path) -> list[bytes]:
    if kind == "vdir":
        return [p.read_bytes() for p in sorted(where.glob("*.ics"))] if where.exists() else []
    return [where.read_bytes()] if where.exists() else []


def dav_blobs(server, calendar_path: str) -> list[bytes]:
    blobs = []
    for path in server.members(calendar_path):
        status, body = server.get(path)
        assert status == 200, (path, status)
        blobs.append(body)
    return blobs


def lost_items(plan: dict[str, dict], held: dict[str, icalendar.cal.Component]) -> list[str]:
    """Planned, live follow-ups that the target does not hold live, at their due time: lost."""
    lost = []
    for uid, row in plan.items():
        if row["status"] != "planned":
            continue
        comp = held.get(uid)
        if comp is None or str(comp.get("STATUS", "")) == "CANCELLED":
            lost.append(uid)
            continue
        when = comp.get("DTSTART") if comp.name == "VEVENT" else comp.get("DUE")
        if when.dt.isoformat() != row["due"]:
            lost.append(uid)
    return lost
