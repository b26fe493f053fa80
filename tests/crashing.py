"""A provider that dies part-way through a sync, for the crash-recovery tests."""

from __future__ import annotations

from calsync.plugins import provider_class
from calsync.provider import Provider, Target


class Crash(Exception):
    """Stands for the process being killed."""


def crashing(target: Target, after: int) -> Provider:
    """``target``'s own provider, raising Crash once ``after`` actions have completed (not yet recorded)."""

    class Crashing(provider_class(target.provider)):
        def apply(self, actions):
            for n, outcome in enumerate(super().apply(actions)):
                if n == after:
                    raise Crash(f"injected after {after} actions")
                yield outcome

    return Crashing(target)
