"""Password resolution for network targets: command, environment, keyring; never the config file."""

from __future__ import annotations

import shlex
import sys

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest

from calsync.errors import ProviderError
from calsync.provider import Target
from calsync.secrets import get_password, keyring_users

PY = sys.executable


def target(**options) -> Target:
    return Target("phone", "caldav", {"url": "https://dav.example/", **options})


def python_command(code: str) -> str:
    return shlex.join([PY, "-c", code])


class DictKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self, entries=None, error: Exception | None = None):
        super().__init__()
        self.entries = dict(entries or {})
        self.error = error
        self.asked: list[tuple[str, str]] = []

    def get_password(self, service, username):
        self.asked.append((service, username))
        if self.error is not None:
            raise self.error
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        self.entries.pop((service, username), None)


@pytest.fixture
def use_keyring():
    previous = keyring.get_keyring()

    def install(backend):
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_real_keyring(use_keyring):
    use_keyring(keyring.backends.fail.Keyring())


# --- the config itself -----------------------------------------------------------------------------------------


def test_a_plain_password_in_the_config_is_refused_without_echoing_it():
    with pytest.raises(ProviderError) as caught:
        get_password(target(password="hunter2", username="me"))
    message = str(caught.value)
    assert "plain passwords are not read from the config" in message
    assert "password_command, password_env or the keyring" in message
    assert "hunter2" not in message


def test_command_and_env_together_are_ambiguous(monkeypatch):
    monkeypatch.setenv("DAV_PW", "x")
    with pytest.raises(ProviderError, match="not both"):
        get_password(target(password_command="echo x", password_env="DAV_PW"))


# --- password_command ----------------------------------------------------------------------------------------


def test_command_first_line_of_stdout():
    command = python_command("print('s3cret pass'); print('user: me')")
    assert get_password(target(password_command=command)) == "s3cret pass"


def test_command_as_a_list_and_crlf():
    command = [PY, "-c", "import sys; sys.stdout.write('abc\\r\\nrest')"]
    assert get_password(target(password_command=command)) == "abc"


def test_command_runs_without_a_shell(monkeypatch):
    monkeypatch.setenv("SHOULD_NOT_EXPAND", "expanded")
    command = python_command("import sys; print(sys.argv[1])") + " '$SHOULD_NOT_EXPAND; echo injected'"
    assert get_password(target(password_command=command)) == "$SHOULD_NOT_EXPAND; echo injected"


def test_command_failure_is_one_line_without_its_output():
    # gpg prints "gpg: decrypted: <the secret>" on stderr: nothing the command printed may be shown.
    command = python_command("import sys; print('s3cret'); sys.stderr.write('decrypted: s3cret\\nx\\n'); sys.exit(3)")
    with pytest.raises(ProviderError) as caught:
        get_password(target(password_command=command))
    message = str(caught.value)
    assert "exit status 3" in message and "run the command yourself" in message
    assert "s3cret" not in message and "decrypted" not in message and "\n" not in message


def test_command_not_found_does_not_repeat_the_command():
    # A password typed where the command belongs must not be printed back.
    with pytest.raises(ProviderError, match="was not found") as caught:
        get_password(target(password_command="hunter2-no-such-program --flag"))
    assert "hunter2" not in str(caught.value)


def test_command_that_prints_nothing():
    with pytest.raises(ProviderError, match="printed no password"):
        get_password(target(password_command=python_command("pass")))


@pytest.mark.parametrize("bad", ["", "   ", [], [1, 2], 42, "'unbalanced"])
def test_command_that_is_not_a_command(bad):
    with pytest.raises(ProviderError, match="password_command"):
        get_password(target(password_command=bad))


# --- password_env -----------------------------------------------------------------------------------------------


def test_env(monkeypatch):
    monkeypatch.setenv("DAV_PW", "from the env")
    assert get_password(target(password_env="DAV_PW")) == "from the env"


def test_env_unset_is_an_error_naming_the_variable(monkeypatch):
    monkeypatch.delenv("DAV_PW", raising=False)
    with pytest.raises(ProviderError, match="DAV_PW is not set"):
        get_password(target(password_env="DAV_PW"))


def test_env_holding_a_password_by_mistake_is_not_repeated(monkeypatch):
    with pytest.raises(ProviderError, match="variable it names is not set") as caught:
        get_password(target(password_env="correct horse battery"))
    assert "horse" not in str(caught.value)


# --- keyring ------------------------------------------------------------------------------------------------------


def test_keyring_with_the_username_first(use_keyring):
    backend = use_keyring(DictKeyring({("calsync", "phone:me"): "specific", ("calsync", "phone"): "general"}))
    assert get_password(target(username="me")) == "specific"
    assert backend.asked == [("calsync", "phone:me")]


def test_keyring_by_target_name(use_keyring):
    backend = use_keyring(DictKeyring({("calsync", "phone"): "general"}))
    assert get_password(target(username="me")) == "general"
    assert backend.asked == [("calsync", "phone:me"), ("calsync", "phone")]
    assert keyring_users("phone", None) == ["phone"]


def test_keyring_without_an_entry_is_none(use_keyring):
    use_keyring(DictKeyring())
    assert get_password(target(username="me")) is None


def test_no_keyring_backend_is_none():
    assert get_password(target(username="me")) is None  # the autouse fixture installs the "fail" backend


def test_a_locked_keyring_is_a_one_line_error(use_keyring):
    use_keyring(DictKeyring(error=keyring.errors.KeyringLocked("locked")))
    with pytest.raises(ProviderError, match="KeyringLocked"):
        get_password(target(username="me"))


def test_keyring_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "keyring", None)
    assert get_password(target(username="me")) is None


def test_command_wins_over_the_keyring(use_keyring):
    backend = use_keyring(DictKeyring({("calsync", "phone"): "from keyring"}))
    assert get_password(target(password_command=python_command("print('cmd')"))) == "cmd"
    assert backend.asked == []
