"""The contract catches what matters: deliberately broken providers, each one rule broken, each fail it.

Each mutant is the reference memory provider with one fault; pytester runs the shipped contract on it in a fresh
pytest session, as a plugin author's project would (``-p calsync.testing``)."""

from __future__ import annotations

import textwrap

import pytest

# pytester's in-process runs drop the modules they imported afterwards; import the renderer (and icalendar) here
# first, so items the session caches (calsync.testing.samples) never mix two copies of icalendar's classes.
import calsync.render  # noqa: F401

MODULE = """
import pytest

from calsync.provider import Target, Written
from calsync.testing import MemoryProvider, ProviderContract, samples
from calsync.testing.memory import etag_of, uid_in

{mutant}

class TestMutant(ProviderContract):
    bulk_count = 20

    @pytest.fixture
    def provider(self, request):
        store = request.node.nodeid
        yield Mutant(Target("t", "memory", {{"store": store}}))
        Mutant.stores.pop(store, None)

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            provider.items[f"mine-{{n}}"] = samples.foreign_event(n)
            return f"mine-{{n}}"
        return put

    @pytest.fixture
    def read_on_target(self):
        return lambda provider, href: provider.items.get(href)

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            provider.items[href] = provider.items[href].replace(b"SUMMARY:", b"SUMMARY:edited ", 1)
        return edit
"""

MUTANTS = {
    "faithful": """
class Mutant(MemoryProvider):
    pass
""",
    "ignores_etags": """
class Mutant(MemoryProvider):
    def _check(self, href, etag):
        super()._check(href, None)
""",
    "drops_foreign_items": """
class Mutant(MemoryProvider):
    def create(self, item):
        for href in [h for h, data in self.items.items() if b"X-CALSYNC-MANAGED:1" not in data]:
            del self.items[href]  # "cleans up" the calendar
        return super().create(item)
""",
    "rewrites_foreign_items": """
class Mutant(MemoryProvider):
    def update(self, href, item, etag):
        written = super().update(href, item, etag)
        for key, data in self.items.items():
            self.items[key] = data.replace(b"\\r\\n", b"\\n")  # "normalizes" every line ending
        return written
""",
    "lists_foreign_items": """
class Mutant(MemoryProvider):
    def list_items(self):
        for href, data in list(self.items.items()):
            yield __import__("calsync.provider").provider.RemoteItem(uid_in(data), href, etag_of(data))
""",
    "loses_the_href": """
class Mutant(MemoryProvider):
    def create(self, item):
        written = super().create(item)
        return Written("/calendars/" + written.href, written.etag)
""",
    "returns_a_stale_etag": """
class Mutant(MemoryProvider):
    def update(self, href, item, etag):
        before = etag_of(self.items[href]) if href in self.items else None
        written = super().update(href, item, etag)
        return Written(written.href, before)
""",
}


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_broken_provider_fails_the_contract(pytester, name):
    pytester.makepyfile(test_mutant=MODULE.format(mutant=textwrap.dedent(MUTANTS[name])))
    stop_early = () if name == "faithful" else ("-x",)  # one failure proves the point
    result = pytester.runpytest("-p", "calsync.testing", "-q", "-p", "no:cacheprovider", *stop_early)
    outcomes = result.parseoutcomes()
    if name == "faithful":
        assert result.ret == 0 and outcomes.get("passed", 0) >= 20, result.stdout.str()
    else:
        assert outcomes.get("failed", 0) + outcomes.get("errors", 0) >= 1, f"{name} passed the contract"
