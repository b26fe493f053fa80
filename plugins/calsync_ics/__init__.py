"""The ics provider: one .ics file."""
