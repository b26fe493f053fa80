"""Pacing Google Calendar calls under the per-user quota: a clock that tests can replace, and a token bucket.

Google counts every call inside a batch request against the per-user quota (about 600 a minute) and refuses calls
beyond it with 403 ``rateLimitExceeded``. The pacer lets at most ``burst`` calls go at once and refills at
``per_minute``; with ``burst`` = the batch size (at most a tenth of the rate) no 60-second window ever holds more
than 1.1 x ``per_minute`` calls: 550 at the default 500. Refusals for rate halve the pace, quiet batches bring it
back step by step (additive increase, multiplicative decrease), so an undocumented per-calendar write limit is
found rather than hammered.
"""

from __future__ import annotations

import random
import time
from typing import Protocol


class Clock(Protocol):
    """Where the provider reads the time and waits: the real one, or a test's (which the emulator shares)."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class Pacer:
    """A token bucket: ``take(n)`` waits (on ``clock``) until ``n`` calls fit under the rate, then spends them."""

    def __init__(self, per_minute: float, burst: int, clock: Clock) -> None:
        self.configured = per_minute / 60.0
        self.rate = self.configured
        self.capacity = float(max(1, burst))
        self.clock = clock
        self.tokens = self.capacity
        self.stamp = clock.now()
        self.waited = 0.0  # seconds spent waiting, for reports and benchmarks

    def take(self, n: int) -> None:
        need = min(float(n), self.capacity)
        self._refill()
        if self.tokens < need:
            wait = (need - self.tokens) / self.rate
            self.waited += wait
            self.clock.sleep(wait)
            self._refill()
        self.tokens -= need

    @property
    def per_minute(self) -> float:
        return self.rate * 60.0

    def slow_down(self) -> None:
        """Google refused calls for rate (a calendar's own write limit, or another app spending the same quota):
        halve the pace, down to a twentieth of the configured one, and start the bucket over."""
        self._refill()
        self.rate = max(self.configured / 20, self.rate / 2)
        self.tokens = min(self.tokens, 0.0)

    def settle(self) -> None:
        """A batch went through without a rate refusal: creep back toward the configured pace."""
        self.rate = min(self.configured, self.rate + self.configured / 20)

    def _refill(self) -> None:
        now = self.clock.now()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


def backoff(attempt: int, base: float, cap: float, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait before retry number ``attempt + 1`` of one call: exponential, with jitter over the upper
    half (so retried calls spread out yet never come back at once), and never before the server's Retry-After."""
    ceiling = min(cap, base * (2**attempt))
    return max(rng.uniform(ceiling / 2, ceiling), retry_after or 0.0)
