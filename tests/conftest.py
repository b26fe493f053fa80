"""Shared fixtures. Server fixtures live in their own modules, loaded here as plugins."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["caldav_servers", "google_emulator_fixtures"]

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
