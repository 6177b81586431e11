"""How splatcine calls COLMAP: quietly (it reports in one line what COLMAP prints in many), and
repeatably: every thread count and seed fixed, image ids in name order, matching on one thread,
so a clip gives the same features, matches and cameras in every run and on any machine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

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


# COLMAP's matcher on more than one thread loses matches at random: matching copies of one
# database of re10k 0c9b371 (25 frames, sequential; fewer than 512 features a frame, so exact flat
# indices) on two threads, 2 of 6 runs dropped 50-100% of the matches of 3-4 pairs (110 -> 38,
# 115 -> 0); on one thread 6 of 6 runs matched identically. Matching is a small part of SfM here
# (that clip: 0.66 s on one thread against 0.46 s on two).
MATCHING_THREADS = 1


def extract_in_order(db: Path, image_dir: Path, names: list[str], mode: pycolmap.CameraMode,
                     reader: pycolmap.ImageReaderOptions, extraction: pycolmap.FeatureExtractionOptions) -> None:
    """SIFT features of `names` (in `image_dir`) into `db`, on the CPU, with image ids in name order.

    The images go in first, one by one: the extractor's threads write each image as its features
    are done, so its ids followed the threads' finishing order (frames 4 and 5, or 0 and 1, swapped
    in 5 of 6 runs of one clip) and the mappers, which break ties by id, returned other cameras.
    The extractor keeps the ids of images already in the database.
    """
    pycolmap.Database.open(str(db)).close()  # import_images wants the file to exist
    pycolmap.import_images(str(db), str(image_dir), camera_mode=mode, image_names=names, options=reader)
    pycolmap.extract_features(str(db), str(image_dir), image_names=names, camera_mode=mode,
                              reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu)


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
