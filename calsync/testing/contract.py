"""The contract every provider keeps, as one pytest class (vdirsyncer's StorageTests, for calsync).

Subclass :class:`ProviderContract` in your test module and supply these fixtures:

``provider``
    a fresh provider on an empty target (its ``target.provider`` names it, its ``target.options`` are what a
    config file would hold: the whole-sync tests write them into a real config);
``put_foreign``
    ``put_foreign(provider, n) -> handle`` stores the user's own item number ``n`` (calsync did not write it) the
    way another client would, and returns how to find it again (its href, file name, event id…);
``read_on_target``
    ``read_on_target(provider, handle) -> bytes | None`` reads the stored bytes of one item, the user's or
    calsync's (``handle`` is then an href), as another client would; None when it is gone;
``edit_on_target``
    ``edit_on_target(provider, href)`` changes a stored item of calsync's the way another client would (its ETag
    changes).

``delete_on_target(provider, href)`` (the user deletes an item) defaults to ``provider.delete(href, None)``;
override it when your target has a more honest way. ``bulk_count`` (500) sets the size of the many-items test.

Every test runs with two foreign items on the target, put there first: after every call into the provider, they
must be byte-identical and unlisted.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from calsync.errors import NotFound, PreconditionFailed
from calsync.provider import Create, Delete, Fetched, Provider, RemoteItem, Update
from calsync.testing import samples

FOREIGN_COUNT = 2
_GUARDED = ("create", "update", "delete", "read", "scan", "list_items")


class ForeignGuard:
    """The user's items put on the target before a test, checked after every call into the provider."""

    def __init__(self, provider: Provider, put: Callable, read: Callable) -> None:
        self.provider, self.read = provider, read
        handles = [put(provider, n) for n in range(FOREIGN_COUNT)]
        self.before = {handle: read(provider, handle) for handle in handles}
        for handle, data in self.before.items():
            assert data, f"read_on_target could not read back the foreign item it stored ({handle!r})"
        self.checking = True
        self.checks = 0

    def check(self, after: str) -> None:
        for handle, data in self.before.items():
            now = self.read(self.provider, handle)
            assert now is not None, f"the user's item {handle!r} is gone after {after}"
            assert now == data, f"the user's item {handle!r} was changed by {after}"
        self.checks += 1

    def check_listing(self, listed: list[RemoteItem], after: str) -> None:
        handles = set(self.before)
        uids = {uid for data in self.before.values() if data for uid in _uids_in(data)}
        shown = [r for r in listed if r.href in handles or r.uid in uids]
        assert not shown, f"{after} listed the user's own items: {shown}"

    def wrap(self) -> None:
        """Check after every call of the provider's methods (the engine only ever calls these)."""
        for name in _GUARDED:
            original = getattr(self.provider, name)
            setattr(self.provider, name, self._guarded(name, original))

    def _guarded(self, name: str, original: Callable) -> Callable:
        guard = self

        @functools.wraps(original)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = original(*args, **kwargs)
                if name == "list_items":
                    result = list(result)
                    guard.check_listing(result, "list_items")
                elif name == "scan":
                    guard.check_listing(list(result.items.values()), "scan")
                return result
            finally:
                if guard.checking:
                    guard.checking = False  # the check itself may call the provider
                    try:
                        guard.check(f"{name}()")
                    finally:
                        guard.checking = True

        return call


