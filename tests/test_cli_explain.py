"""``calsync explain``: how a phrase is read, as the user sees it and as JSON."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from calsync.cli import cli


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Its own (empty) platform dirs and no CALSYNC_CONFIG: the config's defaults."""
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    return dict(os.environ)


def explain(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["explain", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_words_used_ignored_and_the_date():
    out = explain("Within ten days, two weeks at the latest", "--on", "2026-11-20", "--country", "US")
    assert out["date"] == "2026-12-04"
    assert out["understood"] is True
    assert out["rule"] == "amount of time"
    assert [(p["words"], p["date"]) for p in out["used"]] == [("10 days", "2026-11-30"), ("2 weeks", "2026-12-04")]
    assert out["ignored"] == ["within"]
    assert out["unknown"] == []


def test_a_modifier_and_a_holiday_of_the_country():
    out = explain("after Boxing Day", "--on", "2026-12-01", "--country", "GB")
    assert out["date"] == "2026-12-29"
    assert out["used"] == [{"words": "after boxing day", "rule": "holiday", "modifier": "after", "date": "2026-12-29"}]
    # Without that country's table, Boxing Day is not known.
    assert explain("after Boxing Day", "--on", "2026-12-01", "--country", "US")["date"] is None


def test_a_phrase_not_understood_names_its_words():
    out = explain("after the board meeting, maybe longer", "--on", "2026-11-20", "--country", "US")
    assert out["date"] is None and out["understood"] is False
    assert out["unknown"] == ["after", "longer"]
    assert "board" in out["ignored"]


def test_the_zone_gives_today_and_the_hours():
    # Without --on, the date is today's in --tz; the output says which day was used.
    out = explain("tomorrow", "--tz", "Pacific/Kiritimati")
    assert out["timezone"] == "Pacific/Kiritimati"
    assert out["date"] > out["on"]


def test_the_text_form_says_what_fired():
    result = CliRunner().invoke(cli, ["explain", "the week of December 14", "--on", "2026-11-20", "--country", "US"])
    assert result.exit_code == 0
    assert "'the week of december 14' -> month and day (the week of): 2026-12-18" in result.output
    assert "D:          2026-12-18 (Friday" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--on", "20/11/2026"], "--on"), (["--tz", "Mars/Olympus"], "--tz"), (["--country", "XX"], "XX")],
)
def test_bad_options_are_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(cli, ["explain", "in a week", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
