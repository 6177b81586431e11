"""How splatcine calls COLMAP: quietly (it reports in one line what COLMAP prints in many), and
with every thread count and seed fixed, so a clip gives the same cameras on any machine."""

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
    """Global bundle adjustment of every registered image of `rec`, in place, printing nothing.

    What `pycolmap.bundle_adjustment` does (all registered images, the gauge fixed by three
    points), through the adjuster it builds: that function goes through COLMAP's OptionManager,
    which resets the log level to INFO, so it printed its heading and timer whatever the level.
    """
    config = pycolmap.BundleAdjustmentConfig()
    for image_id in rec.reg_image_ids():
        config.add_image(image_id)
    config.fix_gauge(pycolmap.BundleAdjustmentGauge.THREE_POINTS)
    pycolmap.create_default_bundle_adjuster(options, config, rec).solve()
    rec.update_point_3d_errors()  # the controller does this too: the points' cached errors are stale


def pinned(options, num_threads: int, seed: int):
    """`options` (a pycolmap options object) with every `num_threads` and `random_seed` in it, nested
    ones included, set: COLMAP's default, -1, means every core and a random seed, so a field left
    out (the global mapper's bundle adjuster, the incremental triangulator, RANSAC's threads) made
    the cameras depend on the machine and the run."""
    for name in dir(options):
        if name.startswith("_"):
            continue
        value = getattr(options, name)
        if name == "num_threads":
            setattr(options, name, num_threads)
        elif name == "random_seed":
            setattr(options, name, seed)
        elif hasattr(value, "todict") and not callable(value):
            # RANSAC runs on one thread: matching runs pairs in parallel and COLMAP refuses parallel
            # RANSAC inside it ("Parallel RANSAC is not supported inside multi-threaded matching")
            pinned(value, 1 if name == "ransac" else num_threads, seed)
    return options
