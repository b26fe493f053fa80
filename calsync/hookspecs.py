"""The hooks a calsync plugin can implement. These docstrings are the reference.

A plugin is a module (or object) with functions decorated by ``calsync.hookimpl`` and named after the hooks below,
advertised in the ``calsync`` entry-point group of its distribution::

    [project.entry-points.calsync]
    myprovider = "calsync_myprovider"

Built-in providers are registered exactly like that. Hook arguments are passed by name, so an implementation may
accept only the ones it needs.

calsync checks plugins: a ``calsync_*`` function that names no hook below, or asks for an argument its hook does
not pass, stops calsync with one line naming the plugin; a hook that raises or returns the wrong thing is reported
naming the plugin and the hook.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    import icalendar

    from calsync.businessdays import BusinessCalendar
    from calsync.model import FollowUp, Interview, Policy
    from calsync.provider import Provider

hookspec = pluggy.HookspecMarker("calsync")
hookimpl = pluggy.HookimplMarker("calsync")


# --- providers ------------------------------------------------------------------------------------------------


@hookspec
def calsync_register_providers(register: Callable[[str, type[Provider]], None]) -> None:
    """Register calendar providers.

    Call ``register(name, provider_class)`` once per provider. ``name`` is what a target's ``provider = "..."``
    names in the config; ``provider_class`` subclasses :class:`calsync.provider.Provider`. Import heavy libraries
    inside the provider's methods, not at module level: every command loads every plugin. Registering something
    that is not a ``Provider`` subclass, or a name another plugin registers, is an error naming your plugin.

    :param register: records one provider; a second registration of the same name is an error.
    """


# --- planning -------------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def calsync_parse_timeline(text: str, interview: Interview, calendar: BusinessCalendar) -> date | None:
    """Turn what the interviewer said about the timeline into the decision date D.

    Stops at the first non-None result. The built-in parser runs last, so a plugin can add phrases or languages,
    or override English ones. Return None for a phrase you do not understand. Anything but a ``datetime.date``
    (a ``datetime``, a string) or None is an error naming your plugin.

    :param text: the interview's ``timeline``, verbatim.
    :param interview: the interview, whose local start date (and end, for "within 48 hours") the phrase is
        relative to.
    :param calendar: business-day arithmetic for the interview's country, for "N business days".

    While a plugin implements this hook, ``calsync sync`` plans every interview on every run: its plan memo
    (docs/sync.md, "Plan only what changed") cannot tell what your answer depends on.
    """


@hookspec
def calsync_adjust_plan(
    followups: list[FollowUp], interview: Interview, policy: Policy, calendar: BusinessCalendar
) -> list[FollowUp] | None:
    """Add, change or drop follow-ups of one interview after the built-in rules planned them.

    Return a new list of :class:`calsync.FollowUp` of this interview to replace the plan, or None to leave it
    alone. Implementations run in turn, each seeing the list the previous one returned. Keep a follow-up's ``uid``
    when you change it (the calendars then move it instead of duplicating it); give added ones a new, stable uid
    (``calsync.make_uid``). You need not touch ``revision``: when a pushed item's time or text changes, the sync
    raises its SEQUENCE whoever changed it. A result that is not a list of follow-ups of this interview, with
    distinct uids and zone-aware due times, is an error naming your plugin.

    :param followups: the plan of this interview so far, cancelled items included.
    :param interview: the interview they belong to.
    :param policy: the numbers in force.
    :param calendar: business-day arithmetic for the interview's country (``calendar.add(day, 1)`` is the next
        business day), the one the built-in rules used.

    While a plugin implements this hook, ``calsync sync`` plans every interview on every run: its plan memo
    (docs/sync.md, "Plan only what changed") cannot tell what your changes depend on.
    """


# --- rendering ------------------------------------------------------------------------------------------------


@hookspec
def calsync_decorate_component(component: icalendar.Component, followup: FollowUp) -> None:
    """Change a rendered VEVENT or VTODO in place before it is written anywhere.

    Called after the built-in rendering, for every follow-up an export writes, and in a sync for each follow-up
    rendered: one whose inputs changed since the last sync of that target (implement
    ``calsync_decoration_inputs`` to take part in that; without it, every follow-up is rendered and decorated on
    every sync). Whatever is added becomes part of the content, so a change here is pushed as a new revision.
    Changing the UID is an error naming your plugin.

    :param component: the ``icalendar`` VEVENT or VTODO.
    :param followup: the follow-up it renders.
    """


@hookspec
def calsync_decoration_inputs() -> str | None:
    """Say what your ``calsync_decorate_component`` depends on besides the follow-up, so that calsync need not
    render every follow-up again on every sync.

    calsync remembers, per target, a key of everything a follow-up's item depends on, and renders (and decorates)
    it again only when that key changes. Return a string that changes whenever your decoration of the same
    follow-up would change: your plugin's version and any setting it reads (environment, files), e.g.
    ``f"myplugin {__version__} {os.environ.get('MYPLUGIN_COLOUR', '')}"``. A decoration that depends on the clock
    or on anything you cannot name must not implement this hook.

    A plugin that implements ``calsync_decorate_component`` without this hook turns the cache off for every
    target: every follow-up is rendered and decorated on every sync, which is always correct, only slower.
    Called once per command.
    """


# --- command line ---------------------------------------------------------------------------------------------


@hookspec
def calsync_register_commands(cli: click.Group) -> None:
    """Add commands to the ``calsync`` command line: ``cli.add_command(...)`` or ``@cli.command()``.

    :param cli: the top-level click group.
    """
