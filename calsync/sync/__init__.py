"""Sync: a status database, a pure diff, then minimal writes (the vdirsyncer split)."""
