"""The command line: `companion serve`, `demo`, `agenda`, `roster`, `links`, `key`, `groups`,
`scenarios`, `export`, `erase`."""

from server.cli.main import main

__all__ = ["main"]
