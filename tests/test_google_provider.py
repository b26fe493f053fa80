"""The google provider against the local Calendar v3 emulator: the Provider contract, batching, the request
budget, faults, credentials, and end to end through `calsync sync`."""

from __future__ import annotations

import base64
import itertools
import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from factories import many_followups
from filetargets import Workspace, event
from googletargets import google_workspace, make_target, write_oauth_token
from hypothesis import given
from hypothesis import strategies as st
from reliability import count

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.provider import Create, RemoteItem, Target, Update
from calsync.render import render_item
from calsync_google.auth import write_token
from calsync_google.events import event_id
from calsync_google.provider import GoogleProvider

# --- helpers ----------------------------------------------------------------------------------------------------


@pytest.fixture
def target(google_emulator, tmp_path):
    return make_target(google_emulator, tmp_path)


@pytest.fixture
def provider(target):
    p = GoogleProvider(target)
    yield p
    p.close()


def items(n: int):
    return [render_item(f) for f in many_followups(n)]


def first_sync(provider, n: int):
    rendered = items(n)
    scan = provider.scan({}, None)
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes if o.error]
    known = {o.action.uid: RemoteItem(o.action.uid, o.written.href, o.written.etag) for o in outcomes}
    return rendered, known, scan.token


def calendar_state(emulator) -> dict[str, tuple[str, int]]:
    """Every calsync event: uid -> (status, sequence)."""
    result = {}
    for ev in emulator.events(deleted=True):
        private = (ev.get("extendedProperties") or {}).get("private") or {}
        if private.get("calsync") == "1":
            assert private["uid"] not in result
            result[private["uid"]] = (ev["status"], ev["sequence"])
    return result


# --- the contract -------------------------------------------------------------------------------------------------


def test_create_list_update_delete(provider, google_emulator):
    (item,) = items(1)
    written = provider.create(item)
    assert written.href == event_id(item.uid)
    listed = provider.list_items()
    assert listed == [RemoteItem(item.uid, written.href, written.etag)]
    ev = google_emulator.events()[0]
    assert ev["start"]["timeZone"] == "America/Chicago"
    assert ev["reminders"] == {"useDefault": False, "overrides": [{"method": "popup", "minutes": 0}]}
    assert ev["extendedProperties"]["private"] == {
        "calsync": "1",
        "uid": item.uid,
        "interview": "company-0",
        "kind": "check_in",
        "hash": str(item.component["X-CALSYNC-HASH"]),  # the seal, read back as X-CALSYNC-HASH
    }
    again = provider.update(written.href, item, written.etag)
    assert again.href == written.href and again.etag != written.etag
    with pytest.raises(PreconditionFailed):
        provider.update(written.href, item, written.etag)  # stale ETag
    with pytest.raises(PreconditionFailed):
        provider.delete(written.href, written.etag)
    provider.delete(written.href, again.etag)
    assert provider.list_items() == []
    with pytest.raises(NotFound):
        provider.delete(written.href, None)
    with pytest.raises(NotFound):
        provider.update("nosuchevent00", item, None)


def test_creating_an_existing_event_is_reconciled_not_duplicated(provider, google_emulator):
    (item,) = items(1)
    first = provider.create(item)
    second = provider.create(item)  # e.g. the state database was lost
    assert second.href == first.href
    assert len(google_emulator.events(deleted=True)) == 1


def test_a_deleted_event_is_restored_in_place(provider, google_emulator):
    (item,) = items(1)
    written = provider.create(item)
    google_emulator.user_delete("primary", written.href)
    assert provider.list_items() == []  # deleted by the user: absent
    restored = provider.create(item)
    assert restored.href == written.href
    (ev,) = google_emulator.events(deleted=True)
    assert ev["status"] == "confirmed"


def test_an_event_with_our_id_not_written_by_calsync_is_not_taken(provider, google_emulator):
    (item,) = items(1)
    body = {
        "id": event_id(item.uid),
        "summary": "mine",
        "start": {"dateTime": "2027-01-04T09:00:00Z"},
        "end": {"dateTime": "2027-01-04T10:00:00Z"},
    }
    google_emulator.user_insert("primary", body)
    with pytest.raises(PreconditionFailed):
        provider.create(item)
    assert google_emulator.events()[0]["summary"] == "mine"


def test_cancelled_follow_up_stays_listed_and_user_events_are_untouched(provider, google_emulator):
    from calsync.render import with_status_cancelled

    rendered, known, token = first_sync(provider, 2)
    mine = google_emulator.user_insert(
        "primary",
        {"summary": "Dentist", "start": {"date": "2027-01-05"}, "end": {"date": "2027-01-06"}},
    )
    cancelled = with_status_cancelled(rendered[0], 1, datetime.now(UTC))
    (outcome,) = provider.apply(
        [Update(cancelled.uid, known[cancelled.uid].href, known[cancelled.uid].etag, cancelled)]
    )
    known[cancelled.uid] = RemoteItem(cancelled.uid, outcome.written.href, outcome.written.etag)
    scan = provider.scan(known, token)
    assert scan.items == known
    assert provider.scan({}, None).items.keys() == {rendered[1].uid}  # unknown cancelled ones: absent
    ev = google_emulator.events(deleted=True)
    assert {e["id"]: e["status"] for e in ev}[known[cancelled.uid].href] == "cancelled"
    untouched = next(e for e in ev if e["id"] == mine["id"])
    assert untouched["etag"] == mine["etag"] and untouched["summary"] == "Dentist"


