"""Which optional extra provides a missing module: a provider whose extra is not installed names the command that
installs it, instead of a traceback."""

from __future__ import annotations

# Top-level module -> the extra that installs it (pyproject.toml's [project.optional-dependencies]).
EXTRA_OF_MODULE = {
    "caldav": "caldav",
    "keyring": "caldav",
    "googleapiclient": "google",
    "google": "google",
    "google_auth_oauthlib": "google",
    "google_auth_httplib2": "google",
    "httplib2": "google",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra to install, or None when the missing module is not an extra's."""
    module = (exc.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return f"the {extra} provider needs the {module!r} package, not installed: pip install 'calsync[{extra}]'"
