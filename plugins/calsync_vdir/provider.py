"""The vdir provider's implementation (see the package docstring)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from stat import S_ISREG

from calsync.errors import NotFound, PreconditionFailed, ProviderError
from calsync.files import (
    UnsafeFile,
    create_exclusive,
    file_etag,
    read_regular,
    read_regular_stat,
    remove_stale_temps,
    sync_folder,
    write_atomic,
)
from calsync.options import Option
from calsync.provider import MANAGED_PROPERTY, Action, Fetched, Item, Outcome, Provider, RemoteItem, Scan, Written

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,200}")
_MARK = MANAGED_PROPERTY.encode() + b":1"
_UID_LINE = re.compile(rb"^UID:(.+?)\r?$", re.MULTILINE)
# calsync's items are a few kilobytes; a larger file is not one of them, and is not read into memory.
MAX_ITEM_BYTES = 16 * 1024 * 1024
#: Writes made durable together (see :meth:`VdirProvider.apply`).
BATCH = 256


def file_name(uid: str) -> str:
    """The item's file name: the UID when it is a safe name, else its hash."""
    if _SAFE_NAME.fullmatch(uid) and ".." not in uid:
        return f"{uid}.ics"
    return f"{hashlib.sha256(uid.encode()).hexdigest()}.ics"


class VdirProvider(Provider):
    name = "vdir"
    options = (Option("path", str, path=True, required=True, help="the folder, one .ics file per item"),)
    can_read = True

    def __init__(self, target) -> None:
        super().__init__(target)
        path = target.text("path")
        if not path:
            raise target.error(None, "the vdir provider needs 'path' (a folder)")
        self.folder = Path(path).expanduser()
        self._batched = False  # inside apply(): files are synced per batch, not one by one
        self._folder_made = False

    def describe(self) -> str:
        return str(self.folder)

    def _ensure_folder(self) -> None:
        if self._folder_made:  # once per run, not once per file
            return
        if self.folder.exists() and not self.folder.is_dir():
            raise ProviderError(f"{self.folder}: not a folder (targets.{self.target.name}.path)")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProviderError(f"{self.folder}: cannot create the folder: {exc.strerror}") from None
        self._folder_made = True

    def _path(self, href: str) -> Path:
        if not _SAFE_NAME.fullmatch(href) or not href.endswith(".ics") or ".." in href:
            raise ProviderError(f"refusing an unsafe file name {href!r}")
        return self.folder / href

    def list_items(self):
        return self._listing({})

    def scan(self, known, token):
        """Every managed item, as :meth:`list_items` finds them; a file whose ETag (mtime, size, inode) is the one
        the state knows for that name is calsync's last write, unchanged: it is not read again."""
        return Scan({item.uid: item for item in self._listing(known)}, None)

    def _listing(self, known) -> Iterator[RemoteItem]:
        if not self.folder.is_dir():
            return
        unchanged = {item.href: item for item in known.values() if item.etag is not None}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                seen = unchanged.get(entry.name)
                if seen is not None:  # a name calsync wrote: safe; unchanged if its ETag is the known one
                    try:
                        stat = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if seen.etag == file_etag(stat) and S_ISREG(stat.st_mode):
                        yield seen
                        continue
                if not entry.name.endswith(".ics") or not entry.is_file(follow_symlinks=False):
                    continue
                if not _SAFE_NAME.fullmatch(entry.name):
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                    data = read_regular(Path(entry.path), MAX_ITEM_BYTES)
                except OSError:  # gone meanwhile, unreadable, or too large to be ours
                    continue
                if _MARK not in data:
                    continue  # not ours: never touched
                uid = _uid_of(data)
                if uid is None or file_name(uid) != entry.name:
                    continue  # a copy of ours under another name (the user's, an import): theirs
                yield RemoteItem(uid, entry.name, file_etag(stat))

    def apply(self, actions: Sequence[Action]) -> Iterator[Outcome]:
        """Writes in batches: up to :data:`BATCH` files are written, then made durable at once (one ``syncfs``,
        not one ``fsync`` each), and only then reported, so the state never records a write that a power cut
        could still undo. A run stopped inside a batch leaves written but unrecorded files, which the next sync
        takes over (they carry calsync's seal)."""
        if self.folder.is_dir():
            remove_stale_temps(self.folder)  # an interrupted run's; even when this run writes nothing
        done: list[Outcome] = []
        self._batched = True
        try:
            for action in actions:
                done.append(self.apply_one(action))
                if len(done) >= BATCH:
                    yield from self._durable(done)
                    done = []
        finally:
            self._batched = False
        yield from self._durable(done)

    def _durable(self, outcomes: list[Outcome]) -> Iterator[Outcome]:
        if any(outcome.error is None for outcome in outcomes) and self.folder.is_dir():
            sync_folder(self.folder)
        yield from outcomes

    def create(self, item: Item) -> Written:
        self._ensure_folder()
        href = file_name(item.uid)
        path = self._path(href)
        try:
            created = create_exclusive(path, item.ical, sync=not self._batched)
        except FileNotFoundError:  # the folder went away during the run: made again, once
            self._folder_made = False
            self._ensure_folder()
            created = create_exclusive(path, item.ical, sync=not self._batched)
        if not created:
            raise PreconditionFailed(href, f"{path} exists already")
        return Written(href, file_etag(path.stat()))

    def _current_etag(self, href: str) -> str:
        try:
            return file_etag(self._path(href).stat())
        except FileNotFoundError:
            raise NotFound(href) from None

    def _check_ours(self, href: str, uid: str | None = None) -> None:
        """An item is ours only where we put it: at the name derived from its UID, carrying the mark. Anything
        else at ``href`` (a stale reference to a copy) is reported as not found, and never written."""
        path = self._path(href)
        if uid is None:
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise NotFound(href) from None
            except OSError as exc:
                raise ProviderError(f"{path}: cannot read: {exc.strerror}") from None
            uid = _uid_of(data) if _MARK in data else None
        if uid is None or file_name(uid) != href:
            raise NotFound(href)

    def read(self, href: str) -> Fetched:
        path = self._path(href)
        try:
            data, stat = read_regular_stat(path, MAX_ITEM_BYTES)  # a FIFO or a device there is not read
        except (FileNotFoundError, IsADirectoryError, UnsafeFile):
            raise NotFound(href) from None
        uid = _uid_of(data) if _MARK in data else None
        if uid is None or file_name(uid) != href:
            raise NotFound(href)  # someone else's file now, or a copy of ours: not ours to read
        return Fetched(href, data, file_etag(stat))

    def update(self, href: str, item: Item, etag: str | None) -> Written:
        self._check_ours(href, item.uid)
        current = self._current_etag(href)
        if etag is not None and current != etag:
            raise PreconditionFailed(href)
        path = self._path(href)
        write_atomic(path, item.ical, sync=not self._batched)
        return Written(href, file_etag(path.stat()))

    def delete(self, href: str, etag: str | None) -> None:
        self._check_ours(href)
        current = self._current_etag(href)
        if etag is not None and current != etag:
            raise PreconditionFailed(href)
        try:
            self._path(href).unlink()
        except FileNotFoundError:
            raise NotFound(href) from None


def _uid_of(data: bytes) -> str | None:
    found = _UID_LINE.search(data)
    return found.group(1).decode("utf-8", "replace").strip() if found else None
