"""Motion before SfM: flow that breaks the two-view geometry of the static set, as a feature mask.

No cameras are needed. For every keyframe `i` and a few neighbours `j` on each side, dense optical
flow gives a match for every pixel; a fundamental matrix F_ij is fitted to a grid of them
with MAGSAC++ (the static set is the largest rigid motion, so it wins the consensus), and
each pixel's residual is its Sampson distance to F_ij: how far its match lies from the
epipolar line the static set allows. Where a homography keeps as many matches as F (a
still or purely rotating camera, a flat set), F is not determined by the set and the
homography's transfer error is the residual instead.

Gaps matter. Between consecutive frames of the walkers clip a fundamental matrix (7 degrees
of freedom) absorbs the walker too: its pixels sit at 0.05-0.1 px, like the set's, because a
walker and a camera that both move in the ground plane have epipoles on the same horizon,
and over a short baseline one F fits both. Over 4-8 frames the walker leaves the lines by
1-4 px (median) while the set stays at 0.05-0.1 px, and its flow, 20-50 px at 320 px wide,
often fails the forward-backward check: that failure is evidence too.

This is too coarse for the final masks (the walker's pixels near the horizon keep to the
lines; the set loses its occlusion edges), but it is what the first SfM pass needs: no
features on what is plainly moving, at the price of some features of the set. The final
masks come from `splatcine.masks.motion` once that pass has given good cameras.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from splatcine.masks import flow as flow_mod
from splatcine.masks.motion import MotionSettings, expected_residual, fb_check, pair_flows, work_grays
from splatcine.progress import ProgressCallback, silent


@dataclass(frozen=True)
class EpipolarSettings:
    work_size: int = 320  # long side, in pixels, of the frames flow and residuals are computed at
    # Each frame is compared with the frames, on each side, where the image has moved this far
    # (work pixels, summed median flow of consecutive frames): on the walkers clip 12 and 24 px
    # are 4 and 8 frames mid-shot, where the walker leaves the set's epipolar lines and its flow
    # fails (see the module doc). At most `max_gap` frames away (a still camera never gets there).
    motion_px: tuple[float, ...] = (12.0, 24.0)
    max_gap: int = 12
    fit_stride: int = 6  # the grid (work pixels) of flow matches F and H are fitted to
    ransac_px: float = 0.5  # MAGSAC++ threshold (work pixels): the static set's flow noise is 0.05-0.3 px
    # A pair whose homography keeps this share of F's inliers is degenerate for F: its H residual is used.
    homography_share: float = 0.9
    min_inliers: float = 0.5  # a pair whose model keeps less than this share of the matches is skipped
    fb_tolerance_px: float = 0.7  # forward-backward flow check: + this x 5% of the flow's length
    error_cap_px: float = 8.0  # one pair's residual counts at most this much (occlusion, flow failure)
    # A pixel is kept from SfM above this residual (work pixels), or where its flow was lost.
    # The set's residual is 0.05-0.15 px (median), a walker's 1-4 px over these gaps. Measured
    # on the walkers clip (a walker 14-29% of the frame, a ball 8%): 0.5 px takes 88% of the
    # walker, 48% of the ball and 21% of the set; on the still procedural set 22%. (With every
    # unchecked pixel counted as lost, 0.3 / 0.5 / 0.8 px took 94 / 91 / 88% of the walker and
    # 34 / 28 / 26% of the set; without lost flow counted, at most 62% of the walker.) The
    # real clips' shares are in benchmarks/results/masks.json.
    feature_px: float = 0.5
    # ... and above this many times the residual the static set has at the pixel's texture
    # (`motion.expected_residual`: flow on a blank wall errs by 1-1.3 px on real footage, at a corner
    # by 0.3 px). Measured on static RealEstate10K clips (0c11dbe, its pull-down copy, 0c9b371) and
    # the walkers clip, share of the frame masked / walker recall: the frame-wide rule it replaced
    # (3 robust sigmas of the whole frame) 21-28% / 0.77; 6x 10-12% / 0.73; 8x 9-12% / 0.70; 12x
    # 7% / 0.65. 8x halves what the still sets lose and keeps most of the walker. (The pull-down
    # copy of 0c11dbe was posed at 5.24% of its path with the old first pass, 0.37% with none.)
    feature_noise: float = 8.0
    texture_px: int = MotionSettings.texture_px  # window of the structure tensor: the final pass's
    feature_grow_px: int = 3  # the mask is widened by this much (work pixels): the mover's blurred edge
    # Lost flow counts as motion only this close (work pixels, 3% of the width) to a pixel of high
    # residual: a fast mover's flow fails in its core while its edges measure, but on real footage
    # flow also fails on 22-40% of a static frame (blank walls, forward motion), in regions that
    # touch some high residual somewhere. Measured with `reconstruct --masks auto`: counting every
    # touching lost region took 34-50% of static RealEstate10K frames and moved 0c11dbe's cameras
    # from 0.39% to 1.70% of the path (0c9b371 0.38% -> 1.11%, its focal 0.48 -> 0.63x); within
    # 10 px, 0c11dbe is at 0.14% and the walkers clip keeps 0.24% (true masks 0.21%, whole lost
    # regions 0.27%; walker recall 0.60 against 0.78). 0: lost flow never counts.
    lost_reach_px: int = 10


def feature_masks(
    images: list[np.ndarray],  # [N] uint8 RGB [H, W, 3], in video order
    settings: EpipolarSettings = EpipolarSettings(),
    progress: ProgressCallback = silent,
) -> list[np.ndarray]:
    """Where SfM's first pass should take no features [N] of bool [H, W]: a liberal motion mask.

    For SfM, missing a large mover costs the cameras (its matches pass two-view checks over
    short baselines and pull the focal length and poses), while masking some of the set
    costs only features. So this mask takes every pixel above `feature_px` (and well above the
    static set's residual at its texture, `feature_noise`) over long gaps, and the pixels whose flow failed its
    forward-backward check in every pair that keeps them in view within `lost_reach_px` of such
    pixels (a fast mover's flow fails over these gaps while its edges still measure; leaving the view
    is no evidence, and neither is lost flow alone: on real footage it fails on 25-60% of a
    static frame, blank walls and forward motion), opened against specks and widened by
    `feature_grow_px`.
    """
    n = len(images)
    height, width = images[0].shape[:2]
    if n < 2:
        return [np.zeros((height, width), bool) for _ in images]
    grays, _ = work_grays(images, settings.work_size)
    neighbours = _neighbours(grays, settings)
    pairs = {(min(i, j), max(i, j)) for i in range(n) for j in neighbours[i]}
    flows = pair_flows(grays, [], progress, pairs=pairs)
    masks = []
    for i in range(n):
        raw, lost = _residual(i, neighbours[i], flows, settings)
        expected = expected_residual(raw, flow_mod.texture(grays[i], settings.texture_px))
        with np.errstate(invalid="ignore"):  # NaN (no pair measured the pixel) is not high
            high = (raw > settings.feature_px) & (raw > settings.feature_noise * expected)
        near = lost & ndimage.binary_dilation(high, iterations=settings.lost_reach_px) \
            if settings.lost_reach_px > 0 else np.zeros_like(lost)  # (iterations=0 would dilate to the end)
        moving = ndimage.binary_opening(high | near, iterations=1)
        moving = ndimage.binary_dilation(moving, iterations=settings.feature_grow_px)
        masks.append(flow_mod.resize(moving.astype(np.uint8), width, height, nearest=True) > 0)
    return masks


def _neighbours(grays: list[np.ndarray], s: EpipolarSettings) -> list[list[int]]:
    """Per frame, the frames on each side where the image has moved `s.motion_px` (module doc)."""
    n = len(grays)
    solver = flow_mod.FlowField()
    steps = [float(np.median(np.hypot(*solver(a, b).reshape(-1, 2).T))) for a, b in zip(grays, grays[1:])]
    travelled = np.concatenate([[0.0], np.cumsum(steps)])  # [N] image motion from the first frame
    out = []
    for i in range(n):
        near = set()
        for target in s.motion_px:
            ahead = np.flatnonzero(travelled[i + 1:min(n, i + s.max_gap + 1)] >= travelled[i] + target)
            behind = np.flatnonzero(travelled[max(0, i - s.max_gap):i] <= travelled[i] - target)
            near.add(int(i + 1 + ahead[0]) if len(ahead) else min(n - 1, i + s.max_gap))
            near.add(int(max(0, i - s.max_gap) + behind[-1]) if len(behind) else max(0, i - s.max_gap))
        out.append(sorted(near - {i}))
    return out


def _residual(i: int, neighbours: list[int], flows, s: EpipolarSettings) -> tuple[np.ndarray, np.ndarray]:
    """Frame i's residual [h, w]: the mean over its usable pairs of the distance to the static set's
    epipolar geometry (or homography), NaN where no pair's flow passed the forward-backward check;
    and where flow was lost [h, w] bool: in view of some pair, and failing the check in all those."""
    h, w = flows[i, neighbours[0]].shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    x0 = np.stack([xs.ravel(), ys.ravel()], 1)
    total, count = np.zeros(h * w), np.zeros(h * w)
    in_view, failed = np.zeros(h * w), np.zeros(h * w)
    grid = np.zeros((h, w), bool)
    grid[s.fit_stride // 2::s.fit_stride, s.fit_stride // 2::s.fit_stride] = True
    for j in neighbours:
        f = flows[i, j]
        inside, returns = (m.ravel() for m in fb_check(f, flows[j, i], s.fb_tolerance_px))
        valid = inside & returns
        in_view += inside
        failed += inside & ~returns
        x1 = x0 + f.reshape(-1, 2)
        pick = np.flatnonzero(grid.ravel() & valid)
        F, f_share, H, h_share = flow_mod.two_view(x0[pick], x1[pick], s.ransac_px)
        if H is not None and (F is None or h_share >= s.homography_share * f_share):
            if h_share < s.min_inliers:
                continue
            error = transfer_error(H, x0, x1)
        elif F is not None and f_share >= s.min_inliers:
            error = sampson_distance(F, x0, x1)
        else:
            continue  # neither model holds the pair together: its flow says nothing reliable
        total += np.minimum(error, s.error_cap_px) * valid
        count += valid
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = np.where(count > 0, total / count, np.nan).reshape(h, w).astype(np.float32)
    return residual, ((in_view > 0) & (failed == in_view)).reshape(h, w)


def sampson_distance(F: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """First-order distance [M] (pixels) of matches x0 -> x1 [M, 2] from satisfying x1^T F x0 = 0."""
    a = np.column_stack([x0, np.ones(len(x0))])
    b = np.column_stack([x1, np.ones(len(x1))])
    fa, fb = a @ F.T, b @ F  # epipolar lines of x0 in image 1, of x1 in image 0
    algebraic = np.einsum("ij,ij->i", b, fa)
    norm = fa[:, 0] ** 2 + fa[:, 1] ** 2 + fb[:, 0] ** 2 + fb[:, 1] ** 2
    return np.abs(algebraic) / np.sqrt(np.maximum(norm, 1e-12))


def transfer_error(H: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Distance [M] (pixels) between x1 [M, 2] and x0 [M, 2] mapped by the homography H."""
    p = np.column_stack([x0, np.ones(len(x0))]) @ H.T
    z = np.where(np.abs(p[:, 2]) > 1e-9, p[:, 2], 1e-9)
    return np.hypot(p[:, 0] / z - x1[:, 0], p[:, 1] / z - x1[:, 1])
