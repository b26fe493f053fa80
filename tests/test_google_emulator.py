"""The emulator behaves like Calendar v3 where the provider relies on it, through google-api-python-client."""

from __future__ import annotations

import json
from pathlib import Path

import httplib2
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest


@pytest.fixture
def service(google_emulator):
    import googleapiclient

    doc = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "calendar.v3.json"
    http = httplib2.Http()
    http = _Bearer(http)
    return build_from_document(
        doc.read_text(), http=http, client_options={"api_endpoint": google_emulator.url + "calendar/v3/"}
    )


class _Bearer:
    """An httplib2.Http that adds the emulator's test token."""

    def __init__(self, http):
        self.http = http

    def request(self, uri, method="GET", body=None, headers=None, **kwargs):
        headers = dict(headers or {})
        headers["Authorization"] = "Bearer test-access-token"
        return self.http.request(uri, method=method, body=body, headers=headers, **kwargs)

    def __getattr__(self, name):
        return getattr(self.http, name)


def body(**extra):
    return {
        "summary": "x",
        "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "Europe/Zurich"},
        "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "Europe/Zurich"},
        **extra,
    }


def status(call) -> int:
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value.status_code


@pytest.mark.parametrize(
    "bad",
    [
        {"colour": "red"},
        {"summary": 3},
        {"sequence": "1"},
        {"reminders": {"useDefault": "no"}},
        {"extendedProperties": {"private": {"a": 1}}},
        {"start": None},
        {"end": {"timeZone": "UTC"}},
        {"id": "UPPERCASE123"},
        {"id": "wxyz0"},
        {"id": "abc"},
        {"id": "a" * 1025},
    ],
)
def test_invalid_bodies_are_400(service, bad):
    assert status(service.events().insert(calendarId="primary", body=body(**bad))) == 400


def test_ids_etags_and_deletion(service):
    ev = service.events().insert(calendarId="primary", body=body(id="abcde0123")).execute()
    assert ev["id"] == "abcde0123" and ev["etag"]
    assert status(service.events().insert(calendarId="primary", body=body(id="abcde0123"))) == 409
    stale = service.events().update(calendarId="primary", eventId=ev["id"], body=body(summary="y"))
    stale.headers["If-Match"] = '"nope"'
    assert status(stale) == 412
    ok = service.events().update(calendarId="primary", eventId=ev["id"], body=body(summary="y"))
    ok.headers["If-Match"] = ev["etag"]
    assert ok.execute()["summary"] == "y"
    service.events().delete(calendarId="primary", eventId=ev["id"]).execute()
    assert service.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == "cancelled"
    assert status(service.events().insert(calendarId="primary", body=body(id="abcde0123"))) == 409
    assert status(service.events().delete(calendarId="primary", eventId=ev["id"])) == 410
    restored = service.events().update(calendarId="primary", eventId=ev["id"], body=body(status="confirmed"))
    assert restored.execute()["status"] == "confirmed"
    assert status(service.events().get(calendarId="primary", eventId="nosuch")) == 404


def test_patch_and_import(service):
    ev = service.events().insert(calendarId="primary", body=body()).execute()
    patched = service.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "p"}).execute()
    assert patched["summary"] == "p" and patched["start"] == ev["start"]
    imported = service.events().import_(calendarId="primary", body=body(iCalUID="u1@x")).execute()
    again = service.events().import_(calendarId="primary", body=body(iCalUID="u1@x", summary="z")).execute()
    assert imported["id"] == again["id"] and again["summary"] == "z"