def test_todo_is_refused():
    from factories import followup

    item = render_item(followup(), component="todo")
    target = Target("g", "google", {})
    with pytest.raises(ProviderError, match="no tasks"):
        list(GoogleProvider(target).apply([Create(item.uid, item)]))
    assert GoogleProvider.supports_todo is False


# --- request budget --------------------------------------------------------------------------------------------


def test_first_sync_of_200_is_one_listing_and_paced_batches_and_resync_is_one_request(provider, google_emulator):
    _rendered, known, token = first_sync(provider, 200)
    listing, *writes = google_emulator.log
    assert not listing.batch and listing.query["privateExtendedProperty"] == ["calsync=1"]
    assert [entry.parts for entry in writes] == [50, 50, 50, 50]
    assert all(method == "POST" for entry in writes for method, _ in entry.sub)
    # 500 calls a minute: the first batch goes at once, each next one when 50 more calls fit (6 s later).
    gaps = [b.at - a.at for a, b in itertools.pairwise(writes)]
    assert all(gap >= 6.0 - 1e-6 for gap in gaps) and sum(gaps) < 19
    assert token is not None
    refreshed = provider.scan(known, token)
    assert refreshed.items == known
    google_emulator.clear_log()
    again = provider.scan(refreshed.items, refreshed.token)
    assert again.items == known
    assert len(google_emulator.log) == 1
    (entry,) = google_emulator.log
    assert "syncToken" in entry.query and "privateExtendedProperty" not in entry.query
    assert entry.query["showDeleted"] == ["true"]
    assert len(calendar_state(google_emulator)) == 200


def test_batches_hold_at_most_batch_size_calls(google_emulator, tmp_path):
    provider = GoogleProvider(make_target(google_emulator, tmp_path, batch_size=40))
    first_sync(provider, 100)
    assert [e.parts for e in google_emulator.log if e.batch] == [40, 40, 20]


def test_bad_pacing_options_are_one_line_errors(google_emulator, tmp_path):
    from calsync.errors import UserError

    for key, value in (("batch_size", 0), ("batch_size", 1001), ("calls_per_minute", "fast"), ("max_retries", -1)):
        with pytest.raises(UserError, match=rf"targets\.g\.{key}: expected a number"):
            GoogleProvider(make_target(google_emulator, tmp_path, **{key: value}))


def test_incremental_scan_applies_the_delta(provider, google_emulator):
    rendered, known, token = first_sync(provider, 3)
    token = provider.scan(known, token).token
    a, b, _ = rendered
    google_emulator.user_edit("primary", known[a.uid].href, summary="edited")
    google_emulator.user_delete("primary", known[b.uid].href)
    google_emulator.user_insert(
        "primary", {"summary": "other", "start": {"date": "2027-02-01"}, "end": {"date": "2027-02-02"}}
    )
    google_emulator.clear_log()
    scan = provider.scan(known, token)
    assert len(google_emulator.log) == 1
    assert set(scan.items) == {a.uid, rendered[2].uid}
    assert scan.items[a.uid].etag != known[a.uid].etag
    assert scan.items[rendered[2].uid] == known[rendered[2].uid]


def test_expired_sync_token_relists_without_duplicates(provider, google_emulator):
    _rendered, known, token = first_sync(provider, 5)
    token = provider.scan(known, token).token
    google_emulator.invalidate_sync_tokens()
    google_emulator.clear_log()
    scan = provider.scan(known, token)
    assert scan.items == known
    assert [e.query.get("syncToken") is not None for e in google_emulator.log] == [True, False]
    assert scan.token and scan.token != token


def test_listing_pages(provider, google_emulator):
    google_emulator.page_size = 7
    _rendered, known, _token = first_sync(provider, 30)
    google_emulator.clear_log()
    assert provider.scan({}, None).items == known
    assert len(google_emulator.log) == 5


# --- faults -------------------------------------------------------------------------------------------------------

TRANSIENT = ["429", "503", "rateLimitExceeded", "userRateLimitExceeded"]
FAULTS = [(kind, scope) for kind in TRANSIENT for scope in ("request", "part")]
FAULTS += [("drop", "request"), ("drop_after", "request")]  # a connection drops for a whole request


@pytest.mark.parametrize(("kind", "scope"), FAULTS)
def test_transient_faults_are_survived(provider, google_emulator, kind, scope):
    rendered = items(6)
    provider.scan({}, None)
    google_emulator.inject(kind, scope=scope, count=2)
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    assert [o.error for o in outcomes] == [None] * 6
    assert calendar_state(google_emulator) == {i.uid: ("confirmed", 0) for i in rendered}
    assert {o.written.href for o in outcomes} == {event_id(i.uid) for i in rendered}


def test_only_failed_sub_requests_are_retried(provider, google_emulator):
    rendered = items(10)
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject("503", scope="part", count=3)
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    assert all(o.error is None for o in outcomes)
    first, *retries = [e.parts for e in google_emulator.log if e.batch]
    assert first == 10 and sum(retries) == 3  # each failed call again, on its own backoff


