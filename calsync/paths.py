"""Where calsync keeps things by default (platformdirs), each overridable."""

from __future__ import annotations

import os
from pathlib import Path

APP = "calsync"


def config_file() -> Path:
    """``CALSYNC_CONFIG`` if set, else ``config.toml`` in the platform's user config dir."""
    env = os.environ.get("CALSYNC_CONFIG")
    if env:
        try:
            return Path(env).expanduser()
        except RuntimeError:  # "~nouser/...": reported as a config file that is not found
            return Path(env)
    from platformdirs import user_config_path

    return user_config_path(APP) / "config.toml"


def state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path(APP)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP)


def local_zone_name() -> str:
    """The machine's IANA zone name (``TZ``, then /etc/localtime), or UTC when it cannot be told."""
    from calsync.zones import zone_named

    tz = os.environ.get("TZ", "").lstrip(":")
    if ((tz and "/" in tz) or tz == "UTC") and zone_named(tz) is not None:
        return tz
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return "UTC"
    marker = "zoneinfo/"
    name = target.split(marker, 1)[1] if marker in target else "UTC"
    return name if zone_named(name) is not None else "UTC"