def test_listing_paging_filters_and_sync_tokens(service, google_emulator):
    google_emulator.page_size = 2
    for n in range(5):
        private = {"calsync": "1"} if n % 2 == 0 else {"other": "1"}
        service.events().insert(calendarId="primary", body=body(extendedProperties={"private": private})).execute()
    pages, token, answer = 0, None, {}
    seen = []
    while True:
        answer = (
            service.events().list(calendarId="primary", privateExtendedProperty="calsync=1", pageToken=token).execute()
        )
        pages += 1
        seen += answer["items"]
        token = answer.get("nextPageToken")
        if not token:
            break
    assert len(seen) == 3 and pages == 2 and "nextSyncToken" in answer
    sync = answer["nextSyncToken"]
    assert service.events().list(calendarId="primary", syncToken=sync).execute()["items"] == []
    first = seen[0]
    service.events().delete(calendarId="primary", eventId=first["id"]).execute()
    delta = service.events().list(calendarId="primary", syncToken=sync).execute()
    assert [(e["id"], e["status"]) for e in delta["items"]] == [(first["id"], "cancelled")]
    bad = service.events().list(calendarId="primary", syncToken=sync, privateExtendedProperty="calsync=1")
    assert status(bad) == 400
    google_emulator.invalidate_sync_tokens()
    assert status(service.events().list(calendarId="primary", syncToken=delta["nextSyncToken"])) == 410
    listed = service.events().list(calendarId="primary").execute()["items"]
    assert first["id"] not in {e["id"] for e in listed}
    with_deleted = service.events().list(calendarId="primary", showDeleted=True).execute()
    assert len(with_deleted["items"]) == 2  # page size


def test_calendars(service):
    made = service.calendars().insert(body={"summary": "Follow-ups"}).execute()
    names = {c["summary"] for c in service.calendarList().list().execute()["items"]}
    assert "Follow-ups" in names
    assert service.calendars().get(calendarId=made["id"]).execute()["summary"] == "Follow-ups"
    assert status(service.calendars().insert(body={"summary": "x", "bogus": 1})) == 400


def test_batch_endpoint(service, google_emulator):
    answers = {}

    def collect(request_id, response, exception):
        answers[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=collect, batch_uri=google_emulator.url + "batch/calendar/v3")
    batch.add(service.events().insert(calendarId="primary", body=body(id="batch00001")), request_id="a")
    batch.add(service.events().insert(calendarId="primary", body=body(id="batch00001")), request_id="b")
    batch.add(service.events().insert(calendarId="primary", body=body(colour=1)), request_id="c")
    batch.execute()
    assert answers["a"][0]["id"] == "batch00001"
    assert answers["b"][1].status_code == 409
    assert answers["c"][1].status_code == 400
    (entry,) = [e for e in google_emulator.log if e.batch]
    assert entry.parts == 3


def test_faults_and_auth(service, google_emulator):
    google_emulator.inject("429", retry_after="7")
    with pytest.raises(HttpError) as info:
        service.events().list(calendarId="primary").execute()
    assert info.value.status_code == 429 and info.value.resp["retry-after"] == "7"
    google_emulator.inject("quotaExceeded")
    with pytest.raises(HttpError) as info:
        service.events().list(calendarId="primary").execute()
    assert json.loads(info.value.content)["error"]["errors"][0]["reason"] == "quotaExceeded"
    resp, _ = httplib2.Http().request(google_emulator.url + "calendar/v3/calendars/primary/events")
    assert resp.status == 401
    resp, content = httplib2.Http().request(
        google_emulator.url + "token",
        method="POST",
        body="grant_type=refresh_token&refresh_token=nope",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 400 and json.loads(content)["error"] == "invalid_grant"


# --- the modes that reproduce real accounts ------------------------------------------------------------------------


def reason(call) -> tuple[int, str]:
    with pytest.raises(HttpError) as info:
        call.execute()
    return info.value.status_code, json.loads(info.value.content)["error"]["errors"][0]["reason"]


def test_quota_slides_per_user_and_per_calendar_on_the_clock(service, google_emulator):
    clock = google_emulator.clock
    quota = google_emulator.enforce_quota(user_per_minute=5, calendar_writes=2, calendar_window=10.0)
    events = service.events()
    events.insert(calendarId="primary", body=body()).execute()
    events.insert(calendarId="primary", body=body()).execute()
    assert reason(events.insert(calendarId="primary", body=body())) == (403, "rateLimitExceeded")  # the calendar
    events.list(calendarId="primary").execute()  # reads are not writes
    clock.sleep(10.0)
    events.insert(calendarId="primary", body=body()).execute()
    events.list(calendarId="primary").execute()
    assert reason(events.list(calendarId="primary")) == (403, "rateLimitExceeded")  # 5 calls in a minute: the user
    assert quota.refused == 2
    clock.sleep(50.0)  # the first calls slide out of the minute
    events.list(calendarId="primary").execute()


def test_batch_calls_count_one_by_one_against_the_quota(google_emulator, service):
    google_emulator.enforce_quota(user_per_minute=3)
    answers = {}
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: answers.__setitem__(rid, exc),
        batch_uri=google_emulator.url + "batch/calendar/v3",
    )
    for n in range(5):
        batch.add(service.events().insert(calendarId="primary", body=body()), request_id=str(n))
    batch.execute()
    refused = [rid for rid, exc in answers.items() if exc is not None]
    assert sorted(refused) == ["3", "4"] and all(answers[r].status_code == 403 for r in refused)


