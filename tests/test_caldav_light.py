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
from filetargets import Workspace, event, loaded, sync_listing_modules
from hypothesis import given
from hypothesis import strategies as st

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


def test_a_resync_that_moves_a_few_items_writes_them_without_the_library(ws):
    ws.sync_json()
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # the check-in and the retry move
    ws.server.proxy.reset()
    report, modules = sync_listing_modules(ws)
    methods = [record.method for record in ws.server.proxy.snapshot()]
    assert report["updated"] == 2 and report["conflicts"] == []
    # the token, the two updates, the token again (after calsync's own writes): all on the standard library
    assert methods == ["REPORT", "PUT", "PUT", "REPORT"] and heavy_modules(modules) == []
    ws.server.proxy.reset()
    again, modules = sync_listing_modules(ws)
    assert again["updated"] == 0 and ws.server.proxy.count() == 1 and heavy_modules(modules) == []


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


OURS = "/cal/calsync-0123456789abcdef0123456789abcdef.ics"
KNOWN = {OURS: '"1"'}  # what the state holds: after calsync's own write of OURS, the server lists it with this ETag


def _changed(path: str, etag: str | None) -> bool:
    if not (path.startswith("/cal/") and is_our_name(path.rsplit("/", 1)[-1])):
        return False
    return etag is None or KNOWN.get(path) != etag


def _listed(href: str, etag: str) -> str:
    return (
        f"<response><href>{href}</href><propstat><prop><getetag>{etag}</getetag></prop>"
        "<status>HTTP/1.1 200 OK</status></propstat></response>"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_multistatus(), "http://radicale.org/ns/sync/abc"),
        (_multistatus(_listed("/cal/dentist.ics", '"1"')), "http://radicale.org/ns/sync/abc"),
        (_multistatus(_listed(OURS, '"1"'), _listed("/cal/dentist.ics", '"7"')), "http://radicale.org/ns/sync/abc"),
        (_multistatus(_listed(OURS, '"2"')), None),
        (_multistatus(_listed("/cal/calsync-ffffffffffffffffffffffffffffffff.ics", '"1"')), None),
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
    ids=[
        "nothing",
        "the-users-own",
        "ours-as-known",
        "ours-other-etag",
        "ours-unknown",
        "ours-deleted",
        "ours-changed-full-url",
        "truncated",
        "no-token",
        "html",
        "junk",
    ],
)
def test_the_sync_answer_is_trusted_only_when_nothing_of_calsyncs_changed(body, expected):
    """Trusted when it names only the user's items, or calsync's as the state knows them (its own writes)."""
    assert light.unchanged_token(body, _changed) == expected


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


# --- the request on a socket ----------------------------------------------------------------------------------


def _read(raw: bytes, method: str = "REPORT") -> tuple[int, bytes]:
    import io

    return light._read_answer(io.BufferedReader(io.BytesIO(raw)), method)


def _chunk(body: bytes, cuts: list[int]) -> bytes:
    pieces, start = [], 0
    for cut in sorted({min(c, len(body)) for c in cuts} | {len(body)}):
        if cut > start:
            pieces.append(f"{cut - start:x}\r\n".encode() + body[start:cut] + b"\r\n")
            start = cut
    return b"".join(pieces) + b"0\r\n\r\n"


@given(
    body=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 3000), max_size=8),
    status=st.integers(200, 599).filter(lambda status: status not in (204, 304)),  # never a body (RFC 9112 6.3)
)
def test_an_answer_is_read_whole_by_length_chunked_or_to_the_close(body, cuts, status):
    head = f"HTTP/1.1 {status} Whatever\r\nContent-Type: application/xml\r\n".encode()
    assert _read(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body + b"HTTP/1.1 200 next") == (status, body)
    assert _read(head + b"Transfer-Encoding: chunked\r\n\r\n" + _chunk(body, cuts)) == (status, body)
    assert _read(head + b"Connection: close\r\n\r\n" + body) == (status, body)
    assert _read(b"HTTP/1.1 100 Continue\r\n\r\n" + head + f"content-length: {len(body)}\r\n\r\n".encode() + body) == (
        status,
        body,
    )


def test_a_204_has_no_body_whatever_follows():
    assert _read(b'HTTP/1.1 204 No Content\r\nETag: "1"\r\n\r\nHTTP/1.1 200 OK\r\n') == (204, b"")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"<html>hello</html>",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 10\r\nContent-Length: 5\r\n\r\nshort",
        b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: gzip\r\n\r\nxx",
        b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 207 Multi-Status\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
        b"HTTP/1.1 207 Multi-Status\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 3",
    ],
    ids=["empty", "html", "http2", "cut", "two-lengths", "gzip", "chunk-cut", "chunk-size", "bad-header", "no-end"],
)
def test_an_answer_read_with_doubt_is_no_answer(raw):
    with pytest.raises(ValueError):
        _read(raw)


def test_the_socket_request_reads_each_servers_own_answer(caldav_server):
    """Straight to the server (Radicale over HTTP, Xandikos over HTTPS with its CA): the same CTag as a client of
    the standard library's ``http.client`` reads; an HTTPS server the trust store does not vouch for: no answer."""
    name = caldav_server.unique_name()
    path = caldav_server.make_calendar(name)
    url = caldav_server.direct_url.rstrip("/") + path
    headers = {"Depth": "0", "Content-Type": "application/xml"}
    status, _, expected = caldav_server.request("PROPFIND", path, light.CTAG_BODY, headers)
    options = dict(username=caldav_server.username, password=caldav_server.password, timeout=30, user_agent="t")
    answer = light.request("PROPFIND", url, light.CTAG_BODY, verify=caldav_server.ca_bundle or True, **options)
    assert answer is not None and answer[0] == status == 207
    assert light.ctag(answer[1]) == light.ctag(expected) is not None
    wrong = light.request("PROPFIND", url, light.CTAG_BODY, verify=True, **{**options, "password": "wrong"})
    if caldav_server.ca_bundle:
        assert wrong is None  # a CA of its own, not in the system's store: not verified, so not asked
    else:
        assert wrong is not None and wrong[0] == 401
