"""Public holidays per country, subdivision and year, kept in the user's cache dir between runs.

Importing the ``holidays`` package costs about 90 ms a process (it loads every country's module, and reads its
own version through ``importlib.metadata``): more than the rest of a ``calsync plan`` on a small file. Its tables
change only with a new release of the package, so each (country, subdivision) gets one small text file of the
years asked so far, in a folder named after the installed release (found without importing it: the package's
location and the stat of its ``__init__.py``, and its ``.dist-info`` folder name). A new release starts a new
folder; a file that cannot be read or parsed is ignored and written again. Nothing here is needed for
correctness: without a cache dir, every run asks ``holidays``.

One file: a first line naming the format, a line ``years Y1 Y2 ...`` (the years it holds, holidays or not), one
line per holiday, ``YYYY-MM-DD<TAB>name``, and ``end N`` (N holidays: a file cut short is never half read).
"""

from __future__ import annotations

import functools
import hashlib
import os
from datetime import date
from pathlib import Path

FORMAT = "calsync holidays 1"
MAX_BYTES = 1024 * 1024  # a country's holidays for a few decades take a few KiB

YearTables = dict[int, dict[date, str]]


@functools.cache
def folder() -> Path | None:
    """The cache folder of the installed ``holidays`` release, or None when it cannot be told."""
    installed = release()
    if installed is None:
        return None
    from platformdirs import user_cache_path

    return user_cache_path("calsync") / "holidays" / hashlib.sha256(installed.encode()).hexdigest()[:16]


def release() -> str | None:
    """What identifies the installed ``holidays`` package, without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("holidays")
        if spec is None or not spec.origin:
            return None
        origin = Path(spec.origin)
        stat = origin.stat()
        dists = sorted(
            name for name in os.listdir(origin.parent.parent) if name.startswith("holidays-") and ".dist-info" in name
        )
    except (OSError, ImportError, ValueError):
        return None
    return f"{origin}\0{stat.st_mtime_ns}\0{stat.st_size}\0{stat.st_ino}\0{','.join(dists)}"


def _file(country: str, subdivision: str | None) -> Path | None:
    where = folder()
    if where is None:
        return None
    return where / f"{hashlib.sha256(repr((country, subdivision)).encode()).hexdigest()[:24]}.txt"


def read(country: str, subdivision: str | None) -> YearTables | None:
    """The years cached for the pair, or None when nothing usable is (never asked, another release, unreadable)."""
    path = _file(country, subdivision)
    if path is None:
        return None
    from calsync.files import read_regular

    try:
        raw = read_regular(path, MAX_BYTES)  # OSError (UnsafeFile too) when not a small regular file
        lines = raw.decode("utf-8").split("\n")
        if lines[0] != FORMAT or not lines[1].startswith("years"):
            return None
        if lines[-2:] != [f"end {len(lines) - 4}", ""]:
            return None  # cut short (the count is of the holiday lines)
        tables: YearTables = {int(year): {} for year in lines[1].split()[1:]}
        for line in lines[2:-2]:
            day_text, name = line.split("\t")
            day = date.fromisoformat(day_text)
            tables[day.year][day] = name
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError):
        return None
    return tables


def write(country: str, subdivision: str | None, tables: YearTables) -> None:
    """Keep ``tables`` for the pair (replacing what was kept); quietly nothing when the cache cannot be written."""
    path = _file(country, subdivision)
    if path is None:
        return
    lines = [FORMAT, " ".join(["years", *(str(year) for year in sorted(tables))])]
    for year in sorted(tables):
        for day, name in sorted(tables[year].items()):
            if "\t" in name or "\n" in name or "\r" in name:
                return  # a name the format cannot hold: not cached (never the case in the package's tables)
            lines.append(f"{day.isoformat()}\t{name}")
    lines.append(f"end {len(lines) - 2}")
    from calsync.files import write_cache

    write_cache(path, ("\n".join(lines) + "\n").encode("utf-8"))  # not kept: the next run asks holidays again
