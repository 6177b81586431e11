"""Hard-cut detection: a frame that its predecessor does not predict, unlike its neighbours.

The signal is the coherence of consecutive frames (`motion.frame_motion`: the height
of the phase-correlation peaks). Inside a shot it drifts with the speed of the move
(a fast orbit lowers it for many frames in a row); at a cut it drops for one frame
only. So a cut is a frame whose coherence is both low and well under that of the
frame pairs on either side. Colour histograms were tried first: a cut between two
views of the same set barely changes them, while a fast orbit changes them a lot.
"""

from __future__ import annotations

import numpy as np

MAX_COHERENCE = 0.3  # a cut's coherence is below this (same-shot pairs: 0.14-0.6 on real clips)
MAX_RATIO = 0.5  # ... and below this fraction of its neighbours' (same shot: 0.67 or more)


def detect_cuts(coherence: np.ndarray) -> list[int]:
    """Indices of the first frame of each new shot, from per-frame coherence [N] with the previous
    frame (coherence[0] is ignored)."""
    c = np.asarray(coherence, dtype=np.float64)
    if len(c) < 3:
        return []
    inner = c[1:]  # pairs (i-1, i) for i >= 1
    left = np.r_[inner[1:2], inner[:-1]]  # the pair before, or after at the start
    right = np.r_[inner[1:], inner[-2:-1]]  # the pair after, or before at the end
    neighbours = np.minimum(left, right)
    cut = (inner < MAX_COHERENCE) & (inner < MAX_RATIO * neighbours)
    return [int(i) + 1 for i in np.flatnonzero(cut)]


def segments(frame_count: int, cuts: list[int]) -> list[tuple[int, int]]:
    """[(start, stop)] half-open frame ranges of the shots between cuts."""
    bounds = [0, *cuts, frame_count]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
