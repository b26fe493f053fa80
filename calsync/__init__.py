"""calsync: plan the follow-ups after a job interview and keep them in the calendars you already use.

The public API for plugins is every name in ``__all__``, listed and explained in :mod:`calsync.api`:
``from calsync import Provider, hookimpl, make_uid``. Anything else is private. The names load on first use, so
``import calsync`` (every command's first step) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from calsync.hookspecs import hookimpl

if TYPE_CHECKING:
    from calsync.api import *

PLUGIN_API = 1
__version__ = "0.1.0"

__all__ = [
    "MANAGED_PROPERTY",
    "PLUGIN_API",
    "Action",
    "BusinessCalendar",
    "CalsyncError",
    "Create",
    "Delete",
    "EventKind",
    "Fetched",
    "FollowUp",
    "HistoryEvent",
    "InputError",
    "Interview",
    "Interviewer",
    "Item",
    "ItemRefused",
    "Kind",
    "Medium",
    "NotFound",
    "Option",
    "Outcome",
    "PluginError",
    "Policy",
    "PreconditionFailed",
    "Provider",
    "ProviderError",
    "RemoteItem",
    "Scan",
    "Status",
    "Target",
    "Update",
    "UserError",
    "WritesRefused",
    "Written",
    "calendar_for",
    "create_exclusive",
    "file_etag",
    "hookimpl",
    "is_managed",
    "make_uid",
    "uid_of",
    "write_atomic",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from calsync import api

        return getattr(api, name)
    raise AttributeError(f"module 'calsync' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
