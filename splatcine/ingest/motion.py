"""Image motion between frames, and keyframe choice by accumulated motion instead of a stride.

Motion is measured by phase correlation on a grid of tiles of a small grayscale
copy: the median tile displacement, in full-resolution pixels, is a cheap proxy
for optical flow that sees pans, dollies and zooms alike (rotation-only moves
are told apart later, by the triangulation angle in SfM). Keyframes are spaced
evenly along the accumulated motion, so a slow start and a fast middle both get
the baseline SfM needs (`select_by_motion` blends in time so a move the phase correlation
underrates still keeps its frames).
"""

from __future__ import annotations

import numpy as np

WORK_WIDTH = 256  # motion is measured on a copy this wide
TILES = 4  # a TILES x TILES grid of phase-correlation windows


def motion_gray(frame: np.ndarray) -> np.ndarray:
    """A small float grayscale copy [h, WORK_WIDTH] of a uint8 frame [H, W, 3], for `frame_motion`."""
    step = max(1, frame.shape[1] // WORK_WIDTH)
    small = frame[::step, ::step].astype(np.float32) / 255.0
    return small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def frame_motion(prev: np.ndarray, cur: np.ndarray, scale: float = 1.0) -> tuple[float, float]:
    """(displacement, coherence) between two `motion_gray` images of equal size.

    displacement: median tile shift, in pixels x `scale`. coherence: median height of
    the phase-correlation peaks, about 0.2-0.6 for two frames of one shot and near
    0.1 for unrelated frames (what `splatcine.ingest.cuts` looks for).
    """
    h, w = prev.shape
    th, tw = h // TILES, w // TILES
    window = np.outer(np.hanning(th), np.hanning(tw)).astype(np.float32)
    shifts, peaks = [], []
    for i in range(TILES):
        for j in range(TILES):
            a = prev[i * th:(i + 1) * th, j * tw:(j + 1) * tw]
            b = cur[i * th:(i + 1) * th, j * tw:(j + 1) * tw]
            if a.std() < 1e-3 and b.std() < 1e-3:
                continue  # a flat tile (sky, wall) has no measurable motion
            shift, peak = _phase_shift((a - a.mean()) * window, (b - b.mean()) * window)
            shifts.append(shift)
            peaks.append(peak)
    if not shifts:
        return 0.0, 1.0  # two flat frames: nothing moved, nothing changed
    return float(np.median(np.linalg.norm(shifts, axis=1)) * scale), float(np.median(peaks))


def _phase_shift(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """(dy, dx) of `b` relative to `a` to a fraction of a pixel (parabolic peak fit), and the peak."""
    cross = np.fft.rfft2(b) * np.conj(np.fft.rfft2(a))
    corr = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=a.shape)
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    out = []
    for axis, p in enumerate(peak):
        n = corr.shape[axis]
        idx = list(peak)
        idx[axis] = (p - 1) % n
        left = corr[tuple(idx)]
        idx[axis] = (p + 1) % n
        right = corr[tuple(idx)]
        centre = corr[peak]
        denom = left - 2 * centre + right
        sub = 0.5 * (left - right) / denom if abs(denom) > 1e-12 else 0.0
        shift = p + sub
        out.append(shift - n if shift > n / 2 else shift)
    return np.array(out), float(corr[peak])


def select_by_motion(
    motion: np.ndarray,  # [N] motion of frame i from frame i-1 (pixels); motion[0] is ignored
    candidates: np.ndarray,  # [N] bool: frames that may be kept (distinct, sharp, inside the segment)
    max_frames: int,
) -> list[int]:
    """Indices of min(`max_frames`, number of candidates) candidates: all of a short shot, else
    spread evenly along a progress that is half accumulated motion, half time.

    Motion alone puts the keyframes where the image moves, which is where SfM needs them,
    but phase correlation barely sees a dolly along the view axis (the centre of the
    image does not move): a 300-frame forward move measured as almost still kept 6
    frames. Time alone is plain COLMAP's stride, which works on every moving clip of the
    corpus. The blend keeps the stride's coverage and leans towards the fast parts.
    """
    idx = np.flatnonzero(candidates)
    if len(idx) <= max_frames:
        return [int(i) for i in idx]
    travelled = np.concatenate([[0.0], np.cumsum(np.asarray(motion, dtype=np.float64)[1:])])[idx]
    travelled = travelled - travelled[0]
    time = np.arange(len(idx)) / (len(idx) - 1)
    progress = 0.5 * time + (0.5 * travelled / travelled[-1] if travelled[-1] > 0 else 0.5 * time)
    chosen: list[int] = []
    for target in np.linspace(0.0, 1.0, max_frames):
        # nearest candidate not taken yet (a fast stretch cannot collapse two targets onto one frame)
        order = np.argsort(np.abs(progress - target), kind="stable")
        chosen.append(next(int(j) for j in order if int(j) not in chosen))
    return sorted(int(idx[j]) for j in chosen)
