"""Which optional extra provides a missing module: a provider whose extra is not installed names the command that
installs it, instead of a traceback."""

from __future__ import annotations

# Top-level module -> (the extra that installs it, the distribution it comes from), per pyproject.toml.
EXTRA_OF_MODULE = {
    "caldav": ("caldav", "caldav"),
    "keyring": ("caldav", "keyring"),
    "googleapiclient": ("google", "google-api-python-client"),
    "google": ("google", "google-auth"),
    "google_auth_oauthlib": ("google", "google-auth-oauthlib"),
    "google_auth_httplib2": ("google", "google-auth-httplib2"),
    "httplib2": ("google", "httplib2"),
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """One line naming the extra to install, or None when the missing module is not an extra's."""
    module = (exc.name or "").split(".")[0]
    if module not in EXTRA_OF_MODULE:
        return None
    extra, distribution = EXTRA_OF_MODULE[module]
    return f"the {extra} provider needs {distribution}, which is not installed: pip install 'calsync[{extra}]'"