def test_retry_after_is_honoured(provider, google_emulator):
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject("429", retry_after="3")
    list(provider.apply([Create(i.uid, i) for i in items(2)]))
    first, second = google_emulator.log
    assert second.at - first.at >= 3


def test_a_failed_call_is_retried_alone_after_its_backoff(provider, google_emulator):
    rendered = items(6)
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject("userRateLimitExceeded", scope="part", count=1)
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    assert [o.error for o in outcomes] == [None] * 6
    first, retry = google_emulator.log
    assert (first.parts, retry.parts) == (6, 1)
    assert retry.at - first.at >= provider.backoff_base / 2  # its own backoff, not an immediate burst


def test_usage_limits_stop_the_sync_cleanly_after_reporting_what_was_written(provider, google_emulator):
    from calsync_google.provider import WritesPaused

    rendered = items(3)
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject("quotaExceeded", scope="part")
    outcomes = []
    with pytest.raises(WritesPaused, match=r"paused writes.*next sync continues") as info:
        for outcome in provider.apply([Create(i.uid, i) for i in rendered]):
            outcomes.append(outcome)
    assert "\n" not in str(info.value)
    assert len(outcomes) == 2 and all(o.error is None for o in outcomes)
    assert len(calendar_state(google_emulator)) == 2
    assert len([e for e in google_emulator.log if e.batch]) == 1  # not retried


def test_a_forbidden_item_is_refused_alone(provider, google_emulator):
    from calsync.errors import ItemRefused

    rendered = items(3)
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject("forbidden", scope="part")
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    errors = [o.error for o in outcomes if o.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], ItemRefused) and errors[0].status == 403
    assert errors[0].href == event_id(outcomes[0].action.uid)
    assert len([e for e in google_emulator.log if e.batch]) == 1
    assert len(calendar_state(google_emulator)) == 2


def test_a_follow_up_google_cannot_hold_is_refused_alone(provider, google_emulator):
    from dataclasses import replace

    from calsync.errors import ItemRefused

    good, bad = items(2)
    calendar = bad.calendar.copy()
    calendar.subcomponents = [sub.copy() for sub in bad.calendar.subcomponents]
    component = next(sub for sub in calendar.subcomponents if sub.name == "VEVENT")
    floating = component["DTSTART"].dt.replace(tzinfo=None)
    del component["DTSTART"]
    component.add("DTSTART", floating)  # a floating time without TZID: Google needs a zone
    bad = replace(bad, calendar=calendar)
    provider.scan({}, None)
    outcomes = {o.action.uid: o for o in provider.apply([Create(i.uid, i) for i in (good, bad)])}
    assert outcomes[good.uid].error is None
    assert isinstance(outcomes[bad.uid].error, ItemRefused) and "time zone" in str(outcomes[bad.uid].error)
    assert set(calendar_state(google_emulator)) == {good.uid}


def test_bad_request_is_reported_not_retried(provider, google_emulator, monkeypatch):
    import calsync_google.provider as module
    from calsync.errors import ItemRefused

    (item,) = items(1)
    real = module.to_event
    monkeypatch.setattr(module, "to_event", lambda *a, **k: {**real(*a, **k), "colour": "red"})
    provider.scan({}, None)
    google_emulator.clear_log()
    (outcome,) = provider.apply([Create(item.uid, item)])
    assert isinstance(outcome.error, ItemRefused) and "colour" in str(outcome.error)
    assert outcome.error.status == 400
    assert len(google_emulator.log) == 1


# --- credentials --------------------------------------------------------------------------------------------------


def test_expired_token_is_refreshed_and_stored(google_emulator, tmp_path):
    token_file = tmp_path / "google-g.json"
    write_oauth_token(token_file, google_emulator, token="stale", expiry=datetime.now() - timedelta(hours=1))
    provider = GoogleProvider(make_target(google_emulator, tmp_path))
    assert provider.list_items() == []
    assert [r["grant_type"] for r in google_emulator.token_requests] == ["refresh_token"]
    stored = json.loads(token_file.read_text())
    assert stored["token"] != "stale" and stored["token"] in google_emulator.access_tokens
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "test-secret" not in "".join(str(r) for r in google_emulator.log)


def test_rejected_token_is_refreshed_once(google_emulator, tmp_path):
    token_file = tmp_path / "google-g.json"
    write_oauth_token(token_file, google_emulator, token="revoked-access-token")  # looks valid, is not
    provider = GoogleProvider(make_target(google_emulator, tmp_path))
    assert provider.list_items() == []
    assert len(google_emulator.token_requests) == 1
    assert json.loads(token_file.read_text())["token"] != "revoked-access-token"


def test_revoked_grant_says_what_to_do(google_emulator, tmp_path):
    write_oauth_token(
        tmp_path / "google-g.json", google_emulator, refresh="revoked", expiry=datetime.now() - timedelta(hours=1)
    )
    provider = GoogleProvider(make_target(google_emulator, tmp_path))
    with pytest.raises(ProviderError, match=r"calsync auth g.*Testing") as info:
        provider.list_items()
    assert "revoked" not in str(info.value).replace("or was revoked", "")


def test_missing_token_file_says_run_auth(google_emulator, tmp_path):
    target = Target("g", "google", {"api_endpoint": google_emulator.url}, state_dir=tmp_path / "state")
    with pytest.raises(ProviderError, match="calsync auth g"):
        GoogleProvider(target).list_items()


