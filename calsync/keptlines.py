"""Files of keyed lines in the cache dir: how the parse cache and the plan memo keep what they computed.

The first line names the format (and what every entry depends on); then one line per entry, ``KEY<TAB>VALUE``
(the value one line of JSON, which writes a line break inside a string as ``\\n``); then ``end``. A file whose first
line is another's, or that lacks its last line (cut short), reads as empty: everything is computed again. A file is
written whole or not at all (a temporary file renamed into place; no fsync, since a lost one is only computed again),
for the owner alone (0600, in a 0700 folder): what it keeps comes from the user's files. When the cache dir cannot
be written, nothing is kept, quietly.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

END = "end"


def cache_file(folder: str, source: Path) -> Path | None:
    """The file in the cache dir's ``folder`` that keeps what was computed from ``source`` (None: no usable home)."""
    try:
        from platformdirs import user_cache_path

        name = hashlib.sha256(os.fsencode(os.path.abspath(source))).hexdigest()[:24]
        return user_cache_path("calsync") / folder / f"{name}.json"
    except Exception:  # no usable home: compute every time
        return None


def read(path: Path, header: str, limit: int) -> dict[str, str]:
    """The entries of ``path`` (key -> value), if its first line is ``header`` and it is whole; else none."""
    from calsync.files import read_regular

    try:
        lines = read_regular(path, limit).decode("utf-8").split("\n")  # not splitlines: U+2028 may be in a value
    except (OSError, UnicodeDecodeError):
        return {}
    if lines[0] != header or lines[-1] != END:
        return {}
    entries = {}
    for line in lines[1:-1]:
        key, tab, value = line.partition("\t")
        if not tab:
            return {}
        entries[key] = value
    return entries


def write(path: Path, header: str, entries: dict[str, str]) -> None:
    """Replace ``path`` with ``entries`` under ``header``; quietly nothing when it cannot be written."""
    from calsync.files import write_cache

    body = "\n".join([header, *(f"{key}\t{value}" for key, value in entries.items()), END])
    write_cache(path, body.encode("utf-8"), private=True)
