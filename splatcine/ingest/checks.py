"""Shots SfM cannot work with, told apart before SfM runs (so the reason is the real one).

Without these, a single frame, blank frames, noise or masks that hide everything all
reach SfM with nothing to match and end as "the camera does not translate". Each check
reads figures the decoding pass measures anyway (per-frame sharpness, frame-to-frame
coherence) and raises one line naming the file and what is wrong: `InputError` for what
the user can fix in the input (a still image, too few frames, inverted masks),
`ReconstructionError` for footage that holds nothing to reconstruct.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splatcine.errors import InputError, ReconstructionError

MIN_FRAMES = 3  # two views fix no scale-free structure worth a scene; SfM registers at least three

# Variance of the Laplacian (`blur.sharpness`, grey in [0, 1]) of frames with any texture at
# all: nine clips of /work/shared/data and the procedural moves measured 1.2e-3 to 5.8e-2 per
# frame; a flat (black, white, one colour) frame is exactly 0.
BLANK_SHARPNESS = 1e-5
# Pixel noise: sharpness 0.72 (uniform random RGB), ten times the sharpest real clip measured
# (0.058), and frames that share nothing: phase-correlation coherence 0.11, where real clips
# give 0.09-0.62 (low-frame-rate generated gifs sit as low as noise, so coherence alone
# cannot decide: both must hold).
NOISE_SHARPNESS = 0.3
NOISE_COHERENCE = 0.15
MASKED_SHARE = 0.99  # masks hiding at least this share of every kept frame leave nothing to match

_IMAGE_MAGIC = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"BM": "a BMP image"}


def check_frames(shot: Path, sharpness: list[float], coherence: list[float]) -> None:
    """Refuse a shot of too few frames, of blank frames, or of noise (figures from the decoding pass)."""
    n = len(sharpness)
    if n < MIN_FRAMES:
        what = _image_kind(shot)
        disguised = f" (the file is {what}, not a video)" if what else ""
        raise InputError(f"{shot}: the shot has {n} frame{'s' if n != 1 else ''}{disguised}; "
                         f"SfM needs at least {MIN_FRAMES} frames of a moving camera")  # fmt: skip
    if max(sharpness) < BLANK_SHARPNESS:
        raise ReconstructionError(f"{shot}: every frame is blank (one flat colour): there is nothing to "
                                  f"reconstruct")  # fmt: skip
    if np.median(sharpness) > NOISE_SHARPNESS and np.median(coherence[1:]) < NOISE_COHERENCE:
        raise ReconstructionError(f"{shot}: the frames look like noise (no structure, and consecutive frames "
                                  f"share none): no features can be matched")  # fmt: skip


def check_masks(masks: Path, kept: list[np.ndarray], ignore: int) -> None:
    """Refuse masks that leave nothing of any kept frame for SfM (white = ignore)."""
    shares = [float(np.mean(mask == ignore)) for mask in kept]
    if shares and min(shares) >= MASKED_SHARE:
        raise InputError(f"{masks}: the masks hide at least {MASKED_SHARE:.0%} of every kept frame (white = "
                         f"ignore): nothing is left to match; are they inverted?")  # fmt: skip


def _image_kind(path: Path) -> str | None:
    """'a PNG image' when a file named like a video holds a still image."""
    if not Path(path).is_file():
        return None
    with open(path, "rb") as f:
        head = f.read(4)
    return next((kind for magic, kind in _IMAGE_MAGIC.items() if head.startswith(magic)), None)
