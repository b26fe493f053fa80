"""Every provider, built-in ones alike, runs the same contract (tests/provider_contract.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from caldav_servers import Server
from provider_contract import ProviderContract

from calsync.plugins import provider_class
from calsync.provider import Target

FOREIGN = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//me//EN\r\nBEGIN:VEVENT\r\nUID:mine-{n}@example.org\r\n"
    "DTSTAMP:20261101T000000Z\r\nDTSTART:20261201T090000Z\r\nSUMMARY:Mine {n}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


class TestVdir(ProviderContract):
    @pytest.fixture
    def provider(self, tmp_path: Path):
        return provider_class("vdir")(Target("t", "vdir", {"path": str(tmp_path / "cal")}))

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            path = provider.folder / href
            path.write_bytes(path.read_bytes().replace(b"SUMMARY:", b"SUMMARY:edited ", 1))

        return edit

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.folder.mkdir(parents=True, exist_ok=True)
            (provider.folder / f"mine-{n}.ics").write_text(FOREIGN.format(n=n))

        return put


class TestIcs(ProviderContract):
    @pytest.fixture
    def provider(self, tmp_path: Path):
        return provider_class("ics")(Target("t", "ics", {"path": str(tmp_path / "f.ics"), "overwrite": True}))

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            data = provider.path.read_bytes()
            at = data.index(f"UID:{href}".encode())
            begin = data.rindex(b"BEGIN:VEVENT", 0, at)
            end = data.index(b"END:VEVENT", at)
            block = data[begin:end].replace(b"SUMMARY:", b"SUMMARY:edited ", 1)
            provider.path.write_bytes(data[:begin] + block + data[end:])

        return edit

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            event = FOREIGN.format(n=n).split("BEGIN:VEVENT", 1)[1].split("END:VEVENT", 1)[0]
            if not provider.path.exists():
                provider.path.write_text(FOREIGN.format(n=n))
                return
            data = provider.path.read_text()
            provider.path.write_text(data.replace("END:VCALENDAR", f"BEGIN:VEVENT{event}END:VEVENT\r\nEND:VCALENDAR"))

        return put


class TestCalDAV(ProviderContract):
    @pytest.fixture
    def provider(self, caldav_server: Server):
        name = caldav_server.unique_name()
        caldav_server.make_calendar(name)
        provider = provider_class("caldav")(Target("t", "caldav", caldav_server.options(name)))
        provider.test_server, provider.test_calendar = caldav_server, f"{caldav_server.home}{name}/"
        yield provider
        provider.close()

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            server = provider.test_server
            path = href if href.startswith("/") else provider.test_calendar + href.rsplit("/", 1)[-1]
            status, body = server.get(path)
            assert status == 200
            status, _ = server.put(path, body.replace(b"SUMMARY:", b"SUMMARY:edited ", 1))
            assert status in (200, 201, 204)

        return edit

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            status, _ = provider.test_server.put(f"{provider.test_calendar}mine-{n}.ics", FOREIGN.format(n=n).encode())
            assert status in (200, 201, 204)

        return put


class TestGoogle(ProviderContract):
    @pytest.fixture
    def provider(self, google_emulator, tmp_path):
        from test_google_provider import make_target

        provider = provider_class("google")(make_target(google_emulator, tmp_path))
        provider.test_emulator = google_emulator
        yield provider
        provider.close()

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            provider.test_emulator.user_edit("primary", href, summary="edited on the phone")

        return edit

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.test_emulator.user_insert(
                "primary",
                {"summary": f"Mine {n}", "start": {"dateTime": "2026-12-01T09:00:00Z"},
                 "end": {"dateTime": "2026-12-01T10:00:00Z"}},
            )  # fmt: skip

        return put


class TestMemory(ProviderContract):
    """The few-lines provider of tests/memory_provider.py, held to the same contract."""

    @pytest.fixture
    def provider(self, request):
        from memory_provider import MemoryProvider

        store = request.node.nodeid
        yield MemoryProvider(Target("t", "memory", {"store": store}))
        MemoryProvider.stores.pop(store, None)

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            uid, data = provider.items[href]
            provider.items[href] = (uid, data.replace(b"SUMMARY:", b"SUMMARY:edited ", 1))

        return edit

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.items[f"mine-{n}"] = (f"mine-{n}@example.org", FOREIGN.format(n=n).encode())

        return put
