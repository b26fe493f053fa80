"""The todo.txt provider keeps calsync's provider contract (calsync.testing), whole syncs included."""

from __future__ import annotations

import pytest

from calsync import Target
from calsync.testing import ProviderContract
from calsync_todotxt.provider import TodoTxtProvider

#: The user's own lines: a priority, projects, contexts, a due date, a completed one, no newline at the end.
USERS_LINES = [
    "(A) Call the landlord about the heating @phone due:2027-01-10",
    "x 2026-11-02 2026-11-01 Renew passport +admin",
    "Buy birthday present for Ana +family t:2027-01-05 ünïcødé ✓",
]


class TestTodoTxt(ProviderContract):
    @pytest.fixture
    def provider(self, tmp_path):
        return TodoTxtProvider(Target("todo", "todotxt", {"path": str(tmp_path / "todo.txt")}))

    @pytest.fixture
    def put_foreign(self):
        def put(provider, n):
            data = provider.path.read_bytes() if provider.path.exists() else b""
            line = f"{USERS_LINES[n % len(USERS_LINES)]} id:mine-{n}".encode()
            provider.path.write_bytes(data + (b"\n" if data and not data.endswith(b"\n") else b"") + line)
            return f"mine-{n}"  # the last line has no newline: calsync must cope, and not join its line to it

        return put

    @pytest.fixture
    def read_on_target(self):
        def read(provider, handle):
            if not provider.path.exists():
                return None
            for line in provider.path.read_bytes().splitlines():
                if f"calsync:{handle}".encode() in line or line.endswith(f"id:{handle}".encode()):
                    return line
            return None

        return read

    @pytest.fixture
    def edit_on_target(self):
        def edit(provider, href):
            lines = provider.path.read_bytes().splitlines(keepends=True)
            lines = [b"(B) " + line if f"calsync:{href}".encode() in line else line for line in lines]
            provider.path.write_bytes(b"".join(lines))

        return edit
