"""Motion segmentation from geometry: which pixels move against the posed static set.

For every keyframe `i` and each neighbour `j` (up to `window` keyframes on either side),
dense optical flow says where each pixel went. With the cameras known, a *static* pixel
at inverse depth rho must land at

    p_j(rho) = project(K_j (R_ji K_i^-1 x + rho t_ji))        (x homogeneous, rho = 1 / z_i)

so one rho explains its flow to every neighbour at once. A sweep over inverse depths
(a plane sweep on flow, not on colour) gives each pixel its residual: the mean distance,
over the neighbours whose flow passed a forward-backward check, between the observed and
the predicted position, minimised over the rho the static set allows there. That range
comes from the sparse SfM points projected into the frame (the nearest surface of each
cell and its neighbourhood, widened by a margin), so a mover that happens to move like
a static point at *another* depth (along the epipolar lines) is still caught unless it
matches a depth the set has there. A mover that moves exactly with the camera at the
depth of the set behind it cannot be told from geometry; nothing can.

The residual is then made consistent over time (median with the neighbours' residuals,
followed along the flow), split by hysteresis (seeds above `seed_px`, grown through
pixels above `grow_px`), closed, hole-filled, cleared of specks, settled on colour edges,
and followed along the flow through the keyframes (`track`) so the mask covers the whole
object in every frame, not only its fastest part in the frames where it moves against the set.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, optimize

from splatcine.cameras import Camera
from splatcine.masks import flow as flow_mod
from splatcine.progress import Progress, ProgressCallback, silent


BORDER_PX = 3  # work pixels at the image's edge where flow is not trusted (DIS's patches leave the image)


@dataclass(frozen=True)
class MotionSettings:
    work_size: int = 320  # long side, in pixels, of the frames flow and residuals are computed at
    window: int = 2  # neighbours on each side a pixel's flow is checked against
    depth_samples: int = 16  # inverse depths tried per pixel over its allowed range, then refined
    # Residual thresholds in work pixels. Flow on the static procedural set leaves 0.05-0.15 px,
    # movers 2-20 px. Seeds need 2 px, growth continues down to 1 px.
    seed_px: float = 2.0
    grow_px: float = 1.0
    # ... and both this many times the residual the frame's static set has at that pixel's
    # texture (`expected_residual`: 1 is the set's median there). Real footage needs it: its
    # static residual is 0.3-0.6 px (median) on textured surfaces and 0.9-1.3 px on blank walls,
    # where flow is barely measured, so 2 px alone masked 17-26% of five static RealEstate10K
    # clips. Measured on the time-consistent residual (before regions): the static set's 99.5th
    # percentile is 8-20x on those five clips (7.4x on the still procedural set), the walker's
    # median 38x (10th percentile 14x) and the ball's 19x (5.4x). Seeds at 16x and growth at 6x
    # took the static clips' regions from 3.6-26% to 0.1-2.6% of each frame, kept the walkers'
    # IoU on the true geometry (0.83 / 0.69 before tracking, 0.83 / 0.73 without this test) and
    # lady running's and Tokyo walk's movers (masked 21.7 -> 15.1% and 16.5 -> 14.0%: the runner,
    # the walker and the wet street's reflections stay). The cost: with SfM's cameras (the
    # 32-frame walkers clip, `reconstruct --masks auto`) the walker's IoU falls from 0.92 to 0.81
    # (ball 0.92 either way), its weakly textured parts under the growth bar. Growth at 4x keeps
    # 0.85 there but leaves 1-4.9% of the static clips (0bf152e: 4.9% against 2.6%); at 3x 0.88
    # and up to 6.4%; at 8x lady running loses another 2% and Tokyo walk 4% (the walker's legs).
    seed_noise: float = 16.0
    grow_noise: float = 6.0
    texture_px: int = 9  # window of the structure tensor: about DIS's patch (12 px at `work_size`)
    error_cap_px: float = 8.0  # one neighbour's error counts at most this much (occlusion, flow failure)
    fb_tolerance_px: float = 0.7  # forward-backward flow check: + this x 5% of the flow's length
    cell_px: int = 8  # grid of the sparse-depth prior (work pixels)
    prior_radius_cells: int = 3  # a pixel's depth range: the points of the cells this close
    prior_margin: float = 0.35  # widen that range by +-35% in inverse depth (flow noise, sparse sampling)
    occluded_ratio: float = 1.6  # in a cell, points this many times farther than its nearest are hidden
    min_area: float = 0.002  # regions under this share of the frame are dropped (specks, flow noise)
    edge_band_px: int = 3  # the mask's edge is settled on colour edges within this band (0: off)
    # A shot whose masks cover less than this share on average is a still set: its masks are
    # emptied. On the still procedural set the specks that survive cover 0.1% on average (at
    # most 0.7% of one frame); the walkers cover 25%. A mover under ~0.5% of the frame (a
    # distant bird) is dropped with them.
    static_shot_fraction: float = 0.005
    dilate_px: int = 0  # grow the final mask by this much (work pixels): the object's blurred edge
    # Masks are followed along the flow through the keyframes (`track`; 0: off). Flow spills up to
    # 2 work pixels over a mover's edge (DIS's patches straddle it), so only the mask's core this
    # far inside is carried; a keyframe takes what its own mask misses by more than
    # `track_rim_px` (its edges' spread after GrabCut: 1-2 work pixels). On the 32-frame walkers
    # clip posed by SfM (`--masks auto`'s first pass), tracking takes the ball's IoU from 0.69 to
    # 0.92 (it rolls along the camera's path and vanishes from the residual in 7 mid-shot frames)
    # and the walker's from 0.73 to 0.91, false positives 0.39% -> 0.41%; on the test's true
    # geometry 0.80 -> 0.82 and 0.89 -> 0.89, false positives 1.1% either way.
    track_px: int = 2
    track_rim_px: int = 3


@dataclass
class MotionMasks:
    """What moved in each keyframe, and the evidence."""

    masks: list[np.ndarray]  # [H, W] bool per keyframe at the frames' size, True = moving
    residual_px: np.ndarray  # [N, h, w] float32 time-consistent residual at the work size
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def set_residual_px(self) -> float:
        """How well the cameras explain the flow: the median over keyframes of each one's median
        residual (work pixels). Movers are judged against it (`expected_residual`), so where it is
        large the masks cannot tell what moves (`splatcine.masks.auto.UNEXPLAINED_PX`)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a frame with no measured pixel is NaN
            per_frame = np.nanmedian(self.residual_px.reshape(len(self.residual_px), -1), axis=1)
        return float(np.nanmedian(per_frame)) if np.isfinite(per_frame).any() else float("nan")

    @property
    def fractions(self) -> np.ndarray:  # [N] share of each frame masked
        return np.array([m.mean() for m in self.masks], dtype=np.float64)


