"""When to try again an item the target refused: pure functions, no I/O, no clock of their own.

A target may refuse one item (a 400, 403, 409, a size limit) for a reason that concerns it alone. The engine writes
the others, records the refusal with the server's reason, and on later syncs:

- retries it on the next sync after the first refusal, then backs off: :data:`BACKOFF_START` after the second,
  doubling each time up to :data:`BACKOFF_MAX` (a ``Retry-After`` the server gave counts as a minimum);
- after :data:`GIVE_UP_AFTER` refusals for the same reason, leaves it alone until its content changes (a new due
  time, a new summary...), and says so in every report;
- forgets the refusal as soon as the item is written, its content changes, or there is nothing left to write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

#: Refused this many times in a row for the same reason: not sent again until the item's content changes.
GIVE_UP_AFTER = 5
#: The wait after the second refusal; it doubles with each further one.
BACKOFF_START = timedelta(minutes=15)
BACKOFF_MAX = timedelta(hours=12)


@dataclass(frozen=True)
class Refusal:
    """One item's standing refusal. ``content`` identifies what was refused (the action and its content hash)."""

    uid: str
    content: str
    reason: str
    status: int | None
    attempts: int
    last: datetime
    retry_at: datetime

    @property
    def given_up(self) -> bool:
        return self.attempts >= GIVE_UP_AFTER


Verdict = Literal["send", "wait", "given_up"]


def verdict(refusal: Refusal | None, content: str, now: datetime) -> Verdict:
    """Whether to send the action for an item now, given its standing refusal (if any) and what would be sent."""
    if refusal is None or refusal.content != content:
        return "send"
    if refusal.given_up:
        return "given_up"
    return "send" if now >= refusal.retry_at else "wait"


def refused(
    previous: Refusal | None,
    uid: str,
    content: str,
    reason: str,
    status: int | None,
    now: datetime,
    retry_after: float | None = None,
) -> Refusal:
    """The record after one more refusal: attempts count on while the content and the reason stay the same."""
    same = previous is not None and previous.content == content and previous.reason == reason
    attempts = previous.attempts + 1 if same and previous is not None else 1
    delay = timedelta(0) if attempts < 2 else min(BACKOFF_START * 2 ** (attempts - 2), BACKOFF_MAX)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return Refusal(uid, content, reason, status, attempts, now, now + delay)