def test_service_account_with_subject(google_emulator, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key_file = tmp_path / "sa.json"
    key_file.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "calsync@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": google_emulator.url + "token",
            }
        )
    )
    target = Target(
        "g",
        "google",
        {
            "api_endpoint": google_emulator.url,
            "auth": "service_account",
            "key_file": str(key_file),
            "subject": "me@example.com",
        },
    )
    provider = GoogleProvider(target)
    provider.create(items(1)[0])
    (request,) = google_emulator.token_requests
    assert request["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    payload = request["assertion"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["sub"] == "me@example.com"
    assert claims["iss"] == "calsync@p.iam.gserviceaccount.com"
    assert "auth/calendar" in claims["scope"]


def test_web_client_secrets_are_explained(tmp_path):
    from calsync_google.auth import read_client_secrets

    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"web": {"client_id": "x", "client_secret": "y"}}))
    target = Target("g", "google", {"client_secrets": str(secrets)})
    with pytest.raises(ProviderError, match="Desktop app"):
        read_client_secrets(target)


def test_token_file_is_written_0600_atomically(tmp_path):
    path = tmp_path / "deep" / "tok.json"
    write_token(path, '{"a": 1}')
    write_token(path, '{"a": 2}')
    assert json.loads(path.read_text()) == {"a": 2}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["tok.json"]


# --- calendars ----------------------------------------------------------------------------------------------------


def test_named_calendar_is_created_once_and_remembered(google_emulator, tmp_path):
    target = make_target(google_emulator, tmp_path, calendar="Follow-ups", create=True)
    provider = GoogleProvider(target)
    provider.create(items(1)[0])
    cal_id = provider.state["calendar_id"]
    assert cal_id.endswith("@group.calendar.google.com")
    assert len(google_emulator.events(cal_id)) == 1
    google_emulator.clear_log()
    later = GoogleProvider(target)
    later.state = dict(provider.state)
    later.list_items()
    assert [e.path for e in google_emulator.log] == [f"/calendar/v3/calendars/{cal_id}/events"]


def test_missing_named_calendar_without_create(google_emulator, tmp_path):
    provider = GoogleProvider(make_target(google_emulator, tmp_path, calendar="Nope"))
    with pytest.raises(ProviderError, match="create = true"):
        provider.list_items()


def test_plugin_import_stays_light():
    code = (
        "import sys, calsync_google, calsync_google.provider;"
        "print([m for m in sys.modules if m.startswith(('google.', 'googleapiclient', 'httplib2'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- end to end through `calsync sync` ---------------------------------------------------------------------------


@pytest.fixture
def gws(google_emulator, tmp_path) -> Workspace:
    ws = google_workspace(google_emulator, tmp_path, "backoff_base = 0.001\n")
    ws.emulator = google_emulator
    return ws


def remote(ws) -> dict[str, dict]:
    result = {}
    for ev in ws.emulator.events(deleted=True):
        private = (ev.get("extendedProperties") or {}).get("private") or {}
        if private.get("calsync") == "1":
            result[private["uid"]] = ev
    return result


def test_e2e_first_sync_creates_exactly_the_plan(gws):
    report = gws.sync_json()[0]
    planned = {row["uid"]: row for row in gws.plan() if row["status"] == "planned"}
    events = remote(gws)
    assert set(events) == set(planned) and report["created"] == len(planned)
    for uid, ev in events.items():
        assert datetime.fromisoformat(ev["start"]["dateTime"]) == datetime.fromisoformat(planned[uid]["due"])
        assert ev["sequence"] == 0 and ev["status"] == "confirmed" and ev["id"] == event_id(uid)
    assert [e.parts for e in gws.emulator.log if e.batch] == [len(planned)]


def test_e2e_resync_is_one_request_and_no_write(gws):
    gws.sync_json()
    before = {uid: ev["etag"] for uid, ev in remote(gws).items()}
    gws.emulator.clear_log()
    report = gws.sync_json()[0]
    assert report["created"] == report["updated"] == report["deleted"] == 0
    assert len(gws.emulator.log) == 1
    assert {uid: ev["etag"] for uid, ev in remote(gws).items()} == before


def test_e2e_extension_moves_the_event(gws):
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    old = remote(gws)[check_in]
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    report = gws.sync_json()[0]
    moved = remote(gws)[check_in]
    assert report["created"] == 0
    assert moved["id"] == old["id"] and moved["sequence"] == old["sequence"] + 1
    assert moved["start"]["dateTime"].startswith("2026-12-07")


def test_e2e_reply_cancels(gws):
    gws.sync_json()
    gws.write_interviews(event("2026-11-24", "replied"))
    gws.sync_json()
    kinds = gws.by_kind()
    events = remote(gws)
    for row in kinds["check_in"] + kinds["retry"]:
        assert events[row["uid"]]["status"] == "cancelled"
    gws.emulator.clear_log()
    report = gws.sync_json()[0]
    assert report["updated"] == 0 and len(gws.emulator.log) == 1


def test_e2e_rejection_adds_the_feedback_request(gws):
    gws.sync_json()
    gws.write_interviews(event("2026-12-01", "rejected"))
    report = gws.sync_json()[0]
    feedback = gws.by_kind()["feedback_request"][0]
    assert report["created"] >= 1
    assert remote(gws)[feedback["uid"]]["status"] == "confirmed"


def test_e2e_user_events_untouched_and_user_edit_kept(gws):
    mine = gws.emulator.user_insert(
        "primary", {"summary": "Dentist", "start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
    )
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    edited = gws.emulator.user_edit("primary", event_id(check_in), summary="my own words")
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    report = gws.sync_json()[0]
    assert report["conflicts"]
    ev = remote(gws)[check_in]
    assert ev["summary"] == "my own words" and ev["etag"] == edited["etag"]
    (dentist,) = [e for e in gws.emulator.events() if e["id"] == mine["id"]]
    assert dentist["etag"] == mine["etag"]


def test_e2e_user_edit_overwritten_with_force(gws):
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    gws.emulator.user_edit("primary", event_id(check_in), summary="my own words")
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))
    gws.sync_json("--force")
    assert remote(gws)[check_in]["summary"] != "my own words"


