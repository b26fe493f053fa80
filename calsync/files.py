"""Safe file handling for the file providers and the CLI, as a careful Unix tool does it.

- Reading: only a regular file, at most a given size (a FIFO must not hang the run, ``/dev/zero`` must not fill
  the memory): the path is checked with ``stat`` before it is opened, and the opened file again (it could have
  been swapped in between), opened non-blocking.
- Writing: atomic (a temp file beside the target, then a rename); through a symlink to the file it points to
  (the link stays a link); a new file gets the mode the umask gives, an existing one keeps its mode.
- Temp files are named ``.calsync-<pid>-<random>.tmp``; :func:`remove_stale_temps` removes those whose process
  is gone (an interrupted run), and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import stat
import time
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = ".calsync-"
TEMP_SUFFIX = ".tmp"
# Ours: ".calsync-<pid>-<random>.tmp", or ".calsync-<random>.tmp" as older versions named them.
_TEMP_NAME = re.compile(r"\.calsync-(?:(?P<pid>\d{1,10})-)?[A-Za-z0-9_]{6,32}\.tmp")
# A temp file without a process id is stale once this old; one with an id as soon as that process is gone.
_STALE_SECONDS = 600
# Even with a live process id, a day-old temp file is a leftover (the id was reused).
_ABANDONED_SECONDS = 86400


class UnsafeFile(OSError):
    """The path is something calsync refuses to read or replace: not a regular file, or too large.

    ``str()`` is a short reason without the path ("is a FIFO, not a regular file")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason

    def __str__(self) -> str:
        return self.reason


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _check_regular(st: os.stat_result, limit: int | None) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(f"is {_kind(st.st_mode)}, not a regular file")
    if limit is not None and st.st_size > limit:
        raise UnsafeFile(f"is larger than {_size(limit)} ({_size(st.st_size)}): refused")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def check_writable_target(path: Path) -> None:
    """Raise :class:`UnsafeFile` unless ``path`` (symlinks followed) is a regular file or absent."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    _check_regular(st, None)


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``limit`` of them.

    :raises FileNotFoundError: nothing there.
    :raises IsADirectoryError: a directory.
    :raises UnsafeFile: a FIFO, a device, a socket, or more than ``limit`` bytes.
    :raises OSError: anything else the system says.
    """
    return read_regular_stat(path, limit)[0]


