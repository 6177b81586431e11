"""`splatcine` command line: thin commands over the library, one module per command group."""

from __future__ import annotations

from splatcine.cli._app import app

# Each command module registers its commands on `app` when imported (one import line each).


def main() -> None:
    app()
