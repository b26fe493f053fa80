"""Fuzz: generated interview and config files (types, ranges, depths, encodings with invalid UTF-8 and a BOM, control
characters, huge numbers, dates at the edges) through ``calsync plan``, ``export`` and ``sync`` (to an ics file
and a vdir folder in a temp dir).

Whatever the input: never a traceback; a rejection exits 2 with one line naming ``path:line`` (or ``path``); an
acceptance exits 0 and every calendar written is accepted by icalendar, the strict ``ical`` parser and vobject.

Example counts come from the hypothesis profile: the CI and default profiles run a few dozen examples per test;
``HYPOTHESIS_PROFILE=deep`` (see conftest.py) runs thousands, for runs by hand::

    HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz_inputs.py

``CALSYNC_ROUNDS=N`` sets the number of examples per test directly.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import icalendar
import vobject
import vobject.icalendar
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ical.calendar_stream import IcsCalendarStream
from reliability import count

from calsync.cli import cli
from calsync.config import POLICY_LIMITS

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
EXAMPLES = int(os.environ.get("CALSYNC_ROUNDS") or 0) or (
    settings.default.max_examples if DEEP else min(settings.default.max_examples, 25)
)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

ZONES = [
    "America/Chicago",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
    "UTC",
    "Pacific/Kiritimati",
    "Africa/Casablanca",
    "America/St_Johns",
    "Etc/GMT+12",
    "Nowhere/City",
    "",
    "utc",
    "../../etc/passwd",
]
KINDS = ["replied", "extended", "rejected", "offer", "withdrawn", "next-round", "sent", "ghosted", ""]

# --- TOML values ---------------------------------------------------------------------------------------------------

CONTROL = st.sampled_from([chr(n) for n in (*range(0, 32), 127)] + ["\u2028", "\ufeff", "\u202e", "\x85"])
TEXT = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.characters(), CONTROL), max_size=20).map("".join),
    st.sampled_from(["", " ", "Acme, Inc.", 'O\'Brien "Jr"', "ümlaut ✓", "x" * 3000, "line\nbreak", "a\r\nb"]),
)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (every control character escaped, as TOML requires)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) <= 0xDFFF:
            out.append("?")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


YEARS = st.one_of(
    st.sampled_from([1, 999, 1000, 1899, 1900, 1901, 1970, 2026, 2037, 2038, 2199, 2200, 2201, 9998, 9999]),
    st.integers(1, 9999),
)


@st.composite
def a_date(draw) -> date:
    year = draw(YEARS)
    return draw(st.dates(min_value=date(year, 1, 1), max_value=date(year, 12, 31)))


@st.composite
def a_datetime(draw) -> str:
    day = draw(a_date())
    clock = draw(st.times())
    text = datetime.combine(day, clock.replace(microsecond=0)).isoformat()
    offset = draw(st.one_of(st.none(), st.integers(-14 * 60, 14 * 60)))
    if offset is not None:
        sign = "-" if offset < 0 else "+"
        text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return text if draw(st.booleans()) else toml_string(text)


NUMBER = st.one_of(
    st.integers(-10, 10_000),
    st.sampled_from([-(2**63), 2**63 - 1, 10**18]),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if f != f else "inf" if f == float("inf") else "-inf" if f == float("-inf") else repr(f)
    ),
)


def deep(inner: str, depth: int) -> str:
    return "[" * depth + inner + "]" * depth


ANY_VALUE = st.one_of(
    TEXT.map(toml_string),
    NUMBER.map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    a_date().map(lambda d: d.isoformat()),
    a_datetime(),
    st.times().map(lambda t: t.replace(microsecond=0).isoformat()),
    st.integers(0, 80).map(lambda n: deep("1", n)),
    st.integers(0, 80).map(lambda n: "{ a = " * n + "1" + " }" * n),
    st.just("[]"),
    st.just("{}"),
)


GOOD_ZONES = [zone for zone in ZONES if "/" in zone or zone == "UTC"][:-2]
MODES = st.sampled_from(["valid", "valid", "edgy", "hostile"])
WRONG = {"valid": 0.0, "edgy": 0.03, "hostile": 0.3}


def maybe(draw, value_strategy, mode: str):
    """A good value, or in the edgy and hostile modes sometimes any value at all."""
    return draw(ANY_VALUE) if draw(st.floats(0, 1)) < WRONG[mode] else draw(value_strategy)


def good_text(mode: str):
    """Text a person might write (control characters included: they are accepted, and must be cleaned)."""
    return TEXT if mode != "valid" else st.text(min_size=1, max_size=40).filter(str.strip)


@st.composite
def interview_file(draw, mode: str | None = None) -> str:
    mode = mode or draw(MODES)
    lines = []
    for n in range(draw(st.integers(0 if mode == "hostile" else 1, 3))):
        if mode == "hostile":
            start_text = draw(a_datetime())
            moment = None
        else:
            years = st.integers(1900, 2200) if mode == "edgy" else st.integers(1990, 2100)
            moment = draw(st.datetimes(datetime(1900, 1, 1), datetime(2200, 12, 31, 12)).filter(lambda _: True))
            moment = moment.replace(year=draw(years) if moment.month != 2 or moment.day < 29 else 2000, microsecond=0)
            start_text = moment.isoformat()

        def after(days: int, moment=moment) -> st.SearchStrategy[str]:
            if moment is None:
                return a_date().map(lambda d: d.isoformat())
            return st.integers(0, days).map(
                lambda k: min(moment.date() + timedelta(days=k), date(2200, 12, 31)).isoformat()
            )

        lines.append("[[interviews]]")
        lines.append(f"start = {start_text}")
        fields = {
            "id": st.one_of(
                st.just(f'"iv-{n}"'), TEXT.map(toml_string) if mode == "hostile" else st.just(f'"x{n}.y_z-{n}"')
            ),
            "company": good_text(mode).map(toml_string),
            "role": good_text(mode).map(toml_string),
            "end": (
                a_datetime()
                if moment is None
                else st.integers(1, 600).map(lambda k, m=moment: (m + timedelta(minutes=k)).isoformat())
            ),
            "timezone": st.sampled_from(ZONES if mode == "hostile" else GOOD_ZONES).map(toml_string),
            "timeline": st.one_of(
                TEXT,
                st.sampled_from(
                    [
                        "within 3 weeks",
                        "by Dec 4th",
                        "in 99999 years",
                        "next Friday",
                        "1e400 days",
                        "after Christmas",
                        "end of Q1",
                        "in 2 business days",
                    ]
                ),
            ).map(toml_string),
            "decision_by": after(60),
            "follow_up": st.sampled_from(['"email"', '"phone"'] + (['"fax"'] if mode == "hostile" else [])),
            "approved": st.sampled_from(["true", "false"]),
            "requested": st.lists(TEXT.map(toml_string), max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
            "country": st.sampled_from(['"US"', '"DE"', '"IN"'] + (['"XX"', '"in"'] if mode == "hostile" else [])),
            "notes": TEXT.map(toml_string),
        }
        keys = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields)))
        if mode != "hostile" and "company" not in keys:
            keys.append("company")
        for key in keys:
            lines.append(f"{key} = {maybe(draw, fields[key], mode)}")
        if mode == "hostile" and draw(st.integers(0, 9)) == 0:
            lines.append(f"start = {draw(a_datetime())}")  # twice: a TOML error
        for _ in range(draw(st.integers(0, 2))):
            lines.append("[[interviews.interviewers]]")
            lines.append(f"name = {maybe(draw, good_text(mode).map(toml_string), mode)}")
            if draw(st.booleans()):
                lines.append(f"email = {maybe(draw, st.sampled_from(['a@b.example', 'x@y']).map(toml_string), mode)}")
            if draw(st.booleans()):
                lines.append(f"timezone = {maybe(draw, st.sampled_from(GOOD_ZONES).map(toml_string), mode)}")
        for _ in range(draw(st.integers(0, 3))):
            lines.append("[[interviews.events]]")
            lines.append(f"date = {maybe(draw, after(90), mode)}")
            kind = draw(st.sampled_from(KINDS if mode == "hostile" else KINDS[:6]))
            lines.append(f"kind = {maybe(draw, st.just(toml_string(kind)), mode)}")
            if kind == "extended" or (kind == "replied" and draw(st.booleans())):
                lines.append(f"decision_by = {maybe(draw, after(200), mode)}")
    if mode == "hostile" and draw(st.integers(0, 4)) == 0:
        lines.insert(
            draw(st.integers(0, len(lines))),
            f"{draw(st.sampled_from(['x', 'a.b.c', 'interviews']))} = {draw(ANY_VALUE)}",
        )
    return "\n".join(lines) + "\n"


UNKNOWN_USERS = ["~nouser-x/y", '"~nouser-x/y"']
POLICY_KEYS = ["send_time", *POLICY_LIMITS]  # every bounded number the config knows, whatever it is named now


@st.composite
def config_file(draw, root: str, mode: str | None = None) -> str:

    mode = mode or draw(MODES)
    lines = []
    if draw(st.booleans()):
        lines.append(f"timezone = {maybe(draw, st.sampled_from(GOOD_ZONES).map(toml_string), mode)}")
    if draw(st.booleans()):
        lines.append(f"country = {maybe(draw, st.sampled_from(['US', 'FR']).map(toml_string), mode)}")
    lines.append(f'state_dir = "{root}/state"')
    if mode == "hostile" and draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(["templates", "interviews", "state_dir", "unknown"]))
        lines.append(f"{key} = {draw(st.one_of(ANY_VALUE, st.sampled_from(UNKNOWN_USERS)))}")
    if draw(st.booleans()):
        lines.append("[policy]")
        for key in draw(st.lists(st.sampled_from(POLICY_KEYS), unique=True, max_size=4)):
            if key == "send_time":
                good = st.sampled_from(['"09:30"', '"00:00"', '"23:59:59"', "10:00:00"])
            else:
                good = st.integers(0, POLICY_LIMITS[key]).map(str)
            lines.append(f"{key} = {maybe(draw, good, mode)}")
    target = {
        "name": good_text(mode).filter(lambda t: mode == "hostile" or t.isprintable()).map(toml_string),
        "overwrite": st.sampled_from(["true", "false"]),
        "component": st.sampled_from(['"event"', '"todo"'] + (['"journal"'] if mode == "hostile" else [])),
        "cancelled": st.sampled_from(['"keep"', '"delete"']),
        "alarm_minutes": st.integers(-5 if mode == "hostile" else 0, 20_000 if mode == "hostile" else 10_080).map(str),
    }
    for name, provider, path in (("file", "ics", f"{root}/out/cal.ics"), ("box", "vdir", f"{root}/out/box")):
        lines.append(f"[targets.{name}]")
        lines.append(f'provider = "{provider}"')
        lines.append(f"path = {maybe(draw, st.just(toml_string(path)), mode)}")
        for key in draw(st.lists(st.sampled_from(sorted(target)), unique=True, max_size=3)):
            lines.append(f"{key} = {maybe(draw, target[key], mode)}")
    return "\n".join(lines) + "\n"


@st.composite
def encoded(draw, text: str) -> bytes:
    """``text`` as bytes, mostly UTF-8; sometimes with a BOM, invalid UTF-8, UTF-16, or a byte changed."""
    data = text.encode("utf-8", "surrogatepass")
    how = draw(st.sampled_from(["utf-8"] * 14 + ["bom", "bom", "invalid", "utf-16", "flip", "nul", "cr"]))
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "invalid":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + data[at:]
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if how == "nul":
        at = draw(st.integers(0, len(data)))
        return data[:at] + b"\x00" + data[at:]
    if how == "cr":
        return data.replace(b"\n", b"\r")
    return data


# --- the checks ------------------------------------------------------------------------------------------------------


def check_calendar(data: bytes) -> None:
    """Accepted by icalendar, the strict ``ical`` parser and vobject."""
    text = data.decode("utf-8")
    icalendar.Calendar.from_ical(data)
    IcsCalendarStream.calendar_from_ics(text)
    registry = vars(vobject.icalendar)["__tzidMap"]
    registry.clear()
    vobject.icalendar.registerTzid("UTC", vobject.icalendar.utc)
    vobject.readOne(text).validate()


def check_result(result, files: list[Path], what: str) -> bool:
    """No traceback; exit 0, or exit 2 with one error line naming one of ``files`` (with its line when known).
    True when accepted."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        raise AssertionError(
            f"{what}: traceback\n" + "".join(traceback.format_exception(result.exception))
        ) from result.exception
    assert result.exit_code in (0, 2), (what, result.exit_code, result.output)
    if result.exit_code == 0:
        count("fuzz", f"{what} accepted")
        return True
    count("fuzz", f"{what} rejected")
    errors = [line for line in result.stderr.splitlines() if line.startswith("calsync: error:")]
    assert len(errors) == 1, (what, result.stderr)
    assert all(line.startswith("calsync: ") for line in result.stderr.splitlines()), result.stderr
    where = re.compile(
        r"calsync: error: (?:target '[a-z]+': )?(?:" + "|".join(re.escape(str(f)) for f in files) + r")(?::\d+)?: "
    )
    assert where.match(errors[0]), (what, errors[0])
    return False


