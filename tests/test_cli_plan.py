"""``calsync plan``: the table, the JSON, the config, and one clear line (exit 2, no traceback) for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from calsync.cli import cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"
CALSYNC = Path(sys.executable).parent / "calsync"
JSON_KEYS = {"interview", "kind", "recipient", "medium", "due", "deadline", "assumed", "status", "uid"}


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """An environment with its own (empty) platform dirs and no CALSYNC_CONFIG."""
    values = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
        "TZ": "UTC",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CALSYNC_CONFIG", raising=False)
    return {key: value for key, value in os.environ.items() if key != "CALSYNC_CONFIG"}


@pytest.fixture
def example(tmp_path) -> Path:
    path = tmp_path / "interviews.toml"
    path.write_bytes(EXAMPLE.read_bytes())
    return path


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def plan_json(*args: str) -> list[dict]:
    result = invoke("plan", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def calsync(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CALSYNC), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


# --- output ----------------------------------------------------------------------------------------------------


def test_json_of_the_worked_example(env, example):
    rows = plan_json("--file", str(example))
    assert all(set(row) >= JSON_KEYS for row in rows)
    acme = [row for row in rows if row["interview"] == "acme-staff"]
    by_kind = {}
    for row in acme:
        by_kind.setdefault(row["kind"], []).append(row)
    assert [r["due"] for r in by_kind["closing"]] == ["2026-11-20T13:30:00-06:00"]
    assert by_kind["closing"][0]["recipient"] is None
    assert sorted((r["recipient"], r["due"]) for r in by_kind["thank_you"]) == [
        ("Dana Smith", "2026-11-20T16:00:00-06:00"),
        ("Lee Park", "2026-11-20T16:00:00-06:00"),
    ]
    (check_in,) = by_kind["check_in"]
    assert check_in["due"] == "2026-11-30T10:00:00-05:00"  # Dana's zone, New York
    assert (check_in["recipient"], check_in["medium"], check_in["deadline"]) == ("Dana Smith", "email", "2026-11-27")
    assert check_in["assumed"] is False and check_in["status"] == "planned"
    (retry,) = by_kind["retry"]
    assert retry["due"] == "2026-12-03T10:00:00-05:00"
    assert set(by_kind) == {"closing", "thank_you", "check_in", "retry"}


def test_the_example_extension_moves_the_check_in(env, example):
    rows = [row for row in plan_json("--file", str(example)) if row["interview"] == "globex-sre"]
    check_in = next(row for row in rows if row["kind"] == "check_in")
    assert check_in["due"] == "2026-12-11T10:00:00+01:00" and check_in["deadline"] == "2026-12-09"
    assert check_in["medium"] == "phone" and check_in["recipient"] == "Jonas Weber"


def test_json_values_are_of_the_documented_kinds(env, example):
    for row in plan_json("--file", str(example)):
        assert row["kind"] in {"closing", "thank_you", "check_in", "retry", "feedback_request"}
        assert row["status"] in {"planned", "cancelled"}
        assert isinstance(row["assumed"], bool)
        assert row["due"][-6] in "+-" and row["due"][-3] == ":"  # an explicit UTC offset
        assert len(row["uid"].encode()) < 255


def test_cancelled_items_are_listed(env, tmp_path):
    path = tmp_path / "i.toml"
    path.write_text(
        EXAMPLE.read_text() + '\n[[interviews]]\nid = "initech"\ncompany = "Initech"\nstart = 2026-11-16T09:00:00\n'
        'timezone = "America/New_York"\ndecision_by = 2026-11-18\ncountry = "US"\n'
        '[[interviews.interviewers]]\nname = "Bill"\nemail = "bill@initech.example"\n'
        '[[interviews.events]]\ndate = 2026-11-19\nkind = "rejected"\n',
        encoding="utf-8",
    )
    rows = [row for row in plan_json("--file", str(path)) if row["interview"] == "initech"]
    statuses = {row["kind"]: row["status"] for row in rows}
    assert statuses["check_in"] == statuses["retry"] == "cancelled"
    assert statuses["feedback_request"] == "planned"
    feedback = next(row for row in rows if row["kind"] == "feedback_request")
    assert feedback["due"] == "2026-11-20T10:00:00-05:00"


def test_table_is_sorted_by_due_time(env, example):
    result = invoke("plan", "--file", str(example))
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert "DUE" in lines[0] and len(lines) == 10
    rows = plan_json("--file", str(example))
    # The table's rows follow the JSON's, which are in due order (as instants).
    moments = [datetime.fromisoformat(row["due"]) for row in rows]
    assert moments == sorted(moments)
    for line, row in zip(lines[1:], rows, strict=True):
        assert row["interview"] in line
        assert datetime.fromisoformat(row["due"]).strftime("%Y-%m-%d %H:%M") in line
    assert "Mon 2026-11-30 10:00" in result.stdout and "Dana Smith" in result.stdout


def test_an_assumed_deadline_warns_on_stderr(env, tmp_path):
    path = tmp_path / "i.toml"
    path.write_text('[[interviews]]\nid = "x"\ncompany = "X"\nstart = 2026-11-20T14:00:00\n', encoding="utf-8")
    result = invoke("plan", "--json", "--file", str(path))
    assert result.exit_code == 0
    assert "warning" in result.stderr and "'x'" in result.stderr and "2026-11-27" in result.stderr
    assert {row["assumed"] for row in json.loads(result.stdout)} == {True}


def test_plan_changes_nothing_the_user_wrote(env, example, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'interviews = "{example}"\ntimezone = "Europe/Paris"\n', encoding="utf-8")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (example, config)}
    for args in (["plan"], ["plan", "--json"]):
        done = calsync("--config", str(config), *args, env=env)
        assert done.returncode == 0, done.stderr
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (example, config)} == before


# --- config --------------------------------------------------------------------------------------------------


def write_interview_without_zone(tmp_path: Path) -> Path:
    path = tmp_path / "nozone.toml"
    path.write_text(
        '[[interviews]]\nid = "x"\ncompany = "X"\nstart = 2026-12-21T09:00:00\ndecision_by = 2026-12-23\n'
        '[[interviews.interviewers]]\nname = "Ann"\n',
        encoding="utf-8",
    )
    return path


def test_config_defaults_and_policy_reach_the_plan(env, tmp_path):
    interviews = write_interview_without_zone(tmp_path)
    config = tmp_path / "cfg.toml"
    config.write_text(
        f'timezone = "Europe/London"\ncountry = "GB"\ninterviews = "{interviews.name}"\n'
        '[policy]\nsend_time = "09:15"\nretries = 2\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "plan", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = {(row["kind"], row.get("attempt", 0)): row for row in json.loads(result.stdout)}
    # D + 2 = Fri 12-25: Christmas and Boxing Day (observed Mon 12-28) are GB holidays: Tue 12-29.
    assert rows[("check_in", 0)]["due"] == "2026-12-29T09:15:00+00:00"
    assert len([key for key in rows if key[0] == "retry"]) == 2


def test_calsync_config_variable(env, tmp_path):
    interviews = write_interview_without_zone(tmp_path)
    config = tmp_path / "cfg.toml"
    config.write_text('timezone = "Asia/Tokyo"\ncountry = "JP"\n', encoding="utf-8")
    done = calsync("plan", "--json", "--file", str(interviews), env={**env, "CALSYNC_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    closing = next(row for row in json.loads(done.stdout) if row["kind"] == "closing")
    assert closing["due"] == "2026-12-21T08:30:00+09:00"
    # --config wins over the variable.
    other = tmp_path / "other.toml"
    other.write_text('timezone = "America/Chicago"\n', encoding="utf-8")
    done = calsync(
        "--config", str(other), "plan", "--json", "--file", str(interviews), env={**env, "CALSYNC_CONFIG": str(config)}
    )
    closing = next(row for row in json.loads(done.stdout) if row["kind"] == "closing")
    assert closing["due"] == "2026-12-21T08:30:00-06:00"


def test_the_config_in_the_platform_dir_is_read(env, tmp_path):
    interviews = write_interview_without_zone(tmp_path)
    (tmp_path / "config" / "calsync").mkdir(parents=True)
    (tmp_path / "config" / "calsync" / "config.toml").write_text(
        f'interviews = "{interviews}"\ntimezone = "Asia/Tokyo"\n'
    )
    done = calsync("plan", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["due"].endswith("+09:00")


# --- bad input: one line, exit 2, no traceback ---------------------------------------------------------------

GOOD = '[[interviews]]\nid = "acme"\ncompany = "Acme"\nstart = 2026-11-20T14:00:00\ntimezone = "America/Chicago"\n'

BAD_FILES = {
    "toml": (GOOD + 'role = "unterminated\n', 6, []),
    "zone": (GOOD.replace("America/Chicago", "America/Atlantis"), 5, ["'acme'", "timezone", "America/Atlantis"]),
    "end": (GOOD + "end = 2026-11-20T13:00:00\n", 6, ["'acme'", "end"]),
    "kind": (GOOD + '[[interviews.events]]\ndate = 2026-11-25\nkind = "ghosted"\n', 8, ["'acme'", "kind", "ghosted"]),
    "extended": (
        GOOD + '[[interviews.events]]\ndate = 2026-11-25\nkind = "extended"\n',
        None,
        ["'acme'", "decision_by"],
    ),
    "duplicate": (GOOD + GOOD, 7, ["'acme'", "id", "duplicate"]),
    "country": (GOOD + 'country = "Atlantis"\n', 6, ["'acme'", "country"]),
}


def assert_one_clear_line(done: subprocess.CompletedProcess, prefix: str, words: list[str]) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"calsync: error: {prefix}"), lines[0]
    for word in words:
        assert word in lines[0]
    assert done.stdout == ""


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_interview_file(env, tmp_path, case):
    text, line, words = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    done = calsync("plan", "--file", str(path), env=env)
    assert_one_clear_line(done, f"{path}:{line}: " if line else f"{path}:", words)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_missing_interview_file(env, tmp_path):
    path = tmp_path / "missing.toml"
    assert_one_clear_line(calsync("plan", "--file", str(path), env=env), f"{path}: ", ["not found"])


def test_interview_file_not_utf8(env, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(GOOD.replace('"Acme"', '"Caf\xe9"').encode("latin-1"))
    assert_one_clear_line(calsync("plan", "--file", str(path), env=env), f"{path}:3: ", ["UTF-8"])


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("timezone = \n", 1, ["invalid TOML"]),
        ('timezone = "Mars/Base"\n', 1, ["timezone", "Mars/Base"]),
        ("[policy]\nretries = -2\n", 2, ["retries"]),
    ],
)
def test_bad_config(env, tmp_path, example, text, line, words):
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    done = calsync("--config", str(config), "plan", "--file", str(example), env=env)
    assert_one_clear_line(done, f"{config}:{line}: ", words)


def test_config_named_but_missing(env, tmp_path, example):
    config = tmp_path / "nope.toml"
    done = calsync("--config", str(config), "plan", "--file", str(example), env=env)
    assert_one_clear_line(done, f"{config}: ", ["not found"])
