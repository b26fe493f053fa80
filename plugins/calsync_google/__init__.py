"""The Google Calendar provider."""
