"""A google target against the local emulator enforcing Google's per-user quota (600 calls in any minute, every call
inside a batch counted), on the emulator's clock: minutes pass without waiting.

Runs: a first sync of N follow-ups under the default pacing (goal: zero calls failed to the user, and a time within
1.1x of the quota's lower bound, N calls at the configured rate); a no-change re-sync (goal: 1 request); and the
first sync after the state database is lost (goal: one listing adopts the events, no insert, no get).

Run: .venv/bin/python bench/google_sync.py [N]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(count: int = 2000) -> int:
    from factories import many_followups
    from google.oauth2.credentials import Credentials
    from google_emulator import Emulator, ManualClock

    from calsync.provider import Target
    from calsync.sync.engine import sync_target
    from calsync_google.auth import write_token
    from calsync_google.provider import GoogleProvider

    emulator = Emulator(page_size=2500)
    emulator.start()
    clock = ManualClock()
    emulator.clock = clock
    GoogleProvider.clock_factory = lambda: clock  # the provider paces and backs off on the emulator's clock
    quota = emulator.enforce_quota(user_per_minute=600)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            token = Path(tmp) / "google-bench.json"
            creds = Credentials(
                token="test-access-token",
                refresh_token="test-refresh-token",
                token_uri=emulator.url + "token",
                client_id="test-client",
                client_secret="test-secret",
            )
            write_token(token, creds.to_json())
            options = {"api_endpoint": emulator.url, "token_file": str(token), "token_uri": emulator.url + "token"}
            target = Target("bench", "google", options, state_dir=Path(tmp) / "state")
            followups = many_followups(count)

            def run(label: str, adopt: bool = False) -> dict:
                emulator.clear_log()
                refused_before = quota.refused
                started, real = clock.now(), time.perf_counter()
                provider = GoogleProvider(target)
                report = sync_target(target, followups, provider=provider, adopt=adopt)
                elapsed, real = clock.now() - started, time.perf_counter() - real
                log = list(emulator.log)
                batches = [e for e in log if e.batch]
                calls = sum(e.parts for e in batches) + len(log) - len(batches)
                subs = [method for e in batches for method, _ in e.sub]
                result = {
                    "requests": len(log),
                    "batches": len(batches),
                    "calls": calls,
                    "inserts": subs.count("POST"),
                    "gets": subs.count("GET"),
                    "updates": subs.count("PUT"),
                    "refused": quota.refused - refused_before,
                    "created": len(report.created),
                    "updated": len(report.updated),
                    "conflicts": len(report.conflicts),
                    "elapsed": elapsed,
                    "real": real,
                    "light": provider.light_requests,
                }
                print(
                    f"{label}: {len(log)} HTTP requests ({len(batches)} batches), {calls} calls "
                    f"({result['inserts']} inserts, {result['gets']} gets, {result['updates']} updates, "
                    f"{calls - len(subs)} listings); {result['refused']} answered rateLimitExceeded; "
                    f"created {result['created']}, updated {result['updated']}, conflicts {result['conflicts']}; "
                    f"{elapsed:.1f} s on the emulator's clock ({real:.1f} s real); "
                    f"{provider.light_requests} request(s) on the standard library (calsync_google/light.py)"
                )
                return result

            rate = GoogleProvider(target).calls_per_minute
            first = run(f"first sync of {count}")
            bound = count / rate * 60.0
            ratio = first["elapsed"] / bound
            print(
                f"    quota lower bound: {count} calls at {rate:g}/min = {bound:.1f} s; "
                f"took {first['elapsed']:.1f} s = {ratio:.3f}x"
            )
            # Batches are sent one after another: Google's per-user quota, not the round trips, sets the pace, so
            # batches in parallel would spend the same quota sooner and then wait (or be refused) just the same.
            print(
                f"    parallel batches do not help: the quota sets the pace ({first['elapsed']:.0f} s of quota time "
                f"against {first['real']:.1f} s of real work); calsync sends its batches one at a time"
            )
            again = run("no-change re-sync")
            shutil.rmtree(target.state_dir)
            lost = run("first sync after the state database was lost (--adopt)", adopt=True)
            again_after = run("no-change re-sync after that")
            ok = (
                first["created"] == count
                and first["refused"] == 0
                and ratio <= 1.1
                and again["requests"] == 1
                and again["light"] == 1
                and lost["inserts"] == lost["gets"] == 0
                and lost["created"] == 0
                and again_after["requests"] == 1
            )
            print(f"summary: {'OK' if ok else 'FAILED'}")
            return 0 if ok else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
