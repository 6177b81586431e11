"""COLMAP's log output, scoped: splatcine reports in one line what COLMAP would print in many."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pycolmap


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """COLMAP prints nothing while splatcine calls it, and the caller's log level comes back after.

    Even its ERROR lines ("Failed to create any sparse model") only repeat, on stderr and
    in glog's format, what splatcine reports as one line; FATAL (an abort) still prints.
    """
    previous = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = 3
    try:
        yield
    finally:
        pycolmap.logging.minloglevel = previous


def bundle_adjust(rec: pycolmap.Reconstruction, options: pycolmap.BundleAdjustmentOptions) -> None:
    """`pycolmap.bundle_adjustment`, keeping the log level: its OptionManager resets COLMAP's
    minloglevel to INFO (pycolmap 4.2.1), so every later call of the run printed its INFO lines."""
    level = pycolmap.logging.minloglevel
    try:
        pycolmap.bundle_adjustment(rec, options)
    finally:
        pycolmap.logging.minloglevel = level
