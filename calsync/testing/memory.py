"""The reference provider: items kept in memory, in a few lines. It shows how small the interface is, runs the
contract like every other provider, and is the base of the deliberately broken providers of calsync's meta-tests."""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from calsync.errors import NotFound, PreconditionFailed
from calsync.hookspecs import hookimpl
from calsync.options import Option
from calsync.provider import MANAGED_PROPERTY, Fetched, Item, Provider, RemoteItem, Written

_MARK = MANAGED_PROPERTY.encode() + b":1"
_UID = re.compile(rb"^UID:(.+?)\r?$", re.MULTILINE)


class MemoryProvider(Provider):
    """Items by href in a dict shared by every instance with the same ``store`` option (a later run sees them)."""

    name = "memory"
    can_read = True
    options = (Option("store", str, "default", help="name of the in-memory store (one per target)"),)
    #: every store by name: href -> the stored bytes, ours and the user's alike
    stores: ClassVar[dict[str, dict[str, bytes]]] = {}

    @property
    def items(self) -> dict[str, bytes]:
        return self.stores.setdefault(self.target.option("store", "default"), {})

    def list_items(self):
        for href, data in list(self.items.items()):
            if _MARK in data:
                yield RemoteItem(uid_in(data), href, etag_of(data))

    def create(self, item: Item) -> Written:
        href = item.uid
        if href in self.items:
            raise PreconditionFailed(href)
        self.items[href] = item.ical
        return Written(href, etag_of(item.ical))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._check(href, etag)
        self.items[href] = item.ical
        return Written(href, etag_of(item.ical))

    def delete(self, href: str, etag: str | None) -> None:
        self._check(href, etag)
        del self.items[href]

    def read(self, href: str) -> Fetched:
        data = self.items.get(href)
        if data is None or _MARK not in data:
            raise NotFound(href)
        return Fetched(href, data, etag_of(data))

    def _check(self, href: str, etag: str | None) -> None:
        data = self.items.get(href)
        if data is None or _MARK not in data:
            raise NotFound(href)
        if etag is not None and etag_of(data) != etag:
            raise PreconditionFailed(href)


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def uid_in(data: bytes) -> str:
    found = _UID.search(data)
    return found.group(1).decode("utf-8", "replace").strip() if found else ""


class MemoryPlugin:
    """Registers :class:`MemoryProvider` as ``provider = "memory"``: ``pm.register(MemoryPlugin())``."""

    @hookimpl
    def calsync_register_providers(self, register):
        register("memory", MemoryProvider)
