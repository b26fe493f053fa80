# calsync's conformance suite and whole-sync harness, as a pytest plugin (opt-in: nothing loads it for you).
pytest_plugins = ["calsync.testing"]
