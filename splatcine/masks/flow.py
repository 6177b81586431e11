"""Dense optical flow: OpenCV's DIS (Kroeger et al. 2016), the only module that imports cv2.

DIS is a fast coarse-to-fine patch search with variational refinement: about 5 ms for a
320x180 pair on one core, accurate to a fraction of a pixel on textured surfaces, and
smooth (not wrong) inside weakly textured regions, which is what a motion mask needs.
"""

from __future__ import annotations

import numpy as np

from splatcine.errors import MissingDependencyError


def _cv2():
    try:
        import cv2
    except ImportError:  # a dependency of splatcine; only a broken install lacks it
        raise MissingDependencyError(
            "automatic masks need OpenCV: pip install opencv-python-headless") from None
    return cv2


def gray(image: np.ndarray) -> np.ndarray:  # [H, W, 3] uint8 -> [H, W] uint8
    return _cv2().cvtColor(np.ascontiguousarray(image), _cv2().COLOR_RGB2GRAY)


def resize(image: np.ndarray, width: int, height: int, nearest: bool = False) -> np.ndarray:
    cv2 = _cv2()
    if image.shape[1] == width and image.shape[0] == height:
        return image
    shrinking = width < image.shape[1]
    mode = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=mode)


class FlowField:
    """DIS flow between grey frames, one configured solver reused for every pair."""

    def __init__(self):
        cv2 = _cv2()
        cv2.setNumThreads(1)  # pairs are small: threads cost more than they give on a shared machine
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow [H, W, 2] (dx, dy) in pixels taking each pixel of grey `a` [H, W] to its match in `b`."""
        return self._dis.calc(a, b, None)


def texture(gray: np.ndarray, window_px: int) -> np.ndarray:
    """How well flow is pinned down at each pixel [H, W] of grey `gray` [H, W] uint8: the smaller
    eigenvalue of the structure tensor over `window_px` (Shi-Tomasi's corner strength, OpenCV's
    `cornerMinEigenVal`; a scale-free float32, 0 on a blank wall and along a straight edge).

    Lucas-Kanade's covariance of a patch's flow is noise^2 times the tensor's inverse, so the
    flow error a residual should be judged against grows as 1 / sqrt(this).
    """
    return _cv2().cornerMinEigenVal(np.ascontiguousarray(gray), window_px, 3)


def sample(field: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of `field` [H, W, C] (or [H, W]) at float pixel positions x, y [H, W].

    Positions are pixel-centre coordinates (0 = the first pixel's centre); outside the image
    the border value is used (callers mark those positions invalid themselves).
    """
    cv2 = _cv2()
    return cv2.remap(field.astype(np.float32), x.astype(np.float32), y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def refine_edges(image: np.ndarray, mask: np.ndarray, band_px: int, iterations: int = 2) -> np.ndarray:
    """`mask` [H, W] bool with its boundary moved onto the image's colour edges (GrabCut).

    Flow is smooth across a mover's silhouette, so a mask from flow spills a few pixels
    onto the set beside it. Pixels deeper than `band_px` inside (outside) the mask are
    fixed foreground (background); GrabCut's colour models and graph cut decide the band.
    """
    cv2 = _cv2()
    if not mask.any() or mask.all():
        return mask
    kernel = np.ones((2 * band_px + 1, 2 * band_px + 1), np.uint8)
    m8 = mask.astype(np.uint8)
    inner = cv2.erode(m8, kernel) > 0
    outer = cv2.dilate(m8, kernel) > 0
    labels = np.where(outer, cv2.GC_PR_BGD, cv2.GC_BGD).astype(np.uint8)
    labels[mask] = cv2.GC_PR_FGD
    labels[inner] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    return (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)


def two_view(x0: np.ndarray, x1: np.ndarray, threshold_px: float, seed: int = 0):
    """Robust two-view models of matches x0 -> x1 [M, 2]: (F [3, 3] | None, share of F inliers,
    H [3, 3] | None, share of H inliers), both fitted by MAGSAC++ (OpenCV's USAC) at `threshold_px`."""
    cv2 = _cv2()
    if len(x0) < 16:
        return None, 0.0, None, 0.0
    cv2.setRNGSeed(seed)  # USAC samples from OpenCV's global generator: the same masks on every run
    a, b = np.ascontiguousarray(x0, np.float64), np.ascontiguousarray(x1, np.float64)
    try:
        F, f_in = cv2.findFundamentalMat(a, b, cv2.USAC_MAGSAC, threshold_px, 0.999, 2000)
    except cv2.error:  # USAC asserts on degenerate samples (matches piled on a few points): no model
        F, f_in = None, None
    try:
        H, h_in = cv2.findHomography(a, b, cv2.USAC_MAGSAC, threshold_px, maxIters=2000, confidence=0.999)
    except cv2.error:
        H, h_in = None, None
    f_share = float(f_in.mean()) if F is not None and F.shape == (3, 3) else 0.0
    h_share = float(h_in.mean()) if H is not None else 0.0
    return (F[:3] if f_share else None), f_share, H, h_share
