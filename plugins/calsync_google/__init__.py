"""The Google Calendar provider: ``provider = "google"`` targets (``calsync auth TARGET`` signs them in).

Importing this module stays cheap: the Google client libraries load only when a google target is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from calsync import hookimpl

if TYPE_CHECKING:
    from calsync.provider import Provider


def _provider_class() -> type[Provider]:
    from calsync_google.provider import GoogleProvider

    return GoogleProvider


@hookimpl
def calsync_register_providers(register):
    register("google", _provider_class())
