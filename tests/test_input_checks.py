"""Every input checked before use: dates in range, [policy] numbers bounded, config values type- and range-checked,
TOML refused above a size and a nesting limit before parsing, messages one line of a readable length. Each bad
input is one line on stderr naming ``path:line`` and the field, exit status 2, no traceback."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from filetargets import BASE_INTERVIEW

from calsync.cli import cli
from calsync.config import POLICY_LIMITS
from calsync.tomlfile import MAX_BYTES, MAX_DEPTH


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def refused(result, path: Path, line: int | None, *words: str) -> str:
    """The result is one error line naming ``path:line`` (or ``path``) and ``words``; exit status 2."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    errors = [text for text in result.stderr.splitlines() if text.startswith("calsync: error:")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.stderr
    where = f"{path}:{line}: " if line else f"{path}: "
    assert errors[0].startswith(f"calsync: error: {where}"), (errors[0], where)
    for word in words:
        assert word in errors[0], (word, errors[0])
    return errors[0]


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- interview dates ---------------------------------------------------------------------------------------------

INTERVIEW = """[[interviews]]
id = "acme"
company = "Acme"
start = {start}
decision_by = {decision_by}
timezone = "America/Chicago"

[[interviews.events]]
date = {event}
kind = "extended"
decision_by = {event_decision}
"""
GOOD = {
    "start": "2026-11-20T14:00:00",
    "decision_by": "2026-11-27",
    "event": "2026-11-25",
    "event_decision": "2026-12-04",
}


@pytest.mark.parametrize("year", ["9999", "0999", "0001", "1899", "2201"])
@pytest.mark.parametrize("field", list(GOOD))
def test_a_date_out_of_range_is_one_line_with_its_line_and_field(tmp_path, field, year):
    values = dict(GOOD)
    values[field] = year + values[field][4:]
    text = INTERVIEW.format(**values)
    path = tmp_path / "interviews.toml"
    path.write_text(text)
    key = {"event": "date", "event_decision": "decision_by", "start": "start", "decision_by": "decision_by"}[field]
    line = line_of(text, values[field])
    for command in ("plan", "export"):
        refused(run(command, "-f", str(path)), path, line, f"{key}:", f"year {int(year)}", "1900 to 2200")


@pytest.mark.parametrize("start", ["1900-01-01T00:00:00", "2200-12-31T23:00:00"])
def test_the_edges_of_the_range_export_valid_icalendar(tmp_path, start):
    import icalendar

    path = tmp_path / "interviews.toml"
    path.write_text(f'[[interviews]]\nid = "edge"\ncompany = "Edge"\nstart = {start}\ntimezone = "Europe/Berlin"\n')
    result = run("export", "-f", str(path))
    assert result.exit_code == 0, result.output
    calendar = icalendar.Calendar.from_ical(result.stdout_bytes)
    starts = [c.decoded("DTSTART") for c in calendar.walk("VEVENT")]
    assert starts and all(1899 <= moment.year <= 2201 for moment in starts)  # closing prep: before the start
    assert re.findall(rb"DTSTART[^:]*:(\d{8})", result.stdout_bytes)  # eight digits: a four-digit year


# --- [policy] ---------------------------------------------------------------------------------------------------


@pytest.fixture
def interviews(tmp_path) -> Path:
    path = tmp_path / "interviews.toml"
    path.write_text(BASE_INTERVIEW)
    return path


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'timezone = "America/Chicago"\nstate_dir = "{tmp_path / "state"}"\n{text}')
    return path


@pytest.mark.parametrize("value", ["high+1", "-1", "10**30", '"3"', "1.5", "true"])
@pytest.mark.parametrize("key", sorted(POLICY_LIMITS))
def test_a_policy_number_out_of_bounds_is_refused(tmp_path, interviews, key, value):
    value = str(POLICY_LIMITS[key] + 1) if value == "high+1" else str(eval(value)) if "**" in value else value
    path = config(tmp_path, f'\n[policy]\nsend_time = "09:00"\n{key} = {value}\n')
    refused(run("--config", str(path), "plan", "-f", str(interviews)), path, 6, f"policy.{key}", "0 to")


@pytest.mark.parametrize("key", sorted(POLICY_LIMITS))
def test_every_policy_number_at_its_bound_exports(tmp_path, interviews, key):
    path = config(tmp_path, f"\n[policy]\n{key} = {POLICY_LIMITS[key]}\n")
    result = run("--config", str(path), "export", "-f", str(interviews))
    assert result.exit_code == 0, result.output


# --- config values ------------------------------------------------------------------------------------------------

