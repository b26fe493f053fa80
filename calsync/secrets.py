"""Where a target's password comes from: a command, an environment variable or the system keyring.

Never from the config file itself. In order of precedence:

``password_command``
    A program and its arguments (a string split like a shell would, or a list), run without a shell; the first
    line of what it prints is the password. ``pass show calsync/phone``, ``secret-tool lookup calsync phone``,
    ``op read op://Private/dav/password``.
``password_env``
    The name of an environment variable that holds the password.
keyring
    The system keyring (``keyring set calsync TARGET``): service ``calsync``, user ``TARGET:USERNAME`` first,
    then ``TARGET``. A machine with no keyring backend simply has no password there.

Nothing here logs or puts a password into an error message, nor anything a password command printed (``gpg``
may print the secret on stderr), nor the command's words (a password typed where the command belongs): an error
says what failed, with the exit status, and how to find out more.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import TYPE_CHECKING

from calsync.errors import ProviderError

if TYPE_CHECKING:
    from calsync.provider import Target

KEYRING_SERVICE = "calsync"
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # DAV_PW, CALSYNC_PASSWORD: a name, by convention
COMMAND_TIMEOUT_SECONDS = 60

PLAIN_PASSWORD_MESSAGE = (
    "plain passwords are not read from the config: use password_command, password_env or the keyring"
)


def get_password(target: Target) -> str | None:
    """The target's password, or None when none is configured and the keyring has none.

    :raises ProviderError: a ``password`` key in the config, a failing ``password_command``, a ``password_env``
        naming an unset variable, or a keyring that exists but fails (locked, for example).
    """
    options = target.options
    if "password" in options:
        raise ProviderError(f"target {target.name}: {PLAIN_PASSWORD_MESSAGE}")
    command = options.get("password_command")
    env_name = options.get("password_env")
    if command is not None and env_name is not None:
        raise ProviderError(f"target {target.name}: set password_command or password_env, not both")
    if command is not None:
        return _from_command(target.name, command)
    if env_name is not None:
        return _from_env(target.name, env_name)
    return _from_keyring(target.name, options.get("username"))


def keyring_users(target_name: str, username: str | None) -> list[str]:
    """The keyring user names looked up for a target, most specific first."""
    users = [f"{target_name}:{username}"] if username else []
    users.append(target_name)
    return users


def _from_command(target_name: str, command: object) -> str:
    if isinstance(command, str):
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise ProviderError(f"target {target_name}: password_command: cannot split it: {exc}") from None
    elif isinstance(command, list) and all(isinstance(part, str) for part in command):
        argv = list(command)
    else:
        raise ProviderError(f"target {target_name}: password_command must be a string or a list of strings")
    if not argv or any("\0" in part for part in argv):
        raise ProviderError(f"target {target_name}: password_command is empty or holds a NUL character")
    where = f"target {target_name}: password_command"
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise ProviderError(f"{where}: its program (the first word) was not found; check the command") from None
    except PermissionError:
        raise ProviderError(f"{where}: its program (the first word) may not be run (permissions)") from None
    except subprocess.TimeoutExpired:
        limit = COMMAND_TIMEOUT_SECONDS
        raise ProviderError(f"{where}: did not finish within {limit} s (is it asking for input?)") from None
    except (OSError, ValueError) as exc:
        raise ProviderError(f"{where}: cannot be run ({type(exc).__name__})") from None
    if done.returncode != 0:
        # What it printed is not shown: a decrypting tool may print the secret itself (gpg's "decrypted: ...").
        status = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        raise ProviderError(f"{where}: failed with {status}; run the command yourself to see why")
    password = _first_line(done.stdout.decode("utf-8", "replace"), strip=False)
    if not password:
        raise ProviderError(f"{where}: printed no password on its first line")
    return password


def _from_env(target_name: str, env_name: object) -> str:
    if not isinstance(env_name, str) or not env_name:
        raise ProviderError(f"target {target_name}: password_env must name an environment variable")
    value = os.environ.get(env_name) if "\0" not in env_name and "=" not in env_name else None
    if not value:
        # The name is repeated only when it looks like one (DAV_PASSWORD): a password put there by mistake is not.
        name = env_name if _ENV_NAME.fullmatch(env_name) else "it names"
        raise ProviderError(f"target {target_name}: password_env: the environment variable {name} is not set")
    return value


def _from_keyring(target_name: str, username: object) -> str | None:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        return None
    for user in keyring_users(target_name, username if isinstance(username, str) else None):
        try:
            password = keyring.get_password(KEYRING_SERVICE, user)
        except keyring.errors.NoKeyringError:
            return None
        except keyring.errors.KeyringError as exc:
            raise ProviderError(
                f"target {target_name}: the system keyring failed ({type(exc).__name__}): unlock it, or use "
                "password_command or password_env"
            ) from None
        if password:
            return password
    return None


def _first_line(text: str, *, strip: bool = True) -> str:
    line = text.split("\n", 1)[0].rstrip("\r")
    return line.strip() if strip else line
