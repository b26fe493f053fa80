"""The config file: defaults for interviews, the policy's numbers, and the targets to sync.

```toml
timezone = "America/Chicago"        # default zone of interviews
country = "US"                      # default public-holiday calendar
interviews = "~/jobs/interviews.toml"
templates = "~/jobs/templates"      # optional: your own reminder texts
state_dir = "~/.local/state/calsync"  # optional
lock_wait = 5                       # seconds a sync waits for another sync of the same target

[policy]
send_time = "09:30"
retries = 2

[me]                                # optional: who signs the drafts
name = "Alex Doe"
email = "alex@example.com"
signature = "Alex Doe\n+1 555 0100"

[targets.phone]
provider = "caldav"
url = "https://dav.example.com/"
```

A missing config file means all defaults.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

from calsync import paths
from calsync.errors import InputError, UserError
from calsync.model import Policy
from calsync.provider import Target
from calsync.templates import Me
from calsync.tomlfile import LineIndex, read_toml
from calsync.zones import zone_named

DEFAULT_TARGET = "default"
# The bounds of every [policy] number: wide enough for any real use, narrow enough that no date overflows.
POLICY_LIMITS = {
    "closing_prep_minutes": 24 * 60,
    "thank_you_minutes_after_end": 7 * 24 * 60,
    "default_deadline_days": 366,
    "check_in_days_after_deadline": 366,
    "retries": 10,
    "retry_business_days": 100,
    "feedback_business_days": 100,
    "duration_minutes": 24 * 60,
    "alarm_minutes_before": 7 * 24 * 60,
}
_TOP_KEYS = {"timezone", "country", "subdivision", "interviews", "templates", "state_dir", "policy", "targets", "me"}
_TOP_KEYS.add("lock_wait")  # added by the sync lock; a line of its own keeps merges simple
DEFAULT_LOCK_WAIT = 5.0  # seconds: long enough for a sync in its last writes, short enough for a cron job
_ME_KEYS = ("name", "email", "signature")


@dataclass
class Config:
    path: Path | None = None
    timezone: str = field(default_factory=paths.local_zone_name)
    country: str | None = None
    subdivision: str | None = None
    interviews: Path | None = None
    templates: Path | None = None
    state_dir: Path = field(default_factory=paths.state_dir)
    policy: Policy = field(default_factory=Policy)
    targets: dict[str, Target] = field(default_factory=dict)
    me: Me = field(default_factory=Me)
    lock_wait: float = DEFAULT_LOCK_WAIT

    @property
    def interviews_file(self) -> Path:
        return self.interviews or paths.data_dir() / "interviews.toml"

    def target(self, name: str) -> Target:
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets)) or "none configured"
            raise UserError(f"no target named {name!r} in {self.path or 'the config'} ({known})") from None

    def default_targets(self) -> list[Target]:
        """The configured targets, or, with none, a vdir in the user data dir: works with no server."""
        if self.targets:
            return list(self.targets.values())
        return [
            Target(
                DEFAULT_TARGET,
                "vdir",
                {"path": str(paths.data_dir() / "calendar")},
                state_dir=self.state_dir,
                config_path=self.path,
            )
        ]


def load_config(path: Path | None = None) -> Config:
    """Load the config at ``path`` (default: ``CALSYNC_CONFIG``, then the platform's config dir)."""
    explicit = path is not None
    path = path or paths.config_file()
    if not explicit and not os.environ.get("CALSYNC_CONFIG") and not path.exists():
        return Config()
    data, lines = read_toml(path, "config file")
    return _build(data, lines, path)


def _build(data: dict[str, Any], lines: LineIndex, path: Path) -> Config:
    def fail(message: str, table: tuple = (), key: str | None = None) -> InputError:
        return InputError(message, path, lines.line(table, key))

    for key in data:
        if key not in _TOP_KEYS:
            from calsync.suggest import field_hint

            raise fail(f"unknown setting {key!r}{field_hint(key, _TOP_KEYS)}", (), key)
    config = Config(path=path)
    if "timezone" in data:
        zone = _string(data, "timezone", fail)
        if zone_named(zone) is None:
            from calsync.suggest import zone_hint

            raise fail(f"timezone: unknown time zone {zone!r}{zone_hint(zone)}", (), "timezone")
        config.timezone = zone
    if "country" in data:
        config.country = _string(data, "country", fail)
    if "subdivision" in data:
        config.subdivision = _string(data, "subdivision", fail)
    base = path.parent
    for key in ("interviews", "templates", "state_dir"):
        if key in data:
            setattr(config, key, _path(_string(data, key, fail), base, lambda text, k=key: fail(f"{k}: {text}", (), k)))
    if "lock_wait" in data:
        wait = data["lock_wait"]
        if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= 86400:
            raise fail(f"lock_wait: expected a number of seconds from 0 to 86400, got {wait!r}", (), "lock_wait")
        config.lock_wait = float(wait)
    config.policy = _policy(data.get("policy", {}), fail)
    config.me = _me(data.get("me", {}), fail)
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise fail("targets: expected tables [targets.NAME]", (), "targets")
    for name, options in targets.items():
        table = (f"targets.{name}",)
        if not isinstance(options, dict):
            raise fail(f"targets.{name}: expected a table", (), "targets")
        if not name.strip() or any(ord(char) < 32 or ord(char) == 127 for char in name):
            raise fail(f"targets.{name!r}: a target name needs a visible character and no control characters", table)
        provider = options.get("provider")
        if not isinstance(provider, str) or not provider:
            raise fail(f'targets.{name}: \'provider\' is required (e.g. "vdir", "ics", "caldav", "google")', table)
        if "password" in options:
            raise fail(
                f"targets.{name}.password: passwords are not read from the config; use password_command, "
                "password_env or the system keyring",
                table,
                "password",
            )
        rest = _target_options(name, provider, options, base, lambda message, key, t=table: fail(message, t, key))
        found = lines.tables.get(table)
        config.targets[name] = Target(
            name,
            provider,
            rest,
            state_dir=config.state_dir,
            config_path=path,
            lines=dict(found.keys) if found else {},
            line=found.line if found else None,
        )
    return config


def _target_options(name: str, provider: str, options: dict[str, Any], base: Path, fail) -> dict[str, Any]:
    """The options of ``[targets.NAME]`` as its provider declares them: checked, paths resolved (relative to the
    config file). A provider that is not installed, or declares nothing, gets them as written."""
    from calsync.options import check_options, declared
    from calsync.plugins import provider_named

    provider_cls = provider_named(provider)  # imports this provider's module alone
    if provider_cls is None or provider_cls.options is None:
        if provider_cls is not None:
            warnings.warn(
                f"provider {provider!r} declares no options (Provider.options): its target options go unchecked; "
                "an undeclared option will be an error with PLUGIN_API 2",
                DeprecationWarning,
                stacklevel=2,
            )
        return {key: value for key, value in options.items() if key != "provider"}
    checked = check_options(
        f"targets.{name}", options, declared(provider_cls), base, lambda m, key: fail(m, key or None)
    )
    checked.pop("provider", None)
    return checked


def _policy(raw: Any, fail) -> Policy:
    if not isinstance(raw, dict):
        raise fail("policy: expected a table [policy]", (), "policy")
    known = {f.name: f for f in dataclasses.fields(Policy)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "closing_minutes_before_end":
            raise fail(
                "policy.closing_minutes_before_end: replaced by closing_prep_minutes (the closing questions are "
                "prepared before the interview starts, so nothing rings during it)",
                ("policy",),
                key,
            )
        if key not in known:
            from calsync.suggest import field_hint

            hint = field_hint(key, known) or f" (known: {', '.join(sorted(known))})"
            raise fail(f"policy.{key}: unknown setting{hint}", ("policy",), key)
        if key == "send_time":
            values[key] = _clock(value, fail)
            continue
        if key == "alarms":
            values[key] = _alarms(value, fail)
            continue
        high = POLICY_LIMITS.get(key, 10_000)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise fail(f"policy.{key}: expected a whole number from 0 to {high}, got {value!r}", ("policy",), key)
        values[key] = value
    return Policy(**values)


def _alarms(raw: Any, fail) -> tuple[tuple[str, int], ...]:
    """``[policy.alarms]``: minutes before the due time per kind of follow-up, over the defaults."""
    from calsync.model import Kind

    if not isinstance(raw, dict):
        raise fail(
            "policy.alarms: expected a table [policy.alarms] (thank_you = 0, check_in = 15, ...)", ("policy",), "alarms"
        )
    kinds = [kind.value for kind in Kind]
    chosen = dict(Policy().alarms)
    for key, value in raw.items():
        if key not in kinds:
            raise fail(
                f"policy.alarms.{key}: unknown kind of follow-up (known: {', '.join(kinds)})", ("policy.alarms",), key
            )
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail(
                f"policy.alarms.{key}: expected a whole number of minutes >= 0, got {value!r}",
                ("policy.alarms",),
                key,
            )
        chosen[key] = value
    return tuple(sorted(chosen.items()))


def _me(raw: Any, fail) -> Me:
    if not isinstance(raw, dict):
        raise fail("me: expected a table [me] (name, email, signature)", (), "me")
    for key, value in raw.items():
        if key not in _ME_KEYS:
            raise fail(f"me.{key}: unknown setting (known: {', '.join(_ME_KEYS)})", ("me",), key)
        if not isinstance(value, str):
            raise fail(f"me.{key}: expected a string, got {value!r}", ("me",), key)
    return Me(**{key: value.strip() or None for key, value in raw.items()})


def _clock(value: Any, fail) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    raise fail(f'policy.send_time: expected a time such as "10:00", got {value!r}', ("policy",), "send_time")


def _string(data: dict, key: str, fail) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise fail(f"{key}: expected a string, got {value!r}", (), key)
    return value


def _path(value: str, base: Path, fail: Callable[[str], InputError]) -> Path:
    """``value`` as a path: ``~`` expanded, relative to ``base``; a NUL, an empty value or an unknown ``~user``
    is an error."""
    if not value.strip():
        raise fail("expected a file name, got an empty string")
    if "\0" in value:
        raise fail(f"a file name cannot hold a NUL character: {value!r}")
    try:
        expanded = Path(value).expanduser()
    except (RuntimeError, KeyError):  # "~nouser", or no home directory at all
        user = value[1:].split("/", 1)[0]
        why = f"no user {user!r}" if user else "no home directory"
        raise fail(f"cannot expand {value.split('/', 1)[0]!r}: {why}") from None
    return expanded if expanded.is_absolute() else base / expanded
