"""The CalDAV provider against real servers (Radicale and Xandikos, see caldav_servers.py).

Contract tests call the Provider API directly; the end-to-end tests at the bottom go through ``calsync sync``.
Requests are counted by the counting proxy in front of each server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import icalendar
import pytest
from caldav_servers import Server, free_port
from factories import NEW_YORK, followup, interview
from filetargets import Workspace, event, run_cli

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.model import Kind
from calsync.provider import Create, Delete, Item, Target, Update
from calsync.render import render_item
from calsync_caldav.provider import CalDAVProvider, is_our_name, resource_name, uid_from_name

# --- helpers --------------------------------------------------------------------------------------------------


def make_item(n: int = 0, component: str = "event", hours: int = 0, revision: int = 0) -> Item:
    iv = interview(id=f"iv-{n}", company=f"Company {n}")
    fu = followup(
        Kind.CHECK_IN,
        interview=iv,
        due=datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK) + timedelta(hours=hours),
        revision=revision,
    )
    return render_item(fu, component=component)


def provider_for(server: Server, calendar: str, state: dict | None = None, **options) -> CalDAVProvider:
    provider = CalDAVProvider(Target("phone", "caldav", server.options(calendar, **options)))
    if state is not None:
        provider.state = dict(state)
    return provider


def user_event(n: int) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Phone//Calendar 1.0//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:user-event-{n}@phone.example\r\nDTSTAMP:20261101T000000Z\r\n"
        f"DTSTART:202612{1 + n % 28:02d}T090000Z\r\nDTEND:202612{1 + n % 28:02d}T100000Z\r\n"
        f"SUMMARY:My own appointment {n}\r\nX-PHONE-COLOR:blue\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


@pytest.fixture
def calendar(caldav_server: Server) -> str:
    """A fresh calendar (events and to-dos) for one test; its display name is also its id."""
    name = caldav_server.unique_name()
    caldav_server.make_calendar(name)
    return name


def path_of(server: Server, calendar: str) -> str:
    return f"{server.home}{calendar}/"


# --- names --------------------------------------------------------------------------------------------------------


def test_resource_names_are_derived_from_the_uid():
    uid = "0123456789abcdef0123456789abcdef@calsync"
    assert resource_name(uid) == "calsync-0123456789abcdef0123456789abcdef.ics"
    assert uid_from_name(resource_name(uid)) == uid
    other = resource_name("Some Other UID/with slashes@example.com")
    assert is_our_name(other) and other.startswith("calsync-u") and "/" not in other
    assert uid_from_name(other) is None
    assert not is_our_name("dentist.ics") and not is_our_name("calsync-xyz.ics")


def test_the_plugin_registers_the_provider_and_loads_no_http_library():
    code = (
        "import sys, calsync_caldav\n"
        "from calsync.plugins import providers\n"
        "assert providers()['caldav'].__name__ == 'CalDAVProvider'\n"
        "heavy = [m for m in ('caldav', 'niquests', 'requests', 'keyring') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- the contract -------------------------------------------------------------------------------------------------


def test_create_list_update_delete(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    item = make_item(1)
    written = provider.create(item)
    assert written.href == path_of(caldav_server, calendar) + resource_name(item.uid)
    assert written.etag
    status, body = caldav_server.get(written.href)
    assert status == 200 and b"X-CALSYNC-MANAGED:1" in body and item.uid.encode() in body

    listed = {remote.uid: remote for remote in provider.list_items()}
    assert set(listed) == {item.uid}
    assert listed[item.uid].href == written.href and listed[item.uid].etag == written.etag

    moved = make_item(1, hours=3, revision=1)
    rewritten = provider.update(written.href, moved, written.etag)
    assert rewritten.href == written.href and rewritten.etag != written.etag
    stored = icalendar.Calendar.from_ical(caldav_server.get(written.href)[1])
    event = next(c for c in stored.walk("VEVENT"))
    assert int(event["SEQUENCE"]) == 1
    assert event["DTSTART"].dt == datetime(2026, 11, 30, 13, 0, tzinfo=NEW_YORK)

    provider.delete(written.href, rewritten.etag)
    assert caldav_server.get(written.href)[0] == 404
    assert list(provider.list_items()) == []
    provider.close()


def test_create_twice_is_a_precondition_failure(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    item = make_item(2)
    provider.create(item)
    with pytest.raises(PreconditionFailed):
        provider.create(item)


def test_a_stale_etag_after_an_edit_on_the_phone_is_a_precondition_failure(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    written = provider.create(make_item(3))
    status, body = caldav_server.get(written.href)
    edited = body.replace(b"SUMMARY:", b"SUMMARY:(edited on my phone) ")
    status, _ = caldav_server.put(written.href, edited, {"If-Match": written.etag})
    assert status in (200, 201, 204)
    on_server = caldav_server.get(written.href)[1]
    assert b"(edited on my phone)" in on_server

    with pytest.raises(PreconditionFailed):
        provider.update(written.href, make_item(3, hours=1, revision=1), written.etag)
    with pytest.raises(PreconditionFailed):
        provider.delete(written.href, written.etag)
    assert caldav_server.get(written.href)[1] == on_server


def test_a_gone_item_is_not_found(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    written = provider.create(make_item(4))
    assert caldav_server.delete(written.href) in (200, 204)
    with pytest.raises(NotFound):
        provider.delete(written.href, written.etag)
    with pytest.raises(NotFound):
        provider.update(written.href, make_item(4, hours=1, revision=1), written.etag)
    assert caldav_server.get(written.href)[0] == 404  # not resurrected by the update


def test_the_users_own_events_are_never_read_or_touched(caldav_server, calendar):
    base = path_of(caldav_server, calendar)
    mine = {f"{base}event-{n}.ics": user_event(n) for n in range(50)}
    for path, body in mine.items():
        assert caldav_server.put(path, body)[0] in (201, 204)
    before = {path: caldav_server.get(path)[1] for path in mine}
    etags_before = {path: etag for path, etag in caldav_server.members(base).items() if path in mine}
    caldav_server.proxy.reset()

    provider = provider_for(caldav_server, calendar)
    items = [make_item(n) for n in range(5)]
    written = {item.uid: provider.create(item) for item in items}
    scan = provider.scan({}, None)
    assert set(scan.items) == set(written)
    provider.update(written[items[0].uid].href, make_item(0, hours=2, revision=1), written[items[0].uid].etag)
    provider.delete(written[items[1].uid].href, written[items[1].uid].etag)
    again = provider_for(caldav_server, calendar, provider.state).scan(scan.items, scan.token)
    assert set(again.items) == set(written) - {items[1].uid}
    fresh = provider_for(caldav_server, calendar).list_items()
    assert {remote.uid for remote in fresh} == set(written) - {items[1].uid}

    assert {path: caldav_server.get(path)[1] for path in mine} == before
    assert {path: etag for path, etag in caldav_server.members(base).items() if path in mine} == etags_before
    for record in caldav_server.proxy.snapshot():
        assert "event-" not in record.path, record  # never fetched, written or deleted one by one
        assert b"event-" not in record.body, record  # nor in a multiget
        if record.method in ("PUT", "DELETE"):
            assert is_our_name(record.path.rsplit("/", 1)[-1])


def test_an_unchanged_rescan_costs_at_most_two_requests(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    for n in range(10):
        provider.create(make_item(n))
    first = provider.scan({}, None)
    assert len(first.items) == 10 and first.token
    provider.close()

    later = provider_for(caldav_server, calendar, provider.state)  # the next run: state from the engine's DB
    caldav_server.proxy.reset()
    again = later.scan(first.items, first.token)
    assert caldav_server.proxy.count() <= 2
    assert again.items == first.items
    assert caldav_server.proxy.count("PUT", "DELETE", "GET") == 0


def test_a_rescan_after_a_few_changes_touches_only_those(caldav_server, calendar):
    base = path_of(caldav_server, calendar)
    for n in range(20):
        caldav_server.put(f"{base}event-{n}.ics", user_event(n))
    provider = provider_for(caldav_server, calendar)
    written = {n: provider.create(make_item(n)) for n in range(10)}
    first = provider.scan({}, None)
    caldav_server.put(f"{base}event-3.ics", user_event(3).replace(b"My own", b"Moved"))  # the user's own
    _, body = caldav_server.get(written[5].href)
    caldav_server.put(written[5].href, body.replace(b"SUMMARY:", b"SUMMARY:(mine) "))
    caldav_server.delete(written[6].href)

    caldav_server.proxy.reset()
    again = provider_for(caldav_server, calendar, provider.state).scan(first.items, first.token)
    records = caldav_server.proxy.snapshot()
    # the light no-change check sees calsync's items changed; the full session asks again (sync-collection from the
    # same token, the same answer), then fetches only what changed in one multiget
    assert [r.method for r in records] == ["REPORT", "REPORT", "REPORT"]
    assert records[0].body.count(b"sync-token") == records[1].body.count(b"sync-token") == 2
    hrefs = [href.text for href in ET.fromstring(records[2].body).iter("{DAV:}href")]
    assert hrefs == [written[5].href]  # only the changed item of calsync's is fetched
    uid5, uid6 = make_item(5).uid, make_item(6).uid
    assert uid6 not in again.items
    assert again.items[uid5].etag != first.items[uid5].etag
    assert {uid: r for uid, r in again.items.items() if uid != uid5} == {
        uid: r for uid, r in first.items.items() if uid not in (uid5, uid6)
    }


def test_an_expired_token_falls_back_to_a_full_listing(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    provider.create(make_item(1))
    first = provider.scan({}, None)
    stale = json.dumps({**json.loads(first.token), "sync": "http://example.invalid/sync/0"})
    again = provider_for(caldav_server, calendar, provider.state).scan({}, stale)
    assert set(again.items) == {make_item(1).uid}
    assert again.token == first.token


def test_a_ctag_token_skips_the_listing_when_nothing_changed(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    provider.create(make_item(1))
    first = provider.scan({}, None)
    ctag = provider._ctag(provider._calendar())
    assert ctag
    token = json.dumps({"calendar": provider._calendar(), "ctag": ctag})
    caldav_server.proxy.reset()
    again = provider_for(caldav_server, calendar, provider.state).scan(first.items, token)
    assert again.items == first.items and caldav_server.proxy.count() == 1
    provider.create(make_item(2))
    changed = provider_for(caldav_server, calendar, provider.state).scan(first.items, token)
    assert set(changed.items) == {make_item(1).uid, make_item(2).uid}


def test_a_server_that_sends_no_etag_on_put(caldav_server, calendar):
    caldav_server.proxy.strip_etag = True
    provider = provider_for(caldav_server, calendar)
    written = provider.create(make_item(7))
    members = caldav_server.members(path_of(caldav_server, calendar))
    assert written.etag == members[written.href]
    updated = provider.update(written.href, make_item(7, hours=1, revision=1), written.etag)
    assert updated.etag == caldav_server.members(path_of(caldav_server, calendar))[written.href]


def test_apply_runs_the_actions_and_reports_conflicts_per_item(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    a, b, c = make_item(1), make_item(2), make_item(3)
    existing = provider.create(c)
    outcomes = list(provider.apply([Create(a.uid, a), Create(b.uid, b), Create(c.uid, c)]))
    assert [o.error is None for o in outcomes] == [True, True, False]
    assert isinstance(outcomes[2].error, PreconditionFailed)
    wa = outcomes[0].written
    outcomes = list(
        provider.apply(
            [
                Update(a.uid, wa.href, wa.etag, make_item(1, hours=1, revision=1)),
                Delete(c.uid, existing.href, existing.etag),
            ]
        )
    )
    assert all(o.error is None for o in outcomes)
    assert {r.uid for r in provider.list_items()} == {a.uid, b.uid}


def test_writes_on_several_connections_come_back_in_order_each_with_its_own_outcome(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar, connections=3)
    items = [make_item(n) for n in range(12)]
    taken = provider_for(caldav_server, calendar).create(items[5])  # one already there: its create conflicts
    actions = [Create(item.uid, item) for item in items]
    caldav_server.proxy.reset()
    outcomes = list(provider.apply(actions))
    assert [o.action for o in outcomes] == actions  # the order of the actions, whatever order the answers came in
    assert [type(o.error).__name__ if o.error else None for o in outcomes] == [
        "PreconditionFailed" if n == 5 else None for n in range(12)
    ]
    assert caldav_server.proxy.count("PUT") == 12
    assert {r.uid for r in provider.list_items()} == {item.uid for item in items}
    written = {o.action.uid: o.written for o in outcomes if o.written}
    members = caldav_server.members(path_of(caldav_server, calendar))
    assert all(members[w.href] == w.etag for w in written.values()) and members[taken.href] == taken.etag


def test_a_failure_of_the_whole_target_still_reports_the_writes_in_flight(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar, connections=4)
    provider.scan({}, None)  # discovery first: the failure below is about the writes
    items = [make_item(n) for n in range(8)]
    caldav_server.proxy.fake("PUT", 500, times=1)  # one write meets a server failure
    seen = []
    with pytest.raises(ProviderError, match="500"):
        for outcome in provider.apply([Create(item.uid, item) for item in items]):
            seen.append(outcome)
    stored = {r.uid for r in provider.list_items()}
    # every write that landed was reported before the error: nothing on the server the engine did not hear of
    assert stored == {o.action.uid for o in seen if o.written}


def test_refuses_to_write_anything_but_its_own_resources(caldav_server, calendar):
    base = path_of(caldav_server, calendar)
    caldav_server.put(f"{base}dentist.ics", user_event(1))
    before = caldav_server.get(f"{base}dentist.ics")
    provider = provider_for(caldav_server, calendar)
    with pytest.raises(ProviderError, match="refusing"):
        provider.delete(f"{base}dentist.ics", '"x"')
    with pytest.raises(ProviderError, match="refusing"):
        provider.update(f"{base}dentist.ics", make_item(1), '"x"')
    assert caldav_server.get(f"{base}dentist.ics") == before
    assert caldav_server.proxy.count("PUT", "DELETE") == 0


# --- to-dos ---------------------------------------------------------------------------------------------------


def test_a_todo_target(caldav_server):
    name = caldav_server.unique_name("tasks")
    caldav_server.make_calendar(name, ("VTODO",))
    provider = provider_for(caldav_server, name, component="todo")
    item = make_item(1, component="todo")
    written = provider.create(item)
    stored = icalendar.Calendar.from_ical(caldav_server.get(written.href)[1])
    assert [c.name for c in stored.subcomponents if c.name in ("VEVENT", "VTODO")] == ["VTODO"]
    assert {r.uid for r in provider.list_items()} == {item.uid}
    assert provider.state["components"] == ["VTODO"]


def test_a_todo_target_on_a_calendar_without_vtodo_is_refused(caldav_server):
    name = caldav_server.unique_name("events")
    caldav_server.make_calendar(name, ("VEVENT",))
    provider = provider_for(caldav_server, name, component="todo")
    with pytest.raises(ProviderError, match="VTODO") as caught:
        provider.scan({}, None)
    assert "\n" not in str(caught.value)
    assert caldav_server.proxy.count("PUT") == 0


# --- discovery and errors -------------------------------------------------------------------------------------


def test_discovery_from_the_server_root_is_remembered_in_the_state(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    provider.scan({}, None)
    expected = caldav_server.url.rstrip("/") + path_of(caldav_server, calendar)
    assert provider.state["calendar_url"] == expected
    assert any(r.path == "/.well-known/caldav" for r in caldav_server.proxy.snapshot())
    caldav_server.proxy.reset()
    provider_for(caldav_server, calendar, provider.state).scan({}, None)
    assert [r.method for r in caldav_server.proxy.snapshot()] == ["PROPFIND"]  # the listing only


def test_the_calendar_url_itself_works(caldav_server, calendar):
    url = caldav_server.url.rstrip("/") + path_of(caldav_server, calendar)
    provider = provider_for(caldav_server, calendar, url=url)
    provider.create(make_item(1))
    assert {r.uid for r in provider.list_items()} == {make_item(1).uid}


def test_a_calendar_found_by_display_name(caldav_server):
    ident = caldav_server.unique_name()
    path = f"{caldav_server.home}{ident}/"
    body = (
        '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
        f"<D:displayname>Job hunt {ident}</D:displayname></D:prop></D:set></C:mkcalendar>"
    ).encode()
    assert caldav_server.request("MKCALENDAR", path, body, {"Content-Type": "application/xml"})[0] == 201
    provider = provider_for(caldav_server, f"Job hunt {ident}")
    provider.create(make_item(1))
    assert provider.state["calendar_url"].endswith(path)


def test_a_missing_calendar_is_an_error_unless_create_is_set(caldav_server):
    name = caldav_server.unique_name("new")
    with pytest.raises(ProviderError, match="create = true") as caught:
        provider_for(caldav_server, name).scan({}, None)
    assert "\n" not in str(caught.value)
    assert caldav_server.proxy.count("MKCALENDAR") == 0

    provider = provider_for(caldav_server, f"Follow-ups {name}", create=True)
    assert provider.scan({}, None).items == {}
    assert caldav_server.proxy.count("MKCALENDAR") == 1
    written = provider.create(make_item(1))
    assert caldav_server.get(written.href)[0] == 200
    again = provider_for(caldav_server, f"Follow-ups {name}", create=True)
    assert {r.uid for r in again.list_items()} == {make_item(1).uid}
    assert caldav_server.proxy.count("MKCALENDAR") == 1  # found by its display name the second time


def test_a_wrong_password_is_one_line(caldav_server, calendar, monkeypatch):
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", "not-the-password")
    with pytest.raises(ProviderError) as caught:
        provider_for(caldav_server, calendar).scan({}, None)
    message = str(caught.value)
    assert "401" in message and "\n" not in message and "not-the-password" not in message


def test_no_password_at_all_says_where_to_put_it(caldav_server, calendar, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    options = {"username": caldav_server.username, "password_env": None}
    target = Target("phone", "caldav", {k: v for k, v in {**caldav_server.options(calendar), **options}.items() if v})
    with pytest.raises(ProviderError, match="password_command"):
        CalDAVProvider(target).scan({}, None)


def test_an_unreachable_server_is_one_line(caldav_server, calendar):
    port = free_port()
    provider = provider_for(caldav_server, calendar, url=f"http://127.0.0.1:{port}/", timeout=5)
    with pytest.raises(ProviderError, match="cannot reach") as caught:
        provider.scan({}, None)
    assert "\n" not in str(caught.value) and "refused" in str(caught.value)


def test_a_url_that_is_not_caldav_is_one_line(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar, url=caldav_server.url + "no/such/place/")
    with pytest.raises(ProviderError) as caught:
        provider.scan({}, None)
    assert "\n" not in str(caught.value) and "url" in str(caught.value)


def test_a_plain_password_in_the_config_is_refused(caldav_server, calendar):
    target = Target("phone", "caldav", {**caldav_server.options(calendar), "password": "hunter2"})
    target.options.pop("password_env")
    with pytest.raises(ProviderError, match="plain passwords") as caught:
        CalDAVProvider(target).scan({}, None)
    assert "hunter2" not in str(caught.value)


def test_tls_is_verified_and_ca_bundle_is_honoured(xandikos_server, monkeypatch):
    server = xandikos_server
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", server.password)
    name = server.unique_name()
    server.make_calendar(name)
    options = {**server.options(name), "url": server.direct_url}
    with pytest.raises(ProviderError, match="ca_bundle") as caught:
        CalDAVProvider(Target("phone", "caldav", options)).scan({}, None)
    assert "\n" not in str(caught.value)
    provider = CalDAVProvider(Target("phone", "caldav", {**options, "ca_bundle": server.ca_bundle}))
    provider.create(make_item(1))
    assert {r.uid for r in provider.list_items()} == {make_item(1).uid}


def test_radicale_without_authentication(radicale_noauth_server, monkeypatch):
    server = radicale_noauth_server
    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", "anything")
    name = server.unique_name()
    provider = CalDAVProvider(Target("phone", "caldav", server.options(name, create=True)))
    written = provider.create(make_item(1))
    assert server.get(written.href)[0] == 200
    assert {r.uid for r in provider.list_items()} == {make_item(1).uid}


def test_an_invalid_component_option_is_refused():
    from calsync.errors import InputError  # a mistake in the config: InputError, naming the option (and its line)

    with pytest.raises(InputError, match=r"targets\.phone\.component"):
        CalDAVProvider(Target("phone", "caldav", {"url": "https://dav.example/", "component": "journal"}))


def test_constructing_the_provider_touches_no_network():
    provider = CalDAVProvider(Target("phone", "caldav", {"url": "dav.example.invalid", "calendar": "x"}))
    assert provider.describe() == "https://dav.example.invalid/"
    assert provider.requests_sent == 0
    provider.close()


def test_the_transport_is_one_caldav_client_that_turns_to_digest_when_only_digest_is_offered(monkeypatch):
    from caldav import DAVClient

    monkeypatch.setenv("CALSYNC_TEST_CALDAV_PASSWORD", "secret")
    options = {"url": "dav.example.invalid", "calendar": "x", "username": "me"}
    provider = CalDAVProvider(Target("phone", "caldav", {**options, "password_env": "CALSYNC_TEST_CALDAV_PASSWORD"}))
    session = provider._dav()
    assert isinstance(session.client, DAVClient) and session.auth_type == "basic"  # Basic up front: no extra trip
    session._challenge = 'Digest realm="dav", nonce="abc"'
    assert session._switch_to_digest() and session.auth_type == "digest"
    provider._remember_auth(session)
    assert provider.state["auth"] == "digest" and provider.requests_sent == 0
    provider.close()


# --- end to end: `calsync sync` with a caldav target ------------------------------------------------------------


@pytest.fixture
def ws(caldav_server, calendar, tmp_path) -> Workspace:
    options = caldav_server.options(calendar)
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
    workspace = Workspace(tmp_path, f'[targets.phone]\nprovider = "caldav"\n{lines}')
    workspace.server = caldav_server
    workspace.calendar_path = path_of(caldav_server, calendar)
    return workspace


def stored_items(ws) -> dict[str, tuple[str, icalendar.cal.Component]]:
    """calsync's items in the calendar, read directly from the server: UID → (path, component)."""
    found = {}
    for path in ws.server.members(ws.calendar_path):
        status, body = ws.server.get(path)
        assert status == 200
        for comp in icalendar.Calendar.from_ical(body).walk():
            if comp.name in ("VEVENT", "VTODO") and comp.get("X-CALSYNC-MANAGED") == "1":
                assert str(comp["UID"]) not in found, "duplicate UID on the server"
                found[str(comp["UID"])] = (path, comp)
    return found


