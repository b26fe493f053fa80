"""Shared fixtures. Server fixtures live in their own modules, loaded here as plugins."""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import HealthCheck, settings

from calsync.plugins import load_plugins, pm

pytest_plugins = [
    "caldav_servers",
    "google_emulator_fixtures",
    "graph_emulator_fixtures",
    "calsync.testing",
    "pytester",
]

# Never read or write the real user's config, data or state: every platformdirs path points into a scratch dir.
_SCRATCH = tempfile.mkdtemp(prefix="calsync-tests-")
for _variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_variable] = os.path.join(_SCRATCH, _variable.lower())
os.environ.pop("CALSYNC_CONFIG", None)

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI explores a fixed set of examples (derandomize): a red CI means a change broke something, never that a random
# draw found an old corner. Runs by hand (the default and deep profiles) keep exploring new examples.
settings.register_profile(
    "ci", deadline=None, max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
# For runs by hand: the fuzz suites (tests/test_fuzz_inputs.py) run this many examples per test instead of a few dozen.
settings.register_profile("deep", deadline=None, max_examples=3000, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def register():
    """Register plugin objects on the process's plugin manager for one test: ``register(plugin, name)``."""
    load_plugins()
    added = []

    def add(plugin, name):
        pm.register(plugin, name)
        added.append(plugin)
        return plugin

    yield add
    for plugin in added:
        pm.unregister(plugin)


def pytest_sessionfinish(session, exitstatus):
    """With ``CALSYNC_RELIABILITY_REPORT=docs/reliability.md``, write what the robustness suites counted in this run
    (``tests/reliability.py``) as that Markdown file: the numbers come from the run, never from a hand."""
    destination = os.environ.get("CALSYNC_RELIABILITY_REPORT")
    if not destination or int(exitstatus) not in (0, 1):
        return  # interrupted, or a collection or usage error: no run to report, and the last report stays
    from reliability import COUNTS, render_report

    with open(destination, "w", encoding="utf-8") as handle:
        handle.write(render_report(COUNTS, exitstatus=int(exitstatus), tests=session.testscollected))
