"""The state database of one target: what calsync wrote there, so that the next sync knows what is its own.

SQLite, one file per target, every change in its own transaction: a sync interrupted at any point leaves a state
that describes exactly the writes that completed, and the next run resumes from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
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
    ical blob not null                 -- the last pushed form
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

    def remote(self) -> RemoteItem:
        return RemoteItem(self.uid, self.href, self.etag)


def state_path(target: Target, state_dir: Path) -> Path:
    """One database per target, named after it and what it points at: a target re-pointed elsewhere (another
    calendar, another file) starts from a fresh state instead of mistaking the new place for the old."""
    where = {key: target.options.get(key) for key in ("path", "url", "calendar", "api_endpoint")}
    fingerprint = hashlib.sha256(json.dumps([target.provider, where], sort_keys=True).encode()).hexdigest()[:12]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in target.name)[:60]
    return state_dir / f"{safe}-{fingerprint}.sqlite"


class StateDB:
    """``read_only`` (for ``--dry-run``) never creates or changes the file: a missing one reads as empty."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        try:
            if read_only:
                exists = path.exists()
                uri = f"{path.resolve().as_uri()}?mode=ro" if exists else "file::memory:"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
                if not exists:
                    self._db.executescript(_SCHEMA)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            # It holds names and addresses (the pushed items): readable by the user alone.
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("pragma journal_mode=wal")
            self._db.execute("pragma synchronous=normal")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"{path}: cannot open the sync state database: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
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
            "select uid, href, etag, hash, sequence, due, cancelled, gone, ical from items order by uid"
        )
        return {
            row[0]: StateRow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), bool(row[7]), row[8])
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
                "insert or replace into items (uid, href, etag, hash, sequence, due, cancelled, gone, ical) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ),
            )

    def forget(self, uid: str) -> None:
        with self.transaction() as db:
            db.execute("delete from items where uid = ?", (uid,))
            db.execute("delete from intents where uid = ?", (uid,))

    def record_intents(self, rows: list[StateRow]) -> None:
        """Before sending updates: what each will make of its row. One transaction for all."""
        with self.transaction() as db:
            db.executemany(
                "insert or replace into intents (uid, hash, sequence, due, cancelled, ical) values (?, ?, ?, ?, ?, ?)",
                [(row.uid, row.hash, row.sequence, row.due, int(row.cancelled), row.ical) for row in rows],
            )

    def drop_intent(self, uid: str) -> None:
        with self.transaction() as db:
            db.execute("delete from intents where uid = ?", (uid,))

    def set_meta(self, key: str, value: str | None) -> None:
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
        with self.transaction() as db:
            db.executemany("delete from refusals where uid = ?", [(uid,) for uid in uids])

    def identities(self) -> dict[str, Identity]:
        cursor = self._db.execute("select uid, remote, generation from identities")
        return {row[0]: Identity(row[0], row[1], row[2]) for row in cursor}

    def put_identities(self, identities: list[Identity]) -> None:
        """Before writing under a UID: which one each item carries. One transaction for all."""
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

    def drop_retired(self, href: str) -> None:
        with self.transaction() as db:
            db.execute("delete from retired where href = ?", (href,))
