"""Credentials for a google target: the OAuth token file (``calsync auth``) or a service account key.

google-auth and google-auth-oauthlib are imported inside the functions: the CLI loads every plugin at start.
Nothing here logs or prints a token, a refresh token or a client secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from calsync.errors import ProviderError

if TYPE_CHECKING:
    from calsync.provider import Target

_SCOPE = "https://www.googleapis.com/auth/"
#: Events on calendars this app created, and the calendars themselves (create one): for ``create = true``.
APP_CREATED = _SCOPE + "calendar.app.created"
#: Read the calendar list: to find a calendar given by name (never to change it).
CALENDAR_LIST_READONLY = _SCOPE + "calendar.calendarlist.readonly"
#: Events on calendars the user owns: for "primary", a calendar id, or a calendar the user made.
EVENTS_OWNED = _SCOPE + "calendar.events.owned"


def scopes(target: Target) -> list[str]:
    """The narrowest scopes that let calsync do this target's job (see docs/providers/google.md).

    With ``create = true`` calsync makes the calendar itself, and ``calendar.app.created`` covers it and its events
    (it cannot see any other calendar's events); the read-only calendar list finds it again by name. Otherwise the
    events of a calendar the user owns need ``calendar.events.owned``, plus the calendar list when it is named.
    """
    if target.option("create", False):
        return [APP_CREATED, CALENDAR_LIST_READONLY]
    calendar = str(target.option("calendar", "primary"))
    if calendar == "primary" or "@" in calendar:
        return [EVENTS_OWNED]
    return [EVENTS_OWNED, CALENDAR_LIST_READONLY]


def token_path(target: Target) -> Path:
    """``token_file`` if set (relative to the config's folder), else ``<state_dir>/google-<name>.json``, where
    ``<name>`` is the target's name made a safe file name (see :func:`safe_file_stem`)."""
    configured = target.text("token_file")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_absolute() and target.config_path is not None:
            path = target.config_path.parent / path
        return path
    state_dir = target.state_dir
    if state_dir is None:
        from platformdirs import user_state_dir

        state_dir = Path(user_state_dir("calsync"))
    return Path(state_dir) / f"google-{safe_file_stem(target.name)}.json"


def safe_file_stem(name: str) -> str:
    """``name`` as one plain file name: letters, digits, ``-`` and ``_`` kept (at most 60), anything else (a ``/``,
    ``..``, a NUL, a space) replaced by ``_``, and a short hash of the whole name added when something was
    replaced or cut, so that two names never share a file."""
    safe = "".join(char if (char.isascii() and char.isalnum()) or char in "-_" else "_" for char in name)
    if safe == name and 0 < len(name) <= 60:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe[:60]}-{digest}"


def _option_path(target: Target, key: str) -> Path | None:
    value = target.text(key)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and target.config_path is not None:
        path = target.config_path.parent / path
    return path


def write_token(path: Path, credentials_json: str) -> None:
    """Store the token file atomically, readable by the user only (created 0600, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(credentials_json)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def load_credentials(target: Target) -> Any:
    """The target's credentials: a service account (``auth = "service_account"``) or the stored OAuth token."""
    kind = target.choice("auth", "oauth", ("oauth", "service_account"))
    token_uri = target.text("token_uri")
    if kind == "service_account":
        from google.oauth2 import service_account

        key_file = _option_path(target, "key_file")
        if key_file is None:
            raise ProviderError(f'target {target.name!r}: auth = "service_account" needs key_file = "…json"')
        try:
            creds = service_account.Credentials.from_service_account_file(str(key_file), scopes=scopes(target))
        except FileNotFoundError:
            raise ProviderError(f"target {target.name!r}: key_file {key_file} does not exist") from None
        except (ValueError, KeyError) as exc:
            raise ProviderError(
                f"target {target.name!r}: {key_file} is not a service account key ({type(exc).__name__})"
            ) from None
        subject = target.text("subject")
        if subject:
            creds = creds.with_subject(str(subject))
        if token_uri:
            creds = creds.with_token_uri(str(token_uri))
        return creds
    if kind != "oauth":
        raise ProviderError(f'target {target.name!r}: auth must be "oauth" or "service_account", not {kind!r}')
    from google.oauth2.credentials import Credentials

    path = token_path(target)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(f"target {target.name!r} is not authorized yet: run `calsync auth {target.name}`") from None
    except (OSError, ValueError):
        raise ProviderError(
            f"{path} is not a token file calsync can read: run `calsync auth {target.name}` again"
        ) from None
    try:
        # from_authorized_user_info always points token_uri at Google's endpoint (a token file must not be able
        # to send the refresh token elsewhere); only the config's token_uri option can change it.
        creds = Credentials.from_authorized_user_info(info, scopes=info.get("scopes") or scopes(target))
    except ValueError:
        raise ProviderError(
            f"{path} lacks a refresh token or client id: run `calsync auth {target.name}` again"
        ) from None
    if token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(str(token_uri))
        creds.expiry = expiry  # the copy forgets it, and would send an expired token first
    return creds


# The error codes an OAuth token endpoint may answer (RFC 6749 5.2, and 4.1.2.1 for the browser flow). Only these
# are ever repeated: the rest of an answer (its description, its body) may echo a refresh token or a client secret.
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
        "redirect_uri_mismatch",
        "org_internal",
        "admin_policy_enforced",
    }
)