def motion_masks(
    images: list[np.ndarray],  # [N] uint8 RGB [H, W, 3], in video order
    cameras: list[Camera],  # [N] their cam_from_world (OpenCV) and intrinsics at [H, W]
    points: np.ndarray,  # [P, 3] sparse points of the static set, in the cameras' world frame
    settings: MotionSettings = MotionSettings(),
    progress: ProgressCallback = silent,
) -> MotionMasks:
    """Masks of the moving things in `images` posed by `cameras` (see the module doc)."""
    n = len(images)
    grays, scale = work_grays(images, settings.work_size)
    h, w = grays[0].shape
    cams = [Camera(c.cam_from_world, c.intrinsics.resized(w, h)) for c in cameras]
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    offsets = [o for o in range(-settings.window, settings.window + 1) if o]
    flows = pair_flows(grays, offsets, progress)
    seconds["flow"] = time.perf_counter() - t

    t = time.perf_counter()
    rho_max = _nearest_inverse_depth(cams, points)
    raw = np.zeros((n, h, w), np.float32)
    for i in range(n):
        lo, hi = _prior_range(cams[i], points, rho_max, settings)
        raw[i] = _residual(i, cams, flows, lo, hi, settings)
        progress(Progress("motion", i + 1, n))
    seconds["residual"] = time.perf_counter() - t

    t = time.perf_counter()
    consistent = _along_time(raw, flows, offsets, settings.fb_tolerance_px)
    noise = [expected_residual(r, flow_mod.texture(g, settings.texture_px)) for r, g in zip(consistent, grays)]
    masks = [_regions(r, r / m, settings) for r, m in zip(consistent, noise)]
    height, width = images[0].shape[:2]
    if np.mean([m.mean() for m in masks]) < settings.static_shot_fraction:
        seconds["regions"] = time.perf_counter() - t
        return MotionMasks([np.zeros((height, width), bool) for _ in images], consistent, seconds)
    masks = [flow_mod.resize(m.astype(np.uint8), width, height, nearest=True) > 0 for m in masks]
    band = max(1, round(settings.edge_band_px / scale))
    if settings.edge_band_px:
        masks = [flow_mod.refine_edges(im, m, band) for im, m in zip(images, masks)]
    seconds["regions"] = time.perf_counter() - t
    if settings.track_px:  # followed on the masks settled on colour edges: they carry the least of the set
        t = time.perf_counter()
        added = track([flow_mod.resize(m.astype(np.float32), w, h) > 0.5 for m in masks], flows, settings)
        for i in (i for i, a in enumerate(added) if a.any()):
            masks[i] |= flow_mod.resize(added[i].astype(np.uint8), width, height, nearest=True) > 0
            if settings.edge_band_px:
                masks[i] = flow_mod.refine_edges(images[i], masks[i], band)
        seconds["track"] = time.perf_counter() - t
    return MotionMasks(masks, consistent, seconds)


