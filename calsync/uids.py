"""Stable follow-up UIDs.

A UID depends only on what identifies the follow-up (interview id, kind, round, attempt, recipient), never on due
times or the order of the file, so it is the same on every run and every machine. It is a hash: it reveals no
names or addresses (RFC 7986 §5.3), and it is short (well under 255 octets).
"""

from __future__ import annotations

import hashlib

UID_DOMAIN = "calsync"


def make_uid(*parts: object) -> str:
    """A UID from identifying parts; the same parts always give the same UID."""
    material = "\x1f".join(str(part) for part in parts).encode("utf-8")
    digest = hashlib.sha256(material).hexdigest()[:32]
    return f"{digest}@{UID_DOMAIN}"
