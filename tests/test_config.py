"""The config file: where it is, what it holds, and that a missing one means defaults."""

from __future__ import annotations

import dataclasses
from datetime import time
from pathlib import Path

import pytest

from calsync import paths
from calsync.config import load_config
from calsync.errors import InputError
from calsync.model import Policy


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """The platform dirs point into tmp_path; no CALSYNC_CONFIG; a known local zone."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    monkeypatch.setenv("TZ", "Europe/Berlin")
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_config_means_defaults(tmp_path):
    config = load_config()
    assert config.path is None
    assert config.policy == Policy()
    assert config.timezone == "Europe/Berlin"  # the machine's zone
    assert config.country is None
    assert config.targets == {}
    assert config.interviews_file == tmp_path / "xdg_data_home" / "calsync" / "interviews.toml"


def test_the_config_lives_in_the_platforms_config_dir(tmp_path):
    path = write(tmp_path / "xdg_config_home" / "calsync" / "config.toml", 'timezone = "Asia/Tokyo"\n')
    assert paths.config_file() == path
    config = load_config()
    assert config.path == path and config.timezone == "Asia/Tokyo"


def test_calsync_config_overrides_the_platform_dir(tmp_path, monkeypatch):
    write(tmp_path / "xdg_config_home" / "calsync" / "config.toml", 'timezone = "Asia/Tokyo"\n')
    other = write(tmp_path / "other.toml", 'timezone = "America/Chicago"\n')
    monkeypatch.setenv("CALSYNC_CONFIG", str(other))
    assert load_config().timezone == "America/Chicago"


def test_an_explicit_path_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("CALSYNC_CONFIG", str(write(tmp_path / "env.toml", 'timezone = "Asia/Tokyo"\n')))
    assert load_config(write(tmp_path / "explicit.toml", 'country = "FR"\n')).country == "FR"


def test_settings(tmp_path):
    path = write(
        tmp_path / "cfg" / "config.toml",
        'timezone = "America/Chicago"\ncountry = "US"\nsubdivision = "CA"\ninterviews = "jobs/interviews.toml"\n',
    )
    config = load_config(path)
    assert (config.timezone, config.country, config.subdivision) == ("America/Chicago", "US", "CA")
    assert config.interviews_file == tmp_path / "cfg" / "jobs" / "interviews.toml"  # relative to the config


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path / "c.toml", 'interviews = "~/interviews.toml"\n'))
    assert config.interviews_file == tmp_path / "home" / "interviews.toml"


@pytest.mark.parametrize(
    "field", [f for f in dataclasses.fields(Policy) if f.name not in ("send_time", "alarms")], ids=lambda f: f.name
)
def test_every_number_of_the_policy_can_be_overridden(tmp_path, field):
    value = field.default + 3
    config = load_config(write(tmp_path / "c.toml", f"[policy]\n{field.name} = {value}\n"))
    assert getattr(config.policy, field.name) == value
    assert dataclasses.replace(config.policy, **{field.name: field.default}) == Policy()


@pytest.mark.parametrize("written", ['"09:30"', "09:30:00"])
def test_send_time(tmp_path, written):
    config = load_config(write(tmp_path / "c.toml", f"[policy]\nsend_time = {written}\n"))
    assert config.policy.send_time == time(9, 30)


def test_targets(tmp_path):
    text = (
        '[targets.phone]\nprovider = "caldav"\nurl = "https://dav.example/"\n'
        '[targets.files]\nprovider = "vdir"\npath = "cal"\n'
    )
    config = load_config(write(tmp_path / "c.toml", text))
    assert sorted(config.targets) == ["files", "phone"]
    phone = config.target("phone")
    assert phone.provider == "caldav"
    assert phone.option("url") == "https://dav.example/"
    assert config.target("files").option("path") == str(tmp_path / "cal")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('timezone = "Mars/Olympus"\n', 1, ["timezone", "Mars/Olympus"]),
        ('country = "US"\nfoo = 1\n', 2, ["foo"]),
        ("[policy]\nretries = -1\n", 2, ["policy.retries"]),
        ('[policy]\nretries = "two"\n', 2, ["policy.retries"]),
        ("[policy]\nretries = true\n", 2, ["policy.retries"]),
        ('[policy]\nsend_time = "noon"\n', 2, ["send_time", "noon"]),
        ("\n[policy]\nfrequency = 3\n", 3, ["policy.frequency"]),
        ('[targets.x]\nurl = "u"\n', 1, ["targets.x", "provider"]),
        ('[targets.x]\nprovider = "caldav"\npassword = "hunter2"\n', 3, ["password"]),
        ('timezone = "UTC"\ncountry = \n', 2, ["invalid TOML"]),
    ],
)
def test_errors_say_where(tmp_path, text, line, words):
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(InputError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message
    assert "hunter2" not in message


def test_an_unreadable_config_names_the_path(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b'country = "\xff"\n')
    with pytest.raises(InputError, match="UTF-8") as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:1: ")


def test_local_zone_falls_back_to_a_real_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Nowhere/Special")
    from calsync.zones import zone_named

    assert zone_named(paths.local_zone_name()) is not None