def run(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=True)


# --- the suites ------------------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzzed_interview_files_through_plan_and_export(data):
    text = data.draw(interview_file())
    raw = data.draw(encoded(text))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "interviews.toml"
        path.write_bytes(raw)
        count("fuzz", "interview files")
        check_result(run(["plan", "--json", "-f", str(path)]), [path], "plan")
        result = run(["export", "-f", str(path)])
        if check_result(result, [path], "export"):
            check_calendar(result.stdout_bytes)
        todo = run(["export", "--todo", "-f", str(path), "-o", str(Path(tmp) / "todo.ics")])
        if check_result(todo, [path], "export --todo"):
            check_calendar((Path(tmp) / "todo.ics").read_bytes())


@FUZZ
@given(data=st.data())
def test_fuzzed_configs_and_interviews_through_sync(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        interviews = root / "interviews.toml"
        config = root / "config.toml"
        interviews.write_bytes(data.draw(encoded(data.draw(interview_file()))))
        config.write_bytes(data.draw(encoded(data.draw(config_file(tmp)))))
        count("fuzz", "config files")
        base = ["--config", str(config)]
        check_result(run([*base, "plan", "-f", str(interviews)]), [config, interviews], "plan")
        for target in ("file", "box"):
            result = run([*base, "sync", target, "-f", str(interviews)])
            if check_result(result, [config, interviews], "sync"):
                written = [*root.glob("out/*.ics"), *root.glob("out/box/*.ics")]
                for path in written:
                    check_calendar(path.read_bytes())
                assert not list(root.rglob(".calsync-*.tmp"))
