"""`calsync plugin new NAME` writes a package whose conformance tests pass before any code is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from calsync.cli import cli


def test_a_new_plugin_passes_the_conformance_suite_out_of_the_box(tmp_path):
    result = CliRunner().invoke(cli, ["plugin", "new", "field_notes", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "calsync-field_notes"
    assert (root / "src" / "calsync_field_notes" / "provider.py").exists()
    assert 'field_notes = "calsync_field_notes"' in (root / "pyproject.toml").read_text()
    assert "class FieldNotesProvider(Provider)" in (root / "src" / "calsync_field_notes" / "provider.py").read_text()
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    # All but the 500-item test (10 s more here; the same store at 500 items is TestVdir's in test_provider_contract).
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not many_items"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert "passed" in summary and "failed" not in summary and "skipped" not in summary, summary


def test_a_new_plugin_never_overwrites_and_wants_a_module_name(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["plugin", "new", "x", "--dir", str(tmp_path)]).exit_code == 0
    again = runner.invoke(cli, ["plugin", "new", "x", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "exists already" in again.stderr
    bad = runner.invoke(cli, ["plugin", "new", "My-Plugin", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "lower-case" in bad.stderr
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["calsync-x"]
