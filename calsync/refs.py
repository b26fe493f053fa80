"""Short references to follow-ups that a person can read and type: ``acme-staff/check-in``.

Grammar: ``INTERVIEW/WHAT[/PERSON][@ROUND]``

- ``WHAT``: ``closing``, ``thank-you``, ``check-in``, ``retry`` (the first retry; ``retry-2`` the second…),
  ``feedback`` (the feedback request). ``_`` works as well as ``-`` (``check_in``), case does not matter.
- ``PERSON`` (thank-yous only): the interviewer's name as a slug, ``dana-smith``.
- ``@ROUND``: the round planned after an extension, ``@2`` for the second; without it, the first round.

Pure: formatting and parsing only; :func:`resolve` picks the follow-up a reference names from a plan.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from calsync.errors import UserError
from calsync.model import FollowUp, Kind

_WHAT = {
    Kind.CLOSING: "closing",
    Kind.THANK_YOU: "thank-you",
    Kind.CHECK_IN: "check-in",
    Kind.RETRY: "retry",
    Kind.FEEDBACK_REQUEST: "feedback",
}
_KIND_OF = {slug: kind for kind, slug in _WHAT.items()} | {"feedback-request": Kind.FEEDBACK_REQUEST}
_REF = re.compile(r"(?P<interview>[^/@\s]+)/(?P<what>[^/@\s]+)(?:/(?P<person>[^/@\s]+))?(?:@(?P<round>\d+))?")


@dataclass(frozen=True)
class Ref:
    """A parsed reference; ``round`` is 0-based (``@2`` is round 1)."""

    interview: str
    kind: Kind
    attempt: int = 0
    person: str | None = None
    round: int = 0


def slug(text: str) -> str:
    """``Dana Smith`` -> ``dana-smith``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ref_of(followup: FollowUp) -> str:
    """The reference of one follow-up (unique within a plan)."""
    what = _WHAT[followup.kind]
    if followup.kind is Kind.RETRY and followup.attempt > 1:
        what = f"{what}-{followup.attempt}"
    text = f"{followup.interview.id}/{what}"
    if followup.kind is Kind.THANK_YOU and followup.recipient is not None:
        text += f"/{slug(followup.recipient.name)}"
    if followup.round:
        text += f"@{followup.round + 1}"
    return text


def parse_ref(text: str) -> Ref:
    """:raises UserError: not a reference, with what one looks like."""
    match = _REF.fullmatch(text.strip())
    if not match:
        raise UserError(f"{text!r} is not a follow-up reference (write INTERVIEW/WHAT, e.g. 'acme-staff/check-in')")
    what = match["what"].lower().replace("_", "-")
    attempt = 0
    numbered = re.fullmatch(r"retry-(\d+)", what)
    if numbered:
        what, attempt = "retry", int(numbered.group(1))
    kind = _KIND_OF.get(what)
    if kind is None:
        close = difflib.get_close_matches(what, list(_KIND_OF), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UserError(f"{text!r}: unknown follow-up {match['what']!r}{hint}; one of {', '.join(_WHAT.values())}")
    if kind is Kind.RETRY:
        attempt = attempt or 1
        if attempt < 1:
            raise UserError(f"{text!r}: retries count from 1")
    if match["person"] and kind is not Kind.THANK_YOU:
        raise UserError(f"{text!r}: only a thank-you names a person")
    round_ = int(match["round"]) - 1 if match["round"] else 0
    if round_ < 0:
        raise UserError(f"{text!r}: rounds count from 1")
    return Ref(match["interview"], kind, attempt, slug(match["person"]) if match["person"] else None, round_)


def resolve(text: str, followups: Iterable[FollowUp]) -> FollowUp:
    """The follow-up ``text`` names in a plan.

    :raises UserError: no such interview or follow-up (with the closest ones), or a thank-you without a person
        when there were several interviewers.
    """
    ref = parse_ref(text)
    plan = list(followups)
    ids = sorted({f.interview.id for f in plan})
    if ref.interview not in ids:
        close = difflib.get_close_matches(ref.interview, ids, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(ids) or 'none'}"
        raise UserError(f"{text!r}: no interview {ref.interview!r} ({hint})")
    same = [f for f in plan if f.interview.id == ref.interview and f.kind is ref.kind]
    if ref.kind is Kind.RETRY:
        same = [f for f in same if f.attempt == ref.attempt]
    if ref.kind is Kind.THANK_YOU:
        people = [f for f in same if f.recipient is not None and slug(f.recipient.name) == ref.person]
        if ref.person is None and len(same) == 1:
            people = same
        if not people:
            refs = ", ".join(ref_of(f) for f in same) or "none"
            raise UserError(f"{text!r}: name the interviewer ({refs})")
        same = people
    same = [f for f in same if f.round == ref.round]
    if not same:
        known = ", ".join(sorted(ref_of(f) for f in plan if f.interview.id == ref.interview))
        raise UserError(f"{text!r}: no such follow-up (this interview has: {known})")
    return same[0]
