"""Plan only what changed: each interview's follow-ups, remembered by a key over everything they depend on.

An interview's plan is a pure function of its table in the interview file, the config's defaults (time zone,
country, subdivision) and policy, calsync's own code, the time zone database and the ``holidays`` release -- and of
the plugins that read timelines or adjust plans: with any such plugin other than calsync's own (or hook tracing on),
nothing is remembered. ``calsync sync`` keeps, per interview file, the key of each interview's table beside what a
sync needs of its plan: each follow-up's UID, kind, due time, status, revision and the digest the render cache keys
on (:func:`calsync.sync.render_cache.followup_digest`), and the planning warning. An interview whose table and
surroundings are those of the last run is neither validated nor planned again: its follow-ups are *recalled*
(:class:`Recalled`), and planned for real the first time something asks for more (a write, a completed to-do).
Where in the file an interview is written is not part of its key: adding one above another changes nothing.

A memo, never a source of truth: a lost, damaged or stale file costs one full planning, nothing else. Lines of
JSON in the cache dir (it cannot run code whatever it holds), one interview a line (so a run that planned one
interview rewrites one line's worth), written for the owner alone (0600); a file without its end line was cut
short and is ignored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import calsync
from calsync import keptlines
from calsync.model import FollowUp, Interview, Kind, Policy, Status
from calsync.planner import Plan

FORMAT = "calsync plan memo 1"
_PLANNING_HOOKS = ("calsync_parse_timeline", "calsync_adjust_plan")
_KINDS = {kind.value: kind for kind in Kind}  # a dict lookup: calling an Enum is slow, and this runs per follow-up
_STATUSES = {status.value: status for status in Status}


class Recalled:
    """A follow-up as the memo recalls it: what a sync that changes nothing reads (``uid``, ``kind``, ``due``,
    ``status``, ``sent_on``, ``revision``, ``digest``), and everything else from the real :class:`FollowUp`,
    planned on first use (:meth:`planned`)."""

    __slots__ = ("_plan", "digest", "due", "interview_id", "kind", "revision", "sent_on", "status", "uid")

    def __init__(self, row: list[Any], interview_id: str, plan: Callable[[], dict[str, FollowUp]]) -> None:
        uid, kind, due, zone, status, sent_on, revision, digest = row
        self.uid, self.kind, self.revision, self.digest = uid, _KINDS[kind], revision, digest
        self.due = datetime.fromisoformat(due).astimezone(ZoneInfo(zone))
        self.status = _STATUSES[status]
        self.sent_on = date.fromisoformat(sent_on) if sent_on else None
        self.interview_id, self._plan = interview_id, plan

    @property
    def cancelled(self) -> bool:
        return self.status is Status.CANCELLED

    @property
    def done(self) -> bool:
        return self.sent_on is not None

    def planned(self) -> FollowUp:
        """The follow-up itself: its interview validated and planned (once for all of its follow-ups)."""
        found = self._plan().get(self.uid)
        if found is None:  # planning is a pure function of the key: this is a bug, never a user's mistake
            raise RuntimeError(f"the plan memo recalled {self.uid}, which its interview no longer plans")
        return found

    def __getattr__(self, name: str) -> Any:  # anything not recalled: from the real follow-up
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.planned(), name)

    def __repr__(self) -> str:
        return f"Recalled({self.uid!r}, {self.kind!r}, {self.due.isoformat()})"


def plan_file(
    path: Path,
    policy: Policy,
    default_timezone: str = "UTC",
    default_country: str | None = None,
    default_subdivision: str | None = None,
) -> Plan:
    """The plan of the interview file at ``path``, as :func:`calsync.planner.plan` makes it (same follow-ups, same
    order, same warnings), with the follow-ups of interviews unchanged since the last call recalled."""
    from calsync.interviews import check_unique, interview_entries, read_interview, read_interview_file
    from calsync.planner import hook_adjuster, hook_parser, plan_interview

    defaults = (default_timezone, default_country, default_subdivision)
    data, lines = read_interview_file(path)
    entries = interview_entries(data, lines, path)
    parse, adjust = hook_parser(), hook_adjuster()

    def plan_one(entry: Any, index: int) -> tuple[Interview, list[FollowUp], str | None]:
        interview = read_interview(entry, index, lines, path, *defaults)
        items, warning = plan_interview(interview, policy, parse)
        return interview, adjust(items, interview, policy), warning

    surroundings = _surroundings(policy, defaults)
    memo = keptlines.cache_file("plans", path) if surroundings is not None else None
    header = f"{FORMAT}\t{surroundings}"
    known = keptlines.read(memo, header, 256 * 1024 * 1024) if memo is not None else {}
    kept: dict[str, str] = {}  # the memo after this call: key -> the record's JSON line
    followups: list[Any] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        key = _entry_key(entry) if memo is not None else ""
        record = _record_of(known.get(key))
        recalled = _recall(record, lambda e=entry, i=index: {f.uid: f for f in plan_one(e, i)[1]})
        if recalled is not None:
            ident, warning = record[0], record[1]  # type: ignore[index]
            followups.extend(recalled)
            kept[key] = known[key]
        else:
            interview, items, warning = plan_one(entry, index)
            ident = interview.id
            followups.extend(items)
            record = _record(interview, items, warning) if memo is not None else None
            if record is not None:
                kept[key] = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        check_unique(ident, index, seen, entry, lines, path)
        if warning:
            warnings.append(warning)
    followups.sort(key=_order)
    if memo is not None and kept != known:
        keptlines.write(memo, header, kept)
    return Plan(followups, warnings)


def _recall(record: list[Any] | None, plan: Callable[[], dict[str, FollowUp]]) -> list[Recalled] | None:
    """The follow-ups of a kept record, which ``plan`` (called once, for all of them, if ever) plans for real; None
    when there is no record, or it does not read back (planned instead)."""
    if record is None:
        return None
    plan = functools.cache(plan)
    try:
        return [Recalled(row, record[0], plan) for row in record[2]]
    except (ValueError, TypeError, LookupError):  # a damaged memo (an unknown zone is a LookupError too)
        return None


def _order(followup: Any) -> tuple:
    """The planner's order: due instant, interview, kind, UID."""
    return (followup.due.astimezone(UTC), followup.interview_id, followup.kind, followup.uid)


