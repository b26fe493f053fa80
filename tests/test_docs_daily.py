"""The docs keep up: every template and variable is in docs/templates.md, every JSON field in docs/json.md."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from factories import interview

from calsync.planner import plan
from calsync.report import plan_rows
from calsync.sync.engine import SyncReport
from calsync.templates import DEFAULTS, VARIABLES
from calsync.views import agenda, interview_rows, story

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_template_and_variable_is_documented():
    text = (DOCS / "templates.md").read_text(encoding="utf-8")
    for stem in DEFAULTS:
        assert f"`{stem}.txt`" in text, stem
    for name in VARIABLES:
        assert f"| `${name}` |" in text, name


def test_every_json_field_is_documented():
    text = (DOCS / "json.md").read_text(encoding="utf-8")
    iv = interview()
    followups = plan([iv]).followups
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    keys = set(plan_rows(followups)[0])
    result = agenda(followups, now, iv.timezone, 30)
    keys |= set(result.as_dict()) | set(result.entries[0].as_dict())
    row = interview_rows([iv], followups, now)[0].as_dict()
    keys |= set(row) | set(row["next"])
    shown = story(iv, followups, now, iv.timezone).as_dict()
    keys |= set(shown) | set(shown["story"][0])
    keys |= set(SyncReport("t", "w").as_dict())
    missing = sorted(key for key in keys if f"`{key}`" not in text)
    assert not missing, missing