def oauth_error_code(exc: BaseException) -> str | None:
    """The OAuth error code in a failed token request (``invalid_grant``), when it is one of the known codes."""
    candidates: list[object] = [getattr(exc, "error", None)]  # oauthlib's errors
    for arg in exc.args:
        if isinstance(arg, dict):  # google-auth's RefreshError(details, response_data)
            candidates.append(arg.get("error"))
        elif isinstance(arg, str):
            candidates.append(arg.split(":", 1)[0].strip())
    for candidate in candidates:
        if isinstance(candidate, str) and candidate in OAUTH_ERRORS:
            return candidate
    return None


def refresh_error_message(target: Target, exc: Exception) -> str:
    """One sentence for a failed token refresh, saying what to do. Only the OAuth error code is repeated, never
    the text of the answer."""
    code = oauth_error_code(exc)
    said = f"the token endpoint answered {code}" if code else f"{type(exc).__name__}, an answer calsync cannot read"
    if target.option("auth", "oauth") == "service_account":
        if code in ("invalid_grant", "unauthorized_client"):
            return (
                f"target {target.name!r}: Google refused the service account's token request ({code}); with subject "
                "set, the account needs domain-wide delegation for the calendar scope in the Workspace admin console"
            )
        return f"target {target.name!r}: the service account could not get a token ({said}); check key_file"
    if code == "invalid_grant":
        return (
            f"target {target.name!r}: Google says the authorization expired or was revoked (invalid_grant); "
            f'run `calsync auth {target.name}` again. Apps left in "Testing" on the OAuth consent screen get '
            "tokens that expire after 7 days: publish the app to stop that"
        )
    if code in ("invalid_client", "unauthorized_client"):
        return (
            f"target {target.name!r}: Google does not accept the OAuth client stored in the token file ({code}; "
            f"deleted or reset?): download a new Desktop client and run `calsync auth {target.name}`"
        )
    return (
        f"target {target.name!r}: could not refresh the Google token ({said}); try again later, or run "
        f"`calsync auth {target.name}` again"
    )


def read_client_secrets(target: Target) -> dict[str, Any]:
    path = _option_path(target, "client_secrets")
    if path is None:
        raise ProviderError(
            f'target {target.name!r} needs client_secrets = "…/client_secret.json" '
            "(the Desktop OAuth client downloaded from the Google Cloud console)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProviderError(f"client_secrets file {path} does not exist") from None
    except (OSError, ValueError):
        raise ProviderError(f"{path} is not a client secrets JSON file") from None
    if "installed" not in config:
        if "web" in config:
            raise ProviderError(
                f'{path} is a "Web application" OAuth client; calsync needs a "Desktop app" client: '
                "create one under APIs & Services → Credentials and download its JSON"
            )
        raise ProviderError(f'{path} is not an OAuth client secrets file (no "installed" section)')
    return config


def run_flow(target: Target, *, open_browser: bool, echo: Any, port: int = 0, timeout: int | None = 600) -> Path:
    """The installed-app flow: a browser consent, a local redirect, the token stored 0600. Returns its path."""
    config = read_client_secrets(target)
    from google_auth_oauthlib.flow import InstalledAppFlow

    flow = InstalledAppFlow.from_client_config(config, scopes=scopes(target))
    prompt = (
        "Open this URL in a browser (on any machine that can reach this one's port {port}, e.g. through "
        "`ssh -L`), sign in and allow access:\n{url}"
        if not open_browser
        else "Your browser should open; if it does not, open this URL:\n{url}"
    )
    try:
        creds = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=prompt.replace("{port}", str(port or "chosen")),
            success_message="calsync is authorized. You can close this tab.",
            timeout_seconds=timeout,
            # Google returns a refresh token only at the first consent, unless consent is asked again: without
            # this, a second `calsync auth` (a new machine, a lost token file) would get none.
            prompt="consent",
        )
    except Exception as exc:
        raise ProviderError(flow_error_message(target, exc)) from None
    if creds is None or not getattr(creds, "refresh_token", None):
        raise ProviderError(
            "Google returned no refresh token; remove calsync's access at https://myaccount.google.com/permissions "
            f"and run `calsync auth {target.name}` again"
        )
    path = token_path(target)
    write_token(path, creds.to_json())
    echo(f"Stored the token for {target.name!r} in {path}")
    return path


def flow_error_message(target: Target, exc: Exception) -> str:
    """One sentence for a failed browser authorization: the error's kind and OAuth code, never its text (a token
    endpoint's answer may echo the client secret)."""
    code = oauth_error_code(exc)
    text = f"{type(exc).__name__}: {exc}"
    if code == "access_denied" or isinstance(exc, PermissionError) or "AccessDenied" in type(exc).__name__:
        return (
            'Google denied access. If the app\'s consent screen is in "Testing", add your Google account under '
            f"OAuth consent screen → Test users, then run `calsync auth {target.name}` again"
        )
    if code == "redirect_uri_mismatch":
        return 'the OAuth client is not a "Desktop app" client (redirect_uri_mismatch): create a Desktop client'
    if code == "invalid_client":
        return "Google does not know this OAuth client (invalid_client): download the client JSON again"
    if "timed out" in text.lower() or isinstance(exc, TimeoutError) or "NoneType" in text:
        return (
            'no answer from the browser: if Google showed "Access blocked", add your account as a test user '
            f"(OAuth consent screen → Test users) and run `calsync auth {target.name}` again"
        )
    detail = f"{type(exc).__name__}, {code}" if code else type(exc).__name__
    return f"authorization failed ({detail}); run `calsync auth {target.name}` again"
