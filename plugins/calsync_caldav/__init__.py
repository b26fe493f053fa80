"""The CalDAV provider plugin: ``provider = "caldav"``.

Loading this module stays cheap: the provider class, the HTTP library and ``icalendar`` parsing are imported only
when a caldav target is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync import hookimpl

if TYPE_CHECKING:
    from calsync_caldav.provider import CalDAVProvider

__all__ = ["CalDAVProvider", "calsync_register_providers"]


@hookimpl
def calsync_register_providers(register) -> None:
    from calsync_caldav.provider import CalDAVProvider

    register("caldav", CalDAVProvider)


def __getattr__(name: str):
    if name == "CalDAVProvider":
        from calsync_caldav.provider import CalDAVProvider

        return CalDAVProvider
    raise AttributeError(name)
