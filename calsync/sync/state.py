"""The state database of one target: what calsync wrote there, so that the next sync knows what is its own.

SQLite, one file per target, every change in its own transaction: a sync interrupted at any point leaves a state
that describes exactly the writes that completed, and the next run resumes from there.

The schema has a version (``PRAGMA user_version``): an older database is migrated in place, a newer one refused.
A database that SQLite cannot read is reported as damaged, with the command that moves it aside and rebuilds the
state from the target (``calsync sync TARGET --rebuild-state``). Each successful sync leaves a copy of the state
beside it (``….sqlite.bak``, made with SQLite's backup API).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from calsync.errors import UserError
from calsync.provider import RemoteItem, Target
from calsync.sync.identity import Identity
from calsync.sync.refusals import Refusal

#: 1: the first numbered schema (items, meta, intents). A database without a number (0) is from before; its
#: tables are the same, but any missing column is added with its default.
SCHEMA_VERSION = 1

_SCHEMA = """
create table if not exists items (
    uid text primary key,
    href text not null,
    etag text,
    hash text not null,
    sequence integer not null,
    due text not null,
    cancelled integer not null default 0,
    gone integer not null default 0,   -- deleted on the target (by the user, or by us in cancelled = "delete")
    ical blob not null,                -- the last pushed form
    kept integer not null default 0    -- found edited by the user when the state was rebuilt: theirs
);
create table if not exists meta (key text primary key, value text not null);
-- An update about to be sent: if the run dies before recording its outcome, the next run can tell our own write
-- (the ETag changed, and an intent is here) from a user's edit.
create table if not exists intents (
    uid text primary key,
    hash text not null,
    sequence integer not null,
    due text not null,
    cancelled integer not null,
    ical blob not null
);
-- Items the target refused (one 400/403/409...): the reason, how often, and when to try again (refusals.py).
create table if not exists refusals (
    uid text primary key,
    content text not null,
    reason text not null,
    status integer,
    attempts integer not null,
    last text not null,
    retry_at text not null
);
-- The UID an item carries on the target when it is not the plan's (identity.py); none: the plan's UID.
create table if not exists identities (
    uid text primary key,
    remote text not null,
    generation integer not null default 0
);
-- calsync's items left under an old UID after a move to a new one: deleted once the new one is written.
create table if not exists retired (
    href text primary key,
    uid text not null,
    etag text
);
-- The render cache (render_cache.py): per follow-up and form, the key of its rendering's inputs and the content
-- hash they gave. A memo: losing it costs one rendering.
create table if not exists renders (
    uid text not null,
    form text not null,
    key text not null,
    hash text not null,
    primary key (uid, form)
);
"""


@dataclass(frozen=True)
class StateRow:
    uid: str
    href: str
    etag: str | None
    hash: str
    sequence: int
    due: str
    cancelled: bool
    gone: bool
    ical: bytes
    kept: bool = False  # found edited by the user when the state was rebuilt (see diff.Adopt)

    def remote(self) -> RemoteItem:
        return RemoteItem(self.uid, self.href, self.etag)


def state_path(target: Target, state_dir: Path) -> Path:
    """One database per target, named after it and what it points at: a target re-pointed elsewhere (another
    calendar, another file) starts from a fresh state instead of mistaking the new place for the old."""
    where = {key: target.options.get(key) for key in ("path", "url", "calendar", "api_endpoint")}
    fingerprint = hashlib.sha256(json.dumps([target.provider, where], sort_keys=True).encode()).hexdigest()[:12]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target.name)[:60]
    return state_dir / f"{safe}-{fingerprint}.sqlite"


# Columns added after the first release, with the default an older row gets: (table, column, declaration).
_ADDED_COLUMNS: list[tuple[str, str, str]] = [
    ("items", "cancelled", "integer not null default 0"),
    ("items", "gone", "integer not null default 0"),
    ("items", "kept", "integer not null default 0"),
]


class StateDamaged(UserError):
    """SQLite cannot read the state database (a garbage or truncated file, a disk error)."""


def damaged(path: Path, target: str, exc: BaseException) -> StateDamaged:
    """The one line for a database that cannot be read: what happened, and the command that rebuilds it."""
    return StateDamaged(
        f"{path}: the sync state of target {target!r} is damaged ({exc}); move it aside and rebuild it from the "
        f"target with: calsync sync {target} --rebuild-state"
    )


def is_damage(exc: sqlite3.Error) -> bool:
    """A file SQLite cannot read as a database (garbage, truncated, corrupt), as opposed to one it cannot use now
    (locked, a disk error, permissions)."""
    name = getattr(exc, "sqlite_errorname", "")
    return name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in str(exc) or "not a database" in str(exc)


def move_aside(path: Path) -> Path:
    """Rename the database (and its WAL files) to ``….damaged-<time>``; returns the new name of the main file."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, aside.with_name(aside.name + suffix))
    return aside


