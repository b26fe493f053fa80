"""The vdir provider: one ``.ics`` file per item in a folder — the layout khal and vdirsyncer read.

```toml
[targets.khal]
provider = "vdir"
path = "~/.local/share/calendars/jobs"
```

File names come from UIDs (a UID that is not a safe file name is hashed), so no name can escape the folder.
ETags come from file metadata. Only files calsync wrote (named after a UID and marked ``X-CALSYNC-MANAGED:1``)
are ever read, changed or removed.
"""

from __future__ import annotations

from calsync import hookimpl


@hookimpl
def calsync_register_providers(register) -> None:
    # Imported here: loading the plugin (every command does) must stay cheap.
    from calsync_vdir.provider import VdirProvider

    register("vdir", VdirProvider)
