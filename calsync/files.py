"""Safe file writes for the file providers: atomic replace, and create-only-if-absent."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one step: a reader sees the old file or the new one, never half."""
    temp = _written_temp(path, data, mode)
    try:
        os.replace(temp, path)
    except BaseException:
        _unlink_quietly(temp)
        raise


def create_exclusive(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Write ``data`` to ``path`` only if nothing is there, atomically. False if something was there."""
    temp = _written_temp(path, data, mode)
    try:
        os.link(temp, path)  # fails if path exists: no clobbering, even in a race
    except FileExistsError:
        return False
    finally:
        _unlink_quietly(temp)
    return True


def _written_temp(path: Path, data: bytes, mode: int) -> str:
    """A temporary file beside ``path`` (same file system, so rename and link are atomic), synced to disk."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".calsync-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
    except BaseException:
        _unlink_quietly(temp)
        raise
    return temp


def file_etag(stat: os.stat_result) -> str:
    """An ETag from file metadata: any rewrite changes it."""
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}-{stat.st_ino:x}"


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
