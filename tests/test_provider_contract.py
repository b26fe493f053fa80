"""Every provider, built-in ones alike, runs the shipped contract (calsync.testing): files, CalDAV on Radicale and
Xandikos, Google on the emulator, and the in-memory reference provider."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from caldav_servers import Server
from googletargets import make_target

from calsync.plugins import provider_class
from calsync.provider import Target
from calsync.testing import MemoryProvider, ProviderContract, samples


class TestVdir(ProviderContract):
    @pytest.fixture
    def provider(self, tmp_path: Path):
        return provider_class("vdir")(Target("t", "vdir", {"path": str(tmp_path / "cal")}))

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.folder.mkdir(parents=True, exist_ok=True)
            (provider.folder / f"mine-{n}.ics").write_bytes(samples.foreign_event(n))
            return f"mine-{n}.ics"

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            path = provider.folder / href
            return path.read_bytes() if path.exists() else None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            path = provider.folder / href
            path.write_bytes(path.read_bytes().replace(b"SUMMARY:", b"SUMMARY:edited ", 1))

        return edit


def _ics_block(data: bytes, uid: str) -> bytes | None:
    """The bytes of the one component with ``uid`` in a whole .ics file."""
    key = f"UID:{uid}\r\n".encode()
    if key not in data:
        return None
    at = data.index(key)
    begin = max(data.rfind(b"BEGIN:VEVENT", 0, at), data.rfind(b"BEGIN:VTODO", 0, at))
    end = min(i for i in (data.find(b"END:VEVENT", at), data.find(b"END:VTODO", at)) if i >= 0)
    return data[begin : data.index(b"\r\n", end) + 2]


class TestIcs(ProviderContract):
    @pytest.fixture
    def provider(self, tmp_path: Path):
        return provider_class("ics")(Target("t", "ics", {"path": str(tmp_path / "f.ics"), "overwrite": True}))

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            event = samples.foreign_event(n)
            if provider.path.exists():
                block = event[event.index(b"BEGIN:VEVENT") : event.index(b"END:VCALENDAR")]
                data = provider.path.read_bytes()
                event = data.replace(b"END:VCALENDAR", block + b"END:VCALENDAR")
            provider.path.write_bytes(event)
            return f"mine-{n}@example.org"

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            return _ics_block(provider.path.read_bytes(), href) if provider.path.exists() else None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            data = provider.path.read_bytes()
            block = _ics_block(data, href)
            provider.path.write_bytes(data.replace(block, block.replace(b"SUMMARY:", b"SUMMARY:edited ", 1)))

        return edit


@pytest.fixture(autouse=True)
def _count_contract_crashes(request):
    """The contract's crash-between-write-and-record runs feed the reliability counters (docs/reliability.md)."""
    yield
    if request.node.name.startswith("test_sync_a_crash_between_write_and_record"):
        from reliability import count

        count("crash", "contract: kills between a write and its record, converged (per provider)")


#: The many-items test against a real server: 500 PUTs take a minute and more per server on a loaded CI machine,
#: so CI runs fewer; ``CALSYNC_CONTRACT_ITEMS=500`` runs the shipped size.
NETWORK_ITEMS = int(os.environ.get("CALSYNC_CONTRACT_ITEMS", "60"))


class TestCalDAV(ProviderContract):
    """On Radicale and on Xandikos (``caldav_server`` is parametrized over both)."""

    bulk_count = NETWORK_ITEMS

    @pytest.fixture
    def provider(self, caldav_server: Server):
        name = caldav_server.unique_name()
        caldav_server.make_calendar(name)
        provider = provider_class("caldav")(Target("t", "caldav", caldav_server.options(name)))
        provider.test_server, provider.test_calendar = caldav_server, f"{caldav_server.home}{name}/"
        yield provider
        provider.close()

    @staticmethod
    def _path(provider, href):
        return href if href.startswith("/") else provider.test_calendar + href.rsplit("/", 1)[-1]

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            path = f"{provider.test_calendar}mine-{n}.ics"
            status, _ = provider.test_server.put(path, samples.foreign_event(n))
            assert status in (200, 201, 204)
            return path

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            status, body = provider.test_server.get(self._path(provider, href))
            return body if status == 200 else None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            server, path = provider.test_server, self._path(provider, href)
            status, body = server.get(path)
            assert status == 200
            status, _ = server.put(path, body.replace(b"SUMMARY:", b"SUMMARY:edited ", 1))
            assert status in (200, 201, 204)

        return edit


class TestGoogle(ProviderContract):
    bulk_count = NETWORK_ITEMS

    @pytest.fixture
    def provider(self, google_emulator, tmp_path):
        provider = provider_class("google")(make_target(google_emulator, tmp_path))
        provider.test_emulator = google_emulator
        yield provider
        provider.close()

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            event = provider.test_emulator.user_insert(
                "primary",
                {"summary": f"Dentist {n} – 歯医者", "start": {"dateTime": "2027-02-01T09:00:00Z"},
                 "end": {"dateTime": "2027-02-01T10:00:00Z"}},
            )  # fmt: skip
            return event["id"]

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            found = [e for e in provider.test_emulator.events("primary") if e["id"] == href]
            return json.dumps(found[0], sort_keys=True, ensure_ascii=False).encode() if found else None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            provider.test_emulator.user_edit("primary", href, summary="edited on the phone")

        return edit

    @pytest.fixture
    def delete_on_target(self):
        def delete(provider, href):
            provider.test_emulator.user_delete("primary", href)

        return delete


class TestMemory(ProviderContract):
    """The reference provider shipped in calsync.testing."""

    @pytest.fixture
    def provider(self, request):
        store = request.node.nodeid
        yield MemoryProvider(Target("t", "memory", {"store": store}))
        MemoryProvider.stores.pop(store, None)

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.items[f"mine-{n}"] = samples.foreign_event(n)
            return f"mine-{n}"

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            return provider.items.get(href)

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            provider.items[href] = provider.items[href].replace(b"SUMMARY:", b"SUMMARY:edited ", 1)

        return edit
