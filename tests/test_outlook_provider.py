"""The outlook provider against the local Graph emulator: the real msal and requests, real HTTPS, bodies checked
against msgraph-sdk's models."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
from datetime import timedelta

import icalendar
import pytest
from crashing import Crash, crashing
from factories import interview, many_followups
from graph_emulator import FakeClock
from graph_emulator_fixtures import outlook_target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sync_properties import histories

from calsync.errors import ProviderError
from calsync.model import Kind
from calsync.planner import plan
from calsync.plugins import provider_class
from calsync.sync.engine import sync_target
from calsync.testing import ProviderContract


def _container(provider, emulator):
    return emulator.containers[provider.container().rsplit("/", 1)[-1]]


class TestOutlookEvents(ProviderContract):
    bulk_count = int(os.environ.get("CALSYNC_CONTRACT_ITEMS", "60"))

    @pytest.fixture
    def provider(self, graph_emulator, tmp_path):
        target = outlook_target(graph_emulator, tmp_path, calendar="Jobs", create=True, rate_per_minute=100000)
        provider = provider_class("outlook")(target)
        provider.test_emulator = graph_emulator
        # An event target holds events; its to-dos go to a target of their own (TestOutlookTodo, test_todos_…).
        provider.supports_todo = False
        yield provider
        provider.close()

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            return provider.test_emulator.user_insert(
                _container(provider, provider.test_emulator),
                {"subject": f"Dentist {n} – 歯医者", "start": {"dateTime": "2027-02-01T09:00:00", "timeZone": "UTC"},
                 "end": {"dateTime": "2027-02-01T10:00:00", "timeZone": "UTC"}},
            )  # fmt: skip

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, href):
            item = provider.test_emulator.item(href)
            return json.dumps(item, sort_keys=True, ensure_ascii=False).encode() if item is not None else None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            provider.test_emulator.user_edit(href, subject="edited on the phone")

        return edit

    @pytest.fixture
    def delete_on_target(self):
        def delete(provider, href):
            provider.test_emulator.user_delete(href)

        return delete


# --- whole syncs ----------------------------------------------------------------------------------------------------


@pytest.fixture
def target(graph_emulator, tmp_path):
    return outlook_target(graph_emulator, tmp_path, calendar="Job search", create=True)


def _ours(emulator, name="Job search", kind="calendar"):
    container = emulator.container_named(name, kind)
    from calsync_outlook.convert import UID_PROPERTY, task_uid

    found = {}
    for item in emulator.items(container):
        if kind == "list":
            uid = task_uid(item)
        else:
            props = item.get("singleValueExtendedProperties") or []
            uid = next((p["value"] for p in props if p["id"] == UID_PROPERTY), None)
        if uid is not None:
            assert uid not in found, "duplicate UID"
            found[uid] = item
    return found


def test_first_sync_in_batches_then_a_no_change_resync_is_one_request(graph_emulator, target):
    followups = many_followups(45)
    report = sync_target(target, followups)
    assert len(report.created) == 45 and not report.conflicts
    assert graph_emulator.count("POST", r"^/\$batch") == 0  # parts are logged by their own path
    ours = _ours(graph_emulator)
    assert set(ours) == {f.uid for f in followups}
    first = next(iter(ours.values()))
    assert first["showAs"] == "free" and first["isReminderOn"] is True
    before = graph_emulator.http_requests
    again = sync_target(target, followups)
    assert again.writes == 0
    assert graph_emulator.http_requests - before == 1  # one delta round, no token refresh, nothing else


def test_batches_hold_at_most_twenty_requests(graph_emulator, target):
    before = graph_emulator.http_requests
    sync_target(target, many_followups(41))
    posts = graph_emulator.count("POST", r"/events$")
    assert posts == 41
    # 3 batches of creates, at most a handful of discovery and listing requests around them
    assert graph_emulator.http_requests - before <= 3 + 6


def test_one_changed_interview_costs_a_delta_a_batch_and_a_delta(graph_emulator, target):
    followups = many_followups(30)
    sync_target(target, followups)
    moved = [dataclasses.replace(f, due=f.due + timedelta(days=2)) if n == 7 else f for n, f in enumerate(followups)]
    before = graph_emulator.http_requests
    report = sync_target(target, moved)
    assert len(report.updated) == 1
    assert graph_emulator.http_requests - before == 3
    item = _ours(graph_emulator)[followups[7].uid]
    assert item["start"]["dateTime"].startswith((followups[7].due + timedelta(days=2)).strftime("%Y-%m-%dT%H"))


def test_the_users_own_events_are_untouched(graph_emulator, target):
    sync_target(target, many_followups(3))
    container = graph_emulator.container_named("Job search")
    mine = [
        graph_emulator.user_insert(container, {"subject": f"Dentist {n}",
                                               "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
                                               "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"}})
        for n in range(5)
    ]  # fmt: skip
    snapshot = {i: json.dumps(container.items[i], sort_keys=True) for i in mine}
    followups = many_followups(3)
    sync_target(target, [dataclasses.replace(f, due=f.due + timedelta(days=1)) for f in followups])
    sync_target(target, followups[:1], force=True)  # two leave the plan: cancelled
    assert {i: json.dumps(container.items[i], sort_keys=True) for i in mine} == snapshot
    for i in mine:
        path = f"/me/events/{i}"
        assert graph_emulator.count("GET", path) == graph_emulator.count("PATCH", path) == 0


def test_an_edit_in_outlook_is_kept_and_reported(graph_emulator, target):
    followups = many_followups(2)
    sync_target(target, followups)
    event = _ours(graph_emulator)[followups[0].uid]
    graph_emulator.user_edit(event["id"], subject="my own words")
    report = sync_target(target, [dataclasses.replace(f, due=f.due + timedelta(days=1)) for f in followups])
    assert [c.uid for c in report.conflicts] == [followups[0].uid]
    assert _ours(graph_emulator)[followups[0].uid]["subject"] == "my own words"


def test_a_create_whose_answer_was_lost_is_not_doubled(graph_emulator, target):
    graph_emulator.fail("POST", r"/events$", 503, after=True, count=3)
    provider = provider_class("outlook")(target)
    provider.sleep = lambda seconds: None
    followups = many_followups(5)
    report = sync_target(target, followups, provider=provider)
    assert len(report.created) == 5
    assert len(_ours(graph_emulator)) == 5  # Graph recognised the transactionId of each retried POST


def test_throttling_is_paced_and_retried_on_a_controlled_clock(graph_emulator, target):
    clock = FakeClock()
    graph_emulator.clock = clock.time
    graph_emulator.limit_per_minute = 30
    try:
        provider = provider_class("outlook")(target)
        provider.clock, provider.sleep = clock.time, clock.sleep
        followups = many_followups(60)
        report = sync_target(target, followups, provider=provider)
    finally:
        graph_emulator.limit_per_minute = None
        import time

        graph_emulator.clock = time.monotonic
    assert len(report.created) == 60 and not report.conflicts
    assert set(_ours(graph_emulator)) == {f.uid for f in followups}
    assert graph_emulator.throttled > 0  # the default pace is above this strict limit: Retry-After did the rest


def test_pacing_under_the_configured_rate_is_never_throttled(graph_emulator, graph_emulator_server, tmp_path):
    clock = FakeClock()
    graph_emulator.clock = clock.time
    graph_emulator.limit_per_minute = 120
    try:
        target = outlook_target(graph_emulator, tmp_path, calendar="Job search", create=True, rate_per_minute=100)
        provider = provider_class("outlook")(target)
        provider.clock, provider.sleep = clock.time, clock.sleep
        report = sync_target(target, many_followups(80), provider=provider)
    finally:
        import time

        graph_emulator.limit_per_minute, graph_emulator.clock = None, time.monotonic
    assert len(report.created) == 80 and graph_emulator.throttled == 0
    assert clock.now >= 79 * 60 / 100  # 80 creates at 100 a minute


def test_an_expired_delta_link_falls_back_on_one_filtered_listing(graph_emulator, target):
    followups = many_followups(4)
    sync_target(target, followups)
    graph_emulator.expire_deltas()
    again = sync_target(target, followups)
    assert again.writes == 0 and not again.conflicts
    assert len(_ours(graph_emulator)) == 4


def test_an_item_refused_by_graph_is_reported_and_the_others_are_written(graph_emulator, target):
    graph_emulator.fail("POST", r"/events$", 400, "ErrorInvalidRequest", count=1)
    provider = provider_class("outlook")(target)
    outcomes = list(provider.apply(_creates(many_followups(3))))
    provider.close()
    failed = [o for o in outcomes if o.error is not None]
    assert len(failed) == 1 and "400 ErrorInvalidRequest" in str(failed[0].error)
    assert len(_ours(graph_emulator)) == 2


def _creates(followups):
    from calsync.provider import Create
    from calsync.render import render_item

    return [Create(f.uid, render_item(f)) for f in followups]


# --- to-dos ---------------------------------------------------------------------------------------------------------


def test_todos_are_tasks_in_a_list_and_a_completion_reads_back(graph_emulator, tmp_path):
    target = outlook_target(graph_emulator, tmp_path, calendar="Job search", create=True, component="todo")
    followups = many_followups(3)
    sync_target(target, followups)
    from calsync.sync.identity import remote_uid

    tasks = _ours(graph_emulator, kind="list")
    assert set(tasks) == {remote_uid(f.uid, "todo", None) for f in followups}  # to-dos carry their own UIDs
    task = tasks[remote_uid(followups[0].uid, "todo", None)]
    assert task["status"] == "notStarted" and task["dueDateTime"]["timeZone"] == "America/Chicago"
    graph_emulator.user_edit(task["id"], status="completed", completedDateTime={"dateTime": "2027-01-04T12:00:00",
                                                                               "timeZone": "UTC"})  # fmt: skip
    provider = provider_class("outlook")(target)
    todo = next(c for c in icalendar.Calendar.from_ical(provider.read(task["id"]).ical).walk("VTODO"))
    provider.close()
    assert str(todo["STATUS"]) == "COMPLETED" and todo["COMPLETED"].dt.hour == 12
    sync_target(target, followups[:2], force=True)  # the third left the plan: completed as cancelled
    assert _ours(graph_emulator, kind="list")[remote_uid(followups[2].uid, "todo", None)]["status"] == "completed"


# --- sign-in --------------------------------------------------------------------------------------------------------


def test_sign_in_stores_a_private_token_cache_and_refreshes_silently(graph_emulator, tmp_path):
    graph_emulator.access_lifetime = 0  # every access token needs a refresh at once
    target = outlook_target(graph_emulator, tmp_path)
    cache = tmp_path / "outlook-token.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    sync_target(target, many_followups(1))
    assert graph_emulator.token_requests >= 2  # the device code, then a refresh
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ({"error": "invalid_grant", "error_description": "AADSTS700082: expired. secret-ish-detail"},
         "the sign-in has expired: run `calsync auth"),
        ({"error": "invalid_grant", "error_description": "AADSTS90094: needs admin. secret-ish-detail"},
         "administrator must approve"),
    ],
)  # fmt: skip
def test_a_failed_refresh_is_one_line_saying_what_to_do(graph_emulator, tmp_path, failure, expected):
    graph_emulator.access_lifetime = 0  # the token needs refreshing at once
    target = outlook_target(graph_emulator, tmp_path)
    graph_emulator.token_failure = failure
    with pytest.raises(ProviderError) as caught:
        sync_target(target, many_followups(1))
    message = str(caught.value)
    assert expected in message and "secret-ish-detail" not in message and "\n" not in message


def test_a_personal_account_on_an_organizations_only_app_is_told_what_to_change(graph_emulator, tmp_path):
    graph_emulator.org_only_app = True
    with pytest.raises(ProviderError, match='tenant = "consumers"'):
        outlook_target(graph_emulator, tmp_path)


def test_an_unknown_tenant_is_named(graph_emulator, tmp_path):
    with pytest.raises(ProviderError, match="tenant 'nowhere'"):
        outlook_target(graph_emulator, tmp_path, tenant="nowhere")


def test_calsync_auth_runs_the_device_code_flow(graph_emulator, tmp_path):
    from click.testing import CliRunner

    from calsync.cli import cli

    cache = tmp_path / "cache.json"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[targets.work]\nprovider = "outlook"\nclient_id = "c"\nauthority = "{graph_emulator.url}"\n'
        f'api_endpoint = "{graph_emulator.url}"\ntoken_file = "{cache}"\ntenant = "organizations"\n'
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "auth", "work", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert "CALSYNC1" in result.output and "Signed in as jo@outlook.example" in result.output
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert "refresh-" not in result.output and "access-" not in result.output


def test_a_sync_without_signing_in_says_to_run_auth(graph_emulator, tmp_path):
    target = outlook_target(graph_emulator, tmp_path, sign_in=False)
    with pytest.raises(ProviderError, match="calsync auth"):
        sync_target(target, many_followups(1))


# --- crashes ----------------------------------------------------------------------------------------------------


@settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(history=histories(), crashes=st.lists(st.integers(0, 6), min_size=5, max_size=5))
def test_random_histories_with_crashes_converge(graph_emulator, tmp_path_factory, history, crashes):
    emulator = graph_emulator
    emulator.reset()
    target = outlook_target(emulator, tmp_path_factory.mktemp("o"), calendar="Job search", create=True)
    for step in range(len(history) + 1):
        followups = plan([interview(events=tuple(history[:step]))], parse_timeline=lambda *a: None).followups
        with contextlib.suppress(Crash):
            sync_target(target, followups, provider=crashing(target, crashes[step % 5]))
        assert sync_target(target, followups).conflicts == []
        again = sync_target(target, followups)
        assert again.writes == 0 and again.conflicts == []
        ours = _ours(emulator)
        assert set(ours) <= {f.uid for f in followups}
        for f in followups:
            if f.cancelled:
                assert f.uid not in ours or ours[f.uid]["subject"].startswith("Cancelled: ")
            else:
                assert not ours[f.uid]["subject"].startswith("Cancelled: "), f.kind
                assert f.kind is not Kind.CLOSING or ours[f.uid]["showAs"] == "free"
