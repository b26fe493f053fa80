"""Secrets never echoed: known secret strings are fed through every error path that could carry one (a failing
password command, a password put where a command or a variable name belongs, a server refusing the password, a
token endpoint or an API repeating what it was sent), and every stream of the real ``calsync`` process and every
file it wrote is searched for them."""

from __future__ import annotations

import shlex
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from filetargets import BASE_INTERVIEW, run_cli

PASSWORD = "Pw-SECRET-0xC0FFEE-7781"
REFRESH = "1//0g-SECRET-refresh-93ab17"
CLIENT_SECRET = "GOCSPX-SECRET-client-55de"
ACCESS = "ya29.SECRET-access-4410fe"
SECRETS = (PASSWORD, REFRESH, CLIENT_SECRET, ACCESS)


def _python(code: str) -> str:
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def _workspace(root: Path, target: str) -> Path:
    interviews = root / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    config = root / "config.toml"
    config.write_text(
        f'timezone = "America/Chicago"\ninterviews = "{interviews}"\nstate_dir = "{root / "state"}"\n\n{target}'
    )
    return config


def _written_files(root: Path, allowed: set[Path]) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and path not in allowed]


def assert_no_secret(done, root: Path, allowed: set[Path] = frozenset()) -> None:
    """No secret on stdout or stderr, nor in any file under ``root`` but those the test wrote holding one."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line says what failed
    for secret in SECRETS:
        for fragment in (secret, secret[-12:]):  # nor a recognisable part of one
            assert fragment not in done.stdout and fragment not in done.stderr, (fragment, done.stderr)
            for path in _written_files(root, set(allowed)):
                assert fragment.encode() not in path.read_bytes(), (fragment, path)


# --- password commands and variables -------------------------------------------------------------------------

CALDAV = '[targets.dav]\nprovider = "caldav"\nurl = "http://127.0.0.1:9/"\nusername = "me"\n'

# The command gets the secret from where a vault would (here an environment variable), so the config holds none.
FAILING_COMMANDS = {
    # gpg prints "gpg: decrypted ..." with the secret on stderr, then fails
    "secret on stderr": "import os, sys; sys.stderr.write('gpg: decrypted: ' + os.environ['V'] + '\\n'); sys.exit(2)",
    "secret on stdout, then failure": "import os, sys; print(os.environ['V']); sys.exit(1)",
    "secret on both, killed": "import os, sys; print(os.environ['V']); sys.stderr.write(os.environ['V']); os.abort()",
    "secret on stderr, no password on stdout": "import os, sys; sys.stderr.write(os.environ['V']); print('')",
}


@pytest.mark.parametrize("code", FAILING_COMMANDS.values(), ids=FAILING_COMMANDS.keys())
def test_a_failing_password_command_is_not_echoed(tmp_path, code):
    config = _workspace(tmp_path, CALDAV + f"password_command = {_toml(_python(code))}\n")
    done = run_cli("--config", str(config), "sync", "dav", env={"V": PASSWORD})
    assert "password_command" in done.stderr
    assert_no_secret(done, tmp_path)


def test_a_password_typed_where_the_command_belongs_is_not_echoed(tmp_path):
    config = _workspace(tmp_path, CALDAV + f'password_command = "{PASSWORD} --no-such-flag"\n')
    done = run_cli("--config", str(config), "sync", "dav")
    assert "was not found" in done.stderr
    assert_no_secret(done, tmp_path, {config})


def test_a_password_typed_where_the_variable_name_belongs_is_not_echoed(tmp_path):
    config = _workspace(tmp_path, CALDAV + f'password_env = "{PASSWORD}"\n')
    done = run_cli("--config", str(config), "sync", "dav")
    assert "password_env" in done.stderr
    assert_no_secret(done, tmp_path, {config})


def test_a_password_the_server_refuses_is_not_echoed(tmp_path, radicale_server):
    target = (
        f'[targets.dav]\nprovider = "caldav"\nurl = "{radicale_server.url}"\nusername = "{radicale_server.username}"'
        '\npassword_env = "CALSYNC_SECRET_TEST_PW"\n'
    )
    config = _workspace(tmp_path, target)
    done = run_cli("--config", str(config), "sync", "dav", env={"CALSYNC_SECRET_TEST_PW": PASSWORD})
    assert_no_secret(done, tmp_path)


# --- Google: the token endpoint and the API --------------------------------------------------------------------


def _google(tmp_path: Path, emulator, *, expired: bool) -> tuple[Path, Path]:
    from google.oauth2.credentials import Credentials

    from calsync_google.auth import write_token

    token = tmp_path / "token.json"
    expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=-1 if expired else 1)
    creds = Credentials(
        token=ACCESS,
        refresh_token=REFRESH,
        token_uri=emulator.url + "token",
        client_id="test-client",
        client_secret=CLIENT_SECRET,
        expiry=expiry,
    )
    write_token(token, creds.to_json())
    emulator.refresh_tokens[REFRESH] = "test-client"
    emulator.access_tokens.add(ACCESS)
    target = (
        f'[targets.g]\nprovider = "google"\napi_endpoint = "{emulator.url}"\ntoken_file = "{token}"\n'
        f'token_uri = "{emulator.url}token"\nbackoff_base = 0.001\nmax_retries = 1\n'
    )
    return _workspace(tmp_path, target), token


@pytest.mark.parametrize("misbehaviour", ["echo_json", "echo_text", "echo_code"])
def test_a_token_endpoint_repeating_the_request_is_not_echoed(tmp_path, google_emulator, misbehaviour):
    config, token = _google(tmp_path, google_emulator, expired=True)
    google_emulator.token_misbehaviour = misbehaviour
    done = run_cli("--config", str(config), "sync", "g")
    assert google_emulator.token_requests, "the refresh went to the emulator"
    assert REFRESH in google_emulator.token_requests[0].values()  # the endpoint did get the secrets...
    assert "token" in done.stderr
    assert_no_secret(done, tmp_path, {token})  # ...and calsync printed none of what it answered


def test_an_api_repeating_the_authorization_header_is_not_echoed(tmp_path, google_emulator):
    config, token = _google(tmp_path, google_emulator, expired=False)
    google_emulator.api_misbehaviour = "echo_auth"
    done = run_cli("--config", str(config), "sync", "g")
    assert google_emulator.log, "the API was called"
    assert_no_secret(done, tmp_path, {token})


def test_the_token_endpoint_still_works_when_it_behaves(tmp_path, google_emulator):
    """The same setup, without misbehaviour, syncs: the tests above fail for the reason they say."""
    config, token = _google(tmp_path, google_emulator, expired=True)
    done = run_cli("--config", str(config), "sync", "g")
    assert done.returncode == 0, done.stderr
    assert google_emulator.events()
    for path in _written_files(tmp_path, {token}):
        assert REFRESH.encode() not in path.read_bytes() and CLIENT_SECRET.encode() not in path.read_bytes()


def _toml(text: str) -> str:
    """A TOML literal string for ``text`` (basic string with escapes)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
