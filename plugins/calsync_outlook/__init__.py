"""The Outlook provider: ``provider = "outlook"`` targets keep follow-ups in an Outlook.com or Microsoft 365 calendar
(events) or a Microsoft To Do list (to-dos), through Microsoft Graph. See docs/providers/outlook.md.

Importing this module stays cheap: msal and requests load only when an outlook target is used.
"""

from __future__ import annotations

from calsync import hookimpl


@hookimpl
def calsync_register_providers(register):
    from calsync_outlook.provider import OutlookProvider

    register("outlook", OutlookProvider)
