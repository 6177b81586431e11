"""`splatcine` command line: thin commands over the library, one module per command group."""

from __future__ import annotations

from splatcine.cli._app import app

# Each command module registers its commands on `app` when imported (one import line each).
from splatcine.cli import reconstruct  # noqa: E402,F401
from splatcine.cli import train  # noqa: E402,F401
from splatcine.cli import path  # noqa: E402,F401
from splatcine.cli import render  # noqa: E402,F401
from splatcine.cli import generate  # noqa: E402,F401
from splatcine.cli import check  # noqa: E402,F401
from splatcine.cli import extend  # noqa: E402,F401


def main() -> None:
    app()
