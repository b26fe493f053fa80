"""A plan plugin: "connect on LinkedIn" the business day after each thank-you, at the same time of day."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from calsync import Kind, hookimpl, make_uid

#: The reminders this plugin added, by uid -> the person: decorate_component gives them their own text.
ADDED: dict[str, str] = {}


@hookimpl
def calsync_adjust_plan(followups, interview, calendar):
    added = []
    for followup in followups:
        if followup.kind is not Kind.THANK_YOU or followup.cancelled or followup.recipient is None:
            continue
        due = followup.due
        day = calendar.after(due.date())  # the next business day in the interview's country
        uid = make_uid(followup.uid, "linkedin")  # stable: the same reminder on every run
        ADDED[uid] = followup.recipient.name
        added.append(dataclasses.replace(followup, uid=uid, due=datetime.combine(day, due.timetz())))
    return [*followups, *added] if added else None


@hookimpl
def calsync_decorate_component(component, followup):
    name = ADDED.get(followup.uid)
    if name is None:
        return
    texts = {
        "SUMMARY": f"Connect with {name} on LinkedIn — {followup.interview.company}",
        "DESCRIPTION": f"Send {name} a LinkedIn invitation mentioning yesterday's interview.",
    }
    for key, text in texts.items():
        component.pop(key, None)
        component.add(key, text)


@hookimpl
def calsync_decoration_inputs():
    # The text depends on the follow-up alone (and this plugin's version): calsync may keep what it rendered.
    return "calsync-linkedin 1"