def test_e2e_auth_command_refuses_service_account_targets(gws):
    text = gws.config.read_text() + '\n[targets.sa]\nprovider = "google"\nauth = "service_account"\n'
    gws.config.write_text(text)
    from click.testing import CliRunner

    from calsync.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(gws.config), "auth", "sa"])
    assert result.exit_code == 2 and "service account" in result.output


def test_e2e_auth_command_stores_the_token(gws, monkeypatch):
    from click.testing import CliRunner
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib.flow import InstalledAppFlow

    from calsync.cli import cli

    secrets = gws.root / "client.json"
    secrets.write_text(json.dumps({"installed": {"client_id": "c", "client_secret": "s",
                                                 "auth_uri": "https://accounts.example/auth",
                                                 "token_uri": "https://oauth2.example/token"}}))  # fmt: skip
    token = gws.root / "new-token.json"
    gws.config.write_text(
        gws.config.read_text()
        + f'\n[targets.h]\nprovider = "google"\nclient_secrets = "{secrets}"\ntoken_file = "{token}"\n'
    )
    seen = {}

    def fake_run_local_server(self, **kwargs):
        seen.update(kwargs)
        return Credentials(token="at", refresh_token="rt", token_uri="https://oauth2.example/token",
                           client_id="c", client_secret="s")  # fmt: skip

    monkeypatch.setattr(InstalledAppFlow, "run_local_server", fake_run_local_server)
    result = CliRunner().invoke(cli, ["--config", str(gws.config), "auth", "h", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert seen["open_browser"] is False
    assert json.loads(token.read_text())["refresh_token"] == "rt"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert "rt" not in result.output.split() and "s" not in result.output.split()

    secrets.write_text(json.dumps({"web": {"client_id": "c", "client_secret": "s"}}))
    result = CliRunner().invoke(cli, ["--config", str(gws.config), "auth", "h"])
    assert result.exit_code == 2 and "Desktop app" in result.output


def test_no_token_leaks_in_the_environment_output(gws):
    out = gws.run("sync")
    assert "test-access-token" not in out and "test-secret" not in out
    assert os.stat(gws.root / "google-g.json").st_mode & 0o077 == 0


def test_e2e_deleted_event_comes_back_in_place_when_it_moves(gws):
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    gws.emulator.user_delete("primary", event_id(check_in))
    report = gws.sync_json()[0]
    assert report["created"] == report["updated"] == 0  # the user's deletion sticks
    assert remote(gws)[check_in]["status"] == "cancelled"
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # its due time changes: it comes back
    gws.sync_json()
    back = remote(gws)[check_in]
    assert back["status"] == "confirmed" and back["id"] == event_id(check_in)
    assert back["start"]["dateTime"].startswith("2026-12-07")
    assert len([e for e in gws.emulator.events(deleted=True) if e["id"] == event_id(check_in)]) == 1


def test_e2e_lost_state_does_not_duplicate(gws):
    import shutil

    gws.sync_json()
    before = remote(gws)
    shutil.rmtree(gws.state)
    assert "--adopt" in gws.run("sync", expect=2)  # a lost state is said, once, before anything is adopted
    gws.sync_json("--adopt")
    after = remote(gws)
    assert after.keys() == before.keys()
    assert len(gws.emulator.events(deleted=True)) == len(before)
    gws.emulator.clear_log()
    gws.sync_json()
    assert len(gws.emulator.log) == 1


# --- what real accounts do: quotas, tombstones, a lost state, OAuth (emulator modes) ------------------------------


def sync_many(google_emulator, tmp_path, count: int, **options):
    """A first sync of ``count`` follow-ups through the engine; returns the report, the provider and the items."""
    from calsync.sync.engine import sync_target

    target = make_target(google_emulator, tmp_path, **options)
    provider = GoogleProvider(target)
    report = sync_target(target, many_followups(count), provider=provider, state_dir=tmp_path / "state")
    return report, provider


def test_writes_are_paced_under_the_per_user_quota(google_emulator, tmp_path):
    quota = google_emulator.enforce_quota(user_per_minute=120)
    started = google_emulator.clock.now()
    report, _ = sync_many(google_emulator, tmp_path, 150, calls_per_minute=100, batch_size=10)
    elapsed = google_emulator.clock.now() - started
    assert quota.refused == 0  # no call answered rateLimitExceeded
    count("google faults", "calls paced under the per-user quota", 150)
    assert len(report.created) == 150 and len(calendar_state(google_emulator)) == 150
    assert [e.parts for e in google_emulator.log if e.batch] == [10] * 15
    lower_bound = (150 - 10) / 100 * 60  # the first batch goes at once, then 100 calls a minute
    assert lower_bound <= elapsed <= 1.1 * lower_bound


def test_calls_over_the_calendars_write_rate_are_retried_until_written(google_emulator, tmp_path):
    import random

    quota = google_emulator.enforce_quota(calendar_writes=15, calendar_window=10.0)
    target = make_target(google_emulator, tmp_path, backoff_base=1.0)
    provider = GoogleProvider(target)
    provider.rng = random.Random(7)
    rendered = items(60)
    provider.scan({}, None)
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    assert 0 < quota.refused < 2 * len(rendered)  # the mode did bite, and the pace adapted instead of hammering
    assert [o.error for o in outcomes] == [None] * 60  # nothing failed to the user
    assert calendar_state(google_emulator) == {i.uid: ("confirmed", 0) for i in rendered}
    assert len(google_emulator.events(deleted=True)) == 60  # nothing duplicated
    count("google faults", "calls refused for a calendar's write rate, then written", quota.refused)


def test_usage_limit_lockout_stops_the_sync_and_the_next_one_continues(gws):
    mine = gws.emulator.user_insert(
        "primary", {"summary": "Dentist", "start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
    )
    planned = {row["uid"] for row in gws.plan() if row["status"] == "planned"}
    assert len(planned) >= 3
    gws.emulator.lock_writes_after(2)
    out = gws.run("sync", expect=2)
    assert "Google has paused writes to calendar 'primary'" in out and "next sync continues" in out
    assert "Traceback" not in out and "daily" not in out
    assert len(remote(gws)) == 2
    gws.emulator.clock.sleep(3 * 3600)  # the lockout ends
    report = gws.sync_json()[0]
    assert report["created"] == len(planned) - 2 and not report["conflicts"]
    events = remote(gws)
    assert set(events) == planned and len(gws.emulator.events(deleted=True)) == len(planned) + 1
    assert all(ev["status"] == "confirmed" for ev in events.values())
    (dentist,) = [e for e in gws.emulator.events() if e["id"] == mine["id"]]
    assert dentist["etag"] == mine["etag"]
    count("google faults", "usage-limit lockouts survived")


def test_an_update_refused_by_the_lockout_never_passes_a_later_user_edit_for_ours(gws):
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # calsync wants to move the check-in
    gws.emulator.lock_writes_after(0)
    out = gws.run("sync", expect=2)
    assert "paused writes" in out
    gws.emulator.user_edit("primary", event_id(check_in), summary="my own words")  # during the lockout
    gws.emulator.clock.sleep(3 * 3600)
    report = gws.sync_json()[0]
    assert [c["uid"] for c in report["conflicts"]] == [check_in]  # told, and the user's edit is kept
    assert remote(gws)[check_in]["summary"] == "my own words"


def live_ids(ws, uid: str) -> list[str]:
    return [
        e["id"]
        for e in ws.emulator.events()
        if (e.get("extendedProperties") or {}).get("private", {}).get("uid") == uid
    ]


@pytest.mark.parametrize("tombstone", ["refuse_restore", "purged"])
def test_a_tombstone_google_will_not_revive_moves_the_follow_up_to_a_fresh_id(gws, tombstone):
    gws.sync_json()
    check_in = gws.by_kind()["check_in"][0]["uid"]
    old_id = event_id(check_in)
    gws.emulator.user_delete("primary", old_id)
    gws.sync_json()  # the user's deletion sticks while nothing changes
    if tombstone == "purged":
        gws.emulator.purge("primary", old_id)  # weeks later: get 404, the id still taken
    else:
        gws.emulator.refuse_restore = True
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # its due time changes: it comes back
    report = gws.sync_json()[0]
    assert not report["conflicts"] and report["created"] + report["updated"] >= 1
    (new_id,) = live_ids(gws, check_in)
    assert new_id == event_id(check_in, 1) != old_id
    back = next(e for e in gws.emulator.events() if e["id"] == new_id)
    assert back["start"]["dateTime"].startswith("2026-12-07")
    assert back["extendedProperties"]["private"]["generation"] == "1"
    assert old_id not in {e["id"] for e in gws.emulator.events()}  # the tombstone stays a tombstone
    count("google faults", f"tombstones moved to a fresh id ({tombstone})")
    gws.emulator.clear_log()
    again = gws.sync_json()[0]
    assert again["created"] == again["updated"] == 0 and len(gws.emulator.log) == 1
    # A lost state later: the listing adopts the new id, nothing is inserted or duplicated.
    import shutil

    shutil.rmtree(gws.state)
    gws.sync_json("--adopt")  # a lost state is adopted on request (issue 8)
    assert live_ids(gws, check_in) == [new_id]
    assert not any(method == "POST" for e in gws.emulator.log if e.batch for method, _ in e.sub)


def test_bringing_back_an_event_calsync_cancelled_moves_it_when_google_refuses(provider, google_emulator):
    from calsync.render import with_status_cancelled

    (item,) = items(1)
    written = provider.create(item)
    cancelled = with_status_cancelled(item, 1, datetime.now(UTC))
    (gone,) = provider.apply([Update(item.uid, written.href, written.etag, cancelled)])
    google_emulator.refuse_restore = True
    back = replace(item, sequence=2)  # the follow-up is planned again
    (outcome,) = provider.apply([Update(item.uid, written.href, gone.written.etag, back)])
    assert isinstance(outcome.action, Update) and outcome.error is None
    assert outcome.written.href == event_id(item.uid, 1) and provider.generation(item.uid) == 1
    by_id = {e["id"]: e["status"] for e in google_emulator.events(deleted=True)}
    assert by_id == {written.href: "cancelled", event_id(item.uid, 1): "confirmed"}
    assert provider.scan({}, None).items[item.uid].href == event_id(item.uid, 1)


@pytest.mark.parametrize("bare", [False, True], ids=["deleted-listed-whole", "deleted-listed-bare"])
def test_first_sync_after_state_loss_adopts_with_one_listing_and_keeps_deletions(gws, bare):
    import shutil

    gws.emulator.bare_deleted = bare

    mine = gws.emulator.user_insert(
        "primary", {"summary": "Dentist", "start": {"date": "2026-11-30"}, "end": {"date": "2026-12-01"}}
    )
    gws.sync_json()
    kinds = gws.by_kind()
    deleted = kinds["check_in"][0]["uid"]
    gws.emulator.user_delete("primary", event_id(deleted))
    before = remote(gws)
    shutil.rmtree(gws.state)
    gws.emulator.clear_log()
    gws.sync_json("--adopt")  # a lost state is adopted on request (issue 8)
    # Each live event found without a state is read back (its seal tells calsync's from the user's edits) from the
    # adopting listing itself, which holds what a get would return: no get per event.
    reads = [e for e in gws.emulator.log if not e.batch and e.method == "GET" and not e.path.endswith("/events")]
    assert reads == []
    listings = [e for e in gws.emulator.log if not e.batch and e not in reads]
    calls = [sub for e in gws.emulator.log if e.batch for sub in e.sub]
    assert listings[0].query["privateExtendedProperty"] == ["calsync=1"]
    # Adopted by the listing: no rewrite of events that already say what calsync would write; one incremental
    # listing after it for the next sync's token. A deleted event listed bare costs its insert (409) and a get.
    events_path = "/calendar/v3/calendars/primary/events"
    bare_cost = [("POST", events_path), ("GET", f"{events_path}/{event_id(deleted)}")]
    assert calls == (bare_cost if bare else [])
    assert len(gws.emulator.log) == (4 if bare else 2)
    after = remote(gws)
    assert after.keys() == before.keys() and len(gws.emulator.events(deleted=True)) == len(before) + 1
    assert after[deleted]["status"] == "cancelled"  # the user's deletion stays
    for _ in range(2):
        gws.emulator.clear_log()
        report = gws.sync_json()[0]
        assert report["created"] == report["updated"] == 0 and len(gws.emulator.log) == 1
        assert remote(gws)[deleted]["status"] == "cancelled"
    (dentist,) = [e for e in gws.emulator.events() if e["id"] == mine["id"]]
    assert dentist["etag"] == mine["etag"]


def test_after_state_loss_only_events_that_differ_are_rewritten(gws):
    import shutil

    gws.sync_json()
    planned = {row["uid"]: (row["due"], row["status"]) for row in gws.plan()}
    shutil.rmtree(gws.state)
    gws.write_interviews(event("2026-11-25", "extended", "2026-12-04"))  # the check-in moves meanwhile
    moved = {row["uid"] for row in gws.plan() if planned.get(row["uid"]) != (row["due"], row["status"])}
    gws.emulator.clear_log()
    report = gws.sync_json("--adopt")[0]  # a lost state is adopted on request (issue 8)
    calls = [sub for e in gws.emulator.log if e.batch for sub in e.sub]
    check_in = gws.by_kind()["check_in"][0]["uid"]
    assert check_in in moved and len(moved) < len(planned)
    assert sorted(calls) == sorted(("PUT", f"/calendar/v3/calendars/primary/events/{event_id(u)}") for u in moved)
    assert remote(gws)[check_in]["start"]["dateTime"].startswith("2026-12-07")
    assert not report["conflicts"] and report["created"] == 0


def test_etag_drift_is_reported_as_a_changed_event(provider, google_emulator):
    (item,) = items(1)
    written = provider.create(item)
    google_emulator.drift_etags("primary", [written.href])
    (ev,) = google_emulator.events()
    assert ev["etag"] != written.etag and ev["summary"] == str(item.component["SUMMARY"])
    with pytest.raises(PreconditionFailed):
        provider.update(written.href, item, written.etag)
    assert provider.list_items() == [RemoteItem(item.uid, written.href, ev["etag"])]


def test_insert_sends_the_id_alone(gws):
    gws.emulator.strict_ids = True  # rejects id together with iCalUID, as Google documents them as alternatives
    report = gws.sync_json()[0]
    planned = {row["uid"] for row in gws.plan() if row["status"] == "planned"}
    assert report["created"] == len(planned) and set(remote(gws)) == planned


def test_scopes_are_the_narrowest_that_cover_every_call(tmp_path):
    from google_emulator import discovery_document

    from calsync_google.auth import APP_CREATED, CALENDAR_LIST_READONLY, EVENTS_OWNED, scopes

    def target(**options):
        return Target("g", "google", options)

    assert scopes(target()) == [EVENTS_OWNED]
    assert scopes(target(calendar="abc@group.calendar.google.com")) == [EVENTS_OWNED]
    assert scopes(target(calendar="Follow-ups")) == [EVENTS_OWNED, CALENDAR_LIST_READONLY]
    assert scopes(target(calendar="Follow-ups", create=True)) == [APP_CREATED, CALENDAR_LIST_READONLY]
    resources = discovery_document()["resources"]
    known = discovery_document()["auth"]["oauth2"]["scopes"]
    events = ["insert", "update", "get", "list", "delete"]
    for options, calls in [
        ({}, [("events", m) for m in events]),
        ({"calendar": "Follow-ups"}, [("events", m) for m in events] + [("calendarList", "list")]),
        (
            {"calendar": "Follow-ups", "create": True},
            [("events", m) for m in events] + [("calendarList", "list"), ("calendars", "insert")],
        ),
    ]:
        chosen = scopes(target(**options))
        assert all(scope in known for scope in chosen)
        for resource, method in calls:
            allowed = resources[resource]["methods"][method]["scopes"]
            assert any(scope in allowed for scope in chosen), (options, resource, method)
        assert "https://www.googleapis.com/auth/calendar" not in chosen


def browse(url: str) -> None:
    """A browser that consents: follows the emulator's redirect to calsync's local port (in a thread, as the
    flow waits for the redirect only after opening the browser)."""
    import threading
    import urllib.request

    threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read(), daemon=True).start()


def test_a_second_auth_still_gets_a_refresh_token(gws, monkeypatch):
    import webbrowser

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator's token endpoint is plain http
    monkeypatch.setattr(
        webbrowser, "get", lambda *a, **k: type("B", (), {"open": lambda self, url, **kw: browse(url)})()
    )
    emu = gws.emulator
    secrets = gws.root / "client.json"
    secrets.write_text(json.dumps({"installed": {"client_id": "desk", "client_secret": "s",
                                                 "auth_uri": emu.url + "auth", "token_uri": emu.url + "token",
                                                 "redirect_uris": ["http://localhost"]}}))  # fmt: skip
    token = gws.root / "second-token.json"
    gws.config.write_text(
        gws.config.read_text()
        + f'\n[targets.h]\nprovider = "google"\nclient_secrets = "{secrets}"\ntoken_file = "{token}"\n'
    )
    for _ in range(2):  # a second machine, or a token file lost: Google gives a refresh token only on consent
        token.unlink(missing_ok=True)
        gws.run("auth", "h")
        stored = json.loads(token.read_text())
        assert stored["refresh_token"] in emu.refresh_tokens
    assert [r.get("prompt") for r in emu.auth_requests] == ["consent", "consent"]
    assert emu.auth_requests[0]["scope"] == "https://www.googleapis.com/auth/calendar.events.owned"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600


@given(uid=st.text(min_size=1, max_size=300), a=st.integers(0, 1000), b=st.integers(0, 1000))
def test_event_ids_are_valid_stable_and_one_per_generation(uid, a, b):
    import hashlib
    import re

    assert re.fullmatch(r"[a-v0-9]{52}", event_id(uid, a))  # Google's alphabet for client-chosen ids
    assert (event_id(uid, a) == event_id(uid, b)) == (a == b)
    # Generation 0 is the id every event written before generations existed has.
    legacy = base64.b32hexencode(hashlib.sha256(uid.encode()).digest()).decode().rstrip("=").lower()
    assert event_id(uid, 0) == event_id(uid) == legacy


@given(
    rate=st.integers(10, 2000),
    takes=st.lists(st.tuples(st.integers(1, 200), st.floats(0, 30)), min_size=1, max_size=60),
)
def test_the_pacer_never_lets_more_than_rate_plus_one_batch_into_a_minute(rate, takes):
    from google_emulator import ManualClock

    from calsync_google.pacing import Pacer

    clock = ManualClock()
    burst = max(1, rate // 10)
    pacer = Pacer(rate, burst, clock)
    sent: list[float] = []
    for size, pause in takes:
        size = min(size, burst)  # the provider never sends a batch larger than the burst
        pacer.take(size)
        sent += [clock.now()] * size
        clock.sleep(pause)
    import bisect

    for n, start in enumerate(sent):  # sent is in time order: count the calls of the minute from each one
        assert bisect.bisect_left(sent, start + 60) - n <= rate + burst


def test_the_pacer_halves_on_refusals_and_creeps_back():
    from google_emulator import ManualClock

    from calsync_google.pacing import Pacer

    pacer = Pacer(500, 50, ManualClock())
    pacer.slow_down()
    pacer.slow_down()
    assert pacer.per_minute == pytest.approx(125)
    for _ in range(100):
        pacer.slow_down()
    assert pacer.per_minute == pytest.approx(25)  # never below a twentieth
    for _ in range(30):
        pacer.settle()
    assert pacer.per_minute == pytest.approx(500)  # never above the configured pace
