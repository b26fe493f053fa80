"""Files handled like a careful Unix tool: an ics target is a regular file or absent (a FIFO does not hang, a device
is not read), symlinks are followed and their target written, modes are kept (new files honour the umask),
interrupted runs' temp files are removed by the next run, the user's calendar properties and zones are kept with
``overwrite = true``, forbidden control characters never reach the output, the Google token path is a safe name."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import icalendar
import pytest
from filetargets import BASE_INTERVIEW, Workspace, run_cli

from calsync.provider import Target


def ics_workspace(tmp_path: Path, path: Path, extra: str = "") -> Workspace:
    return Workspace(tmp_path, f'[targets.file]\nprovider = "ics"\npath = "{path}"\n{extra}')


def vdir_workspace(tmp_path: Path, folder: Path) -> Workspace:
    return Workspace(tmp_path, f'[targets.box]\nprovider = "vdir"\npath = "{folder}"\n')


# --- only regular files ------------------------------------------------------------------------------------------


def test_a_fifo_as_the_ics_path_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "cal.ics"
    os.mkfifo(fifo)
    ws = ics_workspace(tmp_path, fifo)
    started = time.monotonic()
    done = run_cli("--config", str(ws.config), "sync", "file")  # a hang would end in the 120 s timeout
    assert time.monotonic() - started < 30
    assert done.returncode == 2 and "is a FIFO, not a regular file" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the user's FIFO


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_the_ics_path_is_refused(tmp_path, device):
    ws = ics_workspace(tmp_path, Path(device))
    done = run_cli("--config", str(ws.config), "sync", "file")
    assert done.returncode == 2 and "is a character device, not a regular file" in done.stderr, done.stderr
    assert "MemoryError" not in done.stderr and done.stderr.count("\n") == 1


def test_a_fifo_as_the_interview_file_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "interviews.toml"
    os.mkfifo(fifo)
    done = run_cli("plan", "-f", str(fifo))
    assert done.returncode == 2 and f"{fifo}: cannot read interview file: is a FIFO" in done.stderr, done.stderr


def test_a_fifo_among_the_templates_is_refused_without_hanging(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    os.mkfifo(templates / "check_in.txt")
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    config = tmp_path / "config.toml"
    config.write_text(f'templates = "{templates}"\n')
    done = run_cli("--config", str(config), "export", "-f", str(interviews))
    assert done.returncode == 2 and "is a FIFO, not a regular file" in done.stderr, done.stderr


def test_reads_stop_at_the_limit(tmp_path):
    from calsync.files import read_regular

    big = tmp_path / "big"
    big.write_bytes(b"x" * 1001)
    with pytest.raises(OSError, match="larger than 1000 bytes"):
        read_regular(big, 1000)
    assert read_regular(big, 1001) == b"x" * 1001


def test_export_into_a_pipe_writes_into_it(tmp_path):
    """`-o` naming a pipe (a shell's `>(...)`, a FIFO): written into, as any tool would, not replaced."""
    import threading

    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = run_cli("export", "-f", str(interviews), "-o", str(fifo))
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert icalendar.Calendar.from_ical(received[0]).walk("VEVENT")


# --- symlinks -----------------------------------------------------------------------------------------------------


def test_a_symlinked_ics_file_stays_a_symlink_and_its_target_is_written(tmp_path):
    real = tmp_path / "real" / "cal.ics"
    real.parent.mkdir()
    link = tmp_path / "cal.ics"
    link.symlink_to(os.path.relpath(real, link.parent))
    ws = ics_workspace(tmp_path, link)
    ws.sync_json()
    assert link.is_symlink() and os.readlink(link) == os.path.relpath(real, link.parent)
    assert real.is_file() and icalendar.Calendar.from_ical(real.read_bytes()).walk("VEVENT")
    ws.write_interviews('\n[[interviews.events]]\ndate = 2026-11-23\nkind = "rejected"\n')
    ws.sync_json()
    assert link.is_symlink() and b"STATUS:CANCELLED" in real.read_bytes()


def test_export_through_a_symlink_writes_the_file_it_points_to(tmp_path):
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    real = tmp_path / "out.ics"
    real.write_text("old")
    link = tmp_path / "link.ics"
    link.symlink_to(real)
    done = run_cli("export", "-f", str(interviews), "-o", str(link))
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and real.read_bytes().startswith(b"BEGIN:VCALENDAR")


# --- modes --------------------------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_existing_0600_file_stays_0600_after_export_and_sync(tmp_path):
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    out = tmp_path / "export.ics"
    out.write_text("")
    out.chmod(0o600)
    assert run_cli("export", "-f", str(interviews), "-o", str(out)).returncode == 0
    assert _mode(out) == 0o600 and out.read_bytes().startswith(b"BEGIN:VCALENDAR")

    cal = tmp_path / "cal.ics"
    ws = ics_workspace(tmp_path, cal)
    ws.sync_json()
    cal.chmod(0o600)
    ws.write_interviews('\n[[interviews.events]]\ndate = 2026-11-23\nkind = "rejected"\n')
    assert ws.sync_json()[0]["updated"]
    assert _mode(cal) == 0o600


@pytest.mark.parametrize("umask", [0o077, 0o002])  # (0o022 gives the 0644 calsync once forced on every file)
def test_new_files_honour_the_umask(tmp_path, umask):
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(BASE_INTERVIEW)
    ws = Workspace(
        tmp_path,
        f'[targets.file]\nprovider = "ics"\npath = "{tmp_path / "cal.ics"}"\n\n'
        f'[targets.box]\nprovider = "vdir"\npath = "{tmp_path / "box"}"\n',
    )
    script = (
        f"import os, sys; os.umask({umask}); from click.testing import CliRunner; from calsync.cli import cli;"
        f"runs = [['export', '-f', {str(interviews)!r}, '-o', {str(tmp_path / 'new.ics')!r}],"
        f" ['--config', {str(ws.config)!r}, 'sync']];"
        "sys.exit(max(CliRunner().invoke(cli, args).exit_code for args in runs))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    made = [tmp_path / "new.ics", tmp_path / "cal.ics", *(tmp_path / "box").glob("*.ics")]
    assert len(made) > 3
    assert {_mode(path) for path in made} == {0o666 & ~umask}


# --- temp files of an interrupted run -------------------------------------------------------------------------


def _interrupted_temp(folder: Path) -> Path:
    """A temp file left by a real process that was killed while writing it."""
    code = (
        "import os, sys, time; from pathlib import Path; from calsync.files import temp_name;"
        "p = Path(sys.argv[1]) / temp_name(); p.write_bytes(b'half'); print(p, flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True)
    path = Path(process.stdout.readline().strip())
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert path.exists()
    return path


def test_the_next_vdir_sync_removes_an_interrupted_runs_temp_files(tmp_path):
    folder = tmp_path / "box"
    ws = vdir_workspace(tmp_path, folder)
    ws.sync_json()
    left = _interrupted_temp(folder)
    users = [folder / ".calsync-notes.txt", folder / ".calsync-1-abc.tmp.bak", folder / "x.calsync-1-abcdef.tmp"]
    for path in users:
        path.write_text("the user's")
    ws.sync_json()  # nothing to change: the run still tidies up
    assert not left.exists()
    assert all(path.read_text() == "the user's" for path in users)


def test_the_next_ics_sync_removes_an_interrupted_runs_temp_files(tmp_path):
    cal = tmp_path / "cal.ics"
    ws = ics_workspace(tmp_path, cal)
    ws.sync_json()
    left = _interrupted_temp(tmp_path)
    ws.sync_json()
    assert not left.exists() and cal.exists()


def test_a_temp_file_of_a_live_run_is_kept(tmp_path):
    from calsync.files import remove_stale_temps, temp_name

    mine = tmp_path / temp_name()  # this process is alive
    mine.write_text("being written")
    old_name = tmp_path / ".calsync-abcdefgh.tmp"  # an older version's name, without a process id
    old_name.write_text("recent")
    assert remove_stale_temps(tmp_path) == 0 and mine.exists() and old_name.exists()
    an_hour_ago = time.time() - 3600
    os.utime(old_name, (an_hour_ago, an_hour_ago))
    assert remove_stale_temps(tmp_path) == 1 and not old_name.exists() and mine.exists()


# --- overwrite = true keeps the user's calendar ------------------------------------------------------------------

USERS_CALENDAR = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//Example Corp//Their App//EN\r\n"
    "METHOD:PUBLISH\r\n"
    "X-WR-CALNAME:My own calendar\r\n"
    "X-WR-TIMEZONE:Europe/Paris\r\n"
    "X-WR-CALDESC:Everything I do\r\n"
    "X-PUBLISHED-TTL:PT1H\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Europe/Paris\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\n"
    "TZOFFSETTO:+0100\r\n"
    "END:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\n"
    "DTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\n"
    "END:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VTIMEZONE\r\n"
    "TZID:Unused/Custom\r\n"
    "BEGIN:STANDARD\r\n"
    "DTSTART:19700101T000000\r\n"
    "TZOFFSETFROM:+0300\r\n"
    "TZOFFSETTO:+0300\r\n"
    "END:STANDARD\r\n"
    "END:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:floating@user\r\n"
    "DTSTAMP:20260101T000000Z\r\n"
    "DTSTART:20261201T090000\r\n"
    "SUMMARY:Floating, read in X-WR-TIMEZONE\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:paris@user\r\n"
    "DTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20300615T090000\r\n"
    "SUMMARY:In Paris\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def _component_bytes(calendar: icalendar.Calendar, name: str, key: str, value: str) -> bytes:
    (found,) = [c for c in calendar.walk(name) if str(c.get(key)) == value]
    return found.to_ical()


def test_overwrite_keeps_everything_of_the_users_calendar(tmp_path):
    cal = tmp_path / "cal.ics"
    cal.write_text(USERS_CALENDAR)
    before = icalendar.Calendar.from_ical(USERS_CALENDAR)
    ws = ics_workspace(tmp_path, cal, "overwrite = true\n")
    for events in ((), ('\n[[interviews.events]]\ndate = 2026-11-23\nkind = "rejected"\n',)):
        ws.write_interviews(*events)
        ws.sync_json()
        after = icalendar.Calendar.from_ical(cal.read_bytes())
        for name in ("METHOD", "X-WR-CALNAME", "X-WR-TIMEZONE", "X-WR-CALDESC", "X-PUBLISHED-TTL"):
            assert str(after.get(name)) == str(before.get(name)), name
        for tzid in ("Europe/Paris", "Unused/Custom"):
            assert _component_bytes(after, "VTIMEZONE", "TZID", tzid) == _component_bytes(
                before, "VTIMEZONE", "TZID", tzid
            )
        for uid in ("floating@user", "paris@user"):
            assert _component_bytes(after, "VEVENT", "UID", uid) == _component_bytes(before, "VEVENT", "UID", uid)
        ours = [c for c in after.walk("VEVENT") if c.get("X-CALSYNC-MANAGED")]
        assert ours and str(after.get("X-CALSYNC-FILE")) == "1"
        assert len(after.walk("VTIMEZONE")) == len({str(z["TZID"]) for z in after.walk("VTIMEZONE")})


def test_a_zone_calsync_no_longer_uses_goes_but_the_users_stay(tmp_path):
    cal = tmp_path / "cal.ics"
    cal.write_text(USERS_CALENDAR)
    ws = ics_workspace(tmp_path, cal, 'overwrite = true\ncancelled = "delete"\n')
    tokyo = (
        '\n[[interviews]]\nid = "kaisha"\ncompany = "Kaisha"\nstart = 2026-11-24T10:00:00\n'
        'timezone = "Asia/Tokyo"\ndecision_by = 2026-12-01\n'
    )
    ws.interviews.write_text(BASE_INTERVIEW + tokyo)
    ws.sync_json()
    zones = {str(z["TZID"]) for z in icalendar.Calendar.from_ical(cal.read_bytes()).walk("VTIMEZONE")}
    assert {"Europe/Paris", "Unused/Custom", "America/Chicago", "Asia/Tokyo"} <= zones
    ws.interviews.write_text(BASE_INTERVIEW)
    assert ws.sync_json()[0]["deleted"]
    after = icalendar.Calendar.from_ical(cal.read_bytes())
    zones = {str(z["TZID"]) for z in after.walk("VTIMEZONE")}
    assert "Asia/Tokyo" not in zones and {"Europe/Paris", "Unused/Custom", "America/Chicago"} <= zones


def test_a_name_in_the_config_replaces_the_users_name_only_then(tmp_path):
    cal = tmp_path / "cal.ics"
    cal.write_text(USERS_CALENDAR)
    ws = ics_workspace(tmp_path, cal, 'overwrite = true\nname = "Jobs"\n')
    ws.sync_json()
    assert str(icalendar.Calendar.from_ical(cal.read_bytes()).get("X-WR-CALNAME")) == "Jobs"


# --- control characters ------------------------------------------------------------------------------------------


def test_forbidden_control_characters_never_reach_the_output(tmp_path):
    from ical.calendar_stream import IcsCalendarStream

    controls = "".join(chr(n) for n in (*range(0, 9), *range(11, 32), 127))
    text = (
        BASE_INTERVIEW.replace('company = "Acme Corp"', f'company = "Acme{_escaped(controls)}\\tCorp"')
        .replace('role = "Staff Engineer"', 'role = "Staff\\r\\nEngineer\\rLead"')
        .replace('name = "Dana Smith"', f'name = "Dana{_escaped(controls)}Smith"')
    )
    interviews = tmp_path / "interviews.toml"
    interviews.write_text(text)
    out = tmp_path / "out.ics"
    done = run_cli("export", "-f", str(interviews), "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = out.read_bytes()
    body = data.replace(b"\r\n ", b"").replace(b"\r\n", b"")
    assert not any(chr(n).encode() in body for n in (*range(0, 9), *range(10, 32), 127))
    assert b"Acme" in body and b"Dana" in body
    IcsCalendarStream.calendar_from_ics(data.decode())  # the strict parser takes the whole file


def _escaped(text: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in text)


# --- the Google token path -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../../etc/evil", "a/b", "nul\x00x", "..", ".hidden", "spaces and ünïcode", "x" * 300]
)
def test_the_default_token_path_is_a_safe_name_in_the_state_dir(tmp_path, name):
    from calsync_google.auth import token_path

    path = token_path(Target(name, "google", {}, state_dir=tmp_path))
    assert path.parent == tmp_path and path.name.startswith("google-") and path.name.endswith(".json")
    assert "\x00" not in path.name and "/" not in path.name and len(path.name) < 100
    assert token_path(Target(name + "2", "google", {}, state_dir=tmp_path)) != path


def test_a_plain_target_name_keeps_its_token_path(tmp_path):
    from calsync_google.auth import token_path

    assert token_path(Target("work-cal", "google", {}, state_dir=tmp_path)) == tmp_path / "google-work-cal.json"
