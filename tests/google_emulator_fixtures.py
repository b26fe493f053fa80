"""Session fixtures: the local Google Calendar v3 emulator."""
