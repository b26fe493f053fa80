"""calsync-todotxt: follow-ups as todo.txt lines (``provider = "todotxt"``).

```toml
[targets.todo]
provider = "todotxt"
path = "~/todo/todo.txt"
```
"""

from __future__ import annotations

from calsync import hookimpl

__version__ = "0.1.0"


@hookimpl
def calsync_register_providers(register) -> None:
    # Imported here: every calsync command loads every plugin, and most never use this one.
    from calsync_todotxt.provider import TodoTxtProvider

    register("todotxt", TodoTxtProvider)