def work_grays(images: list[np.ndarray], work_size: int) -> tuple[list[np.ndarray], float]:
    """Grey frames [h, w] with their long side at most `work_size`, and the scale applied."""
    height, width = images[0].shape[:2]
    scale = min(1.0, work_size / max(width, height))
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    return [flow_mod.gray(flow_mod.resize(im, w, h)) for im in images], scale


def pair_flows(grays: list[np.ndarray], offsets: list[int], progress: ProgressCallback,
               pairs: set[tuple[int, int]] | None = None):
    """Flow [h, w, 2] both ways for every pair (i, i + o), o in `offsets`, inside the shot (or `pairs`)."""
    n = len(grays)
    solver = flow_mod.FlowField()
    forward: dict[tuple[int, int], np.ndarray] = {}
    if pairs is None:
        pairs = {(i, i + g) for g in {abs(o) for o in offsets} for i in range(n - g)}
    for done, (i, j) in enumerate(sorted(pairs)):
        forward[i, j] = solver(grays[i], grays[j])
        forward[j, i] = solver(grays[j], grays[i])
        progress(Progress("flow", done + 1, len(pairs)))
    return forward


def fb_valid(f_ij: np.ndarray, f_ji: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels [h, w] whose flow to j comes back to where it started (not occluded, not out of view)."""
    inside, returns = fb_check(f_ij, f_ji, tolerance)
    return inside & returns


def fb_check(f_ij: np.ndarray, f_ji: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixels [h, w] that stay in view in j, and pixels [h, w] whose flow j -> i brings them back."""
    h, w = f_ij.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = xs + f_ij[..., 0], ys + f_ij[..., 1]
    back = flow_mod.sample(f_ji, x, y)
    loop = np.hypot(f_ij[..., 0] + back[..., 0], f_ij[..., 1] + back[..., 1])
    m = BORDER_PX  # flow is extrapolated, not measured, this close to the image's edge
    inside = (x >= m) & (x <= w - 1 - m) & (y >= m) & (y <= h - 1 - m)
    inside &= (xs >= m) & (xs <= w - 1 - m) & (ys >= m) & (ys <= h - 1 - m)
    return inside, loop <= tolerance + 0.05 * np.hypot(f_ij[..., 0], f_ij[..., 1])


def _nearest_inverse_depth(cams: list[Camera], points: np.ndarray) -> float:
    """1.5x the inverse depth of the nearest plausible point (99.5th percentile, median over frames)."""
    nearest = []
    for cam in cams:
        z = points @ cam.cam_from_world[:3, :3].T[:, 2] + cam.cam_from_world[2, 3]
        z = z[z > 0]
        if len(z):
            nearest.append(np.percentile(1.0 / z, 99.5))
    return 1.5 * float(np.median(nearest)) if nearest else 1.0


def _prior_range(cam: Camera, points: np.ndarray, rho_max: float, s: MotionSettings):
    """Per pixel [h, w]: the inverse depths (lo, hi) the static set allows, from the sparse points."""
    k = cam.intrinsics
    gw, gh = -(-k.width // s.cell_px), -(-k.height // s.cell_px)
    cam_pts = points @ cam.cam_from_world[:3, :3].T + cam.cam_from_world[:3, 3]
    front = cam_pts[:, 2] > 1e-6
    cam_pts = cam_pts[front]
    u = k.fx * cam_pts[:, 0] / cam_pts[:, 2] + k.cx
    v = k.fy * cam_pts[:, 1] / cam_pts[:, 2] + k.cy
    inside = (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
    rho = 1.0 / cam_pts[inside, 2]
    cell = (v[inside] // s.cell_px).astype(int) * gw + (u[inside] // s.cell_px).astype(int)
    nearest = np.full(gw * gh, -np.inf)
    np.maximum.at(nearest, cell, rho)
    visible = rho >= nearest[cell] / s.occluded_ratio  # a point far behind its cell's nearest is hidden
    farthest = np.full(gw * gh, np.inf)
    np.minimum.at(farthest, cell[visible], rho[visible])
    size = 2 * s.prior_radius_cells + 1
    hi = ndimage.maximum_filter(nearest.reshape(gh, gw), size=size, mode="nearest")
    lo = ndimage.minimum_filter(farthest.reshape(gh, gw), size=size, mode="nearest")
    empty = ~np.isfinite(hi)  # no point near: any depth is allowed
    lo, hi = np.where(empty, 0.0, lo * (1 - s.prior_margin)), np.where(empty, rho_max, hi * (1 + s.prior_margin))
    up = np.ones((s.cell_px, s.cell_px))
    return (np.kron(lo, up)[: k.height, : k.width].astype(np.float32),
            np.kron(hi, up)[: k.height, : k.width].astype(np.float32))


def _residual(i: int, cams: list[Camera], flows, lo: np.ndarray, hi: np.ndarray,
              s: MotionSettings) -> np.ndarray:
    """Residual [h, w] in pixels of frame i's flows against the static set, best rho in [lo, hi].

    NaN where no neighbour's flow passed the forward-backward check (nothing to judge by).
    The best rho is searched coarse to fine: `depth_samples` evenly over each pixel's range,
    then as many again over the two steps around the best of those.
    """
    k = cams[i].intrinsics
    h, w = k.height, k.width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    pix = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5, np.ones(h * w, np.float32)])  # [3, P] centres
    terms = []  # per valid neighbour: A [3, P], B [3], observed x, y [P], valid [P]
    for j in range(max(0, i - s.window), min(len(cams), i + s.window + 1)):
        if j == i:
            continue
        f = flows[i, j]
        T = cams[j].cam_from_world @ np.linalg.inv(cams[i].cam_from_world)  # cam_j_from_cam_i
        A = (cams[j].intrinsics.K @ T[:3, :3] @ np.linalg.inv(k.K)).astype(np.float32) @ pix
        B = (cams[j].intrinsics.K @ T[:3, 3]).astype(np.float32)
        valid = fb_valid(f, flows[j, i], s.fb_tolerance_px).ravel()
        terms.append((A, B, pix[0] + f[..., 0].ravel(), pix[1] + f[..., 1].ravel(), valid))
    count = sum(t[4].astype(np.float32) for t in terms)
    lo, hi = lo.ravel(), hi.ravel()

    def mean_error(rho: np.ndarray) -> np.ndarray:  # rho [D, P] -> [D, P]
        total = np.zeros(rho.shape, np.float32)
        for A, B, obs_x, obs_y, valid in terms:
            hom = A[:, None, :] + rho[None] * B[:, None, None]  # [3, D, P]
            z = hom[2]
            ok = z > 1e-6
            zs = np.where(ok, z, 1.0)
            err = np.hypot(hom[0] / zs - obs_x, hom[1] / zs - obs_y)
            total += np.where(ok, np.minimum(err, s.error_cap_px), s.error_cap_px) * valid
        return total / np.maximum(count, 1.0)

    steps = np.linspace(0.0, 1.0, s.depth_samples, dtype=np.float32)[:, None]
    coarse = lo + steps * (hi - lo)  # [D, P]
    err = mean_error(coarse)
    best = coarse[err.argmin(axis=0), np.arange(h * w)]
    step = (hi - lo) / max(1, s.depth_samples - 1)
    fine = np.clip(best + (2 * steps - 1) * step, lo, hi)
    best_err = np.minimum(err.min(axis=0), mean_error(fine).min(axis=0))
    return np.where(count > 0, best_err, np.nan).reshape(h, w).astype(np.float32)


def _along_time(raw: np.ndarray, flows, offsets: list[int], fb_tolerance_px: float) -> np.ndarray:
    """Each frame's residual [N, h, w] as the median of its own and its neighbours' (i + offsets),
    followed by flow."""
    n, h, w = raw.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.empty_like(raw)
    for i in range(n):
        stack = [raw[i]]
        for j in (i + o for o in offsets if 0 <= i + o < n):
            f = flows[i, j]
            valid = fb_valid(f, flows[j, i], fb_tolerance_px)
            seen = flow_mod.sample(raw[j], xs + f[..., 0], ys + f[..., 1])
            stack.append(np.where(valid, seen, np.nan))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels stay NaN
            out[i] = np.nanmedian(np.stack(stack), axis=0)
    return out


def track(masks: list[np.ndarray], flows, s: MotionSettings) -> list[np.ndarray]:
    """What following the masks [N] of [h, w] bool along the flow adds to each keyframe: [N] bool.

    A surface point seen moving in one keyframe belongs to a mover in every keyframe its flow
    links it to, also where its motion matches a static point at some other depth (a ball
    rolling along the camera's path while the camera passes it at about its speed looks like
    a point far behind it: the residual there is zero). Masks are carried forward, then
    backward, through consecutive keyframes: a pixel is carried when its flow to the previous
    (next) keyframe passes the forward-backward check (the background a mover uncovers does
    not) and lands in that keyframe's mask shrunk by `track_px` (flow spills that far over a
    mover's edge), then widened by `track_px` again. A keyframe takes only what its own mask
    misses by more than `track_rim_px` and what is larger than `min_area`: where the frame's
    own evidence found the mover, its own edge stands, so the set pixels a carried edge brings
    along cannot pile up frame after frame.
    """
    n = len(masks)
    h, w = masks[0].shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    core = np.ones((2 * s.track_px + 1, 2 * s.track_px + 1), bool)
    rim = np.ones((2 * s.track_rim_px + 1, 2 * s.track_rim_px + 1), bool)
    near_own = [ndimage.binary_dilation(m, structure=rim) for m in masks]

    def carry(mask: np.ndarray, i: int, j: int) -> np.ndarray:  # keyframe j's mask, followed into i
        f = flows[i, j]
        inner = ndimage.binary_erosion(mask, structure=core).astype(np.float32)
        carried = fb_valid(f, flows[j, i], s.fb_tolerance_px)
        carried &= flow_mod.sample(inner, xs + f[..., 0], ys + f[..., 1]) > 0.5
        return ndimage.binary_dilation(carried, structure=core)

    # Only what two neighbouring keyframes both found is followed: a mover is found again where
    # its flow takes it, while a patch of the set masked by one frame's error (flow spilling
    # over an edge, an occlusion) is not, and would otherwise be spread into every frame.
    confirmed = [m & (sum((carry(masks[j], i, j) for j in (i - 1, i + 1) if 0 <= j < n and masks[j].any()),
                          np.zeros_like(m)) > 0) if m.any() else m for i, m in enumerate(masks)]

    def sweep(order: range, step: int) -> list[np.ndarray]:
        out = [m.copy() for m in confirmed]
        for i in order:
            j = i - step
            if not (0 <= j < n and out[j].any()):
                continue
            carried = carry(out[j], i, j)
            new = ndimage.binary_opening(carried & ~near_own[i], structure=rim)
            labels, count = ndimage.label(new)
            if count:
                sizes = ndimage.sum_labels(new, labels, np.arange(1, count + 1))
                new = np.concatenate([[False], sizes >= s.min_area * h * w])[labels]
                out[i] |= ndimage.binary_dilation(new, structure=rim) & carried
        return out

    forward, backward = sweep(range(n), 1), sweep(range(n - 1, -1, -1), -1)
    return [ndimage.binary_fill_holes(a | b | m) & ~m for a, b, m in zip(forward, backward, masks)]


def expected_residual(residual: np.ndarray, texture: np.ndarray, bins: int = 8) -> np.ndarray:
    """The static set's typical residual [h, w] (pixels) at each pixel of one frame, for its texture.

    Flow's error at a pixel is a floor (camera and calibration error, blur, compression) plus
    image noise over the texture that pins the flow down: Lucas-Kanade's covariance is
    noise^2 x the structure tensor's inverse, so the median residual of the set is

        m(texture)^2 = floor^2 + spread^2 / texture        (texture: `flow_mod.texture`)

    fitted per frame to the median residual of `bins` texture quantiles (movers are a minority
    of each), each bin weighted alike (relative error). On RealEstate10K 0c9b371 the measured
    medians follow it from blank walls (1.26 px) to corners (0.28 px) within 0.03 px. (A third
    term for flow's share of the motion itself, fitted the same way, lowered the fitted floor
    and left more of the static clips masked at every threshold: not used.) Where the frame
    has too few measured pixels to fit, every pixel's expected residual is the frame's median.
    """
    inverse = 1.0 / np.maximum(texture, 1e-12)  # a blank pixel: no flow measured, any residual is noise
    ok = np.isfinite(residual)
    if ok.sum() < 20 * bins:
        return np.full(residual.shape, float(np.nanmedian(residual)) if ok.any() else np.inf, np.float32)
    r, x = residual[ok], inverse[ok]
    which = np.searchsorted(np.quantile(x, np.linspace(0, 1, bins + 1)[1:-1]), x, side="right")
    rows = np.array([(np.median(x[which == b]), np.median(r[which == b])) for b in range(bins) if (which == b).any()])
    m2 = rows[:, 1] ** 2
    weight = 1.0 / np.maximum(m2, 1e-12)  # each bin's median^2 to a relative error
    design = np.column_stack([np.ones(len(rows)), rows[:, 0]])
    (floor2, spread2), _ = optimize.nnls(design * weight[:, None], m2 * weight)
    return np.sqrt(np.maximum(floor2 + spread2 * inverse, 1e-12)).astype(np.float32)


def _regions(residual: np.ndarray, normalised: np.ndarray, s: MotionSettings) -> np.ndarray:
    """Moving regions [h, w] bool of one residual map (pixels) and the same over the frame's
    expected residual (`expected_residual`): hysteresis, closing, holes, specks, dilation."""
    weak = (residual > s.grow_px) & (normalised > s.grow_noise)  # NaN (nothing to judge by) is not
    labels, count = ndimage.label(weak)
    if count == 0:
        return weak
    seeded = np.zeros(count + 1, bool)
    seeded[np.unique(labels[(residual > s.seed_px) & (normalised > s.seed_noise)])] = True
    seeded[0] = False
    mask = seeded[labels]
    mask = ndimage.binary_closing(mask, structure=np.ones((5, 5)), iterations=1)
    # Unknown pixels (no flow passed the check) join only when the mask surrounds them: the inside
    # of a fast mover does, the background a mover uncovers and the frame's border do not.
    mask = ndimage.binary_fill_holes(mask)
    labels, count = ndimage.label(mask)
    if count:
        sizes = ndimage.sum_labels(mask, labels, np.arange(1, count + 1))
        keep = np.concatenate([[False], sizes >= s.min_area * mask.size])
        mask = keep[labels]
    if s.dilate_px:
        mask = ndimage.binary_dilation(mask, iterations=s.dilate_px)
    return mask
