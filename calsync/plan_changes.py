"""What an edit to the interview file changed in the plan: the plan before and after, matched by UID.

Pure. ``calsync record`` and ``calsync done`` print these lines ("check-in Mon 30 Nov -> Mon 14 Dec").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from calsync.model import FollowUp, Kind, Status
from calsync.refs import ref_of
from calsync.when import short_day

LABEL = {
    Kind.CLOSING: "closing questions",
    Kind.THANK_YOU: "thank-you",
    Kind.CHECK_IN: "check-in",
    Kind.RETRY: "retry",
    Kind.FEEDBACK_REQUEST: "feedback request",
}


@dataclass(frozen=True)
class Change:
    """One follow-up as it was (None: new) and as it is now (None: no longer planned), and its reference."""

    ref: str
    before: FollowUp | None
    after: FollowUp | None

    def __str__(self) -> str:
        f = self.after or self.before
        assert f is not None
        what = LABEL[f.kind] + (f" to {f.recipient.name}" if f.kind is Kind.THANK_YOU and f.recipient else "")
        if self.before is None:
            return f"{what}: new, {_when(self.after)}  ({self.ref})"
        if self.after is None:
            return f"{what} {_when(self.before)} -> no longer planned"
        old, new = self.before, self.after
        if _sent_on(new) is not None and _sent_on(old) is None:
            return f"{what} {_when(old)} -> sent {short_day(_sent_on(new))}  ({self.ref})"
        if new.status is not old.status:
            return f"{what} {_when(old)} -> {_status(new)}  ({self.ref})"
        return f"{what} {_when(old, new)} -> {_when(new, old)}  ({self.ref})"


def changes(before: list[FollowUp], after: list[FollowUp], interview_id: str | None = None) -> list[Change]:
    """Each follow-up (of ``interview_id``, or all) whose due time, status or sent day differs, in due order."""
    old = {f.uid: f for f in before if interview_id is None or f.interview.id == interview_id}
    new = {f.uid: f for f in after if interview_id is None or f.interview.id == interview_id}
    found = []
    for uid in old.keys() | new.keys():
        a, b = old.get(uid), new.get(uid)
        if a is not None and b is not None and (a.due, a.status, _sent_on(a)) == (b.due, b.status, _sent_on(b)):
            continue
        found.append(Change(ref_of(b or a), a, b))
    return sorted(found, key=lambda c: ((c.after or c.before).due.astimezone(UTC), c.ref))


def _when(f: FollowUp, other: FollowUp | None = None) -> str:
    """``Mon 30 Nov``, with the clock time when that is what changed (or when the day is the same)."""
    text = short_day(f.due)
    if other is not None and other.due.date() == f.due.date():
        text += f" {f.due:%H:%M}"
    return text


def _sent_on(f: FollowUp):
    """The day a follow-up was sent, where the planner records it (``FollowUp.sent_on``, from daily-views)."""
    return getattr(f, "sent_on", None)


def _status(f: FollowUp) -> str:
    return "cancelled" if f.status is Status.CANCELLED else str(f.status.value)
