"""The plugin manager: the core's own default plugins plus everything in the ``calsync`` entry-point group, each
checked as it registers and each hook call checked as it returns.

Environment (as pytest does with ``-p no:NAME``):

``CALSYNC_LOAD_PLUGINS``
    an allow-list: a comma-separated list of entry-point names to load (empty: none). The default plugins always
    load.
``CALSYNC_DISABLE_PLUGINS``
    a deny-list of plugin names, default plugins included (``calsync -p no:NAME`` adds to it).
``CALSYNC_TRACE_HOOKS=1``
    prints every hook call, with its plugin, arguments and result, on stderr.

A plugin whose module fails to import is skipped with one warning. A plugin that implements a hook that does not
exist, or takes an argument its hook does not pass, is an error (one line, exit status 2) naming the plugin and the
closest real hook or argument: disable it to run without it. A hook that raises, or returns something its
specification does not allow, is reported as one line naming the plugin and the hook (``calsync --debug`` shows the
traceback).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pluggy

from calsync import hookspecs
from calsync.entrypoints import entry_points
from calsync.errors import PluginError, UserError

if TYPE_CHECKING:
    from calsync.businessdays import BusinessCalendar
    from calsync.model import FollowUp, Interview, Policy
    from calsync.provider import Provider

ENTRY_POINT_GROUP = "calsync"

# Core modules that implement hooks, registered exactly like external plugins.
DEFAULT_PLUGINS = ("calsync.timeline",)

HOOKS: dict[str, inspect.Signature] = {
    name: inspect.signature(function)
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("calsync_")
}


@dataclass
class Loaded:
    """What :func:`load_plugins` found: versions and distributions of entry-point plugins, and the failures."""

    distributions: dict[str, tuple[str, str]] = field(default_factory=dict)  # plugin -> (distribution, version)
    failed: dict[str, str] = field(default_factory=dict)  # plugin -> why it is not loaded
    invalid: list[PluginError] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)


class CalsyncPluginManager(pluggy.PluginManager):
    """pluggy's manager, stricter: every ``calsync_*`` function of a plugin is a hook implementation (marked or
    not), must name a real hook and take only arguments that hook passes; each implementation is wrapped so that an
    exception or a wrong result names the plugin."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("calsync_") and inspect.isroutine(getattr(plugin, name, None)):
            opts = {"wrapper": False, "hookwrapper": False, "optionalhook": False, "tryfirst": False}
            opts.update({"trylast": False, "specname": None})  # an unmarked one still is one (pytest does this)
        return opts

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        label = name or self.get_canonical_name(plugin)
        validate(plugin, label, self)
        registered = super().register(plugin, name)
        for caller in self.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not getattr(impl.function, "_calsync_checked", False):
                    impl.function = _checked(impl.function, caller.name, impl.plugin_name, impl.argnames)
        try:
            self.check_pending()
        except pluggy.PluginValidationError as exc:  # a hook validate() missed: never loaded silently
            self.unregister(plugin)
            raise PluginError(f"plugin {label!r}: {str(exc).splitlines()[0]}", label) from None
        return registered