def _entry_key(entry: Any) -> str:
    # repr, not JSON: it tells a date from a string and 1 from 1.0, as planning does
    return hashlib.sha256(repr(entry).encode("utf-8", "surrogatepass")).hexdigest()


def _record(interview: Interview, items: list[FollowUp], warning: str | None) -> list[Any] | None:
    """What is kept of one interview's plan; None when a follow-up's due time has no zone name to recall it by."""
    from calsync.sync.render_cache import followup_digest, shared_texts

    rows = []
    once = shared_texts()
    for f in items:
        zone = getattr(f.due.tzinfo, "key", None)
        if not isinstance(zone, str):
            return None
        sent = f.sent_on.isoformat() if f.sent_on else None
        due = f.due.astimezone(UTC).isoformat()
        rows.append([f.uid, f.kind.value, due, zone, f.status.value, sent, f.revision, followup_digest(f, once)])
    return [interview.id, warning, rows]


def _surroundings(policy: Policy, defaults: tuple) -> str | None:
    """The key of everything every interview's plan depends on besides its own table; None when a plugin plans."""
    from calsync.holidaycache import release
    from calsync.plugins import only_builtin_implement
    from calsync.sync.render_cache import tz_version

    if not only_builtin_implement(_PLANNING_HOOKS):
        return None
    parts = (FORMAT, calsync.__version__, sys.version, _code_stamp(), tz_version(), release(), defaults, policy)
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _code_stamp() -> str:
    """calsync's own sources, by size and time: a new release or an edited checkout plans everything again."""
    root = os.path.dirname(calsync.__file__)
    stamps = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                stamps.append(f"{os.path.relpath(folder, root)}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()


def _record_of(line: str | None) -> list[Any] | None:
    """A kept record, if it reads as one :func:`_record` writes (else the interview is planned)."""
    if line is None:
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    shaped = (
        isinstance(record, list)
        and len(record) == 3
        and isinstance(record[0], str)
        and isinstance(record[1], str | None)
        and isinstance(record[2], list)
        and all(isinstance(row, list) and len(row) == 8 for row in record[2])
    )
    return record if shaped else None