def kinds_of(ws) -> dict[str, list[dict]]:
    result: dict[str, list[dict]] = {}
    for row in ws.plan():
        result.setdefault(row["kind"], []).append(row)
    return result


def test_e2e_first_sync_creates_exactly_the_plan(ws):
    report = ws.sync_json()[0]
    planned = {row["uid"]: row for row in ws.plan() if row["status"] == "planned"}
    items = stored_items(ws)
    assert set(items) == set(planned) and report["created"] == len(planned)
    assert ws.server.proxy.count("PUT") == len(planned) and ws.server.proxy.count("DELETE") == 0
    for uid, (path, comp) in items.items():
        assert path == ws.calendar_path + resource_name(uid)
        assert comp["DTSTART"].dt.isoformat() == planned[uid]["due"]


def test_e2e_second_sync_writes_nothing_in_at_most_two_requests(ws):
    ws.sync_json()
    before = {path: ws.server.get(path)[1] for path in ws.server.members(ws.calendar_path)}
    ws.server.proxy.reset()
    report = ws.sync_json()[0]
    assert report["created"] == report["updated"] == report["deleted"] == 0
    assert ws.server.proxy.count("PUT", "DELETE") == 0
    assert ws.server.proxy.count() <= 2
    assert {path: ws.server.get(path)[1] for path in ws.server.members(ws.calendar_path)} == before


