"""The entry points of one group (``calsync``'s plugins), remembered in the cache dir between runs.

Listing entry points with ``importlib.metadata`` costs 50 to 100 ms a process: its import (email parsing, zip
files...) and a read of every installed distribution. What it finds changes only when a distribution is installed,
removed or upgraded, and each of those adds, removes or renames a folder in a ``sys.path`` entry, which changes
that entry's modification time. So the list is kept in a small file named after ``sys.path`` and the modification
time of each of its entries; any change there lists afresh. (An ``entry_points.txt`` edited in place by hand is the
one change it does not see: reinstalling the distribution does.)
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = "calsync entry points 1"
MAX_BYTES = 256 * 1024

# The form of an entry point's value, as importlib.metadata.EntryPoint reads it: ``module[:attr.attr] [extras]``.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


@dataclass(frozen=True)
class EntryPoint:
    """One entry point and the distribution that declares it."""

    name: str
    value: str
    distribution: str | None
    version: str | None

    def load(self) -> Any:
        """The object the entry point names (imported), as ``importlib.metadata.EntryPoint.load`` gives it."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"not an entry point value: {self.value!r}")
        target: Any = importlib.import_module(match["module"])
        for attribute in filter(None, (match["attr"] or "").split(".")):
            target = getattr(target, attribute)
        return target


def entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group`` in the order ``importlib.metadata.entry_points`` gives them."""
    path = _file(group)
    if path is not None:
        found = _read(path)
        if found is not None:
            return found
    found = _listed(group)
    if path is not None:
        _write(path, found)
    return found


def _listed(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points as listed

    result = []
    for ep in listed(group=group):
        dist = ep.dist
        result.append(EntryPoint(ep.name, ep.value, dist.name if dist else None, dist.version if dist else None))
    return result


def _file(group: str) -> Path | None:
    parts = [sys.version, group]
    for entry in sys.path:
        try:
            stamp = os.stat(entry or ".").st_mtime_ns
        except OSError:
            stamp = -1
        parts.append(f"{entry}\0{stamp}")
    folder = _folder()
    if folder is None:
        return None
    return folder / f"{hashlib.sha256(chr(1).join(parts).encode('utf-8', 'surrogateescape')).hexdigest()[:24]}.txt"


@functools.cache
def _folder() -> Path | None:
    try:
        from platformdirs import user_cache_path

        return user_cache_path("calsync") / "entry-points"
    except Exception:  # no usable home: list every time
        return None


def _read(path: Path) -> list[EntryPoint] | None:
    from calsync.files import read_regular

    try:
        lines = read_regular(path, MAX_BYTES).decode("utf-8").split("\n")
        if lines[0] != FORMAT or lines[-2:] != [f"end {len(lines) - 3}", ""]:
            return None  # another format, or cut short
        found = []
        for line in lines[1:-2]:
            name, value, distribution, version = line.split("\t")
            found.append(EntryPoint(name, value, distribution or None, version or None))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return found


def _write(path: Path, found: list[EntryPoint]) -> None:
    from calsync.files import write_cache

    lines = [FORMAT]
    for ep in found:
        fields = (ep.name, ep.value, ep.distribution or "", ep.version or "")
        if any(char in field for field in fields for char in "\t\n\r"):
            return  # a field the format cannot hold: not kept
        lines.append("\t".join(fields))
    lines.append(f"end {len(found)}")
    write_cache(path, ("\n".join(lines) + "\n").encode("utf-8"))  # not kept: the next run lists them again
