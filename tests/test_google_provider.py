"""The google provider against the local Calendar v3 emulator: the Provider contract, batching, the request
budget, faults, credentials, and end to end through `calsync sync`."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import many_followups
from filetargets import Workspace, event

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.provider import Create, RemoteItem, Target, Update
from calsync.render import render_item
from calsync_google.auth import write_token
from calsync_google.events import event_id
from calsync_google.provider import GoogleProvider

# --- helpers ----------------------------------------------------------------------------------------------------


def write_oauth_token(path: Path, emulator, *, token="test-access-token", refresh="test-refresh-token", expiry=None):
    from google.oauth2.credentials import Credentials

    creds = Credentials(
        token=token,
        refresh_token=refresh,
        token_uri=emulator.url + "token",
        client_id="test-client",
        client_secret="test-secret",
        expiry=expiry,
    )
    write_token(path, creds.to_json())


def make_target(emulator, tmp_path: Path, **options) -> Target:
    token = tmp_path / "google-g.json"
    if not token.exists():
        write_oauth_token(token, emulator)
    opts = {
        "api_endpoint": emulator.url,
        "token_file": str(token),
        "token_uri": emulator.url + "token",
        "backoff_base": 0.001,
        **options,
    }
    return Target("g", "google", opts, state_dir=tmp_path)


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
    assert ev["iCalUID"] == item.uid
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


def test_first_sync_of_200_is_one_batch_and_resync_is_one_request(provider, google_emulator):
    _rendered, known, token = first_sync(provider, 200)
    writes = [entry for entry in google_emulator.log if entry.batch]
    assert len(writes) == 1 and writes[0].parts == 200
    assert all(method == "POST" for method, _ in writes[0].sub)
    assert len(google_emulator.log) == 1  # a first sync needs no listing: the ids are known
    assert token is None
    refreshed = provider.scan(known, token)
    assert refreshed.items == known
    google_emulator.clear_log()
    again = provider.scan(refreshed.items, refreshed.token)
    assert again.items == known
    assert len(google_emulator.log) == 1
    (entry,) = google_emulator.log
    assert "syncToken" in entry.query and "privateExtendedProperty" not in entry.query
    assert len(calendar_state(google_emulator)) == 200


def test_batches_hold_at_most_batch_size_calls(google_emulator, tmp_path):
    provider = GoogleProvider(make_target(google_emulator, tmp_path, batch_size=40))
    first_sync(provider, 100)
    assert [e.parts for e in google_emulator.log if e.batch] == [40, 40, 20]


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
    assert [e.parts for e in google_emulator.log if e.batch] == [10, 3]


def test_retry_after_is_honoured(provider, google_emulator):
    slept = []
    provider.sleep = slept.append
    provider.scan({}, None)
    google_emulator.inject("429", retry_after="3")
    list(provider.apply([Create(i.uid, i) for i in items(2)]))
    assert slept and slept[0] >= 3


@pytest.mark.parametrize("kind", ["quotaExceeded", "forbidden"])
def test_permanent_403_is_not_retried(provider, google_emulator, kind):
    rendered = items(3)
    provider.scan({}, None)
    google_emulator.clear_log()
    google_emulator.inject(kind, scope="part")
    outcomes = list(provider.apply([Create(i.uid, i) for i in rendered]))
    errors = [o.error for o in outcomes if o.error is not None]
    assert len(errors) == 1 and isinstance(errors[0], ProviderError)
    assert len([e for e in google_emulator.log if e.batch]) == 1
    assert len(calendar_state(google_emulator)) == 2


def test_bad_request_is_reported_not_retried(provider, google_emulator, monkeypatch):
    import calsync_google.provider as module

    (item,) = items(1)
    real = module.to_event
    monkeypatch.setattr(module, "to_event", lambda *a, **k: {**real(*a, **k), "colour": "red"})
    provider.scan({}, None)
    google_emulator.clear_log()
    (outcome,) = provider.apply([Create(item.uid, item)])
    assert isinstance(outcome.error, ProviderError) and "colour" in str(outcome.error)
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
    token = tmp_path / "google-g.json"
    write_oauth_token(token, google_emulator)
    ws = Workspace(
        tmp_path,
        f'[targets.g]\nprovider = "google"\napi_endpoint = "{google_emulator.url}"\ntoken_file = "{token}"\n'
        f'token_uri = "{google_emulator.url}token"\nbackoff_base = 0.001\n',
    )
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
