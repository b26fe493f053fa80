"""Signing in to Microsoft with msal: the device-code and browser flows, the token cache, one-line failures.

msal is imported inside the functions. The token cache (it holds a refresh token) is a file created 0600 and
replaced atomically; nothing here prints or logs a token, and Microsoft's error descriptions are never echoed: an
error is reduced to its AADSTS code and a sentence saying what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calsync.errors import ProviderError, UserError

if TYPE_CHECKING:
    from calsync.provider import Target

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
EVENT_SCOPES = ["Calendars.ReadWrite"]
TODO_SCOPES = ["Tasks.ReadWrite"]  # only for to-do targets; msal adds offline_access (a refresh token) itself

# What each common AADSTS code means for the person, and what to do.
_ADVICE = {
    "AADSTS65001": "the app has not been granted the permission yet: run `calsync auth {target}` and accept",
    "AADSTS90094": "your organisation's administrator must approve this app for your account (admin consent)",
    "AADSTS90099": "your organisation's administrator must approve this app for your account (admin consent)",
    "AADSTS700082": "the sign-in has expired: run `calsync auth {target}` again",
    "AADSTS70008": "the sign-in has expired: run `calsync auth {target}` again",
    "AADSTS50173": "the sign-in was revoked (a password change?): run `calsync auth {target}` again",
    "AADSTS90002": "the tenant {tenant!r} does not exist: check `tenant` in [targets.{target}]",
    "AADSTS50020": "this account does not belong to the tenant {tenant!r}: check `tenant` in [targets.{target}]",
    "AADSTS50059": "no tenant matches this account: set `tenant` in [targets.{target}]",
    "AADSTS9002331": (
        "the app registration accepts only work or school accounts, and this is a personal account: set "
        'tenant = "consumers" and allow personal accounts in the registration (docs/providers/outlook.md)'
    ),
    "AADSTS50194": (
        "the app registration is single-tenant: set `tenant` in [targets.{target}] to its tenant id, or make the "
        "registration multi-tenant"
    ),
    "AADSTS7000218": (
        "the app registration does not allow public client flows: enable 'Allow public client flows' in its "
        "Authentication page (docs/providers/outlook.md)"
    ),
    "AADSTS700016": "no app registration has this client_id in the tenant: check `client_id` in [targets.{target}]",
}


def scopes(target: Target) -> list[str]:
    return TODO_SCOPES if str(target.option("component", "event")) == "todo" else EVENT_SCOPES


def token_path(target: Target) -> Path:
    """``token_file`` if set (relative to the config's folder), else ``<state_dir>/outlook-<target>.json``."""
    configured = target.option("token_file")
    if configured:
        path = Path(str(configured)).expanduser()
        if not path.is_absolute() and target.config_path is not None:
            path = target.config_path.parent / path
        return path
    state_dir = target.state_dir
    if state_dir is None:
        from calsync import paths

        state_dir = paths.state_dir()
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", target.name)[:60] or "target"
    return Path(state_dir) / f"outlook-{safe}.json"


def describe_failure(result: dict[str, Any], target: Target) -> str:
    """One line for an msal error result: the AADSTS code and what to do, never the raw description."""
    description = str(result.get("error_description", ""))
    codes = re.findall(r"AADSTS\d+", description)
    tenant = str(target.option("tenant", "common"))
    for code in codes:
        if code in _ADVICE:
            return f"target {target.name!r}: Microsoft sign-in failed ({code}): " + _ADVICE[code].format(
                target=target.name, tenant=tenant
            )
    error = str(result.get("error", "unknown_error"))
    if error == "invalid_grant":
        return f"target {target.name!r}: the sign-in has expired or was revoked: run `calsync auth {target.name}` again"
    if error in ("consent_required", "interaction_required"):
        return f"target {target.name!r}: Microsoft asks to sign in again: run `calsync auth {target.name}`"
    code = f" ({codes[0]})" if codes else ""
    return f"target {target.name!r}: Microsoft sign-in failed: {error}{code}"


class Session:
    """An msal public client with its persistent cache, for one target."""

    def __init__(self, target: Target, http_client: Any = None) -> None:
        import msal

        client_id = target.option("client_id")
        if not client_id:
            raise UserError(
                f"targets.{target.name}: the outlook provider needs client_id (your app registration's "
                "Application (client) ID; see docs/providers/outlook.md)"
            )
        self.target = target
        self.client_id = str(client_id)
        self.http_client = http_client
        self.path = token_path(target)
        self.cache = msal.SerializableTokenCache()
        if self.path.exists():
            try:
                self.cache.deserialize(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise ProviderError(
                    f"{self.path}: the sign-in cache is unreadable: delete it and run `calsync auth {target.name}`"
                ) from None
        self.root = str(target.option("authority") or DEFAULT_AUTHORITY).rstrip("/")
        self.tenant = str(target.option("tenant") or "common")
        self.scopes = scopes(target)
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The msal application, made on first need: making it costs a discovery request to the authority."""
        if self._app is None:
            import msal

            try:
                self._app = msal.PublicClientApplication(
                    self.client_id,
                    authority=f"{self.root}/{self.tenant}",
                    token_cache=self.cache,
                    # Instance discovery asks login.microsoftonline.com about the authority: only for the real one.
                    instance_discovery=self.root == DEFAULT_AUTHORITY,
                    http_client=self.http_client,
                )
            except ValueError:
                raise ProviderError(
                    f"target {self.target.name!r}: the Microsoft sign-in service at {self.root} does not know the "
                    f"tenant {self.tenant!r}: check `tenant` in [targets.{self.target.name}]"
                ) from None
        return self._app

    def save(self) -> None:
        if self.cache.has_state_changed:
            write_private(self.path, self.cache.serialize())
            self.cache.has_state_changed = False

    def access_token(self) -> str:
        cached = self._cached_access_token()
        if cached is not None:
            return cached  # most runs: no request to the sign-in service at all
        accounts = self.app.get_accounts()
        if not accounts:
            raise ProviderError(
                f"target {self.target.name!r}: not signed in to Microsoft: run `calsync auth {self.target.name}`"
            )
        result = self.app.acquire_token_silent_with_error(self.scopes, account=accounts[0])
        self.save()
        if not result or "access_token" not in result:
            raise ProviderError(describe_failure(result or {"error": "invalid_grant"}, self.target))
        return str(result["access_token"])

    def _cached_access_token(self) -> str | None:
        """A cached access token for these scopes that stays valid for five more minutes (msal's own margin)."""
        import time
        from urllib.parse import urlsplit

        from msal.token_cache import TokenCache

        now = time.time()
        query = {"client_id": self.client_id, "environment": urlsplit(self.root).hostname}
        for entry in self.cache.search(TokenCache.CredentialType.ACCESS_TOKEN, target=self.scopes, query=query):
            if int(entry.get("expires_on", 0)) - 300 > now:
                return str(entry["secret"])
        return None

    def sign_in(self, *, device_code: bool, echo: Callable[[str], None], port: int = 0) -> str:
        """Run the device-code flow (works over SSH) or the browser flow; returns the signed-in account name."""
        if device_code:
            flow = self.app.initiate_device_flow(scopes=self.scopes)
            if "user_code" not in flow:
                raise ProviderError(describe_failure(flow, self.target))
            echo(str(flow.get("message") or f"Open {flow['verification_uri']} and enter {flow['user_code']}"))
            result = self.app.acquire_token_by_device_flow(flow)
        else:
            result = self.app.acquire_token_interactive(scopes=self.scopes, prompt="select_account", port=port or None)
        if "access_token" not in result:
            raise ProviderError(describe_failure(result, self.target))
        self.save()
        claims = result.get("id_token_claims") or {}
        return str(claims.get("preferred_username") or claims.get("name") or "your account")


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, readable by the user alone (created 0600, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
