"""The one error type users see.

Library functions raise `SplatcineError` (or a subclass) for anything that is the
user's input or environment rather than a bug in splatcine. The message is a single
line that names the file and the field where there is one; the CLI prints it as is
and exits non-zero, never with a traceback.
"""

from __future__ import annotations


class SplatcineError(Exception):
    """A user-facing failure with a one-line explanation."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))  # always one line


class InputError(SplatcineError):
    """The input (a file, a path, a YAML field) is missing, unreadable or invalid."""

    exit_code = 2


class ReconstructionError(SplatcineError):
    """The input is readable but no trustworthy scene can be built from it."""

    exit_code = 3


class NoParallaxError(ReconstructionError):
    """The camera does not move through the set (it stands still, or only turns): no depth to recover.

    Raised by SfM before mapping; a pass with the moving things masked raising it is a verdict on
    the static set, which the whole frame (movers included) cannot overturn.
    """


class MissingDependencyError(SplatcineError):
    """An optional dependency or tool (diffusers, a C++ compiler) is not available."""

    exit_code = 4


class Interrupted(SplatcineError, KeyboardInterrupt):
    """The user stopped the run (Ctrl-C, SIGTERM); the message says what was kept and how to go on.

    Still a `KeyboardInterrupt`, so code that cleans up on Ctrl-C does so for it too.
    """

    exit_code = 130  # 128 + SIGINT, as shells report an interrupted command
