"""The convergence property of test_sync_properties.py, against the network targets: a real CalDAV server
(Radicale, Xandikos) and the Google Calendar emulator. Fewer examples: every step is real HTTP."""

from __future__ import annotations

import contextlib
import itertools

import icalendar
import pytest
from crashing import Crash, crashing
from factories import interview
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync_properties import histories

from calsync.planner import plan
from calsync.provider import Target
from calsync.sync.engine import sync_target

_names = itertools.count()


class CalDAVBackend:
    def __init__(self, server, tmp_path) -> None:
        self.server, self.tmp_path = server, tmp_path

    def new_target(self) -> Target:
        name = f"prop-{next(_names)}-{self.server.unique_name()}"
        self.path = self.server.make_calendar(name)
        return Target("t", "caldav", self.server.options(name), state_dir=self.tmp_path / name)

    def stored(self) -> dict[str, tuple[str, object]]:
        """uid -> (STATUS, DTSTART) of every calsync item in the calendar."""
        found: dict[str, tuple[str, object]] = {}
        for path in self.server.members(self.path):
            status, body = self.server.get(path)
            assert status == 200
            for comp in icalendar.Calendar.from_ical(body).walk("VEVENT"):
                if comp.get("X-CALSYNC-MANAGED") == "1":
                    assert str(comp["UID"]) not in found, "duplicate UID"
                    found[str(comp["UID"])] = (str(comp["STATUS"]), comp["DTSTART"].dt)
        return found


class GoogleBackend:
    def __init__(self, emulator, tmp_path) -> None:
        self.emulator, self.tmp_path = emulator, tmp_path

    def new_target(self) -> Target:
        from test_google_provider import make_target

        self.emulator.reset()
        directory = self.tmp_path / f"g-{next(_names)}"
        directory.mkdir()
        return make_target(self.emulator, directory)

    def stored(self) -> dict[str, tuple[str, object]]:
        from datetime import datetime

        found: dict[str, tuple[str, object]] = {}
        for ev in self.emulator.events(deleted=True):
            private = (ev.get("extendedProperties") or {}).get("private") or {}
            if private.get("calsync") == "1":
                assert private["uid"] not in found, "duplicate UID"
                start = datetime.fromisoformat(ev["start"]["dateTime"].replace("Z", "+00:00"))
                found[private["uid"]] = ("CANCELLED" if ev["status"] == "cancelled" else "CONFIRMED", start)
        return found


@pytest.fixture(params=["radicale", "xandikos", "google"])
def backend(request, tmp_path_factory, monkeypatch):
    tmp_path = tmp_path_factory.mktemp("prop")
    if request.param == "google":
        return GoogleBackend(request.getfixturevalue("google_emulator_server"), tmp_path)
    server = request.getfixturevalue(f"{request.param}_server")
    server.proxy.reset()
    server.proxy.strip_etag = False
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password or "")
    return CalDAVBackend(server, tmp_path)


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories(), crashes=st.lists(st.integers(0, 6), min_size=5, max_size=5))
def test_random_histories_converge_on_servers(backend, history, crashes):
    target = backend.new_target()
    for step in range(len(history) + 1):
        followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
        with contextlib.suppress(Crash):
            sync_target(target, followups, provider=crashing(target, crashes[step % 5]))
        assert sync_target(target, followups).conflicts == []
        again = sync_target(target, followups)
        assert again.writes == 0 and again.conflicts == []
        items = backend.stored()
        for f in followups:
            if f.cancelled:
                assert f.uid not in items or items[f.uid][0] == "CANCELLED"
            else:
                assert items[f.uid] == ("CONFIRMED", f.due)
        assert set(items) <= {f.uid for f in followups}