def test_e2e_a_first_sync_writes_on_one_connection_and_its_token_makes_the_next_run_one_request(ws):
    ws.sync_json()
    records = ws.server.proxy.snapshot()
    puts = [r for r in records if r.method == "PUT"]
    assert len(puts) >= 2 and len({r.client for r in puts}) == 1
    # after the writes, one question for the token (calsync's own writes moved it), asked on the same connection
    after = records[records.index(puts[-1]) + 1 :]
    assert [r.method for r in after] == ["REPORT"] and after[0].client == puts[0].client
    ws.server.proxy.reset()
    assert ws.sync_json()[0]["unchanged"] == len(puts) and ws.server.proxy.count() == 1


def test_e2e_an_edit_on_the_phone_during_the_first_sync_is_not_taken_for_calsyncs_own(ws):
    """The token asked for after the writes is kept only when calsync's items on the server are what it wrote:
    an item the user edited meanwhile (between its PUT and the end of the sync) is seen as theirs."""
    proxy, server = ws.server.proxy, ws.server
    forward_after = proxy._after
    edited: list[str] = []

    def phone_edits_the_check_in(method: str, path: str, body: bytes, status: int) -> None:
        forward_after(method, path, body, status)
        if method == "PUT" and b"X-CALSYNC-KIND:check_in" in body and not edited:
            edited.append(path)
            server.put(path, server.get(path)[1].replace(b"SUMMARY:", b"SUMMARY:(my note) "))

    proxy._after = phone_edits_the_check_in
    try:
        ws.sync_json()
    finally:
        proxy._after = forward_after
    assert edited
    check_in = kinds_of(ws)["check_in"][0]["uid"]
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # calsync now wants to move the check-in
    proxy.reset()
    report = ws.sync_json()[0]
    assert [c["uid"] for c in report["conflicts"]] == [check_in]
    assert str(stored_items(ws)[check_in][1]["SUMMARY"]).startswith("(my note)")
    assert not [r for r in proxy.snapshot() if r.method == "PUT" and r.path == edited[0]]  # not even tried