BAD_OPTIONS = {
    "timeout as text": ('provider = "caldav"\nurl = "https://dav.example.com/"\ntimeout = "30s"', "timeout"),
    "timeout out of range": ('provider = "caldav"\nurl = "https://dav.example.com/"\ntimeout = 1e12', "timeout"),
    "timeout not a number": ('provider = "caldav"\nurl = "https://dav.example.com/"\ntimeout = nan', "timeout"),
    "path as a number": ('provider = "ics"\npath = 1', "path"),
    "path as a table": ('provider = "vdir"\npath = {a = 1}', "path"),
    "NUL in a path": ('provider = "ics"\npath = "cal\\u0000.ics"', "path"),
    "empty path": ('provider = "vdir"\npath = ""', "path"),
    "unknown user": ('provider = "ics"\npath = "~nouser-calsync-test/cal.ics"', "path"),
    "url unbalanced": ('provider = "caldav"\nurl = "http://[::1"', "url"),
    "url bad port": ('provider = "caldav"\nurl = "https://dav.example.com:99999/"', "url"),
    "url with a space": ('provider = "caldav"\nurl = "https://dav example.com/"', "url"),
    "url not http": ('provider = "caldav"\nurl = "ftp://dav.example.com/"', "url"),
    "url a number": ('provider = "caldav"\nurl = 8080', "url"),
    "api endpoint": ('provider = "google"\napi_endpoint = "http://exa mple/"', "api_endpoint"),
    "CRLF in an ics name": ('provider = "ics"\npath = "c.ics"\nname = "Jobs\\r\\nX-INJECTED:1"', "name"),
    "NUL in an ics name": ('provider = "ics"\npath = "c.ics"\nname = "Jobs\\u0000"', "name"),
    "name as a list": ('provider = "ics"\npath = "c.ics"\nname = ["a"]', "name"),
    "overwrite as text": ('provider = "ics"\npath = "c.ics"\noverwrite = "yes"', "overwrite"),
    "component unknown": ('provider = "vdir"\npath = "cal"\ncomponent = "journal"', "component"),
    "component a number": ('provider = "vdir"\npath = "cal"\ncomponent = 1', "component"),
    "cancelled unknown": ('provider = "vdir"\npath = "cal"\ncancelled = "purge"', "cancelled"),
    "alarm negative": ('provider = "vdir"\npath = "cal"\nalarm_minutes = -5', "alarm_minutes"),
    "alarm huge": ('provider = "vdir"\npath = "cal"\nalarm_minutes = 99999999999', "alarm_minutes"),
    "create as text": ('provider = "caldav"\nurl = "https://dav.example.com/"\ncreate = "no"', "create"),
    "username a number": ('provider = "caldav"\nurl = "https://dav.example.com/"\nusername = 42', "username"),
    "batch size text": ('provider = "google"\nbatch_size = "many"', "batch_size"),
    "retries huge": ('provider = "google"\nmax_retries = 1000000000', "max_retries"),
    "backoff negative": ('provider = "google"\nbackoff_base = -1.0', "backoff_base"),
    "auth unknown": ('provider = "google"\nauth = "password"', "auth"),
    "calendar a date": ('provider = "google"\ncalendar = 2026-01-01', "calendar"),
    "token file a bool": ('provider = "google"\ntoken_file = true', "token_file"),
}


