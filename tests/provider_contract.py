"""The contract every provider keeps, as one suite each backend runs (vdirsyncer's StorageTests, for calsync).

A backend's test module subclasses :class:`ProviderContract` and supplies three fixtures:

``provider``
    a fresh provider on an empty target;
``edit_on_target``
    ``edit_on_target(provider, href)`` changes a stored item the way another client would (new ETag);
``put_foreign``
    ``put_foreign(provider, n)`` stores the user's own item number ``n``, which is not calsync's.
"""

from __future__ import annotations

import pytest
from factories import many_followups

from calsync.errors import NotFound, PreconditionFailed
from calsync.provider import Create, Delete, RemoteItem, Update
from calsync.render import render_item


def items(count: int):
    return [render_item(f) for f in many_followups(count)]


class ProviderContract:
    def test_created_items_are_listed_with_their_etags(self, provider):
        made = items(3)
        written = {item.uid: provider.create(item) for item in made}
        listed = {r.uid: r for r in provider.list_items()}
        assert set(listed) == set(written)
        for uid, w in written.items():
            assert listed[uid].href == w.href
            assert w.etag is None or listed[uid].etag == w.etag

    def test_create_where_something_is_never_duplicates(self, provider):
        (item,) = items(1)
        provider.create(item)
        if provider.create_reconciles:
            provider.create(item)  # recognised as calsync's and rewritten in place
        else:
            with pytest.raises(PreconditionFailed):
                provider.create(item)
        assert len(list(provider.list_items())) == 1

    def test_update_with_the_current_etag_replaces_the_item(self, provider):
        first, second = items(2)
        w = provider.create(first)
        etag = w.etag or _listed(provider)[first.uid].etag
        moved = render_item(_same_uid(second, first), sequence=1)
        after = provider.update(w.href, moved, etag)
        listed = _listed(provider)
        assert listed[first.uid].href == after.href == w.href
        assert listed[first.uid].etag != etag

    def test_update_after_someone_else_edited_raises_precondition_failed(self, provider, edit_on_target):
        (item,) = items(1)
        w = provider.create(item)
        etag = w.etag or _listed(provider)[item.uid].etag
        edit_on_target(provider, w.href)
        with pytest.raises(PreconditionFailed):
            provider.update(w.href, item, etag)
        with pytest.raises(PreconditionFailed):
            provider.delete(w.href, etag)
        assert item.uid in _listed(provider)

    def test_delete_removes_and_a_second_delete_is_not_found(self, provider):
        (item,) = items(1)
        w = provider.create(item)
        etag = w.etag or _listed(provider)[item.uid].etag
        provider.delete(w.href, etag)
        assert item.uid not in _listed(provider)
        with pytest.raises(NotFound):
            provider.delete(w.href, etag)
        with pytest.raises(NotFound):
            provider.update(w.href, item, etag)

    def test_apply_yields_one_outcome_per_action(self, provider):
        a, b, c = items(3)
        wa = provider.create(a)
        etag = wa.etag or _listed(provider)[a.uid].etag
        actions = [Create(b.uid, b), Update(a.uid, wa.href, "not-the-etag", a), Create(c.uid, c)]
        outcomes = list(provider.apply(actions))
        assert sorted(map(id, (o.action for o in outcomes))) == sorted(map(id, actions))
        by_uid = {o.action.uid: o for o in outcomes}
        assert by_uid[b.uid].error is None and by_uid[c.uid].error is None
        assert isinstance(by_uid[a.uid].error, PreconditionFailed)
        assert etag == _listed(provider)[a.uid].etag  # the refused update changed nothing
        listed = _listed(provider)
        assert set(listed) == {a.uid, b.uid, c.uid}
        gone = list(provider.apply([Delete(c.uid, listed[c.uid].href, listed[c.uid].etag)]))
        assert gone[0].error is None and c.uid not in _listed(provider)

    def test_scan_agrees_with_the_listing_and_its_token_holds(self, provider):
        made = items(2)
        for item in made:
            provider.create(item)
        listed = _listed(provider)
        scan = provider.scan({}, None)
        assert scan.items == listed
        again = provider.scan(scan.items, scan.token)
        assert again.items == scan.items

    def test_the_users_own_items_are_never_listed(self, provider, put_foreign):
        for n in range(3):
            put_foreign(provider, n)
        (item,) = items(1)
        provider.create(item)
        assert set(_listed(provider)) == {item.uid}

    def test_read_gives_back_what_was_written_and_what_the_user_changed(self, provider, edit_on_target):
        if not provider.can_read:
            pytest.skip(f"the {provider.name} provider does not implement read()")  # an optional capability
        (item,) = items(1)
        w = provider.create(item)
        fetched = provider.read(w.href)
        component = _component(fetched.ical)
        assert str(component.get("UID")) == item.uid
        assert str(component.get("SUMMARY")) == str(item.component.get("SUMMARY"))
        assert fetched.href == w.href
        assert fetched.etag is not None and fetched.etag == _listed(provider)[item.uid].etag
        edit_on_target(provider, w.href)
        edited = provider.read(w.href)
        assert str(_component(edited.ical).get("SUMMARY")) != str(item.component.get("SUMMARY"))
        assert edited.etag == _listed(provider)[item.uid].etag != fetched.etag

    def test_read_of_a_deleted_item_is_not_found(self, provider):
        if not provider.can_read:
            pytest.skip(f"the {provider.name} provider does not implement read()")
        (item,) = items(1)
        w = provider.create(item)
        provider.delete(w.href, w.etag or _listed(provider)[item.uid].etag)
        with pytest.raises(NotFound):
            provider.read(w.href)


def _component(data: bytes):
    import icalendar

    calendar = icalendar.Calendar.from_ical(data)
    (component,) = [sub for sub in calendar.subcomponents if sub.name in ("VEVENT", "VTODO")]
    return component


def _listed(provider) -> dict[str, RemoteItem]:
    return {r.uid: r for r in provider.list_items()}


def _same_uid(item, like):
    """``item``'s follow-up moved under ``like``'s UID: the same follow-up, due at another time."""
    import dataclasses

    return dataclasses.replace(item.followup, uid=like.uid)
