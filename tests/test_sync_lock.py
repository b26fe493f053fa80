"""One sync per target at a time: a second `calsync sync` waits a little, then exits 2 naming the running one;
`--wait` waits it out; a killed holder frees the target at once; `--dry-run` never waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from syncsafety import config, file_target, interviews
from syncsafety import run_here as run

HOLDER = """
import sys, time
from calsync.config import load_config
from calsync.sync.lock import target_lock
from calsync.sync.state import state_path
config = load_config(__import__("pathlib").Path(sys.argv[1]))
target = config.target("main")
with target_lock(state_path(target, config.state_dir), "main", None):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def workspace(tmp_path: Path):
    plan = tmp_path / "interviews.toml"
    plan.write_text(interviews([1, 2]))
    where = tmp_path / "cal"
    cfg = config(tmp_path, tmp_path / "state", file_target("vdir", where), extra="lock_wait = 0.5")
    return cfg, plan, where


def hold(cfg: Path, seconds: float) -> subprocess.Popen:
    """Another process syncing the target: it holds the lock for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(cfg), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_sync_exits_2_naming_the_running_one(workspace):
    cfg, plan, where = workspace
    holder = hold(cfg, 30)
    try:
        began = time.monotonic()
        result = run(cfg, plan)
        waited = time.monotonic() - began
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"pid {holder.pid}" in lines[0] and "--wait" in lines[0]
    assert waited >= 0.5
    assert not where.exists() or not list(where.glob("*.ics"))  # it wrote nothing


def test_wait_waits_for_the_running_sync_to_finish(workspace):
    cfg, plan, where = workspace
    holder = hold(cfg, 2)
    try:
        began = time.monotonic()
        result = run(cfg, plan, "--wait")
        # The holder keeps the lock 2 s after saying so (its exit may come a moment after it lets go: not asked)
        assert time.monotonic() - began >= 1.5, "--wait returned while the other sync still ran"
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 0, result.stderr
    assert result.reports[0]["created"] == len(list(where.glob("*.ics"))) > 0


def test_a_killed_holder_frees_the_target(workspace):
    cfg, plan, _ = workspace
    holder = hold(cfg, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    result = run(cfg, plan)  # lock_wait = 0.5: it must not need to wait at all
    assert result.code == 0, result.stderr
    assert result.reports[0]["created"] > 0


def test_dry_run_does_not_wait_for_the_lock(workspace):
    cfg, plan, _ = workspace
    assert run(cfg, plan).code == 0
    holder = hold(cfg, 30)
    try:
        result = run(cfg, plan, "--dry-run")  # exit 0: it did not wait (lock_wait = 0.5 would end in exit 2)
        probe = run(cfg, plan)  # and it did not keep the lock from its holder either
    finally:
        holder.kill()
        holder.wait()
    assert result.code == 0, result.stderr
    assert any(f"pid {holder.pid}" in note for note in result.reports[0]["notes"])
    assert probe.code == 2


def test_lock_wait_must_be_a_number(tmp_path):
    plan = tmp_path / "interviews.toml"
    plan.write_text(interviews([1]))
    cfg = config(tmp_path, tmp_path / "state", file_target("vdir", tmp_path / "cal"), extra='lock_wait = "soon"')
    result = run(cfg, plan)
    assert result.code == 2 and "config.toml:4: lock_wait" in result.stderr
