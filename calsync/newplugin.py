"""``calsync plugin new NAME``: a provider plugin package from calsync/scaffold/template, ready to run calsync's
conformance suite (green before any code is written against a real target)."""

from __future__ import annotations

import re
from pathlib import Path

from calsync.errors import UserError

TEMPLATE = Path(__file__).parent / "scaffold" / "template"
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def new_plugin(name: str, parent: Path) -> Path:
    """Write ``calsync-NAME/`` under ``parent``; its path. Never overwrites anything."""
    if not _NAME.fullmatch(name):
        raise UserError(f"plugin name {name!r}: use lower-case letters, digits and _ (it becomes calsync_{name})")
    root = parent / f"calsync-{name}"
    if root.exists():
        raise UserError(f"{root}: exists already; choose another name or folder")
    words = {"{{name}}": name, "{{Class}}": "".join(part.capitalize() for part in name.split("_"))}
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        target = root / str(relative).replace("calsync_NAME", f"calsync_{name}")
        text = source.read_text(encoding="utf-8")
        for placeholder, value in words.items():
            text = text.replace(placeholder, value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root
