"""How long ``calsync --help`` takes next to a bare ``import click``, and which heavy modules it loads.

Run by hand (not a test): ``.venv/bin/python bench/cli_startup.py [--runs N]``. The goal is a ratio under 2.0:
``--help`` must not import icalendar, holidays, dateutil or a provider's client library.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("icalendar", "holidays", "caldav", "googleapiclient", "dateutil")
GOAL = 2.0
PYTHON = sys.executable
CALSYNC = str(Path(PYTHON).parent / "calsync")

_LOADED = f"""
import json, sys
import calsync.cli
if hasattr(calsync.cli.cli, "_add_plugin_commands"):
    calsync.cli.cli._add_plugin_commands()
else:
    calsync.cli._register_plugin_commands()
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def best_of(command: list[str], runs: int) -> float:
    """The fastest of ``runs`` wall-clock timings of ``command``, in seconds (after one warm-up run)."""
    env = dict(os.environ)
    subprocess.run(command, capture_output=True, env=env, check=True)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def heavy_modules_loaded() -> list[str]:
    done = subprocess.run([PYTHON, "-c", _LOADED], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


_HELP = """
import sys
sys.argv = ["calsync", "--help"]
from calsync.cli import main
try:
    main()
except SystemExit:
    pass
"""


def slowest_imports(count: int = 8) -> list[tuple[int, int, str]]:
    """The modules that took longest to import (self µs, cumulative µs) during ``calsync --help``."""
    done = subprocess.run([PYTHON, "-X", "importtime", "-c", _HELP], capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[0].strip().isdigit():
            continue
        rows.append((int(fields[0]), int(fields[1]), fields[2].strip()))
    rows.sort(reverse=True)
    return rows[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    click_time = best_of([PYTHON, "-c", "import click"], args.runs)
    help_time = best_of([CALSYNC, "--help"], args.runs)
    ratio = help_time / click_time
    print(f"python -c 'import click': {click_time * 1000:7.1f} ms (best of {args.runs})")
    print(f"calsync --help:           {help_time * 1000:7.1f} ms (best of {args.runs})")
    print(f"ratio:                    {ratio:7.2f} (goal < {GOAL})")
    heavy = heavy_modules_loaded()
    print(f"heavy modules after importing calsync.cli + plugin commands: {', '.join(heavy) or 'none'}")
    print("slowest imports of `calsync --help` (self / cumulative µs):")
    for own, cumulative, name in slowest_imports():
        print(f"  {own:7d} {cumulative:8d}  {name}")
    return 0 if ratio < GOAL and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
