"""What a short run loads: `calsync plan` and `calsync sync --dry-run` on a small file import only what they use.

Start-up is what a person notices first (and cron pays every few minutes): each heavy library costs tens of
milliseconds to import. These tests run the real command with ``python -X importtime`` and read the modules it
imported; they time nothing, so a busy machine cannot make them fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Libraries that a plan of a file on a vdir target never needs: the providers of other targets, the interview-file
# writer. (dateutil comes only with icalendar, which a sync renders with.)
NEVER = ("google", "googleapiclient", "caldav", "niquests", "requests", "msal", "tomlkit", "keyring")


def interview(country: str | None) -> str:
    where = f'country = "{country}"\n' if country else ""
    return (
        '[[interviews]]\nid = "acme"\ncompany = "Acme"\nstart = 2027-03-03T10:00:00\nend = 2027-03-03T11:00:00\n'
        f'timezone = "Europe/Berlin"\ntimeline = "two weeks after Easter"\n{where}\n'
        '[[interviews.interviewers]]\nname = "Dana"\nemail = "dana@example.com"\nprimary = true\n'
    )


def setup(tmp_path: Path, country: str | None) -> Path:
    (tmp_path / "interviews.toml").write_text(interview(country))
    config = tmp_path / "config.toml"
    config.write_text(
        f'timezone = "Europe/Berlin"\ninterviews = "{tmp_path / "interviews.toml"}"\nstate_dir = "{tmp_path / "s"}"\n'
        f'\n[targets.mine]\nprovider = "vdir"\npath = "{tmp_path / "vdir"}"\n'
    )
    return config


def imported(config: Path, cache: Path, *args: str) -> set[str]:
    """The top-level packages and modules the command imported (and that it ran without an error)."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    env.pop("CALSYNC_LOAD_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "calsync", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip())
    assert "calsync.cli" in names  # the listing is real
    return names


def top_level(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("command", [("plan",), ("sync", "--dry-run")])
def test_a_short_run_imports_no_other_provider_nor_unused_library(tmp_path, command):
    config = setup(tmp_path, None)
    names = imported(config, tmp_path / "cache", *command)
    loaded = top_level(names)
    assert not loaded & set(NEVER), sorted(loaded & set(NEVER))
    assert "holidays" not in loaded  # no country: no holiday table
    assert "dateutil" not in loaded or "icalendar" in loaded  # Easter is arithmetic; only icalendar brings it
    # Reading the config loads the provider its target names, and no other bundled provider module.
    assert "calsync_vdir.provider" in names
    assert not {"calsync_caldav.provider", "calsync_google.provider", "calsync_outlook.provider"} & names
    assert "calsync_ics.provider" not in names


def test_plan_does_not_render(tmp_path):
    names = top_level(imported(setup(tmp_path, None), tmp_path / "cache", "plan"))
    assert "icalendar" not in names
    assert "dateutil" not in names
    assert "sqlite3" not in names  # no sync state either


def test_holidays_are_imported_once_then_read_from_the_cache_dir(tmp_path):
    config, cache = setup(tmp_path, "DE"), tmp_path / "cache"
    first = top_level(imported(config, cache, "plan"))
    assert "holidays" in first  # nothing cached yet: the package itself
    again = top_level(imported(config, cache, "plan"))
    assert "holidays" not in again


def test_entry_points_are_listed_once_per_installed_set(tmp_path):
    config, cache = setup(tmp_path, None), tmp_path / "cache"
    assert "importlib.metadata" in imported(config, cache, "plan")
    assert "importlib.metadata" not in imported(config, cache, "plan")
