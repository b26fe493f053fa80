"""calsync's public API: every name a plugin may import, in one list. Everything not listed here is private and may
change in any release.

Import them from the package root (``from calsync import Provider, hookimpl``); this module is where they are
listed. ``PLUGIN_API`` is the version of this list and of the hooks (calsync/hookspecs.py): it goes up only when
something here changes incompatibly, after a release in which the old way still works with a
``DeprecationWarning`` (see docs/plugins/reference.md, "Versions and deprecations").
"""

from __future__ import annotations

from calsync import PLUGIN_API  # the version of this list and of the hooks, defined in the package root
from calsync.businessdays import BusinessCalendar, calendar_for
from calsync.errors import (
    CalsyncError,
    InputError,
    ItemRefused,
    NotFound,
    PluginError,
    PreconditionFailed,
    ProviderError,
    UserError,
    WritesRefused,
)
from calsync.files import create_exclusive, file_etag, write_atomic
from calsync.hookspecs import hookimpl
from calsync.model import EventKind, FollowUp, HistoryEvent, Interview, Interviewer, Kind, Medium, Policy, Status
from calsync.options import Option
from calsync.provider import (
    MANAGED_PROPERTY,
    Action,
    Create,
    Delete,
    Fetched,
    Item,
    Outcome,
    Provider,
    RemoteItem,
    Scan,
    Target,
    Update,
    Written,
    is_managed,
    uid_of,
)
from calsync.uids import make_uid

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
