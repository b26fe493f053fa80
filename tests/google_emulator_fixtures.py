"""Session fixtures: the local Google Calendar v3 emulator."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def google_emulator_server():
    """One emulator for the session, on a free 127.0.0.1 port."""
    from google_emulator import Emulator

    emulator = Emulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def google_emulator(google_emulator_server, monkeypatch):
    """The session's emulator, emptied: one primary calendar, no events, no faults, a fresh log, and a
    :class:`ManualClock` that every GoogleProvider made during the test shares: pacing and backoff advance it
    instead of sleeping, and the emulator's quotas count on it."""
    from google_emulator import ManualClock

    from calsync_google.provider import GoogleProvider

    google_emulator_server.reset()
    clock = ManualClock()
    google_emulator_server.clock = clock
    monkeypatch.setattr(GoogleProvider, "clock_factory", lambda: clock)
    yield google_emulator_server
    google_emulator_server.reset()
