"""Blurred-frame detection: the variance of the Laplacian, judged against the frame's neighbours.

Sharpness depends on content, so a frame is called blurred only relative to the
frames around it (motion blur and focus pulls are local in time).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian of a float grayscale image [H, W] in [0, 1]."""
    return float(ndimage.laplace(gray.astype(np.float32)).var())


def sharp_mask(scores: np.ndarray, relative: float = 0.4, window: int = 9) -> np.ndarray:
    """[N] bool: True where a frame's sharpness is at least `relative` x the median of its window."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) < 3:
        return np.ones(len(scores), dtype=bool)
    local = ndimage.median_filter(scores, size=min(window, len(scores)), mode="nearest")
    return scores >= relative * local