class ProviderContract:
    """Subclass me with the fixtures named in the module docstring."""

    bulk_count: ClassVar[int] = 500

    # --- fixtures an author may override ------------------------------------------------------------------

    @pytest.fixture
    def delete_on_target(self) -> Callable[[Provider, str], None]:
        def delete(provider: Provider, href: str) -> None:
            provider.delete(href, None)

        return delete

    @pytest.fixture(autouse=True)
    def foreign_guard(
        self, provider: Provider, put_foreign: Callable, read_on_target: Callable
    ) -> Iterator[ForeignGuard]:
        guard = ForeignGuard(provider, put_foreign, read_on_target)
        guard.wrap()
        yield guard
        guard.checking = False
        guard.check("the test")
        guard.check_listing(list(type(provider).list_items(provider)), "list_items")

    # --- create and list ------------------------------------------------------------------------------------

    def test_created_items_are_listed_with_their_hrefs_and_etags(self, provider):
        made = samples.items(3)
        written = {item.uid: provider.create(item) for item in made}
        listed = _listed(provider)
        assert set(listed) == set(written)
        for uid, w in written.items():
            assert listed[uid].href == w.href, "list_items gives another href than create returned"
            assert w.etag is None or listed[uid].etag == w.etag, "create returned an ETag the listing does not show"

    def test_create_where_something_is_never_duplicates(self, provider):
        (item,) = samples.items(1)
        provider.create(item)
        if provider.create_reconciles:
            provider.create(item)  # recognised as calsync's and rewritten in place
        else:
            with pytest.raises(PreconditionFailed):
                provider.create(item)
        assert [r.uid for r in provider.list_items()] == [item.uid]

    def test_to_dos_are_stored_when_supported(self, provider):
        if not provider.supports_todo:
            pytest.skip(f"{type(provider).__name__}.supports_todo is False")
        (item,) = samples.items(1, component="todo")
        w = provider.create(item)
        assert _listed(provider)[item.uid].href == w.href
        if provider.can_read:
            assert provider.read(w.href).ical.count(b"BEGIN:VTODO") == 1

    # --- update and cancel ------------------------------------------------------------------------------------

    def test_update_with_the_current_etag_replaces_the_item(self, provider):
        (item,) = samples.items(1)
        w = provider.create(item)
        etag = _etag(provider, item.uid, w)
        later = samples.moved(item)
        after = provider.update(w.href, later, etag)
        listed = _listed(provider)
        assert listed[item.uid].href == after.href == w.href, "an update moved the item to another href"
        assert listed[item.uid].etag != etag, "the ETag did not change with the content"
        assert after.etag is None or listed[item.uid].etag == after.etag, "update returned a stale ETag"
        if provider.can_read:
            assert _start_of(provider.read(w.href)) == later.component.decoded("DTSTART")
        # The new ETag is the one to use next: a second update with it succeeds.
        provider.update(w.href, samples.moved(later), after.etag or listed[item.uid].etag)

    def test_cancel_keeps_the_item_with_status_cancelled(self, provider):
        (item,) = samples.items(1)
        w = provider.create(item)
        gone = samples.cancelled(item)
        after = provider.update(w.href, gone, _etag(provider, item.uid, w))
        # Asked with what the engine knows, the target still reports it (Google keeps a cancelled event only
        # that way: to its listing a cancelled event is a deleted one).
        known = {item.uid: RemoteItem(item.uid, after.href, after.etag)}
        assert item.uid in provider.scan(known, None).items
        if provider.can_read:
            with contextlib.suppress(NotFound):  # where cancelling is deleting (Google), it reads as gone
                assert _component(provider.read(w.href)).get("STATUS") == "CANCELLED"

    # --- ETag preconditions -------------------------------------------------------------------------------

    def test_update_and_delete_after_someone_else_edited_raise_precondition_failed(self, provider, edit_on_target):
        (item,) = samples.items(1)
        w = provider.create(item)
        etag = _etag(provider, item.uid, w)
        edit_on_target(provider, w.href)
        assert _listed(provider)[item.uid].etag != etag, "edit_on_target did not change the ETag"
        with pytest.raises(PreconditionFailed):
            provider.update(w.href, samples.moved(item), etag)
        with pytest.raises(PreconditionFailed):
            provider.delete(w.href, etag)
        assert item.uid in _listed(provider)

    def test_an_edit_by_someone_else_is_kept_by_a_refused_update(self, provider, edit_on_target, read_on_target):
        (item,) = samples.items(1)
        w = provider.create(item)
        etag = _etag(provider, item.uid, w)
        edit_on_target(provider, w.href)
        theirs = read_on_target(provider, w.href)
        with pytest.raises(PreconditionFailed):
            provider.update(w.href, samples.moved(item), etag)
        assert read_on_target(provider, w.href) == theirs, "a refused update still changed the item"

    def test_delete_removes_and_then_it_is_not_found(self, provider):
        (item,) = samples.items(1)
        w = provider.create(item)
        etag = _etag(provider, item.uid, w)
        provider.delete(w.href, etag)
        assert item.uid not in _listed(provider)
        with pytest.raises(NotFound):
            provider.delete(w.href, etag)
        with pytest.raises(NotFound):
            provider.update(w.href, item, etag)

    def test_apply_yields_one_outcome_per_action(self, provider):
        a, b, c = samples.items(3)
        wa = provider.create(a)
        etag = _etag(provider, a.uid, wa)
        actions = [Create(b.uid, b), Update(a.uid, wa.href, "not-the-etag", a), Create(c.uid, c)]
        outcomes = list(provider.apply(actions))
        assert sorted(map(id, (o.action for o in outcomes))) == sorted(map(id, actions))
        by_uid = {o.action.uid: o for o in outcomes}
        assert by_uid[b.uid].error is None and by_uid[c.uid].error is None
        assert isinstance(by_uid[a.uid].error, PreconditionFailed)
        listed = _listed(provider)
        assert listed[a.uid].etag == etag  # the refused update changed nothing
        assert set(listed) == {a.uid, b.uid, c.uid}
        gone = list(provider.apply([Delete(c.uid, listed[c.uid].href, listed[c.uid].etag)]))
        assert gone[0].error is None and c.uid not in _listed(provider)

    def test_scan_agrees_with_the_listing_and_its_token_holds(self, provider):
        for item in samples.items(2):
            provider.create(item)
        listed = _listed(provider)
        scan = provider.scan({}, None)
        assert scan.items == listed
        assert provider.scan(scan.items, scan.token).items == scan.items

    # --- read ---------------------------------------------------------------------------------------------

    def test_read_gives_back_the_stored_item_and_its_etag(self, provider, edit_on_target):
        if not provider.can_read:
            pytest.skip(f"{type(provider).__name__}.can_read is False: read() is optional")
        (item,) = samples.items(1)
        w = provider.create(item)
        fetched = provider.read(w.href)
        assert isinstance(fetched, Fetched) and fetched.href == w.href
        assert fetched.etag == _listed(provider)[item.uid].etag
        got = _component(fetched)
        assert str(got.get("UID")) == item.uid
        assert str(got.get("SUMMARY")) == str(item.component.get("SUMMARY"))
        if "DESCRIPTION" in got:  # a target that stores another format keeps what it can (Fetched)
            assert str(got.get("DESCRIPTION")) == str(item.component.get("DESCRIPTION"))
        assert _start_of(fetched) == item.component.decoded("DTSTART")
        edit_on_target(provider, w.href)  # read() shows what is there now, not what calsync wrote
        edited = provider.read(w.href)
        assert str(_component(edited).get("SUMMARY")) != str(item.component.get("SUMMARY"))
        assert edited.etag == _listed(provider)[item.uid].etag != fetched.etag

    def test_read_of_a_deleted_or_foreign_item_is_not_found(self, provider, foreign_guard):
        if not provider.can_read:
            pytest.skip(f"{type(provider).__name__}.can_read is False: read() is optional")
        (item,) = samples.items(1)
        w = provider.create(item)
        provider.delete(w.href, _etag(provider, item.uid, w))
        with pytest.raises(NotFound):
            provider.read(w.href)
        for handle in foreign_guard.before:
            with pytest.raises(NotFound):
                provider.read(handle)

    # --- texts and volume -----------------------------------------------------------------------------------

    def test_unicode_and_long_texts_survive(self, provider, read_on_target):
        item = samples.unicode_item()
        w = provider.create(item)
        assert _listed(provider)[item.uid].href == w.href
        stored = read_on_target(provider, w.href)
        assert stored and samples.UNICODE_TEXT.split()[1].encode() in stored.replace(b"\r\n ", b"")
        if provider.can_read:
            got = _component(provider.read(w.href))
            assert str(got.get("SUMMARY")) == str(item.component.get("SUMMARY"))
            if "DESCRIPTION" in got:
                assert str(got.get("DESCRIPTION")) == str(item.component.get("DESCRIPTION"))

    def test_many_items(self, provider, foreign_guard):
        foreign_guard.checking = False  # checked once at the end: per call would be count × the reads
        made = samples.items(self.bulk_count)
        outcomes = list(provider.apply([Create(item.uid, item) for item in made]))
        assert [o.error for o in outcomes if o.error is not None] == []
        listed = list(provider.list_items())
        assert len(listed) == self.bulk_count
        assert {r.uid for r in listed} == {item.uid for item in made}
        assert len({r.href for r in listed}) == self.bulk_count, "two items share an href"
        foreign_guard.check("creating many items")

    # --- the user's own items ---------------------------------------------------------------------------------

    def test_the_users_items_are_never_listed_or_touched(self, provider, foreign_guard, edit_on_target):
        a, b, c = samples.items(3)
        wa, wb = provider.create(a), provider.create(b)
        provider.update(wa.href, samples.moved(a), _etag(provider, a.uid, wa))
        provider.delete(wb.href, _etag(provider, b.uid, wb))
        edit_on_target(provider, wa.href)
        provider.create(c)
        assert set(_listed(provider)) == {a.uid, c.uid}
        assert foreign_guard.checks >= 6

    # --- whole syncs (calsync.testing.harness) --------------------------------------------------------------

    def test_sync_a_second_sync_writes_nothing(self, sync_harness):
        first = sync_harness.sync()
        assert first["created"] == len(sync_harness.planned()) > 0
        again = sync_harness.sync()
        assert again["created"] == again["updated"] == again["deleted"] == 0, again
        sync_harness.assert_converged()

    def test_sync_keeps_a_users_edit(self, sync_harness, edit_on_target, read_on_target):
        sync_harness.sync()
        uid = sync_harness.check_in_uid()
        href = sync_harness.href_of(uid)
        edit_on_target(sync_harness.provider, href)
        theirs = read_on_target(sync_harness.provider, href)
        report = sync_harness.sync()
        assert report["updated"] == 0 and same_content(read_on_target(sync_harness.provider, href), theirs)
        sync_harness.extend()  # now calsync would move it: the edit still wins, as a conflict
        report = sync_harness.sync()
        assert uid in {c["uid"] for c in report["conflicts"]}, report
        assert same_content(read_on_target(sync_harness.provider, href), theirs), "the user's edit was overwritten"

    def test_sync_keeps_a_users_deletion(self, sync_harness, delete_on_target):
        sync_harness.sync()
        uid = sync_harness.check_in_uid()
        delete_on_target(sync_harness.provider, sync_harness.href_of(uid))
        report = sync_harness.sync()
        assert report["created"] == 0 and uid not in sync_harness.listed()

    def test_sync_an_extension_moves_the_item_with_a_higher_sequence(self, sync_harness):
        sync_harness.sync()
        uid = sync_harness.check_in_uid()
        before = sync_harness.stored(uid)
        sync_harness.extend()
        report = sync_harness.sync()
        assert report["updated"] >= 1 and report["created"] == 0
        after = sync_harness.stored(uid)
        assert sync_harness.when(after) > sync_harness.when(before)
        assert int(after.get("SEQUENCE", 0)) > int(before.get("SEQUENCE", 0))
        assert sync_harness.href_of(uid) and list(sync_harness.listed()).count(uid) == 1
        sync_harness.assert_converged()

    def test_sync_a_crash_between_write_and_record_converges(self, sync_harness):
        crashed = sync_harness.sync(crash_after=1)
        assert crashed is None
        sync_harness.sync()
        sync_harness.assert_converged()
        again = sync_harness.sync()
        assert again["created"] == again["updated"] == again["deleted"] == 0, again