@pytest.mark.parametrize("options,key", BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_a_bad_target_option_is_one_line_with_its_line(tmp_path, interviews, options, key):
    text = f"\n[targets.t]\n{options}\n"
    path = config(tmp_path, text)
    full = path.read_text()
    line = line_of(full, f"\n{key} =") + 1
    refused(run("--config", str(path), "sync", "t", "-f", str(interviews)), path, line, f"targets.t.{key}")
    assert not (tmp_path / "c.ics").exists() and not (tmp_path / "cal").exists()  # nothing written


@pytest.mark.parametrize(
    "text,key",
    [
        ("interviews = 5", "interviews"),
        ('state_dir = "~nouser-calsync-test/state"', "state_dir"),
        ('templates = "t\\u0000"', "templates"),
        ('timezone = ["UTC"]', "timezone"),
        ("country = 1", "country"),
    ],
)
def test_a_bad_top_level_value_is_one_line_with_its_line(tmp_path, interviews, text, key):
    path = tmp_path / "config.toml"
    path.write_text(f"# a config\n\n{text}\n")
    refused(run("--config", str(path), "plan", "-f", str(interviews)), path, 3, key)


def test_a_bad_target_name_is_refused(tmp_path, interviews):
    path = config(tmp_path, '\n[targets."a\\nb"]\nprovider = "ics"\npath = "c.ics"\n')
    refused(run("--config", str(path), "plan", "-f", str(interviews)), path, None, "target name")


# --- TOML size and nesting, before parsing -------------------------------------------------------------------

HOSTILE = {
    "500-deep arrays": lambda: "x = " + "[" * 500 + "]" * 500 + "\n",
    "500-deep inline tables": lambda: "x = " + "{a = " * 500 + "1" + "}" * 500 + "\n",
    "500-deep table header": lambda: "[" + ".".join(["t"] * 500) + "]\n",
    "100,000-deep dotted key": lambda: "a" + ".a" * 100_000 + " = 1\n",
    "100,000-deep quoted dotted key": lambda: '"a"' + '."a"' * 100_000 + " = 1\n",
    "100,000-deep spaced dotted key": lambda: "a" + " . a" * 100_000 + " = 1\n",
    "4 MiB of comment": lambda: "# " + "x" * MAX_BYTES + "\n",
    "a 5,000-digit number": lambda: "x = " + "9" * 5000 + "\n",
    "escapes that never close": lambda: '"\\' * 200_000 + "\n",
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_toml_is_one_line_fast_and_small(tmp_path, make):
    """In a process of its own, with its memory limited to 1 GiB: refused in one line, within seconds."""
    hostile = tmp_path / "hostile.toml"
    hostile.write_text("# first line\n" + make())

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "calsync", "plan", "-f", str(hostile)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=limit_memory,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert done.stderr.startswith(f"calsync: error: {hostile}") and done.stderr.count("\n") == 1, done.stderr[-500:]
    assert elapsed < 15, elapsed


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_config_is_one_line(tmp_path, interviews, make):
    hostile = tmp_path / "config.toml"
    hostile.write_text("# first line\n" + make())
    result = run("--config", str(hostile), "plan", "-f", str(interviews))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr[-500:]
    assert re.match(rf"calsync: error: {re.escape(str(hostile))}(:\d+)?: ", result.stderr), result.stderr[-500:]


def test_the_limits_leave_room_for_real_files(tmp_path):
    """A file of many interviews and deep-but-reasonable nesting is read as before."""
    many = "".join(BASE_INTERVIEW.replace('id = "acme-staff"', f'id = "acme-{n}"') for n in range(400))
    path = tmp_path / "interviews.toml"
    path.write_text(many + f"\n# {'.' * 200}\n")
    assert run("plan", "--json", "-f", str(path)).exit_code == 0
    nested = tmp_path / "nested.toml"
    nested.write_text("x = " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    refused(run("plan", "-f", str(nested)), nested, 1, "unknown top-level key 'x'")  # parsed: the shape passed


# --- messages of a readable length -----------------------------------------------------------------------------


def test_a_huge_bad_value_gives_a_short_message(tmp_path):
    path = tmp_path / "interviews.toml"
    value = "x" * 100_000 + "\\n\\u001b[2J"
    path.write_text(f'[[interviews]]\ncompany = "Acme"\nstart = 2026-11-20T14:00:00\nfollow_up = "{value}"\n')
    message = refused(run("plan", "-f", str(path)), path, 4, "follow_up")
    assert len(message) <= 600 and "\x1b" not in message


def test_a_warning_is_one_short_line(tmp_path):
    from calsync.cli import warn

    runner = CliRunner()

    @__import__("click").command()
    def speak() -> None:
        warn("first\nsecond \x1b[31m" + "y" * 5000)

    result = runner.invoke(speak)
    assert result.stderr.count("\n") == 1 and len(result.stderr) < 600 and "\x1b" not in result.stderr


@pytest.mark.parametrize("command", [["add", "--company", "Acme", "--at", "2026-12-01 14:00", "--no-input"]])
@pytest.mark.parametrize("hostile", ["fifo", "dotted key", "deep arrays", "huge number"])
def test_the_capture_commands_check_the_file_before_parsing_it(tmp_path, command, hostile):
    """`calsync add` reads and rewrites the interview file: the same limits hold, and a FIFO does not hang it."""
    path = tmp_path / "interviews.toml"
    if hostile == "fifo":
        os.mkfifo(path)
    else:
        path.write_text(
            {
                "dotted key": "a" + ".a" * 100_000 + " = 1\n",
                "deep arrays": "x = " + "[" * 500 + "]" * 500,
                "huge number": "x = " + "9" * 5000,
            }[hostile]
            + "\n"
        )
    before = path.read_bytes() if hostile != "fifo" else None
    done = subprocess.run(
        [sys.executable, "-m", "calsync", *command, "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and done.stderr.startswith(f"calsync: error: {path}"), done.stderr[-300:]
    assert done.stderr.count("\n") == 1
    if before is not None:
        assert path.read_bytes() == before  # nothing written
