"""One sync per target at a time: an advisory lock on a file next to the target's state database.

``flock`` is released by the kernel when the holder's process ends, however it ends (a kill, a crash, a power cut
of the session), so a stale lock cannot outlive its process. The holder writes its pid and command line into the
file, so that a second run can say who is syncing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from calsync.errors import UserError

POLL_SECONDS = 0.1


def lock_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".lock")


def holder(path: Path) -> str:
    """Who holds the lock, as its file says ("pid 123: calsync sync phone"), or a vaguer word if unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return " ".join(text.split())[:200] or "another calsync process"


@contextlib.contextmanager
def target_lock(state_path: Path, target: str, wait: float | None) -> Iterator[None]:
    """Hold the lock of the target whose state is ``state_path`` for the ``with`` block.

    ``wait`` is how many seconds to wait for a running sync to finish (None: as long as it takes).

    :raises UserError: another sync still holds it after ``wait`` seconds (one line naming that process).
    """
    path = lock_path(state_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserError(f"{path}: cannot open the sync lock: {exc.strerror}") from None
    try:
        _acquire(fd, path, target, wait)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {_command()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)  # released below; an empty file names nobody
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def is_locked(state_path: Path) -> str | None:
    """Who is syncing the target now, without waiting and without keeping the lock; None if nobody."""
    path = lock_path(state_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder(path)
    finally:
        os.close(fd)
    return None


def _acquire(fd: int, path: Path, target: str, wait: float | None) -> None:
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        if deadline is not None and time.monotonic() >= deadline:
            raise UserError(
                f"target {target!r} is being synced by {holder(path)}; waited {wait:g} s "
                "(try again when it is done, or run `calsync sync --wait`)"
            )
        time.sleep(POLL_SECONDS)


def _command() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if name in ("__main__.py", "-m", "-c"):
        name = "calsync"
    return " ".join([name, *sys.argv[1:]])