def read_regular_stat(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """:func:`read_regular`, and the status of the file that was read (for an ETag)."""
    _check_regular(os.stat(path), limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)
        _check_regular(opened, limit)  # the same check on what was opened
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:  # it grew while being read
        raise UnsafeFile(f"is larger than {_size(limit)}: refused")
    return b"".join(chunks), opened


def write_atomic(path: Path, data: bytes, mode: int | None = None, *, sync: bool = True) -> None:
    """Replace ``path`` with ``data`` in one step: a reader sees the old file or the new one, never half.

    A symlink is followed and the file it points to is replaced. The file keeps its mode; a new one gets
    ``0666`` less the umask, or ``mode`` when given.

    :raises UnsafeFile: ``path`` is there but is not a regular file (a FIFO, a device).
    """
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    if st is not None:
        _check_regular(st, None)
    temp = _written_temp(real, data, mode, st, sync)
    try:
        os.replace(temp, real)
    except BaseException:
        _unlink_quietly(temp)
        raise


def write_output(path: Path, data: bytes) -> None:
    """Write a command's output file: a regular file (or a new one) is replaced atomically as by
    :func:`write_atomic`, after removing stale temp files beside it; a pipe or a device (``/dev/stdout``, a shell's
    ``>(...)``) is written into, as any Unix tool would."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
        with open(path, "wb") as handle:
            handle.write(data)
        return
    remove_stale_temps(Path(os.path.realpath(path)).parent)
    write_atomic(path, data)


def create_exclusive(path: Path, data: bytes, mode: int | None = None, *, sync: bool = True) -> bool:
    """Write ``data`` to ``path`` only if nothing is there, atomically. False if something was there.

    ``sync=False`` (here and in :func:`write_atomic`) leaves the data in the page cache: for a caller that writes
    many files and then makes them durable at once (:func:`sync_folder`) before telling anyone they are written."""
    temp = _written_temp(path, data, mode, None, sync)
    try:
        os.link(temp, path)  # fails if path exists: no clobbering, even in a race
    except FileExistsError:
        return False
    finally:
        _unlink_quietly(temp)
    return True


def write_cache(path: Path, data: bytes, *, private: bool = False) -> bool:
    """Keep ``data`` as the cache file ``path``: whole or not at all (a temporary file renamed into place; no fsync,
    since a lost cache file is only computed again), the folder made as needed; ``private`` files are the owner's
    alone (0600, in a 0700 folder). False, quietly, when the cache dir cannot be written."""
    temp = path.parent / temp_name()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, **({"mode": 0o700} if private else {}))
        with os.fdopen(os.open(temp, flags, 0o600 if private else 0o666), "wb") as stream:
            stream.write(data)
        os.replace(temp, path)
    except OSError:  # a read-only or full cache dir, or a file where its folder should be
        with contextlib.suppress(OSError):
            temp.unlink()
        return False
    return True


def temp_name() -> str:
    import secrets  # only when writing: its random module costs a reader's start-up a few milliseconds

    return f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}{TEMP_SUFFIX}"


def _written_temp(path: Path, data: bytes, mode: int | None, existing: os.stat_result | None, sync: bool = True) -> str:
    """A temporary file beside ``path`` (same file system, so rename and link are atomic), synced to disk
    (unless ``sync`` is False)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = os.path.join(path.parent, temp_name())
        try:
            # 0o666: the kernel takes the umask off, as for any new file a program creates.
            fd = os.open(temp, flags, 0o666 if mode is None else mode)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            if existing is not None:
                with contextlib.suppress(OSError):  # the group, where we may set it; the owner is ours anyway
                    os.fchown(handle.fileno(), -1, existing.st_gid)
                os.fchmod(handle.fileno(), stat.S_IMODE(existing.st_mode))
            elif mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        _unlink_quietly(temp)
        raise
    return temp


def sync_folder(folder: Path) -> None:
    """Make every file written in ``folder`` durable, and the folder's entries (new names, removed ones): one
    ``syncfs`` of its file system where the system has it (Linux), else ``sync``, then an ``fsync`` of the folder.
    Far cheaper than an ``fsync`` per file when many were written."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        if not _syncfs(fd):
            os.sync()
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(fd: int) -> bool:
    syncfs = _syncfs_call()
    return syncfs is not None and syncfs(fd) == 0


@functools.cache
def _syncfs_call() -> Callable[[int], int] | None:
    """libc's ``syncfs``, looked up once; None where there is none."""
    try:
        import ctypes
        import ctypes.util

        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def remove_stale_temps(folder: Path, *, now: float | None = None) -> int:
    """Remove calsync's own temp files in ``folder`` left by an interrupted run; return how many.

    Only names calsync makes (``.calsync-<pid>-<random>.tmp``) are considered, only regular files, and only stale
    ones: their process is gone (or the file is a day old), or, for the older names without a process id, ten
    minutes old. A temp file of a run still going on is left alone.
    """
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMP_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        age = now - st.st_mtime
        pid = match.group("pid")
        if pid is None:  # an older version's name
            stale = age > _STALE_SECONDS
        elif age > _ABANDONED_SECONDS:
            stale = True
        else:
            stale = not _process_alive(int(pid))
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or we cannot tell: keep the file
    return True


def file_etag(stat_result: os.stat_result) -> str:
    """An ETag from file metadata: any rewrite changes it."""
    return f"{stat_result.st_mtime_ns:x}-{stat_result.st_size:x}-{stat_result.st_ino:x}"


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