def _uids_in(data: bytes) -> set[str]:
    """The UIDs an item's stored bytes name: iCalendar ``UID:`` lines, or a JSON ``iCalUID`` (Google)."""
    found = re.findall(rb"(?m)^UID:(.+?)\r?$", data) + re.findall(rb'"iCalUID": ?"([^"]+)"', data)
    return {uid.decode("utf-8", "replace").strip() for uid in found}


def same_content(a: bytes | None, b: bytes | None) -> bool:
    """The same lines once unfolded, in any order: a file provider may re-serialize calsync's own items (never the
    user's, which must stay byte-identical), but must keep every line of a user's edit."""
    if a is None or b is None:
        return a is b

    def lines(data: bytes) -> list[bytes]:
        unfolded = data.replace(b"\r\n", b"\n").replace(b"\n ", b"").replace(b"\n\t", b"")
        return sorted(line for line in unfolded.split(b"\n") if line)

    return lines(a) == lines(b)


def _listed(provider: Provider) -> dict[str, RemoteItem]:
    found: dict[str, RemoteItem] = {}
    for remote in provider.list_items():
        assert remote.uid not in found, f"UID {remote.uid} listed twice"
        found[remote.uid] = remote
    return found


def _etag(provider: Provider, uid: str, written) -> str | None:
    return written.etag or _listed(provider)[uid].etag


def _component(fetched: Fetched):
    import icalendar

    calendar = icalendar.Calendar.from_ical(fetched.ical)
    found = [sub for sub in calendar.walk() if sub.name in ("VEVENT", "VTODO")]
    assert len(found) == 1, f"read() gave {len(found)} VEVENT/VTODO components, not one"
    return found[0]


def _start_of(fetched: Fetched):
    from calsync.testing.harness import SyncHarness

    return SyncHarness.when(_component(fetched))
