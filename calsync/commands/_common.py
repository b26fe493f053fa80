"""What the capture commands share: the interview file's text, planned as it is and as it would be."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from calsync.errors import InputError

if TYPE_CHECKING:
    from calsync.config import Config
    from calsync.model import FollowUp, Interview


@dataclass(frozen=True)
class Snapshot:
    """The interview file's text, its interviews and their plan."""

    text: str
    interviews: list[Interview]
    followups: list[FollowUp]

    def interview(self, interview_id: str) -> Interview:
        from calsync.interview_file import find_interview

        index = find_interview([{"id": i.id} for i in self.interviews], interview_id)
        return self.interviews[index]


def read_text(path: Path, missing_ok: bool = False) -> str:
    from calsync.files import read_regular
    from calsync.tomlfile import MAX_BYTES

    try:
        # A regular file of a bounded size, as for every TOML file calsync reads: a FIFO must not hang the run.
        return read_regular(path, MAX_BYTES).decode("utf-8-sig")
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise InputError("interview file not found (`calsync init` makes one)", path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    except OSError as exc:
        raise InputError(f"cannot read the interview file: {exc.strerror or exc}", path) from None


def snapshot(text: str, path: Path, config: Config) -> Snapshot:
    """Load and plan ``text`` as if it were the file at ``path``: the same checks and rules as ``calsync plan``."""
    import tomllib

    from calsync.interviews import parse_interviews
    from calsync.planner import hook_adjuster, plan
    from calsync.tomlfile import LineIndex, check_shape, syntax_error

    check_shape(text, path)  # the nesting limit, before the parser recurses into it
    try:
        data, lines = tomllib.loads(text), LineIndex(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(exc, text, path) from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise InputError(f"invalid TOML: {str(exc).splitlines()[0]}", path) from None
    interviews = parse_interviews(data, lines, path, config.timezone, config.country, config.subdivision)
    return Snapshot(text, interviews, plan(interviews, config.policy, adjust=hook_adjuster()).followups)


def today(config: Config) -> date:
    """Today in the user's zone."""
    from calsync.zones import zone_named

    return datetime.now(zone_named(config.timezone)).date()


def interactive(no_input: bool) -> bool:
    """Whether to ask: on a terminal, unless --no-input."""
    return not no_input and sys.stdin.isatty()


# The same as the CLI's own ``--file`` (not imported from calsync.cli: that module registers these commands).
file_option = click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The interview file (default: `interviews` in the config).",
)
no_input_option = click.option("--no-input", is_flag=True, help="Never ask; fail on what is missing.")
dry_run_option = click.option("--dry-run", "-n", is_flag=True, help="Show what would be written; write nothing.")
