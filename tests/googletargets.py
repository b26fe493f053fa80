"""Google targets for tests: an OAuth token the local emulator accepts, and a target that points at the emulator.

A module of its own (not a test module) so that tests of other modules import it at the top: importing a test
module from inside a Hypothesis test would run its ``@given`` decorators there, which Hypothesis refuses.
"""

from __future__ import annotations

from pathlib import Path

from filetargets import Workspace

from calsync.provider import Target
from calsync_google.auth import write_token


def write_oauth_token(path: Path, emulator, *, token="test-access-token", refresh="test-refresh-token", expiry=None):
    from google.oauth2.credentials import Credentials

    creds = Credentials(
        token=token,
        refresh_token=refresh,
        token_uri=emulator.url + "token",
        client_id="test-client",
        client_secret="test-secret",
        expiry=expiry,
    )
    write_token(path, creds.to_json())


def make_target(emulator, tmp_path: Path, **options) -> Target:
    token = tmp_path / "google-g.json"
    if not token.exists():
        write_oauth_token(token, emulator)
    opts = {
        "api_endpoint": emulator.url,
        "token_file": str(token),
        "token_uri": emulator.url + "token",
        "backoff_base": 0.001,
        **options,
    }
    return Target("g", "google", opts, state_dir=tmp_path)


def google_workspace(emulator, root: Path, extra: str = "") -> Workspace:
    """A :class:`filetargets.Workspace` whose one target, ``g``, is the emulator's primary calendar, signed in with
    the token ``workspace.token`` (``extra``: more options of the target)."""
    token = root / "google-g.json"
    write_oauth_token(token, emulator)
    workspace = Workspace(
        root,
        f'[targets.g]\nprovider = "google"\napi_endpoint = "{emulator.url}"\ntoken_file = "{token}"\n'
        f'token_uri = "{emulator.url}token"\n{extra}',
    )
    workspace.token = token
    return workspace
