"""Hard-cut detection from colour-histogram distances between consecutive frames.

A cut is a spike: a distance far above both an absolute floor and the typical
distance of its neighbourhood (camera motion changes histograms smoothly, a cut
changes them at once).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

BINS = 8  # per channel: a joint 8x8x8 RGB histogram


def colour_histogram(frame: np.ndarray) -> np.ndarray:
    """Normalised joint RGB histogram [BINS**3] of a uint8 frame [H, W, 3]."""
    q = (frame[::2, ::2].astype(np.int32) * BINS) >> 8  # [h, w, 3] bin index per channel
    index = (q[..., 0] * BINS + q[..., 1]) * BINS + q[..., 2]
    hist = np.bincount(index.ravel(), minlength=BINS**3).astype(np.float64)
    return hist / hist.sum()


def histogram_distances(hists: np.ndarray) -> np.ndarray:
    """[N] total-variation distance (in [0, 1]) of each frame's histogram to the previous one; 0 first."""
    hists = np.asarray(hists)
    out = np.zeros(len(hists))
    out[1:] = 0.5 * np.abs(np.diff(hists, axis=0)).sum(axis=1)
    return out


def detect_cuts(hists: np.ndarray, floor: float = 0.2, ratio: float = 4.0, window: int = 11) -> list[int]:
    """Indices of the first frame of each new shot, from per-frame histograms [N, B]."""
    dist = histogram_distances(hists)
    if len(dist) < 2:
        return []
    local = ndimage.median_filter(dist, size=min(window, len(dist)), mode="nearest")
    spikes = (dist > floor) & (dist > ratio * local + 0.1)
    return [int(i) for i in np.flatnonzero(spikes)]


def segments(frame_count: int, cuts: list[int]) -> list[tuple[int, int]]:
    """[(start, stop)] half-open frame ranges of the shots between cuts."""
    bounds = [0, *cuts, frame_count]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
