"""Commands that capture news into the interview file: ``init``, ``add``, ``record``, ``done``.

Each module is a thin click shell; :func:`register` adds them to the ``calsync`` group. Their work is done by pure
functions elsewhere (``calsync.capture``, ``calsync.invite``, ``calsync.when``, ``calsync.plan_changes``) and
the one writer of the interview file, ``calsync.interview_file``.
"""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    from calsync.commands.add import add_command
    from calsync.commands.init import init_command
    from calsync.commands.record import done_command, record_command

    for command in (init_command, add_command, record_command, done_command):
        cli.add_command(command)
