"""A no-change Google re-sync pays only for what it uses: one request, on the standard library (light.py).

The installed ``calsync`` runs in a subprocess against the Google emulator (tests/google_emulator.py); the modules
that process loaded are read when it exits.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from filetargets import Workspace, loaded, sync_listing_modules
from googletargets import google_workspace, write_oauth_token

from calsync_google import light

HEAVY = ("googleapiclient", "httplib2", "google_auth_httplib2", "google", "pyparsing")


@pytest.fixture
def ws(google_emulator, tmp_path) -> Workspace:
    return google_workspace(google_emulator, tmp_path)


def heavy_modules(modules: list[str]) -> list[str]:
    return loaded(modules, HEAVY)


def listings(emulator) -> list[str]:
    return [entry.path for entry in emulator.log if entry.method == "GET" and entry.path.endswith("/events")]


def test_a_no_change_resync_sends_one_request_and_loads_no_google_client(ws, google_emulator):
    first, modules = sync_listing_modules(ws)
    assert first["created"] > 0 and heavy_modules(modules)
    google_emulator.clear_log()
    again, modules = sync_listing_modules(ws)
    assert again["created"] == again["updated"] == again["deleted"] == 0
    assert len(google_emulator.log) == 1 and "syncToken" in google_emulator.log[0].query
    assert heavy_modules(modules) == []


def test_a_change_of_calsyncs_event_is_still_seen(ws, google_emulator):
    ws.sync_json()
    ours = google_emulator.events()
    google_emulator.user_delete("primary", ours[0]["id"])  # the user deletes one of calsync's events
    google_emulator.clear_log()
    report, modules = sync_listing_modules(ws)
    assert report["created"] == 0 and report["updated"] == 0  # the deletion sticks
    # the light check saw calsync's event change, so the client listed again from the same sync token
    assert len(listings(google_emulator)) == 2 and heavy_modules(modules)
    tokens = [entry.query["syncToken"] for entry in google_emulator.log[:2]]
    assert tokens[0] == tokens[1]
    google_emulator.clear_log()
    _, modules = sync_listing_modules(ws)
    assert len(google_emulator.log) == 1 and heavy_modules(modules) == []


def test_the_users_own_events_move_the_token_without_the_client(ws, google_emulator):
    ws.sync_json()
    google_emulator.user_insert(
        "primary",
        {
            "summary": "Dentist",
            "start": {"dateTime": "2026-12-01T09:00:00Z"},
            "end": {"dateTime": "2026-12-01T10:00:00Z"},
        },
    )
    tokens = []
    for _ in range(2):
        google_emulator.clear_log()
        report, modules = sync_listing_modules(ws)
        assert report["created"] == report["updated"] == 0 and heavy_modules(modules) == []
        assert len(google_emulator.log) == 1
        tokens.append(google_emulator.log[0].query["syncToken"])
    assert tokens[0] != tokens[1]  # the first run kept the token that follows the user's insert


def test_an_access_token_about_to_expire_goes_through_the_client_which_refreshes_it(ws, google_emulator):
    ws.sync_json()
    write_oauth_token(ws.token, google_emulator, expiry=datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=2))
    google_emulator.clear_log()
    report, modules = sync_listing_modules(ws)
    assert report["created"] == report["updated"] == 0
    assert heavy_modules(modules) and google_emulator.token_requests  # refreshed by google-auth, as before
    assert len(listings(google_emulator)) == 1


def test_a_revoked_access_token_is_refreshed_by_the_client(ws, google_emulator):
    ws.sync_json()
    google_emulator.access_tokens.clear()  # the stored access token is refused (401) before its expiry
    google_emulator.clear_log()
    report, _ = sync_listing_modules(ws)
    assert report["created"] == report["updated"] == 0 and google_emulator.token_requests


# --- the parts ---------------------------------------------------------------------------------------------------


def test_the_access_token_is_used_only_with_time_to_spare(tmp_path):
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    path = tmp_path / "token.json"

    def token_file(**fields) -> str | None:
        path.write_text(json.dumps({"token": "a", "refresh_token": "r", "client_id": "c", **fields}))
        return light.access_token(path, now)

    assert token_file() == "a"  # no expiry: google-auth sends it as it is too
    assert token_file(expiry="2026-11-30T12:30:00Z") == "a"
    assert token_file(expiry="2026-11-30T12:04:00Z") is None  # within the margin: google-auth would refresh
    assert token_file(expiry="2026-11-30T11:00:00Z") is None
    assert token_file(expiry="not a date") is None
    assert token_file(refresh_token="") is None
    assert token_file(token="") is None
    path.write_text("{not json")
    assert light.access_token(path, now) is None
    assert light.access_token(tmp_path / "missing.json", now) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"items": [], "nextSyncToken": "t2"}, "t2"),
        ({"items": [{"id": "theirs", "status": "confirmed"}], "nextSyncToken": "t2"}, "t2"),
        ({"items": [{"id": "ours"}], "nextSyncToken": "t2"}, None),
        ({"items": [], "nextPageToken": "p2"}, None),
        ({"items": []}, None),
        ({"items": "nonsense", "nextSyncToken": "t2"}, None),
    ],
)
def test_the_listing_is_trusted_only_when_nothing_of_calsyncs_changed(answer, expected):
    assert light.unchanged_token(json.dumps(answer).encode(), lambda event: event.get("id") == "ours") == expected
    assert light.unchanged_token(b"<html>", lambda event: False) is None
