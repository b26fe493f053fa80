"""Races: two and three `calsync sync` processes (the installed script) with different plans at once on one target
(ics, vdir, CalDAV on Radicale), then one more sync: nothing lost, no false conflict, no duplicate UID.

``CALSYNC_ROUNDS`` rounds (default small for CI; 100 for a deep run by hand), alternating two and three processes;
from the second round on, one of them is killed (SIGKILL) at a random moment: the lock dies with it.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest
from reliability import count
from syncsafety import (
    ROUNDS,
    caldav_target,
    components,
    config,
    dav_blobs,
    file_blobs,
    file_target,
    finish,
    interviews,
    lost_items,
    planned,
    run_here,
    start,
)

# Three plans that disagree: other interviews, moved check-ins, an offer that cancels what is ahead.
PLANS = [
    interviews([1, 2]),
    interviews([1, 2, 3], extended={2}),
    interviews([2, 3, 4], extended={3}, cancelled={4}),
]
FINAL = interviews([1, 2, 3, 4], extended={3})


def race(tmp: Path, cfg: Path, processes: int, env: dict | None = None, kill_after: float | None = None) -> list[dict]:
    """``processes`` syncs at once, each with its own plan, then the final one; every report. With ``kill_after``,
    the first one is killed (SIGKILL) that many seconds after the start, wherever it is."""
    files = []
    for n, text in enumerate(PLANS[:processes]):
        files.append(tmp / f"plan{n}.toml")
        files[-1].write_text(text)
    running = [start(cfg, path, "--wait", env=env) for path in files]
    if kill_after is not None:
        time.sleep(kill_after)
        running[0].send_signal(signal.SIGKILL)
    results = [finish(process) for process in running]
    if results[0].code == -signal.SIGKILL:
        count("races", "syncs killed mid-race, survived by the others")
        results = results[1:]
    for result in results:
        assert result.code == 0, result.stderr
        assert "Traceback" not in result.stderr
    final = tmp / "final.toml"
    final.write_text(FINAL)
    last = run_here(cfg, final, env=env)
    assert last.code == 0, last.stderr
    return [report for result in [*results, last] for report in result.reports]


def check(tmp: Path, cfg: Path, reports: list[dict], held_blobs: list[bytes], suite_what: str) -> None:
    held, seen = components(held_blobs)
    lost = lost_items(planned(cfg, tmp / "final.toml"), held)
    count("races", f"{suite_what}: items lost", len(lost))
    assert lost == [], f"lost {len(lost)} follow-ups"
    assert [uid for uid, n in seen.items() if n > 1] == [], "duplicate UIDs"
    conflicts = [c for report in reports for c in report["conflicts"]]
    assert conflicts == [], "false conflicts"


@pytest.mark.parametrize("kind", ["ics", "vdir"])
def test_concurrent_syncs_on_a_file_target(tmp_path, kind):
    for round_ in range(ROUNDS):
        processes = 2 + round_ % 2
        tmp = tmp_path / f"round{round_}"
        tmp.mkdir()
        where = tmp / ("cal" if kind == "vdir" else "followups.ics")
        cfg = config(tmp, tmp / "state", file_target(kind, where))
        reports = race(tmp, cfg, processes, kill_after=random.Random(round_).uniform(0.5, 2.5) if round_ else None)
        check(tmp, cfg, reports, file_blobs(kind, where), kind)
        count("races", f"{kind}: races of {processes} concurrent syncs run")


def test_concurrent_syncs_on_caldav(tmp_path, radicale_server):
    server = radicale_server
    env = {"CALSYNC_TEST_CALDAV_PASSWORD": server.password}
    for round_ in range(ROUNDS):
        processes = 2 + round_ % 2
        tmp = tmp_path / f"round{round_}"
        tmp.mkdir()
        name = server.unique_name("race")
        path = server.make_calendar(name)
        cfg = config(tmp, tmp / "state", caldav_target(server, name))
        kill_after = random.Random(round_).uniform(0.5, 3.0) if round_ else None
        reports = race(tmp, cfg, processes, env, kill_after)
        check(tmp, cfg, reports, dav_blobs(server, path), "caldav")
        count("races", f"caldav: races of {processes} concurrent syncs run")