def validate(plugin: Any, label: str, manager: pluggy.PluginManager) -> None:
    """Every hook ``plugin`` implements exists and gets the arguments it asks for; else a one-line PluginError."""
    for attribute in dir(plugin):
        if attribute.startswith("__"):
            continue
        opts = manager.parse_hookimpl_opts(plugin, attribute)
        if opts is None:
            continue
        hook = opts.get("specname") or attribute
        if hook not in HOOKS:
            close = difflib.get_close_matches(hook, list(HOOKS), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f" (hooks: {', '.join(sorted(HOOKS))})"
            raise PluginError(f"plugin {label!r}: unknown hook {hook!r}{hint}", label, hook)
        passed = list(HOOKS[hook].parameters)
        for argument in _required_arguments(getattr(plugin, attribute)):
            if argument not in passed:
                close = difflib.get_close_matches(argument, passed, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise PluginError(
                    f"plugin {label!r}: {hook} has an argument {argument!r} the hook does not pass "
                    f"({hint}it passes {', '.join(passed)})",
                    label,
                    hook,
                )


def _required_arguments(function: Callable) -> list[str]:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []
    if parameters and parameters[0].name == "self" and "." in getattr(function, "__qualname__", ""):
        parameters = parameters[1:]  # a function of a class registered as the plugin: pluggy drops self too
    return [
        p.name
        for p in parameters
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


# --- checking every call ----------------------------------------------------------------------------------------


def _checked(function: Callable, hook: str, plugin: str, argnames: tuple[str, ...]) -> Callable:
    check = _RESULT_CHECKS.get(hook)
    before = _BEFORE.get(hook)

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        arguments = dict(zip(argnames, args, strict=False))
        state = before(arguments) if before is not None else None
        try:
            result = function(*args)
        except PluginError:
            raise
        except Exception as exc:
            raise PluginError(f"plugin {plugin!r}: {hook} raised {_one_line(exc)}", plugin, hook) from exc
        if check is not None:
            problem = check(result, arguments, state)
            if problem:
                raise PluginError(f"plugin {plugin!r}: {hook} {problem}", plugin, hook)
        return result

    call._calsync_checked = True  # type: ignore[attr-defined]
    return call


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _shown(value: Any) -> str:
    text = repr(value)
    return f"a {type(value).__name__} ({text[:60]}{'…' if len(text) > 60 else ''})"


def _check_timeline(result: Any, arguments: dict, state: Any) -> str | None:
    if result is None or (isinstance(result, date) and not isinstance(result, datetime)):
        return None
    return f"returned {_shown(result)}; expected a datetime.date (not a datetime) or None"


def _check_plan(result: Any, arguments: dict, state: Any) -> str | None:
    from calsync.model import FollowUp

    if result is None:
        return None
    if not isinstance(result, list | tuple):
        return f"returned {_shown(result)}; expected a list of FollowUp or None"
    interview = arguments.get("interview")
    seen: set[str] = set()
    for item in result:
        if not isinstance(item, FollowUp):
            return f"returned a list holding {_shown(item)}; expected FollowUp objects only"
        if item.due.tzinfo is None:
            return f"returned follow-up {item.uid} due at a naive datetime {item.due}; give it a zone"
        if interview is not None and item.interview.id != interview.id:
            return f"returned follow-up {item.uid} of interview {item.interview.id!r} for interview {interview.id!r}"
        if item.uid in seen:
            return f"returned two follow-ups with uid {item.uid}; give an added one a new uid (calsync.make_uid)"
        seen.add(item.uid)
    return None


def _uid_before(arguments: dict) -> Any:
    component = arguments.get("component")
    return None if component is None else str(component.get("UID", ""))


def _check_decorate(result: Any, arguments: dict, uid: Any) -> str | None:
    component = arguments.get("component")
    if uid is not None and component is not None and str(component.get("UID", "")) != uid:
        return f"changed the UID of {uid} (the calendars would see a new item and keep the old one)"
    return None


_RESULT_CHECKS: dict[str, Callable[[Any, dict, Any], str | None]] = {
    "calsync_parse_timeline": _check_timeline,
    "calsync_adjust_plan": _check_plan,
    "calsync_decorate_component": _check_decorate,
}
_BEFORE: dict[str, Callable[[dict], Any]] = {"calsync_decorate_component": _uid_before}


# --- loading ----------------------------------------------------------------------------------------------------

pm = CalsyncPluginManager("calsync")
pm.add_hookspecs(hookspecs)

_loaded = False
_traced = False  # CALSYNC_TRACE_HOOKS: every hook call goes through pluggy, to be printed
loaded = Loaded()
_extra_disabled: set[str] = set()


def disable(names: set[str] | list[str]) -> None:
    """Plugins not to load (``calsync -p no:NAME``); call before anything loads them."""
    _extra_disabled.update(names)


def load_plugins(strict: bool = True) -> pluggy.PluginManager:
    """Register the default plugins and the entry-point plugins, once.

    :raises PluginError: a plugin does not fit its hooks (not with ``strict=False``, which ``calsync plugins``
        uses to list it among the failures).
    """
    global _loaded
    if not _loaded:
        _loaded = True
        _load()
    if strict and loaded.invalid:
        raise loaded.invalid[0]
    return pm


def _load() -> None:
    global _traced
    disabled = _names(os.environ.get("CALSYNC_DISABLE_PLUGINS")) | _extra_disabled
    loaded.disabled = disabled
    for name in DEFAULT_PLUGINS:
        if name in disabled:
            continue
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name)
    allowed = _allow_list()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if (allowed is not None and ep.name not in allowed) or ep.name in disabled:
            continue
        if pm.get_plugin(ep.name) is not None or ep.name in loaded.failed:
            continue
        if ep.distribution is not None:
            loaded.distributions[ep.name] = (ep.distribution, ep.version or "")
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break every command
            loaded.failed[ep.name] = f"cannot import {ep.value}: {_one_line(exc)}"
            print(f"calsync: warning: plugin {ep.name!r} skipped: {loaded.failed[ep.name]}", file=sys.stderr)
            continue
        try:
            pm.register(plugin, ep.name)
        except PluginError as exc:
            hint = f" (run without it: CALSYNC_DISABLE_PLUGINS={ep.name} or calsync -p no:{ep.name})"
            error = PluginError(f"{exc}{hint}", exc.plugin, exc.hook)
            loaded.failed[ep.name] = str(exc)
            loaded.invalid.append(error)
    if os.environ.get("CALSYNC_TRACE_HOOKS"):
        _traced = True
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()


def _names(raw: str | None) -> set[str]:
    return {name.strip() for name in (raw or "").split(",") if name.strip()}


def _allow_list() -> set[str] | None:
    raw = os.environ.get("CALSYNC_LOAD_PLUGINS")
    return None if raw is None else _names(raw)


# --- calling hooks ----------------------------------------------------------------------------------------------


def sole_implementation(hook: str) -> Callable[..., Any] | None:
    """The one implementation of the ``firstresult`` hook ``hook`` as a function taking the hook's keyword arguments,
    when it has exactly one (the built-in, usually) and calls are not traced; else None (call it through pluggy).

    Calling it is what pluggy does with a lone implementation (the same checked function, the same result), without
    pluggy's per-call work: the planner calls such hooks once per interview."""
    load_plugins()
    caller = getattr(pm.hook, hook)
    impls = caller.get_hookimpls()
    if _traced or len(impls) != 1 or caller.spec is None or not caller.spec.opts.get("firstresult"):
        return None
    impl = impls[0]
    if impl.hookwrapper or impl.wrapper:
        return None
    function, names = impl.function, impl.argnames

    def call(**kwargs: Any) -> Any:
        return function(*[kwargs[name] for name in names])

    return call


def only_builtin_implement(hooks: tuple[str, ...]) -> bool:
    """Whether only calsync's default plugins implement the ``hooks`` (and calls are not traced): then what they
    return depends on calsync's own code alone, which caches may key on."""
    load_plugins()
    if _traced:
        return False
    return all(impl.plugin_name in DEFAULT_PLUGINS for hook in hooks for impl in getattr(pm.hook, hook).get_hookimpls())


def adjust_plan(
    followups: list[FollowUp], interview: Interview, policy: Policy, calendar: BusinessCalendar
) -> list[FollowUp]:
    """Run every ``calsync_adjust_plan`` implementation in turn, each seeing the list the previous one returned.

    Each runs through pluggy (a subset caller holding it alone), so tracing shows every call."""
    load_plugins()
    caller = pm.hook.calsync_adjust_plan
    impls = list(reversed(caller.get_hookimpls()))  # pluggy's own call order
    if not impls and _traced:
        caller(followups=followups, interview=interview, policy=policy, calendar=calendar)  # traced all the same
    for impl in impls:
        others = [other.plugin for other in impls if other is not impl]
        results = pm.subset_hook_caller("calsync_adjust_plan", others)(
            followups=followups, interview=interview, policy=policy, calendar=calendar
        )
        if results and results[0] is not None:
            followups = list(results[0])
    return followups


def providers() -> dict[str, type[Provider]]:
    """Every registered provider, by name."""
    return {name: provider for name, (provider, _) in registered_providers().items()}


def registered_providers(strict: bool = True) -> dict[str, tuple[type[Provider], str]]:
    """Every registered provider by name, with the plugin that registered it."""
    load_plugins(strict)
    found: dict[str, tuple[type[Provider], str]] = {}
    for impl in reversed(pm.hook.calsync_register_providers.get_hookimpls()):
        _register_providers(impl, found)
    return found


def _register_providers(impl: Any, found: dict[str, tuple[type[Provider], str]]) -> None:
    """Call one plugin's ``calsync_register_providers`` (through pluggy, so tracing shows it), adding to ``found``."""
    from calsync.provider import Provider

    plugin = impl.plugin_name
    caller = pm.hook.calsync_register_providers

    def register(name: str, provider_class: type[Provider], plugin: str = plugin) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r}: registered a provider under {name!r}; give it a name", plugin)
        if not (isinstance(provider_class, type) and issubclass(provider_class, Provider)):
            raise PluginError(
                f"plugin {plugin!r}: provider {name!r} is {_shown(provider_class)}, not a calsync.Provider subclass",
                plugin,
            )
        if name in found and found[name][0] is not provider_class:
            raise PluginError(f"plugins {found[name][1]!r} and {plugin!r} both register a provider {name!r}")
        found[name] = (provider_class, plugin)

    others = [other.plugin for other in caller.get_hookimpls() if other is not impl]
    pm.subset_hook_caller("calsync_register_providers", others)(register=register)


def provider_named(name: str) -> type[Provider] | None:
    """The provider registered as ``name``, or None when no plugin registers it.

    Every plugin that is not bundled with calsync is asked, as :func:`providers` does (so a plugin that registers
    something wrong is named on every run), but of the bundled ones only the one named ``name``: each imports its
    provider module only when asked, so reading a config costs only the providers it uses."""
    load_plugins()
    found: dict[str, tuple[type[Provider], str]] = {}
    for impl in reversed(pm.hook.calsync_register_providers.get_hookimpls()):
        if impl.plugin_name == name or not _bundled(impl.plugin_name):
            _register_providers(impl, found)
    if name in found:
        return found[name][0]
    return providers().get(name)  # a bundled plugin may register it under another name


def _bundled(plugin: str) -> bool:
    return plugin in DEFAULT_PLUGINS or loaded.distributions.get(plugin, ("",))[0] == "calsync"


def provider_class(name: str) -> type[Provider]:
    found = provider_named(name)
    if found is not None:
        return found
    known = providers()
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    listed = ", ".join(sorted(known)) or "none"
    raise UserError(f"unknown provider {name!r} ({hint}installed: {listed})")


def describe() -> dict[str, Any]:
    """What is loaded, for ``calsync plugins``: each plugin, and each plugin that failed to load."""
    from calsync.options import declared

    load_plugins(strict=False)
    by_plugin: dict[str, list[dict[str, Any]]] = {}
    for name, (cls, plugin) in sorted(registered_providers(strict=False).items()):
        options = [option.describe() for option in declared(cls).values()]
        by_plugin.setdefault(plugin, []).append(
            {"name": name, "class": f"{cls.__module__}.{cls.__qualname__}", "options": options,
             "declares_options": cls.options is not None}
        )  # fmt: skip
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        if name is None or name.startswith("calsync-testing-"):
            continue
        distribution, version = loaded.distributions.get(name, (None, None))
        rows.append(
            {
                "name": name,
                "distribution": distribution,
                "version": version,
                "bundled": name in DEFAULT_PLUGINS or distribution == "calsync",
                "hooks": sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()),
                "providers": by_plugin.get(name, []),
            }
        )
    failed = [{"name": name, "error": error} for name, error in sorted(loaded.failed.items())]
    return {
        "plugins": sorted(rows, key=lambda row: row["name"]),
        "failed": failed,
        "disabled": sorted(loaded.disabled),
    }
