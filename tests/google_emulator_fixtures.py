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
def google_emulator(google_emulator_server):
    """The session's emulator, emptied: one primary calendar, no events, no faults, a fresh log."""
    google_emulator_server.reset()
    yield google_emulator_server
    google_emulator_server.reset()
