"""Session fixtures: the local Microsoft Graph emulator, and outlook targets signed in to it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from calsync.provider import Target

_names = itertools.count()


@pytest.fixture(scope="session")
def graph_emulator_server(tmp_path_factory):
    """One emulator for the session, on a free 127.0.0.1 port, with its own CA."""
    from graph_emulator import Emulator

    emulator = Emulator(tmp_path_factory.mktemp("graph-tls"))
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def graph_emulator(graph_emulator_server, monkeypatch):
    """The session's emulator, emptied, with its CA trusted by requests (msal's and the provider's client)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(graph_emulator_server.ca_path))
    graph_emulator_server.reset()
    yield graph_emulator_server
    graph_emulator_server.reset()


def outlook_target(emulator, directory: Path, *, sign_in: bool = True, **options) -> Target:
    """A target on the emulator; signed in through the real msal device-code flow unless ``sign_in`` is False."""
    directory.mkdir(parents=True, exist_ok=True)
    opts = {
        "client_id": "00000000-calsync-test",
        "tenant": "consumers",
        "authority": emulator.url,
        "api_endpoint": emulator.url,
        "token_file": str(directory / "outlook-token.json"),
        **options,
    }
    target = Target(f"o{next(_names)}", "outlook", opts, state_dir=directory)
    if sign_in:
        from calsync_outlook.auth import Session

        Session(target).sign_in(device_code=True, echo=lambda _: None)
    return target
