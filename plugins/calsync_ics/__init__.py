"""The ics provider: every follow-up in one ``.ics`` file, for calendars that subscribe to a file or a URL.

```toml
[targets.file]
provider = "ics"
path = "~/Public/job-followups.ics"
# overwrite = true   # take over an existing file calsync did not write (its own events are kept)
```

The file is rewritten atomically (temp file + rename), once per sync. Components calsync did not write are kept
as they are. A file that exists and was not written by calsync is refused unless ``overwrite = true``.
"""

from __future__ import annotations

from calsync import hookimpl


@hookimpl
def calsync_register_providers(register) -> None:
    # Imported here: loading the plugin (every command does) must stay cheap.
    from calsync_ics.provider import IcsProvider

    register("ics", IcsProvider)
