"""A third-party-style provider in a few lines: items kept in memory. It shows the provider interface is small,
runs the shared contract, and proves `calsync sync` drives a provider registered only through the hook."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from calsync import hookimpl
from calsync.errors import NotFound, PreconditionFailed
from calsync.provider import Fetched, Item, Provider, RemoteItem, Written


class MemoryProvider(Provider):
    name = "memory"
    can_read = True
    #: every store by its ``store`` option, so that a later run (a new provider instance) sees the same items
    stores: ClassVar[dict[str, dict[str, tuple[str, bytes]]]] = {}

    @property
    def items(self) -> dict[str, tuple[str, bytes]]:  # href -> (uid, ical)
        return self.stores.setdefault(self.target.option("store", "default"), {})

    def list_items(self):
        for href, (uid, data) in self.items.items():
            if b"X-CALSYNC-MANAGED:1" in data:
                yield RemoteItem(uid, href, _etag(data))

    def create(self, item: Item) -> Written:
        href = item.uid
        if href in self.items:
            raise PreconditionFailed(href)
        self.items[href] = (item.uid, item.ical)
        return Written(href, _etag(item.ical))

    def read(self, href: str) -> Fetched:
        if href not in self.items or b"X-CALSYNC-MANAGED:1" not in self.items[href][1]:
            raise NotFound(href)
        data = self.items[href][1]
        return Fetched(href, data, _etag(data))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._check(href, etag)
        self.items[href] = (item.uid, item.ical)
        return Written(href, _etag(item.ical))

    def delete(self, href: str, etag: str | None) -> None:
        self._check(href, etag)
        del self.items[href]

    def _check(self, href: str, etag: str | None) -> None:
        if href not in self.items:
            raise NotFound(href)
        if etag is not None and _etag(self.items[href][1]) != etag:
            raise PreconditionFailed(href)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class MemoryPlugin:
    @hookimpl
    def calsync_register_providers(self, register):
        register("memory", MemoryProvider)
