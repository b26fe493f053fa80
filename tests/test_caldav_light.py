"""A no-change CalDAV re-sync pays only for what it uses: one request, on the standard library (light.py).

Every test runs the installed ``calsync`` in a subprocess against real Radicale and Xandikos (behind the counting
proxy), and reads the modules that process loaded when it exited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from caldav_servers import Server
from filetargets import Workspace, loaded, sync_listing_modules

from calsync_caldav import light
from calsync_caldav.provider import is_our_name

HEAVY = ("caldav", "niquests", "urllib3", "urllib3_future", "lxml")


@pytest.fixture
def ws(caldav_server: Server, tmp_path) -> Workspace:
    name = caldav_server.unique_name()
    caldav_server.make_calendar(name)
    options = caldav_server.options(name)
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
    workspace = Workspace(tmp_path, f'[targets.phone]\nprovider = "caldav"\n{lines}')
    workspace.server = caldav_server
    workspace.calendar_path = f"{caldav_server.home}{name}/"
    return workspace


def heavy_modules(modules: list[str]) -> list[str]:
    return loaded(modules, HEAVY)


def test_a_no_change_resync_sends_one_request_and_loads_no_caldav(ws):
    first, modules = sync_listing_modules(ws)
    assert first["created"] > 0 and heavy_modules(modules)  # writing needs the library, and loads it
    ws.server.proxy.reset()
    again, modules = sync_listing_modules(ws)
    assert again["created"] == again["updated"] == again["deleted"] == 0
    assert ws.server.proxy.count() == 1
    assert ws.server.proxy.snapshot()[0].method == "REPORT"  # the sync-collection from the saved token
    assert heavy_modules(modules) == []


def test_a_change_of_calsyncs_item_on_the_server_is_still_seen(ws):
    ws.sync_json()
    ours = [path for path in ws.server.members(ws.calendar_path) if is_our_name(path.rsplit("/", 1)[-1])]
    assert ws.server.delete(ours[0]) in (200, 204)  # the user deletes one of calsync's events on the phone
    ws.server.proxy.reset()
    report, modules = sync_listing_modules(ws)
    assert report["created"] == 0  # the deletion sticks: not resurrected
    methods = [record.method for record in ws.server.proxy.snapshot()]
    # the light check saw one of calsync's items change, so the full session looked again from the same token
    assert methods[:2] == ["REPORT", "REPORT"] and "PUT" not in methods and heavy_modules(modules)
    ws.server.proxy.reset()
    again, modules = sync_listing_modules(ws)  # and the run after that is a light one again
    assert again["notes"] == [] and ws.server.proxy.count() == 1 and heavy_modules(modules) == []


def test_the_users_own_changes_move_the_token_without_the_library(ws):
    ws.sync_json()
    body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//EN\r\nBEGIN:VEVENT\r\nUID:mine@phone.example\r\n"
        b"DTSTAMP:20261101T000000Z\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nSUMMARY:Dentist\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    assert ws.server.put(f"{ws.calendar_path}dentist.ics", body)[0] in (200, 201, 204)
    stored = ws.server.get(f"{ws.calendar_path}dentist.ics")
    for _ in range(2):  # the user's event is not calsync's business: each run is one request, the token moves
        ws.server.proxy.reset()
        report, modules = sync_listing_modules(ws)
        assert report["created"] == report["updated"] == 0 and report["notes"] == []
        assert ws.server.proxy.count() == 1 and heavy_modules(modules) == []
    assert ws.server.get(f"{ws.calendar_path}dentist.ics") == stored


def test_a_wrong_password_on_the_light_path_is_the_usual_one_line(ws):
    ws.sync_json()
    result = subprocess.run(
        [sys.executable, "-m", "calsync", "--config", str(ws.config), "sync"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CALSYNC_TEST_CALDAV_PASSWORD": "wrong"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "wrong" not in lines[0]


# --- the answers it reads --------------------------------------------------------------------------------------


def _multistatus(*responses: str, token: str = "http://radicale.org/ns/sync/abc") -> bytes:
    return (
        f'<?xml version="1.0"?><multistatus xmlns="DAV:">{"".join(responses)}<sync-token>{token}</sync-token>'
        "</multistatus>"
    ).encode()


def _ours(path: str) -> bool:
    return path.startswith("/cal/") and is_our_name(path.rsplit("/", 1)[-1])


OURS = "/cal/calsync-0123456789abcdef0123456789abcdef.ics"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_multistatus(), "http://radicale.org/ns/sync/abc"),
        (
            _multistatus(
                '<response><href>/cal/dentist.ics</href><propstat><prop><getetag>"1"</getetag></prop>'
                "<status>HTTP/1.1 200 OK</status></propstat></response>"
            ),
            "http://radicale.org/ns/sync/abc",
        ),
        (_multistatus(f"<response><href>{OURS}</href><status>HTTP/1.1 404 Not Found</status></response>"), None),
        (_multistatus(f"<response><href>http://dav.example{OURS}</href><propstat/></response>"), None),
        (
            _multistatus("<response><href>/cal/</href><status>HTTP/1.1 507 Insufficient Storage</status></response>"),
            None,
        ),
        (_multistatus(token=""), None),
        (b"<html>not a multistatus</html>", None),
        (b"\x00garbage", None),
    ],
    ids=["nothing", "the-users-own", "ours-deleted", "ours-changed-full-url", "truncated", "no-token", "html", "junk"],
)
def test_the_sync_answer_is_trusted_only_when_nothing_of_calsyncs_changed(body, expected):
    assert light.unchanged_token(body, _ours) == expected


def test_the_light_path_stands_aside_for_proxies_and_netrc(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    assert light.usable("https://dav.example/cal/", "me") and light.usable("http://dav.example/cal/", None)
    assert not light.usable("ftp://dav.example/cal/", "me")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert not light.usable("https://dav.example/cal/", "me")
    monkeypatch.delenv("HTTPS_PROXY")
    (tmp_path / ".netrc").write_text("machine dav.example login me password secret\n")
    assert not light.usable("https://dav.example/cal/", None)  # the session would log in from .netrc
    assert light.usable("https://dav.example/cal/", "me")
