"""Requests and wall time of an outlook target against the local Graph emulator: a first sync of N follow-ups
(JSON batches of 20), a no-change re-sync (goal: 1 request), and an incremental re-sync after one change; then the
same first sync under a Graph-like request limit on a controlled clock, to see pacing at work.

Run: .venv/bin/python bench/outlook_sync.py [N]
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(count: int = 2000) -> int:
    from factories import many_followups
    from graph_emulator import Emulator, FakeClock
    from graph_emulator_fixtures import outlook_target

    from calsync.plugins import provider_class
    from calsync.sync.engine import sync_target

    with tempfile.TemporaryDirectory() as tmp:
        emulator = Emulator(Path(tmp) / "tls")
        emulator.start()
        os.environ["REQUESTS_CA_BUNDLE"] = str(emulator.ca_path)
        try:
            followups = many_followups(count)
            target = outlook_target(emulator, Path(tmp) / "a", calendar="Job search", create=True)

            def run(label: str, plan, **setup) -> int:
                provider = provider_class("outlook")(target)
                for key, value in setup.items():
                    setattr(provider, key, value)
                before_http, before_log = emulator.http_requests, len(emulator.log)
                started = time.perf_counter()
                report = sync_target(target, plan, provider=provider)
                elapsed = time.perf_counter() - started
                http = emulator.http_requests - before_http
                calls = len(emulator.log) - before_log
                print(
                    f"{label}: {http} HTTP request(s) carrying {calls} Graph call(s); created {len(report.created)}, "
                    f"updated {len(report.updated)}, unchanged {report.unchanged}; {elapsed:.2f}s"
                )
                return http

            first = run(f"first sync of {count}", followups)
            again = run("no-change re-sync", followups)
            changed = [dataclasses.replace(f, due=f.due + timedelta(days=1)) if n == 0 else f
                       for n, f in enumerate(followups)]  # fmt: skip
            incremental = run("re-sync after one change", changed)
            batches = -(-count // 20)
            print(f"summary: first sync {first} requests ({batches} batches of <= 20 writes at least), "
                  f"no-change re-sync {again}, incremental {incremental}")  # fmt: skip

            # Pacing: Graph allows about 10,000 requests per 10 minutes per mailbox; the emulator enforces 1,000 a
            # minute on its own clock, against calsync's default pace.
            from calsync_outlook.provider import DEFAULT_RATE

            clock = FakeClock()
            emulator.clock, emulator.limit_per_minute = clock.time, 1000
            target = outlook_target(emulator, Path(tmp) / "b", calendar="Paced", create=True)
            run(f"paced first sync of {count}", followups, clock=clock.time, sleep=clock.sleep)
            bound = (count - 1) * 60 / DEFAULT_RATE
            print(f"paced: {clock.now:.0f} s on the emulator's clock for {count} writes; the limit's lower bound is "
                  f"{bound:.0f} s: ratio {clock.now / bound:.2f}; throttled answers: {emulator.throttled}")  # fmt: skip
            return 0 if again == 1 and incremental <= 3 and emulator.throttled == 0 else 1
        finally:
            emulator.stop()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
