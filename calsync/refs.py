"""Short references to follow-ups that a person can type: ``acme-staff/check-in``, ``acme-staff/thank-you/dana-smith``.

``INTERVIEW-ID/WHAT[/WHO]``:

* ``closing``, ``feedback``;
* ``thank-you/NAME``: NAME is the interviewer's name in lower case, words joined by ``-`` (``dana-smith``); a second
  interviewer of the same name gets ``-2``;
* ``check-in``, ``retry``: the first of their kind for the interview; later ones (a new round after an extension,
  more retries) count on in plan order: ``check-in-2``, ``retry-2``. Appending rounds never renumbers earlier ones.

Pure: computed from a plan, never stored. Matching ignores case and accepts ``_`` for ``-`` (``thank_you``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

from calsync.errors import UserError
from calsync.model import FollowUp, Kind

SLUG = {
    Kind.CLOSING: "closing",
    Kind.THANK_YOU: "thank-you",
    Kind.CHECK_IN: "check-in",
    Kind.RETRY: "retry",
    Kind.FEEDBACK_REQUEST: "feedback",
}
_ALIASES = {"feedback-request": "feedback", "thankyou": "thank-you", "thanks": "thank-you", "checkin": "check-in"}


def slug(text: str) -> str:
    """``Dana Smith`` -> ``dana-smith``, ``José García`` -> ``jose-garcia`` (accents dropped, so it can be typed)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "x"


def assign(followups: Iterable[FollowUp]) -> dict[str, str]:
    """Every follow-up's reference, by UID."""
    result: dict[str, str] = {}
    counts: dict[tuple[str, str], int] = {}
    ordered = sorted(followups, key=lambda f: (f.interview.id, list(Kind).index(f.kind), f.round, f.attempt, f.uid))
    for f in ordered:
        base = f"{f.interview.id}/{SLUG[f.kind]}"
        if f.kind is Kind.THANK_YOU:
            base += "/" + slug(f.recipient.name if f.recipient else "")
        n = counts[(f.interview.id, base)] = counts.get((f.interview.id, base), 0) + 1
        result[f.uid] = base if n == 1 else f"{base}-{n}"
    return result


def normalize(ref: str) -> str:
    parts = [part.strip().lower().replace("_", "-") for part in ref.strip().strip("/").split("/")]
    if len(parts) > 1:
        parts[1] = _ALIASES.get(parts[1], parts[1])
    return "/".join(parts)


def resolve(ref: str, followups: Iterable[FollowUp]) -> FollowUp:
    """The follow-up ``ref`` names. ``ID/thank-you`` alone names the one thank-you of an interview with one
    interviewer. A miss lists the closest references."""
    followups = list(followups)
    refs = assign(followups)
    by_ref = {refs[f.uid].lower(): f for f in followups}
    wanted = normalize(ref)
    if wanted in by_ref:
        return by_ref[wanted]
    under = [value for value in by_ref if value.startswith(wanted + "/")]
    if len(under) == 1:
        return by_ref[under[0]]
    if under:
        raise UserError(f"{ref!r} names {len(under)} follow-ups; say which: {', '.join(sorted(under))}")
    close = difflib.get_close_matches(wanted, list(by_ref), n=3, cutoff=0.6)
    interview = wanted.split("/")[0]
    if not close:
        close = sorted(value for value in by_ref if value.split("/")[0] == interview)[:6]
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise UserError(f"no follow-up {ref!r} in the plan{hint}")
