"""The parsed form of a large TOML file, kept in the cache dir until its bytes change.

``tomllib`` reads about 2.5 MB a second: a quarter of a second for the interview file of 2,000 interviews, paid on
every ``calsync sync`` that cron runs although the file rarely changed since the last one. So the parsed data of a
file over :data:`MIN_BYTES` is kept beside the SHA-256 of the exact bytes it came from (and the Python version,
whose ``tomllib`` parsed it); a run whose file has the same bytes reads that back, any other parses again. Only
files that parsed without an error are kept, so a file that is kept also passed the shape check.

The form is JSON (read by the C decoder, and unable to run code whatever the file holds), with TOML's dates and
times as one-key objects ``{"\\u0000datetime": "2026-12-01T10:00:00"}``; a table of the file that happens to look
like one is written as ``{"\\u0000table": [[key, value]]}``. A file cut short or damaged is not valid JSON, or not
of the expected header, and is parsed afresh. Files are written for the owner alone (mode 0600): they hold what
the interview file holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

FORMAT = "calsync parsed toml 1"
MIN_BYTES = 64 * 1024  # smaller files parse in a few milliseconds: not worth a file
_TAGS = {"\0datetime": datetime.fromisoformat, "\0date": date.fromisoformat, "\0time": time.fromisoformat}
_TABLE = "\0table"


def _header(raw: bytes) -> str:
    return f"{FORMAT}\t{sys.version}\t{hashlib.sha256(raw).hexdigest()}"


def _file(path: Path) -> Path | None:
    try:
        from platformdirs import user_cache_path

        folder = user_cache_path("calsync") / "parsed"
        name = hashlib.sha256(os.fsencode(os.path.abspath(path))).hexdigest()[:24]
    except Exception:  # no usable home: parse every time
        return None
    return folder / f"{name}.json"


def load(path: Path, raw: bytes) -> dict[str, Any] | None:
    """What ``raw`` (the bytes of ``path``) parsed to last time, or None when it was not kept."""
    if len(raw) < MIN_BYTES:
        return None
    kept = _file(path)
    if kept is None:
        return None
    from calsync.files import read_regular

    try:
        text = read_regular(kept, 8 * len(raw) + 4096).decode("utf-8")
        header, _, body = text.partition("\n")
        if header != _header(raw):
            return None
        data = json.loads(body, object_hook=_decoded)
    except (OSError, ValueError, UnicodeDecodeError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def keep(path: Path, raw: bytes, data: dict[str, Any]) -> None:
    """Keep ``data``, what ``raw`` parsed to; quietly nothing when the cache dir cannot be written."""
    if len(raw) < MIN_BYTES:
        return
    kept = _file(path)
    if kept is None:
        return
    from calsync.files import temp_name

    try:
        body = f"{_header(raw)}\n{json.dumps(_encoded(data), ensure_ascii=False, separators=(',', ':'))}".encode()
    except (TypeError, ValueError):  # nothing tomllib gives; never kept half
        return
    temp = kept.parent / temp_name()
    try:  # a whole file or none (renamed into place); no fsync: a lost one is only parsed again
        kept.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(body)
        os.replace(temp, kept)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()


def _encoded(value: Any) -> Any:
    if isinstance(value, dict):
        table = {key: _encoded(item) for key, item in value.items()}
        if len(table) == 1 and next(iter(table)) in (*_TAGS, _TABLE):
            return {_TABLE: list(table.items())}  # a table of the file that looks like a tag
        return table
    if isinstance(value, list):
        return [_encoded(item) for item in value]
    if isinstance(value, datetime):
        return {"\0datetime": value.isoformat()}
    if isinstance(value, date):
        return {"\0date": value.isoformat()}
    if isinstance(value, time):
        return {"\0time": value.isoformat()}
    return value


def _decoded(table: dict[str, Any]) -> Any:
    if len(table) == 1:
        key, value = next(iter(table.items()))
        if key == _TABLE:
            return dict(value)
        convert = _TAGS.get(key)
        if convert is not None:
            return convert(value)
    return table
