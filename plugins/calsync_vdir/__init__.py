"""The vdir provider: one .ics file per item in a folder."""
