"""The plugin manager: the core's own default plugins plus everything in the ``calsync`` entry-point group.

``CALSYNC_LOAD_PLUGINS`` is an allow-list: a comma-separated list of entry-point names to load (empty: none).
The core's default plugins (the built-in timeline parser) always load. ``CALSYNC_TRACE_HOOKS=1`` prints every
hook call on stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

import pluggy

from calsync import hookspecs
from calsync.errors import UserError

if TYPE_CHECKING:
    from calsync.provider import Provider

ENTRY_POINT_GROUP = "calsync"

# Core modules that implement hooks, registered exactly like external plugins.
DEFAULT_PLUGINS = ("calsync.timeline",)

pm = pluggy.PluginManager("calsync")
pm.add_hookspecs(hookspecs)

_loaded = False
_versions: dict[str, str] = {}  # plugin name -> its distribution's version


def load_plugins() -> pluggy.PluginManager:
    """Register the default plugins and the entry-point plugins, once."""
    global _loaded
    if _loaded:
        return pm
    _loaded = True
    for name in DEFAULT_PLUGINS:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name)
    allowed = _allow_list()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break every command
            print(f"calsync: plugin {ep.name!r} failed to load: {exc}", file=sys.stderr)
            continue
        pm.register(plugin, ep.name)
        if ep.dist is not None:
            _versions[ep.name] = ep.dist.version
    if os.environ.get("CALSYNC_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()
    return pm


def _allow_list() -> set[str] | None:
    raw = os.environ.get("CALSYNC_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def providers() -> dict[str, type[Provider]]:
    """Every registered provider, by name."""
    load_plugins()
    found: dict[str, type[Provider]] = {}

    def register(name: str, provider_class: type[Provider]) -> None:
        if name in found and found[name] is not provider_class:
            raise UserError(f"two plugins register a provider named {name!r}")
        found[name] = provider_class

    pm.hook.calsync_register_providers(register=register)
    return found


def provider_class(name: str) -> type[Provider]:
    known = providers()
    try:
        return known[name]
    except KeyError:
        listed = ", ".join(sorted(known)) or "none"
        raise UserError(f"unknown provider {name!r} (installed: {listed})") from None


def describe() -> list[dict]:
    """What is loaded, for ``calsync plugins``."""
    load_plugins()
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        rows.append(
            {
                "name": name,
                "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
                "version": _versions.get(name),
                "builtin": name in DEFAULT_PLUGINS,
            }
        )
    return sorted(rows, key=lambda row: row["name"])
