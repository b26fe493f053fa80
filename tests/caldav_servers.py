"""Session fixtures: real CalDAV servers (Radicale, Xandikos) on 127.0.0.1."""