def test_usage_limit_lockout_refuses_writes_for_a_while(service, google_emulator):
    google_emulator.lock_writes_after(1, seconds=60.0)
    events = service.events()
    events.insert(calendarId="primary", body=body()).execute()
    status_code, why = reason(events.insert(calendarId="primary", body=body()))
    assert (status_code, why) == (403, "quotaExceeded")
    events.list(calendarId="primary").execute()  # still readable
    google_emulator.clock.sleep(61.0)
    events.insert(calendarId="primary", body=body()).execute()


def test_tombstones_restore_refused_and_purge(service, google_emulator):
    events = service.events()
    made = events.insert(calendarId="primary", body=body(id="abcde12345")).execute()
    google_emulator.user_delete("primary", made["id"])
    google_emulator.refuse_restore = True
    assert reason(events.update(calendarId="primary", eventId=made["id"], body=body())) == (403, "forbidden")
    events.update(calendarId="primary", eventId=made["id"], body=body(status="cancelled")).execute()  # still deleted
    google_emulator.purge("primary", made["id"])
    assert status(events.get(calendarId="primary", eventId=made["id"])) == 404
    assert status(events.insert(calendarId="primary", body=body(id="abcde12345"))) == 409
    listed = events.list(calendarId="primary", showDeleted=True).execute()["items"]
    assert listed == []


def test_etag_drift_and_strict_ids(service, google_emulator):
    events = service.events()
    made = events.insert(calendarId="primary", body=body(id="fghij67890", iCalUID="x@example")).execute()
    google_emulator.drift_etags()
    now = events.get(calendarId="primary", eventId=made["id"]).execute()
    assert now["etag"] != made["etag"] and now["summary"] == made["summary"] and now["sequence"] == made["sequence"]
    google_emulator.strict_ids = True
    assert status(events.insert(calendarId="primary", body=body(id="klmno12345", iCalUID="y@example"))) == 400
    events.insert(calendarId="primary", body=body(id="klmno12345")).execute()


def test_code_grant_gives_a_refresh_token_at_first_consent_or_when_consent_is_asked(google_emulator):
    from urllib.parse import parse_qs, urlsplit

    def grant(**extra):
        query = {"client_id": "c1", "redirect_uri": "http://localhost:1/", "scope": "s", "state": "st", **extra}
        code = parse_qs(urlsplit(google_emulator.authorize(query)).query)["code"][0]
        return google_emulator.token({"grant_type": "authorization_code", "code": code})[1]

    assert "refresh_token" in grant()
    assert "refresh_token" not in grant()  # Google: only the first consent carries one
    assert "refresh_token" in grant(prompt="consent")
