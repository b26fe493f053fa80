"""Target options as providers declare them: name, type, default, and whether the value is a path (resolved
relative to the config file) or a secret (never echoed). The config loader checks every ``[targets.NAME]`` table
against the options of its provider plus the generic ones every target has."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

OptionType = type | tuple[type, ...]


@dataclass(frozen=True)
class Option:
    """One option of a ``[targets.NAME]`` table.

    :param name: the key in the table.
    :param type: ``str``, ``int``, ``float`` (an integer is accepted), ``bool``, or a tuple of them.
    :param default: the value when the key is absent (documentation only: the provider reads it with
        ``target.option(name, default)``).
    :param path: a file or folder: ``~`` is expanded and a relative path is resolved against the config file's
        folder before the provider sees it.
    :param secret: the value is never echoed (errors, ``calsync plugins``).
    :param required: the target is unusable without it.
    :param choices: the only values allowed.
    :param url: an ``http(s)://host/...`` URL.
    :param minimum: the smallest number allowed.
    :param help: one line for ``calsync plugins`` and the docs.
    """

    name: str
    type: OptionType = str
    default: Any = None
    path: bool = False
    secret: bool = False
    required: bool = False
    choices: tuple[Any, ...] | None = None
    url: bool = False
    minimum: float | None = None
    help: str = ""

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description, for ``calsync plugins --json``."""
        return {
            "name": self.name,
            "type": type_name(self.type),
            "default": None if self.secret else self.default,
            "path": self.path,
            "secret": self.secret,
            "required": self.required,
            "choices": list(self.choices) if self.choices else None,
            "help": self.help,
        }


#: What every target has, whatever its provider (the sync engine reads them).
GENERIC_OPTIONS: tuple[Option, ...] = (
    Option("provider", str, required=True, help="which provider stores this target's items"),
    Option("component", str, "event", choices=("event", "todo"), help="write events or to-dos"),
    Option("cancelled", str, "keep", choices=("keep", "delete"), help="show cancelled follow-ups, or delete them"),
    Option("alarm_minutes", int, None, minimum=0, help="alarm lead time (default: policy.alarm_minutes_before)"),
    Option("uid_suffix", str, None, help="mixed into the UIDs, for a second event target on one account"),
)


def type_name(kind: OptionType) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = tuple(k for k in kinds if k is not int)  # a number: an integer is one too
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _a(name: str) -> str:
    return f"an {name}" if name[:1] in "aeiou" else f"a {name}"


def declared(provider_cls: type) -> dict[str, Option]:
    """The generic options and the provider's own, by name."""
    own = getattr(provider_cls, "options", ()) or ()
    return {option.name: option for option in (*GENERIC_OPTIONS, *own)}


def check_options(
    table: str,
    raw: Mapping[str, Any],
    options: Mapping[str, Option],
    base: Path,
    fail: Callable[[str, str], Exception],
) -> dict[str, Any]:
    """``raw`` checked against ``options``, paths resolved against ``base``.

    ``table`` names the table in messages (``targets.phone``); ``fail(message, key)`` makes the exception to raise
    (the config loader's, which knows the line of ``key``).
    """
    result: dict[str, Any] = {}
    for key, value in raw.items():
        option = options.get(key)
        if option is None:
            close = difflib.get_close_matches(key, list(options), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(sorted(options))})"
            raise fail(f"{table}.{key}: unknown option{hint}", key)
        result[key] = _checked(f"{table}.{key}", option, value, base, lambda message, key=key: fail(message, key))
    for option in options.values():
        if option.required and option.name not in raw:
            raise fail(f"{table}: {option.name!r} is required ({option.help or type_name(option.type)})", "")
    return result


def _checked(where: str, option: Option, value: Any, base: Path, fail: Callable[[str], Exception]) -> Any:
    shown = "(hidden)" if option.secret else repr(value)
    kinds = option.type if isinstance(option.type, tuple) else (option.type,)
    if not _has_type(value, kinds):
        raise fail(f"{where}: expected {_a(type_name(option.type))}, got {shown}")
    if option.choices is not None and value not in option.choices:
        allowed = ", ".join(repr(choice) for choice in option.choices)
        raise fail(f"{where}: expected one of {allowed}, got {shown}")
    if option.minimum is not None and isinstance(value, int | float) and value < option.minimum:
        raise fail(f"{where}: expected a number >= {option.minimum:g}, got {shown}")
    if isinstance(value, str) and "\x00" in value:
        raise fail(f"{where}: contains a NUL character")
    if option.url and isinstance(value, str):
        problem = url_problem(value)
        if problem:
            raise fail(f"{where}: {problem}")
    if option.path and isinstance(value, str):
        return str(resolve_path(value, base, lambda message: fail(f"{where}: {message}")))
    return value


def url_problem(text: str) -> str | None:
    """What is wrong with a web address (a bare host name means https), or None."""
    text = text.strip()
    if not text or any(ord(char) <= 32 or ord(char) == 127 for char in text):
        return f'expected a web address such as "https://dav.example.com/", got {text!r}'
    try:
        parts = urlsplit(text if "://" in text else "https://" + text)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number or out of range
    except ValueError as exc:
        return f"{text!r} is not a web address ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"expected an http:// or https:// address with a host, got {text!r}"
    return None


def _has_type(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return any(isinstance(value, kind) for kind in kinds)


def resolve_path(value: str, base: Path, fail: Callable[[str], Exception] | None = None) -> Path:
    """``~`` expanded, relative to ``base`` when not absolute."""
    if not value.strip() and fail is not None:
        raise fail("expected a path, got an empty string")
    expanded = os.path.expanduser(value)
    if expanded.startswith("~") and fail is not None:
        user = expanded[1:].split("/", 1)[0]
        raise fail(f"no user named {user!r} for {value!r}")
    path = Path(expanded)
    return path if path.is_absolute() else base / path
