"""Render only what changed: each follow-up's rendered form is remembered by a key over everything it depends on.

A follow-up's item is a pure function of a known set of inputs: the follow-up itself (its interview included, but
not where in the file it was written), the component kind, its alarm lead time, the templates (the user's files
and their ``[me]``), the decorating plugins (their declared inputs, see ``calsync_decoration_inputs``), the UID it
carries on the target, whether it is rendered overdue, calsync's own rendering code, and the time zone database.
The state database keeps, per follow-up, the key of those inputs beside the content hash they gave (table
``renders``): when the key is the same, the hash is taken from there and nothing is rendered; the item itself is
rendered only if something is to be written. A change of any input changes the keys of exactly the follow-ups it
touches.

The cache is a memo, never a source of truth: a lost or stale entry costs one rendering, nothing else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from calsync.model import FollowUp, Interview

#: The two forms a follow-up can take on a target: "plain" (as planned) and "overdue" (due before now: no alarm,
#: marked so); a follow-up not yet due has only the first.
PLAIN, OVERDUE = "plain", "overdue"

# The modules whose code decides the bytes of an item: a change to any of them (a new calsync, or an edited
# checkout) renders everything again.
_RENDERING_MODULES = (
    "calsync.render",
    "calsync.ical_text",
    "calsync.vtimezone",
    "calsync.seal",
    "calsync.rewrite",
    "calsync.templates",
    "calsync.uids",
    "calsync.sync.identity",
)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of calsync's version and of the source of the modules that render items."""
    import importlib.util

    import calsync

    digest = hashlib.sha256(f"{calsync.__version__} {sys.version_info[:2]} {tz_version()}".encode())
    for name in _RENDERING_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        digest.update(name.encode())
        digest.update(Path(origin).read_bytes() if origin and Path(origin).is_file() else b"?")
    return digest.hexdigest()


def tz_version() -> str:
    """Which time zone database the zones come from (a new one may move a time or change a VTIMEZONE): the version
    line of each zoneinfo folder's ``tzdata.zi`` and the folder's own time, and the ``tzdata`` package's version."""
    import zoneinfo

    parts = []
    for root in zoneinfo.TZPATH:
        try:
            with open(Path(root) / "tzdata.zi", "rb") as source:
                parts.append(source.readline(80).decode("ascii", "replace").strip())
        except OSError:
            parts.append("-")
        try:
            parts.append(str(os.stat(root).st_mtime_ns))
        except OSError:
            parts.append("-")
    try:
        import tzdata

        parts.append(str(getattr(tzdata, "IANA_VERSION", "")))
    except ImportError:
        parts.append("no tzdata")
    return " ".join(parts)


def decoration_key(decorate: Callable[..., Any] | None) -> str | None:
    """What the decorating plugins declare their decoration depends on; None when one of them declares nothing
    (then nothing is cached: every follow-up is rendered, as before)."""
    if decorate is None:
        return ""
    declared = getattr(decorate, "cache_key", None)
    return declared if isinstance(declared, str) else None


#: ``once(value, make)``: ``make(value)``, made once per object (see :func:`shared_texts`).
Once = Callable[[object, Callable[[Any], str]], str]


def shared_texts() -> Once:
    """A memo for the texts of objects that many follow-ups share (their interview, their recipient): each made
    once per object."""
    texts: dict[int, tuple[object, str]] = {}

    def once(value: object, make: Callable[[Any], str]) -> str:
        found = texts.get(id(value))
        if found is None or found[0] is not value:  # an id reused by another object is not the same one
            found = texts[id(value)] = (value, make(value))
        return found[1]

    return once


@dataclass
class RenderCache:
    """The keys and hashes of the last sync (``known``: (uid, form) -> (key, hash)), and what this run learnt."""

    known: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    learnt: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    settings: str = ""
    _once: Once = field(default_factory=shared_texts, init=False, repr=False, compare=False)

    def key(self, followup: FollowUp, remote_uid: str, form: str) -> str:
        """The key of everything ``followup``'s item depends on, rendered in ``form`` under ``remote_uid``."""
        # A follow-up recalled by the plan memo carries its digest; a planned one gets it here.
        digest = getattr(followup, "digest", None) or followup_digest(followup, self._once)
        text = "\x1f".join((self.settings, digest, remote_uid, form))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def hash_for(self, uid: str, form: str, key: str) -> str | None:
        """The content hash remembered for this key, if it is the one remembered."""
        found = self.known.get((uid, form))
        return found[1] if found is not None and found[0] == key else None

    def learn(self, uid: str, form: str, key: str, content_hash: str) -> None:
        if self.known.get((uid, form)) != (key, content_hash):
            self.learnt[(uid, form)] = (key, content_hash)

    def forgotten(self, planned: set[str]) -> set[str]:
        """The follow-ups the cache remembers that are no longer planned."""
        return {uid for uid, _form in self.known} - planned


def settings_text(
    component: str,
    alarm_minutes: int | Mapping[str, int],
    templates_key: str,
    decoration: str,
) -> str:
    """The inputs every follow-up of one target shares."""
    alarms = alarm_minutes if isinstance(alarm_minutes, int) else sorted(alarm_minutes.items())
    return repr((code_fingerprint(), component, alarms, templates_key, decoration))


# Every field of a follow-up but its interview (keyed once per interview); its interview's fields but ``source``
# (where it was written: adding an interview above another moves it, and changes nothing it renders to).
_FOLLOWUP_FIELDS = tuple(f.name for f in dataclasses.fields(FollowUp) if f.name != "interview")
_INTERVIEW_FIELDS = tuple(f.name for f in dataclasses.fields(Interview) if f.name != "source")


_followup_fields = operator.attrgetter(*_FOLLOWUP_FIELDS)
_RECIPIENT = _FOLLOWUP_FIELDS.index("recipient")
_interview_fields = operator.attrgetter(*_INTERVIEW_FIELDS)


def _interview_hash(interview: Interview) -> str:
    return hashlib.sha256(repr(_interview_fields(interview)).encode("utf-8", "surrogatepass")).hexdigest()


def followup_digest(followup: FollowUp, once: Once | None = None) -> str:
    """A hash of everything in ``followup`` that its item can depend on: its fields and its interview's (but where
    it was written). Pass the same ``once`` (:func:`shared_texts`) for many follow-ups, so that what they share is
    hashed once."""
    once = once or shared_texts()
    fields = _followup_fields(followup)
    person = followup.recipient
    if person is not None:
        fields = (*fields[:_RECIPIENT], once(person, repr), *fields[_RECIPIENT + 1 :])
    text = f"{once(followup.interview, _interview_hash)}\x1f{fields!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
