"""calsync: plan the follow-ups after a job interview and keep them in the calendars you already use."""

from calsync.hookspecs import hookimpl

__all__ = ["hookimpl"]
__version__ = "0.1.0"
