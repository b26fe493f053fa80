"""Built-in commands that live in their own modules; each has ``register(cli)``."""
