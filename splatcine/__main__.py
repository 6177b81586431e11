"""`python -m splatcine` runs the CLI (the same as the `splatcine` command)."""

from splatcine.cli import main

main()