class StateDB:
    """``read_only`` (for ``--dry-run``) never creates or changes the file: a missing one reads as empty.

    ``target`` names the target in messages.

    :raises StateDamaged: SQLite cannot read the file.
    :raises UserError: it cannot be opened at all (permissions), or a newer calsync wrote it.
    """

    def __init__(self, path: Path, read_only: bool = False, target: str = "") -> None:
        self.path = path
        self.target = target or path.stem
        #: True when the database was new or held no sync yet: nothing is known about the target.
        self.fresh = False
        #: True once this connection wrote anything (a sync that wrote nothing needs no new backup).
        self.changed = False
        try:
            if read_only:
                exists = path.exists()
                uri = f"{path.resolve().as_uri()}?mode=ro" if exists else "file::memory:"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
                if not exists:
                    self._db.executescript(_SCHEMA)
                self._check_version(writable=False)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            # It holds names and addresses (the pushed items): readable by the user alone.
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("pragma journal_mode=wal")
            self._db.execute("pragma synchronous=normal")
            self._check_version(writable=True)
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise damaged(path, self.target, exc) from None
            raise UserError(f"{path}: cannot open the sync state database: {exc}") from None
        except OSError as exc:
            raise UserError(f"{path}: cannot open the sync state database: {exc}") from None

    def _check_version(self, writable: bool) -> None:
        """Read the schema version and the tables (this reads the file: a damaged one fails here); create or
        migrate what is missing."""
        version = self._db.execute("pragma user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: this sync state was written by a newer calsync (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade calsync, or rebuild it with: calsync sync {self.target} --rebuild-state"
            )
        tables = {row[0] for row in self._db.execute("select name from sqlite_master where type = 'table'")}
        if writable:
            self._migrate(version)
        elif not {"items", "meta", "intents"} <= tables:  # an emptied file, read-only: read it as empty
            self._db.close()
            self._db = sqlite3.connect(":memory:", isolation_level=None)
            self._db.executescript(_SCHEMA)
        started = self._db.execute("select count(*) from meta where key = 'since'").fetchone()[0]
        rows = self._db.execute("select count(*) from items").fetchone()[0]
        self.fresh = not started and not rows

    def _migrate(self, version: int) -> None:
        self._db.executescript(_SCHEMA)  # every table "if not exists": creates what is missing, nothing else
        if version >= SCHEMA_VERSION:
            return
        with self.transaction() as db:  # columns checked again inside: another process may have migrated meanwhile
            for table, column, declaration in _ADDED_COLUMNS:
                columns = {row[1] for row in db.execute(f"pragma table_info({table})")}
                if column not in columns:
                    db.execute(f"alter table {table} add column {column} {declaration}")
            db.execute(f"pragma user_version = {SCHEMA_VERSION}")

    def mark_started(self) -> None:
        """Remember that a sync began writing to the target: from now on, items found there without a row are
        our own unrecorded writes (a crash), not a sign that the state was lost."""
        if self.meta("since") is None:
            self.set_meta("since", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))

    def backup(self) -> Path:
        """Copy the state, consistent, to ``….sqlite.bak`` beside it (replacing the previous copy), unless nothing
        was written since the last copy was made."""
        copy = self.path.with_name(self.path.name + ".bak")
        if not self.changed and copy.exists():
            return copy
        temp = copy.with_name(copy.name + ".tmp")
        os.close(os.open(temp, os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600))
        target = sqlite3.connect(temp)
        try:
            self._db.backup(target)
        finally:
            target.close()
        os.replace(temp, copy)
        return copy

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.changed = True
        self._db.execute("begin immediate")
        try:
            yield self._db
        except BaseException:
            self._db.execute("rollback")
            raise
        self._db.execute("commit")

    # --- reading ----------------------------------------------------------------------------------------------

    def rows(self) -> dict[str, StateRow]:
        cursor = self._db.execute(
            "select uid, href, etag, hash, sequence, due, cancelled, gone, ical, kept from items order by uid"
        )
        return {
            row[0]: StateRow(
                row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7]), row[8], bool(row[9])
            )
            for row in cursor
        }

    def intents(self) -> dict[str, StateRow]:
        """Updates that were sent (or about to be) when a previous run stopped: the rows they would have made,
        without href and etag."""
        cursor = self._db.execute("select uid, hash, sequence, due, cancelled, ical from intents")
        return {
            row[0]: StateRow(row[0], "", None, row[1], row[2], row[3], bool(row[4]), False, row[5]) for row in cursor
        }

    def meta(self, key: str) -> str | None:
        found = self._db.execute("select value from meta where key = ?", (key,)).fetchone()
        return found[0] if found else None

    def provider_state(self) -> dict[str, Any]:
        raw = self.meta("provider_state")
        return json.loads(raw) if raw else {}

    # --- writing (each call is one transaction) ---------------------------------------------------------------

    def put(self, row: StateRow) -> None:
        """Record ``row`` (and settle any intent for its UID)."""
        with self.transaction() as db:
            db.execute("delete from intents where uid = ?", (row.uid,))
            db.execute(
                "insert or replace into items (uid, href, etag, hash, sequence, due, cancelled, gone, ical, kept) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.uid,
                    row.href,
                    row.etag,
                    row.hash,
                    row.sequence,
                    row.due,
                    int(row.cancelled),
                    int(row.gone),
                    row.ical,
                    int(row.kept),
                ),
            )

    def forget(self, uid: str) -> None:
        with self.transaction() as db:
            db.execute("delete from items where uid = ?", (uid,))
            db.execute("delete from intents where uid = ?", (uid,))

    def record_intents(self, rows: list[StateRow]) -> None:
        """Before sending updates: what each will make of its row. One transaction for all."""
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                "insert or replace into intents (uid, hash, sequence, due, cancelled, ical) values (?, ?, ?, ?, ?, ?)",
                [(row.uid, row.hash, row.sequence, row.due, int(row.cancelled), row.ical) for row in rows],
            )

    def drop_intent(self, uid: str) -> None:
        with self.transaction() as db:
            db.execute("delete from intents where uid = ?", (uid,))

    def set_meta(self, key: str, value: str | None) -> None:
        if self.meta(key) == value:
            return
        with self.transaction() as db:
            if value is None:
                db.execute("delete from meta where key = ?", (key,))
            else:
                db.execute("insert or replace into meta (key, value) values (?, ?)", (key, value))

    def set_provider_state(self, state: dict[str, Any]) -> None:
        self.set_meta("provider_state", json.dumps(state, sort_keys=True))

    # --- refused items, identities, retired items ---------------------------------------------------------------

    def refusals(self) -> dict[str, Refusal]:
        cursor = self._db.execute("select uid, content, reason, status, attempts, last, retry_at from refusals")
        return {
            row[0]: Refusal(
                row[0], row[1], row[2], row[3], row[4], datetime.fromisoformat(row[5]), datetime.fromisoformat(row[6])
            )
            for row in cursor
        }

    def put_refusal(self, refusal: Refusal) -> None:
        with self.transaction() as db:
            db.execute("delete from intents where uid = ?", (refusal.uid,))
            db.execute(
                "insert or replace into refusals (uid, content, reason, status, attempts, last, retry_at) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                (
                    refusal.uid,
                    refusal.content,
                    refusal.reason,
                    refusal.status,
                    refusal.attempts,
                    refusal.last.isoformat(),
                    refusal.retry_at.isoformat(),
                ),
            )

    def drop_refusals(self, uids: list[str]) -> None:
        if not uids:
            return
        with self.transaction() as db:
            db.executemany("delete from refusals where uid = ?", [(uid,) for uid in uids])

    def identities(self) -> dict[str, Identity]:
        cursor = self._db.execute("select uid, remote, generation from identities")
        return {row[0]: Identity(row[0], row[1], row[2]) for row in cursor}

    def put_identities(self, identities: list[Identity]) -> None:
        """Before writing under a UID: which one each item carries. One transaction for all."""
        if not identities:
            return
        with self.transaction() as db:
            db.executemany(
                "insert or replace into identities (uid, remote, generation) values (?, ?, ?)",
                [(i.uid, i.remote, i.generation) for i in identities],
            )

    def retire(self, row: StateRow, identity: Identity) -> None:
        """Move an item to a new UID: remember its old resource (to delete once the new one is written), take the
        new identity, and forget the row, all in one transaction (the next write creates it under the new UID)."""
        with self.transaction() as db:
            db.execute(
                "insert or replace into retired (href, uid, etag) values (?, ?, ?)", (row.href, row.uid, row.etag)
            )
            db.execute(
                "insert or replace into identities (uid, remote, generation) values (?, ?, ?)",
                (identity.uid, identity.remote, identity.generation),
            )
            db.execute("delete from items where uid = ?", (row.uid,))
            db.execute("delete from intents where uid = ?", (row.uid,))

    def retired(self) -> dict[str, tuple[str, str | None]]:
        """Old resources to delete: href -> (plan UID, ETag)."""
        return {row[0]: (row[1], row[2]) for row in self._db.execute("select href, uid, etag from retired")}

    # --- the render cache --------------------------------------------------------------------------------------

    def renders(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(uid, form) -> (key, hash); empty in a database from before the cache (read-only: not migrated)."""
        try:
            cursor = self._db.execute("select uid, form, key, hash from renders")
        except sqlite3.OperationalError:
            return {}
        return {(row[0], row[1]): (row[2], row[3]) for row in cursor}

    def put_renders(self, learnt: dict[tuple[str, str], tuple[str, str]], forget: set[str]) -> None:
        """Remember what this run rendered, and forget the follow-ups no longer planned. One transaction, and none
        when nothing changed."""
        if not learnt and not forget:
            return
        with self.transaction() as db:
            db.executemany("delete from renders where uid = ?", [(uid,) for uid in forget])
            db.executemany(
                "insert or replace into renders (uid, form, key, hash) values (?, ?, ?, ?)",
                [(uid, form, key, content) for (uid, form), (key, content) in learnt.items()],
            )

    def drop_retired(self, href: str) -> None:
        with self.transaction() as db:
            db.execute("delete from retired where href = ?", (href,))
