"""calsync.testing: prove a provider keeps calsync's contract, with one import.

Load it as a pytest plugin (it is never loaded into other projects' test runs on its own)::

    # conftest.py
    pytest_plugins = ["calsync.testing"]      # or: pytest -p calsync.testing

then subclass :class:`ProviderContract` with your fixtures (see :mod:`calsync.testing.contract`). The plugin
provides the ``sync_harness`` fixture (whole ``calsync sync`` runs, :class:`SyncHarness`) and ships the reference
in-memory provider, :class:`MemoryProvider`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calsync.provider import Provider
from calsync.testing import samples
from calsync.testing.contract import ForeignGuard, ProviderContract
from calsync.testing.harness import HarnessCrash, SyncHarness
from calsync.testing.memory import MemoryPlugin, MemoryProvider

__all__ = [
    "ForeignGuard",
    "HarnessCrash",
    "MemoryPlugin",
    "MemoryProvider",
    "ProviderContract",
    "SyncHarness",
    "samples",
    "sync_harness",
]


@pytest.fixture
def sync_harness(
    provider: Provider, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncHarness]:
    """A :class:`SyncHarness` on the test's ``provider`` (and its ``read_on_target``, when there is one)."""
    try:
        read = request.getfixturevalue("read_on_target")
    except pytest.FixtureLookupError:
        read = None
    yield SyncHarness(provider, tmp_path_factory.mktemp("sync-harness"), read)
