"""The plugin docs say what the code does: the hook reference repeats the hookspec docstrings word for word, the
public names table lists exactly ``calsync.__all__``, and the cookbook's plugins are the tested files, verbatim."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from factories import interview

import calsync
from calsync import hookspecs
from calsync.businessdays import calendar_for
from calsync.cli import cli

DOCS = Path(__file__).resolve().parent.parent / "docs" / "plugins"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "interviews.toml"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_reference_is_the_hookspec_docstrings():
    text = (DOCS / "reference.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("calsync_")]
    documented = re.findall(r"^### `(calsync_\w+)\((.*)\)`$", text, re.MULTILINE)
    assert sorted(name for name, _ in documented) == sorted(hooks)
    for name, arguments in documented:
        function = getattr(hookspecs, name)
        assert arguments == ", ".join(inspect.signature(function).parameters), name
        assert inspect.getdoc(function) in text, f"{name}: docs/plugins/reference.md differs from its docstring"
        firstresult = function.calsync_spec.get("firstresult")
        section = text.split(f"### `{name}(", 1)[1].split("###", 1)[0]
        assert ("firstresult" in section) == bool(firstresult), name


def test_the_public_names_table_is_calsync_all():
    text = (DOCS / "reference.md").read_text()
    table = text.split("## Public names", 1)[1].split("\n## ", 1)[0]
    listed = {name for row in table.splitlines() if row.startswith("| `") for name in
              re.findall(r"`(\w+)`", row.split("|")[1])}  # fmt: skip
    assert listed == set(calsync.__all__)
    for name in calsync.__all__:
        assert getattr(calsync, name) is not None


def test_the_package_root_and_calsync_api_list_the_same_names():
    # The list stands twice on purpose (the root must not import calsync.api at start-up; type checkers need a
    # literal list in calsync.api): this keeps the two copies from drifting apart.
    import calsync.api

    assert calsync.api.__all__ == calsync.__all__


@pytest.mark.parametrize("name", ["calsync_de_timeline", "calsync_linkedin", "calsync_workdays"])
def test_the_cookbook_prints_the_tested_files(name):
    assert (DOCS / "examples" / f"{name}.py").read_text() in (DOCS / "cookbook.md").read_text()


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("Wir melden uns innerhalb einer Woche", date(2026, 11, 27)),
        ("Sie hören in 10 Tagen von uns", date(2026, 11, 30)),
        ("binnen zwei Wochen", date(2026, 12, 4)),
        ("in drei Werktagen", date(2026, 11, 25)),  # Fri 20th + 3 business days (no holiday in between)
        ("in fünf Werktagen", date(2026, 11, 30)),  # Thanksgiving (26th) is not one in the US
        ("bis Ende der Woche", date(2026, 11, 20)),
        ("bis Ende nächster Woche", date(2026, 11, 27)),
        ("We'll get back to you within a week", None),  # English: left to the built-in parser
    ],
)
def test_the_german_timeline_plugin(phrase, expected):
    plugin = load_example("calsync_de_timeline")
    iv = interview(timeline=phrase)  # Fri 2026-11-20, US
    assert plugin.calsync_parse_timeline(phrase, iv, calendar_for("US", None)) == expected


def test_the_german_timeline_plugin_plans_through_calsync(register, tmp_path):
    register(load_example("calsync_de_timeline"), "de_timeline")
    german = tmp_path / "interviews.toml"
    german.write_text(
        EXAMPLE.read_text().replace("We'll get back to you within a week", "Wir melden uns in zwei Wochen")
    )
    result = CliRunner().invoke(cli, ["plan", "--json", "-f", str(german)])
    assert result.exit_code == 0, result.output
    rows = [row for row in json.loads(result.stdout) if row["interview"] == "acme-staff"]
    assert {row["deadline"] for row in rows} == {"2026-12-04"} and "not understood" not in result.stderr


def test_the_linkedin_plugin_adds_a_reminder_the_business_day_after_each_thank_you(register, tmp_path):
    plugin = register(load_example("calsync_linkedin"), "linkedin")
    out = tmp_path / "out.ics"
    result = CliRunner().invoke(cli, ["export", "-f", str(EXAMPLE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_text().replace("\r\n ", "")
    assert data.count("SUMMARY:Connect with ") == 3  # one per interviewer thanked: Dana, Lee, Jonas
    assert "SUMMARY:Connect with Dana Smith on LinkedIn — Acme Corp" in data
    plan = json.loads(CliRunner().invoke(cli, ["plan", "--json", "-f", str(EXAMPLE)]).stdout)
    by_uid = {row["uid"]: row for row in plan}
    for uid in plugin.ADDED:
        thanks = next(row for row in plan if calsync.make_uid(row["uid"], "linkedin") == uid)
        assert by_uid[uid]["due"][:10] > thanks["due"][:10]  # the (business) day after


def test_the_workdays_command(monkeypatch):
    plugin = load_example("calsync_workdays")
    monkeypatch.setitem(cli.commands, "workdays", plugin.workdays_command)  # what the hook adds, undone after
    result = CliRunner().invoke(cli, ["workdays", "2026-11-25", "2", "--country", "US"])
    assert result.exit_code == 0 and result.stdout.strip() == "2026-11-30"
