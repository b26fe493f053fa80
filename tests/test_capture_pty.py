"""``calsync add`` and ``calsync init`` asking what is missing, as a person at a terminal sees it: the installed
``calsync`` script in a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
import tomllib
from datetime import datetime
from pathlib import Path

import pytest

from calsync.config import load_config
from calsync.interviews import load_interviews

CALSYNC = Path(sys.executable).parent / "calsync"
INVITES = Path(__file__).resolve().parent / "invites"

pytestmark = pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal (POSIX)")


class Terminal:
    """A process on a pseudo-terminal: wait for a prompt, type an answer."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} on the terminal; saw:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the process closed the terminal
                    chunk = b""
                assert chunk, f"the terminal closed before {text!r}; saw:\n{self.seen}"
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")

    def answer(self, prompt: str, text: str) -> None:
        self.expect(prompt)
        self.seen = self.seen[self.seen.index(prompt) + len(prompt) :]  # each prompt once
        os.write(self.master, text.encode() + b"\r")

    def finish(self, timeout: float = 30) -> int:
        try:
            while True:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    chunk = os.read(self.master, 4096)
                    if not chunk:
                        break
                    self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
                elif self.process.poll() is not None:
                    break
        except OSError:
            pass
        code = self.process.wait(timeout=timeout)
        os.close(self.master)
        return code


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text(
        f'timezone = "America/Chicago"\ncountry = "US"\ninterviews = "{tmp_path / "interviews.toml"}"\n'
        '[me]\nname = "Alex Candidate"\nemail = "alex.candidate@gmail.com"\n'
    )
    (tmp_path / "interviews.toml").write_text("# my interviews\n")
    return {**os.environ, "CALSYNC_CONFIG": str(config), "TERM": "dumb", "COLUMNS": "200"}


def test_add_asks_for_what_is_missing(env, tmp_path):
    term = Terminal([str(CALSYNC), "add", "--role", "Staff Engineer"], env)
    term.answer("Company:", "Acme Corp")
    term.answer("When (e.g. 2026-12-01 14:00):", "2026-12-01 14:00")
    term.answer("How long [1h]:", "45m")
    term.answer("Interviewer (Name <email>; empty when done):", "Dana Smith <dana@acme.example>")
    term.answer("Interviewer (Name <email>; empty when done):", "not an <address")
    term.expect("cannot read")
    term.answer("Interviewer (Name <email>; empty when done):", "Lee Park")
    term.answer("Interviewer (Name <email>; empty when done):", "")
    term.answer("What did they say about the timeline? (empty: not asked):", "within a week")
    term.answer("Follow up by (email, phone) [email]:", "phone")
    term.expect("decision by Tue 8 Dec — from 'within a week'")
    term.expect("check-in to Dana Smith")
    term.answer("Add it to", "y")
    assert term.finish() == 0, term.seen
    assert "Added acme-staff" in term.seen
    text = (tmp_path / "interviews.toml").read_text()
    assert text.startswith("# my interviews\n")
    (acme,) = load_interviews(tmp_path / "interviews.toml")
    assert (acme.company, acme.role, acme.timeline, acme.follow_up.value) == (
        "Acme Corp",
        "Staff Engineer",
        "within a week",
        "phone",
    )
    assert acme.start.replace(tzinfo=None) == datetime(2026, 12, 1, 14, 0)
    assert [p.name for p in acme.interviewers] == ["Dana Smith", "Lee Park"]
    assert tomllib.loads(text)["interviews"][0]["end"] == datetime(2026, 12, 1, 14, 45)


def test_add_from_an_invite_asks_only_what_it_cannot_know(env, tmp_path):
    term = Terminal([str(CALSYNC), "add", "--from-invite", str(INVITES / "apple.ics")], env)
    term.answer("Company [Globex]:", "")  # the guess from the organizer's address, accepted
    term.answer("Role [Site Reliability Engineer]:", "SRE")
    term.answer("What did they say about the timeline? (empty: not asked):", "")
    term.answer("Follow up by (email, phone) [email]:", "")
    term.expect("assumed: no timeline given")
    term.answer("Add it to", "n")
    assert term.finish() == 0
    assert "Nothing written." in term.seen
    assert (tmp_path / "interviews.toml").read_text() == "# my interviews\n"


def test_init_asks_with_the_detected_defaults(tmp_path):
    config = tmp_path / "new" / "config.toml"
    env = {**os.environ, "CALSYNC_CONFIG": str(config), "TZ": "America/Chicago", "TERM": "dumb"}
    term = Terminal([str(CALSYNC), "init"], env)
    term.answer("Your time zone [America/Chicago]:", "")
    term.answer("Country for public holidays (ISO code; empty for none) [US]:", "")
    term.answer("Interview file [", str(tmp_path / "jobs.toml"))
    term.answer("Your name (signs the drafts; empty to skip):", "Alex Candidate")
    term.answer("Your email (empty to skip):", "alex@example.com")
    assert term.finish() == 0, term.seen
    loaded = load_config(config)
    assert (loaded.timezone, loaded.country, loaded.me.name) == ("America/Chicago", "US", "Alex Candidate")
    assert loaded.interviews_file == tmp_path / "jobs.toml"
    assert load_interviews(tmp_path / "jobs.toml") == []