def test_e2e_an_extension_moves_the_event_in_place(ws):
    ws.sync_json()
    check_in = kinds_of(ws)["check_in"][0]["uid"]
    path, old = stored_items(ws)[check_in]
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    ws.server.proxy.reset()
    report = ws.sync_json()[0]
    new_path, moved = stored_items(ws)[check_in]
    assert report["created"] == 0 and report["updated"] >= 1
    assert new_path == path
    assert int(moved["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert moved["DTSTART"].dt.date().isoformat() == "2026-12-07"
    assert ws.server.proxy.count("PUT") == report["updated"]


def test_e2e_a_reply_cancels_the_check_in_and_the_retry(ws):
    ws.sync_json()
    ws.write_interviews(event("2026-11-24", "replied"))
    ws.sync_json()
    items = stored_items(ws)
    kinds = kinds_of(ws)
    for row in kinds["check_in"] + kinds["retry"]:
        assert items[row["uid"]][1]["STATUS"] == "CANCELLED"
        assert int(items[row["uid"]][1]["SEQUENCE"]) == 1
    for row in kinds["thank_you"]:
        assert items[row["uid"]][1]["STATUS"] == "CONFIRMED"


def test_e2e_a_rejection_adds_the_feedback_request(ws):
    ws.sync_json()
    ws.write_interviews(event("2026-12-01", "rejected"))
    report = ws.sync_json()[0]
    feedback = kinds_of(ws)["feedback_request"][0]
    assert report["created"] == 1
    assert stored_items(ws)[feedback["uid"]][1]["DTSTART"].dt.date().isoformat() == "2026-12-02"


def test_e2e_an_event_edited_by_the_user_is_not_clobbered(ws):
    ws.sync_json()
    check_in = kinds_of(ws)["check_in"][0]["uid"]
    path, _ = stored_items(ws)[check_in]
    body = ws.server.get(path)[1]
    assert ws.server.put(path, body.replace(b"SUMMARY:", b"SUMMARY:(my note) "))[0] in (200, 201, 204)
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    report = ws.sync_json()[0]
    assert [c["uid"] for c in report["conflicts"]] == [check_in]
    assert str(stored_items(ws)[check_in][1]["SUMMARY"]).startswith("(my note)")
    assert ws.sync_json()[0]["updated"] == 0  # and not on the next run either


def test_e2e_an_event_deleted_by_the_user_is_not_resurrected(ws):
    ws.sync_json()
    kinds = kinds_of(ws)
    thank_you, check_in = kinds["thank_you"][0]["uid"], kinds["check_in"][0]["uid"]
    items = stored_items(ws)
    for uid in (thank_you, check_in):
        assert ws.server.delete(items[uid][0]) in (200, 204)
    assert ws.sync_json()[0]["created"] == 0
    assert thank_you not in stored_items(ws) and check_in not in stored_items(ws)
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # the check-in's due time changes
    report = ws.sync_json()[0]
    items = stored_items(ws)
    assert check_in in items and thank_you not in items
    assert report["created"] == 1


def test_e2e_the_users_own_events_survive_every_sync(ws):
    mine = {f"{ws.calendar_path}event-{n}.ics": user_event(n) for n in range(50)}
    for path, body in mine.items():
        ws.server.put(path, body)
    before = {path: ws.server.get(path)[1] for path in mine}
    ws.sync_json()
    ws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    ws.sync_json()
    ws.interviews.write_text("")
    ws.sync_json("--force")
    assert {path: ws.server.get(path)[1] for path in mine} == before
    assert not any("event-" in r.path or b"event-" in r.body for r in ws.server.proxy.snapshot())


def test_e2e_a_wrong_password_exits_2_with_one_line(ws):
    result = run_cli("--config", str(ws.config), "sync", env={"CALSYNC_TEST_CALDAV_PASSWORD": "wrong"})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "Traceback" not in result.stderr
    assert "wrong" not in lines[0]


def test_a_calendar_that_moved_is_discovered_again(caldav_server, calendar):
    provider = provider_for(caldav_server, calendar)
    provider.create(make_item(1))
    state = dict(provider.state)
    state["calendar_url"] = (
        caldav_server.url.rstrip("/") + caldav_server.home + "gone-away/"
    )  # what an old state may say
    again = provider_for(caldav_server, calendar, state)
    assert set(again.scan({}, None).items) == {make_item(1).uid}
    assert again.state["calendar_url"] == provider.state["calendar_url"]
