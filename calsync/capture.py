"""A new interview from what ``calsync add`` was told: the answers in, the ``[[interviews]]`` table's fields out.

Pure. The fields come out in the file's documented order, with an explicit ``id`` that no interview in the file
has (``acme-staff``: the company's first word, then the role's first word, or its initials when it has three words
or more — "Site Reliability Engineer" -> ``sre``; ``-2``, ``-3``… when taken).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from calsync.errors import UserError


def slug(text: str) -> str:
    """``Ünïcode & Co`` -> ``unicode-co``: accents dropped, so that an id can be typed."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


_COMPANY_SUFFIXES = {"inc", "corp", "corporation", "co", "llc", "ltd", "gmbh", "ag", "sa", "plc", "the", "bv", "se"}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True)
class Person:
    name: str
    email: str | None = None
    phone: str | None = None
    primary: bool = False


@dataclass
class Answers:
    company: str
    start: datetime  # wall time in ``timezone``
    end: datetime
    timezone: str
    role: str | None = None
    interviewers: list[Person] = field(default_factory=list)
    timeline: str | None = None
    decision_by: date | None = None
    medium: str | None = None
    requested: list[str] = field(default_factory=list)
    approved: bool | None = None
    country: str | None = None
    subdivision: str | None = None
    id: str | None = None


def parse_person(spec: str) -> Person:
    """``Dana Smith <dana@acme.example>``, ``dana@acme.example``, ``Dana Smith``."""
    text = spec.strip()
    if not text:
        raise UserError("--interviewer: empty")
    if "<" in text or _EMAIL.fullmatch(text):
        name, email = parseaddr(text)
        if not email or not _EMAIL.fullmatch(email):
            raise UserError(f"--interviewer: cannot read {spec!r} (write 'Dana Smith <dana@acme.example>')")
        if not name:
            local = email.split("@")[0]
            name = " ".join(w.capitalize() for w in re.split(r"[._\-+]+", local) if w) or local
        return Person(name.strip(), email)
    if "@" in text:
        raise UserError(f"--interviewer: cannot read {spec!r} (write 'Dana Smith <dana@acme.example>')")
    return Person(text)


def choose_primary(people: list[Person], primary: str | None, phone: str | None) -> list[Person]:
    """Mark ``primary`` (a name, a slug or an email of one of ``people``) and give ``phone`` to the primary contact
    (the first listed when none is marked)."""
    if not people:
        if primary:
            raise UserError("--primary names an interviewer, but there is no --interviewer")
        if phone:
            raise UserError("--phone is the primary interviewer's number, but there is no --interviewer")
        return people
    chosen = 0
    if primary:
        wanted = slug(primary)
        matches = [
            i
            for i, p in enumerate(people)
            if primary.strip().lower() in (p.name.lower(), (p.email or "").lower()) or wanted == slug(p.name)
        ]
        # A first name or a surname alone is enough when it names one of them.
        matches = matches or [i for i, p in enumerate(people) if wanted in slug(p.name).split("-")]
        if len(matches) != 1:
            names = ", ".join(repr(p.name) for p in people)
            raise UserError(f"--primary: {primary!r} is none of the interviewers ({names})")
        chosen = matches[0]
    result = []
    for i, person in enumerate(people):
        marked = bool(primary) and i == chosen
        number = phone if (phone and i == chosen) else person.phone
        result.append(Person(person.name, person.email, number, marked))
    return result


def new_id(company: str, role: str | None, taken: Iterable[str]) -> str:
    """A short id no interview in the file has."""
    words = [w for w in slug(company).split("-") if w and w not in _COMPANY_SUFFIXES] or ["interview"]
    base = words[0]
    role_words = [w for w in slug(role).split("-") if w] if role and role.strip() else []
    if len(role_words) >= 3:
        base += "-" + "".join(w[0] for w in role_words)
    elif role_words:
        base += "-" + role_words[0]
    taken = {t.lower() for t in taken}
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def interview_fields(answers: Answers, taken: Iterable[str]) -> dict[str, Any]:
    """The ``[[interviews]]`` table for ``answers``, in the file's documented key order."""
    taken = list(taken)
    if answers.id is not None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", answers.id):
            raise UserError(f"--id: {answers.id!r}: use letters, digits, '.', '_' and '-' only")
        if answers.id.lower() in {t.lower() for t in taken}:
            raise UserError(f"--id: the file already has an interview {answers.id!r}")
    ident = answers.id or new_id(answers.company, answers.role, taken)
    fields: dict[str, Any] = {
        "id": ident,
        "company": answers.company.strip(),
        "role": (answers.role or "").strip() or None,
        "start": answers.start.replace(tzinfo=None, microsecond=0),
        "end": answers.end.replace(microsecond=0),
        "timezone": answers.timezone,
        "timeline": (answers.timeline or "").strip() or None,
        "decision_by": answers.decision_by,
        "follow_up": answers.medium,
        "approved": answers.approved,
        "requested": [r.strip() for r in answers.requested if r.strip()] or None,
        "country": answers.country,
        "subdivision": answers.subdivision,
        "interviewers": [_person_fields(p) for p in answers.interviewers] or None,
    }
    return {key: value for key, value in fields.items() if value is not None}


def end_after(start: datetime, length: timedelta, zone: ZoneInfo) -> datetime:
    """The wall time ``length`` of elapsed time after the wall time ``start`` in ``zone`` (right across DST).

    An end in the repeated hour of a DST change that a wall time alone would misread (01:30 the second time)
    keeps its UTC offset: ``2026-11-01T01:30:00-06:00``; the loader reads that as the instant it is."""
    begins = start.replace(tzinfo=zone).astimezone(UTC)
    end = (begins + length).astimezone(zone)
    wall = end.replace(tzinfo=None, fold=0)  # what the file says when it has no offset
    if wall.replace(tzinfo=zone).astimezone(UTC) != end.astimezone(UTC):
        return end.astimezone(timezone(end.utcoffset() or timedelta(0)))
    return wall


def instant(moment: datetime, zone: ZoneInfo) -> datetime:
    """A wall time in ``zone`` (or an aware time) as a UTC instant."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def _person_fields(person: Person) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": person.name}
    if person.email:
        fields["email"] = person.email
    if person.phone:
        fields["phone"] = person.phone
    if person.primary:
        fields["primary"] = True
    return fields
