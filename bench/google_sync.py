"""HTTP requests made by a google target against the local emulator: a first sync of N follow-ups (goal: at most
3 for 2,000) and a no-change re-sync (goal: 1). Run: .venv/bin/python bench/google_sync.py [N]"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(count: int = 2000) -> int:
    from factories import many_followups
    from google.oauth2.credentials import Credentials
    from google_emulator import Emulator

    from calsync.provider import Target
    from calsync.sync.engine import sync_target
    from calsync_google.auth import write_token
    from calsync_google.provider import GoogleProvider

    emulator = Emulator(page_size=2500)
    emulator.start()
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
            target = Target("bench", "google", options, state_dir=Path(tmp))
            followups = many_followups(count)

            def run(label: str) -> list:
                emulator.clear_log()
                started = time.perf_counter()
                report = sync_target(target, followups, provider=GoogleProvider(target))
                elapsed = time.perf_counter() - started
                log = list(emulator.log)
                writes = [e for e in log if e.batch]
                print(
                    f"{label}: {len(log)} HTTP requests "
                    f"({len(writes)} batch request(s) with {sum(e.parts for e in writes)} calls, "
                    f"{len(log) - len(writes)} read(s)); created {len(report.created)}, "
                    f"updated {len(report.updated)}; {elapsed:.2f}s"
                )
                for entry in log:
                    kind = f"batch of {entry.parts}" if entry.batch else ",".join(sorted(entry.query))
                    print(f"    {entry.method} {entry.path} [{kind}]")
                return log

            first = run(f"first sync of {count}")
            again = run("no-change re-sync (full listing: the first sync got no token)")
            third = run("no-change re-sync (incremental, syncToken)")
            first_writes = len([e for e in first if e.batch])
            print(
                f"summary: first sync {len(first)} requests ({first_writes} with writes), "
                f"re-syncs {len(again)} and {len(third)} request(s)"
            )
            return 0 if len(again) == len(third) == 1 and first_writes <= -(-count // 1000) else 1
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
