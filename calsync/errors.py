"""Every failure calsync expects, in one hierarchy.

The CLI prints a :class:`UserError` as one line and exits with status 2; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The longest message printed: past this, a message (a long value quoted in it) is cut.
MAX_MESSAGE = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` fit for one line of a terminal: control characters (a line break, an escape sequence) shown
    escaped, and cut to ``limit`` characters with "..." at the end."""
    text = _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class CalsyncError(Exception):
    """Base class of calsync's own exceptions."""


class UserError(CalsyncError):
    """Something the user can fix: bad input, bad config, a server that says no. Printed as one line."""


class InputError(UserError):
    """Bad content in a file the user wrote, with where it is.

    ``str()`` gives ``path:line: message`` when the line is known, else ``path: message``.
    """

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        if self.path is None:
            return self.message
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        return f"{where}: {self.message}"


class ProviderError(UserError):
    """A target refused or failed an operation in a way the user must act on (credentials, URL, network)."""


class WritesRefused(ProviderError):
    """The target refuses every write for now (a usage limit): the sync stops, and the actions that got no
    Outcome were not made, so the engine forgets the updates it was about to send."""


class PreconditionFailed(CalsyncError):
    """A conditional write found the item not as expected: it exists already (create), or its ETag changed
    (update, delete) because someone else edited it. The sync engine keeps the other side's version."""

    def __init__(self, href: str, message: str = "") -> None:
        self.href = href
        super().__init__(message or f"precondition failed for {href}")


class NotFound(CalsyncError):
    """The item is not (or no longer) on the target: deleted on the user's side."""

    def __init__(self, href: str) -> None:
        self.href = href
        super().__init__(f"not found: {href}")


class ItemRefused(CalsyncError):
    """The target refused this one item (a 400, 403, 409, a size limit…) for a reason that concerns it alone.

    The engine records the refusal for that item, goes on with the others, and reports it; authentication and
    connection failures are :class:`ProviderError` instead and stop the whole target. ``retry_after`` (seconds) is
    set when the target said when to try again.
    """

    def __init__(self, href: str, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        self.href = href
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(reason)


class PluginError(UserError):
    """A plugin broke its side of a hook: it names no real hook, takes an argument its hook does not pass, raised,
    or returned something its hook does not allow. The message names the plugin (and the hook)."""

    def __init__(self, message: str, plugin: str | None = None, hook: str | None = None) -> None:
        self.plugin, self.hook = plugin, hook
        super().__init__(message)
