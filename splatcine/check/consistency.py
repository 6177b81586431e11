"""Does a generated frame show the set the splat holds? Masked metrics, an error map, changed regions.

Only pixels the set has seen well are compared: the splat covers them (alpha), the scene's own
shot saw them from a similar direction (the render's graded unseen mask, `splatcine.render`), it
saw the space in front of them too (`observed_space`), and the splat resolves them (`splat_sigma`).
The unseen mask vouches for the surface the splat renders, not for what may stand before it: where
a new camera sees outside every source frame near itself (typically at an image border, looking
lower or wider than the shot did), a prop that the shot never filmed can stand there, and the
splat shows the floor behind it. Nor does it vouch for the splat's detail: a render shows nothing
finer than the Gaussians that make it, and where the source views constrained a Gaussian only
across their rays (at the edge of what they saw, from a narrow cluster of directions) training
leaves it stretched along them, a needle that the sources see end-on and a new view sees as a
smear tens of pixels long. A generated frame that shows the set's texture there disagrees with
the smear without any change of the set, so such pixels are not compared (and counted: `coarse`).
Before comparing, each frame's colours are fitted to the render with a per-channel gain and
offset (robustly, on the pixels that already agree): a video model's exposure drift is not a
change of the set. The error map is the mean absolute colour difference after a light blur over
the compared pixels only, which forgives the splat's softness and sub-pixel registration error but
not a moved prop.

A "change" is a region whose error stays high for several frames in a row: per frame, the
error map is thresholded, opened, split into connected regions; regions of consecutive frames
are linked when their boxes overlap; a chain of at least `min_frames` is reported with its
frame range and one image-space box per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import ndimage

from splatcine.cameras import Camera

# A pixel is compared where the splat covers it (alpha) and the shot saw it (graded unseen mask:
# one source view from a similar direction scores 0.25, two 0.06; see splatcine.render.maps).
MIN_ALPHA = 0.9
MAX_UNSEEN = 0.3
EDGE_PX = 2  # the compared region is eroded this much: silhouettes carry registration error
# The comparison runs at about a third of the resolution (a Gaussian blur of 3 px at 320 px wide,
# scaled with the width): a splat resolves less than a generated frame shows where the new camera
# comes closer than the scene's shot did, and what a change is made of (a prop, a paint) is larger.
BLUR_SIGMA_PX = 3.0
# Blurred mean absolute error (0-1) above which a pixel disagrees. Measured on the procedural set
# (benchmarks/bench_check.py) against a ground-truth splat: unchanged pixels 0.094 at the 99th
# percentile and 0.137 at the 99.9th (scattered: no region of 0.2% of a frame lasts 3 frames);
# the moved box and the repainted crate have a median of 0.13-0.15 and regions averaging 0.17-0.23.
DISAGREE = 0.12
# The splat resolves a pixel when the Gaussians that make it (alpha-weighted) have a major-axis
# standard deviation on screen of at most this many pixels per 320 px of width. Measured on
# `make demo`'s trained preview splat (129k Gaussians) at 480x270, five shots of 24 frames: compared
# pixels that agree have 2.3-12.5 px (5th-95th percentile); the true-change pixels of the moved and
# repainted shots (second and beyond paths) 1.7-32 px (1st-99th); the two false changes of the
# unchanged beyond shot (and the same two in the beyond variants) 31-243 px (5th-95th). Bars of 24
# and 30 px at 480 px remove every false change and keep every true change region with its IoU;
# 20 px cuts frames from the moved box seen along the beyond path (IoU 0.56 -> 0.45) and 38 px
# brings a false change back in the repainted beyond shot. 30 px at 480 is the bar.
MAX_SPLAT_SIGMA_PX = 20.0
SIGMA_STRIDE = 2  # the size map is rendered at half the resolution: what it flags is tens of pixels wide
MIN_REGION = 0.002  # a changed region covers at least this share of the frame (0.2%)
MIN_FRAMES = 3  # and lasts this many frames in a row
# A placed frame is doubtful when its pose leaves the path the placed frames near it draw (`path_jumps`:
# the image displacement between its pose and that path) by over MAX_JUMP_PX per 320 px of width
# and over JUMP_X_MEDIAN times the shot's median jump. Measured: on `make demo`'s unchanged beyond
# shot (24 frames at 384x216, moving up to 60 px a frame, truth known), frames placed within 0.31
# degrees of the truth lie 0.3-1.05 px off (per 320 px: 0.25-0.9; frame 17, 0.36 degrees off,
# 1.6), and frames 12-16 and 18, placed 0.22-1.3 degrees off (SfM points at the edge of what shot
# 1 saw), 3.9-17.8 px (3.2-14.8 per 320), whose comparison made a false change (frames 14-16). The
# published poses of the five real RealEstate10K clips in ../shared/data (25 frames, hand-held
# walk-throughs) lie at most 2.6-5.0 px off at 576 px (1.4-2.8 per 320) with the depth set to the
# path's length: a bar of 2 px doubted 1-2 true frames in two of them, 3 px none (with the depth
# at half the path's length, 3 px still doubts 1-2 frames in two; bench_check --real-paths). The
# check tests' 8-frame shots step so far between frames that the fit misses their true paths by
# 8-57 px (four paths, their true cameras): the median factor leaves such coarse paths unjudged.
PATH_WINDOW = 3  # placed frames on each side that the path is fitted to
MAX_JUMP_PX = 3.0
JUMP_X_MEDIAN = 4.0


@dataclass(frozen=True)
class FrameScore:
    psnr: float | None  # dB over the compared pixels (None when none)
    ssim: float | None
    compared: float  # share of the frame compared
    coarse: float  # share of the frame the set saw but the splat does not resolve (not compared)
    disagree: float  # share of the compared pixels over the disagreement threshold
    gain: tuple[float, float, float]  # colour fit applied to the generated frame
    offset: tuple[float, float, float]


@dataclass(frozen=True)
class ChangeRegion:
    """A part of the set that looks different in the generated shot, for `frames` in a row."""

    first: int  # frame indices of the shot, inclusive
    last: int
    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # frame -> x0, y0, x1, y1 (exclusive)
    mean_error: float = 0.0

    def to_json(self) -> dict:
        return {"frames": [self.first, self.last], "mean_error": round(self.mean_error, 4),
                "boxes": {str(i): list(b) for i, b in self.boxes.items()}}


# The ray from the new camera to the rendered surface is sampled at these fractions of its depth;
# each sample must lie inside some source frame. The nearest 30% is not asked about: a camera that
# moves in and up from the shot (the tests' second path: 0.4 m in, 0.2 m up) has space just before
# it above every source frame; a test from 0.1 of the depth left 48% of its frames compared, from
# 0.2 94%, from 0.3 98%. The demo's false change (`make demo`, beyond path) was a prop at 0.43 of
# its rays' depth below every frame of the first shot: the 0.3 sample alone flags 83% of its pixels,
# and none of its change region is left. A thing nearer than 0.3 of the depth goes unseen by this.
FREE_SPACE_SAMPLES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FREE_SPACE_STRIDE = 4  # the test runs on every 4th pixel (the boundary is smooth), then upsampled


def path_jumps(cameras: list[Camera | None], depth: float) -> np.ndarray:  # -> [F] px, NaN: not judged
    """How far (in pixels of image displacement) each placed frame's pose lies from the path of the placed
    frames within `PATH_WINDOW` of it; NaN where it is not placed or has fewer than five such neighbours.

    The path is a quadratic in time through the neighbours' rotations (relative to the frame) and
    centres, fitted least-median: of the fits through every four of them, the one whose median
    residual is smallest, so up to half of them may be misplaced too. `depth` turns centre offsets
    into pixels (offset x focal / depth)."""
    from itertools import combinations

    from scipy.spatial.transform import Rotation

    out = np.full(len(cameras), np.nan)
    for i, camera in enumerate(cameras):
        near = [j for j in range(i - PATH_WINDOW, i + PATH_WINDOW + 1)
                if j != i and 0 <= j < len(cameras) and cameras[j] is not None]  # fmt: skip
        if camera is None or len(near) < 5:
            continue
        f = camera.intrinsics.fx
        t = np.asarray(near, np.float64) - i
        basis = np.stack([np.ones_like(t), t, t * t], 1)  # [N, 3]
        turn = Rotation.from_matrix(np.stack([cameras[j].cam_from_world[:3, :3] for j in near]))
        rotvecs = (turn * Rotation.from_matrix(camera.cam_from_world[:3, :3]).inv()).as_rotvec()  # [N, 3]
        offsets = np.stack([cameras[j].center for j in near]) - camera.center  # [N, 3]
        pose = np.concatenate([rotvecs * f, offsets * (f / depth)], 1)  # [N, 6] in px; the frame is at 0
        subsets = np.array(list(combinations(range(len(near)), 4)))  # [S, 4]
        coef = np.linalg.pinv(basis[subsets]) @ pose[subsets]  # [S, 3, 6]
        residual = basis[None] @ coef - pose[None]  # [S, N, 6]
        px = np.linalg.norm(residual[..., :3], axis=-1) + np.linalg.norm(residual[..., 3:], axis=-1)
        best = coef[np.argmin(np.median(px, axis=1))]  # [3, 6]: its constant term is the path at the frame
        out[i] = np.linalg.norm(best[0, :3]) + np.linalg.norm(best[0, 3:])
    return out


def doubtful_placements(cameras: list[Camera | None], depth: float) -> dict[int, float]:
    """Placed frames whose pose jumps off the path of the others: frame -> its jump in px."""
    jumps = path_jumps(cameras, depth)
    if np.all(np.isnan(jumps)):
        return {}
    width = next(c for c in cameras if c is not None).intrinsics.width
    bar = max(MAX_JUMP_PX * width / 320.0, JUMP_X_MEDIAN * float(np.nanmedian(jumps)))
    return {i: float(jump) for i, jump in enumerate(jumps) if jump > bar}


def observed_space(depth: np.ndarray, camera: Camera, sources: list[Camera]) -> np.ndarray:
    """[H, W] bool: the whole ray from `camera` to the rendered surface (z-depth [H, W]) passes through
    space inside the field of view of at least one of the `sources` (the frames the set was made from).

    A frustum test, not a depth test: space a source saw only behind a surface still counts (the
    unseen mask's depth test covers what stands behind surfaces the shot saw)."""
    H, W = depth.shape
    s = FREE_SPACE_STRIDE
    k = camera.intrinsics
    ys, xs = np.mgrid[0:H:s, 0:W:s].astype(np.float64) + 0.5
    rays = np.stack([(xs - k.cx) / k.fx, (ys - k.cy) / k.fy, np.ones_like(xs)], -1)  # [h, w, 3] at z = 1
    z = depth[::s, ::s].astype(np.float64)
    world_from_cam = camera.world_from_cam
    t = np.asarray(FREE_SPACE_SAMPLES)[:, None, None, None]
    points = (rays[None] * (t * z[None, ..., None])).reshape(-1, 3)  # [T * h * w, 3] camera frame
    # einsum, not @: a [P, 3] x [3, 3] product through BLAS threads crawls on a busy machine
    points = np.einsum("pj,ij->pi", points, world_from_cam[:3, :3]) + world_from_cam[:3, 3]
    seen = np.zeros(len(points), bool)
    for src in sources:
        p = np.einsum("pj,ij->pi", points, src.cam_from_world[:3, :3]) + src.cam_from_world[:3, 3]
        k_src = src.intrinsics
        with np.errstate(divide="ignore", invalid="ignore"):
            u = p[:, 0] / p[:, 2] * k_src.fx + k_src.cx
            v = p[:, 1] / p[:, 2] * k_src.fy + k_src.cy
        seen |= (p[:, 2] > 1e-9) & (u >= 0) & (u < k_src.width) & (v >= 0) & (v < k_src.height)
    ok = seen.reshape(len(FREE_SPACE_SAMPLES), *z.shape).all(axis=0)
    return ok.repeat(s, 0).repeat(s, 1)[:H, :W]


def splat_sigma(gaussians, camera: Camera, backend: str = "auto") -> np.ndarray:  # -> [H, W] float32
    """How sharp the splat's render from `camera` can be: per pixel, the alpha-weighted major-axis standard
    deviation in pixels of the Gaussians that make it (their projected 2D covariance; 0 where empty).

    Rendered at 1 / SIGMA_STRIDE of the resolution (Gaussian sizes in pixels scale with it) and
    upsampled."""
    from splatcine.raster import rasterize
    from splatcine.raster.reference import project

    k, s = camera.intrinsics, SIGMA_STRIDE
    w, h = -(-k.width // s), -(-k.height // s)
    g = gaussians.detach().to("cuda" if torch.cuda.is_available() else "cpu")  # where render_cameras renders
    K = torch.as_tensor(k.resized(w, h).K, dtype=torch.float32, device=g.means.device)
    cam_from_world = torch.as_tensor(camera.cam_from_world, dtype=torch.float32, device=g.means.device)
    means, quats, scales, opacities = g.means, g.quats, g.scales, g.opacities
    with torch.no_grad():
        proj = project(means, quats, scales, opacities, cam_from_world, K, w, h)
        a, b, c = proj.conics.unbind(-1)  # inverse 2D covariance: its smallest eigenvalue is 1 / sigma_major^2
        mid = 0.5 * (a + c)
        smallest = mid - torch.sqrt(torch.clamp(mid * mid - (a * c - b * b), min=0.0))
        sigma = torch.where(proj.radii > 0, torch.rsqrt(smallest.clamp_min(1e-12)), torch.zeros_like(a))
        features = torch.stack([sigma, torch.zeros_like(sigma), torch.zeros_like(sigma)], -1)
        out = rasterize(means, quats, scales, opacities, features, cam_from_world, K, w, h, backend=backend)
        mean = (out.rgb[..., 0] / out.alpha.clamp_min(1e-6)).cpu().numpy() * s  # in pixels of the full frame
    return mean.repeat(s, 0).repeat(s, 1)[: k.height, : k.width].astype(np.float32)


def resolved(sigma: np.ndarray) -> np.ndarray:  # [H, W] px -> [H, W] bool
    return sigma <= MAX_SPLAT_SIGMA_PX * sigma.shape[1] / 320.0


def compared_mask(alpha: np.ndarray, unseen: np.ndarray, observed: np.ndarray | None = None,
                  sharp: np.ndarray | None = None) -> np.ndarray:  # [H, W] float, float, bool, bool -> bool
    """Pixels to compare: covered, seen (`unseen`), in `observed_space` and `resolved` by the splat (`sharp`)."""
    well = (alpha >= MIN_ALPHA) & (unseen <= MAX_UNSEEN)
    if observed is not None:
        well &= observed
    if sharp is not None:
        well &= sharp
    return ndimage.binary_erosion(well, iterations=EDGE_PX) if EDGE_PX else well


def fit_colours(generated: np.ndarray, render: np.ndarray, mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generated [H, W, 3] float 0-1 mapped onto the render's colours: (fitted, gain [3], offset [3]).

    Least squares per channel on the 70% of the compared pixels that agree best (first as they
    are, then after each fit), so a changed prop does not pull the fit. Gains stay within 0.5-2.
    """
    gain, offset = np.ones(3), np.zeros(3)
    if mask.sum() < 100:
        return generated, gain, offset
    g, r = generated[mask], render[mask]  # [M, 3]
    for _ in range(3):
        residual = np.abs(g * gain + offset - r).mean(axis=1)
        keep = residual <= np.quantile(residual, 0.7)
        for c in range(3):
            A = np.c_[g[keep, c], np.ones(keep.sum())]
            (a, b), *_ = np.linalg.lstsq(A, r[keep, c], rcond=None)
            gain[c], offset[c] = np.clip(a, 0.5, 2.0), b
    return np.clip(generated * gain + offset, 0.0, 1.0), gain, offset


def score_frame(generated: np.ndarray, render: np.ndarray, alpha: np.ndarray, unseen: np.ndarray,
                observed: np.ndarray | None = None, sigma: np.ndarray | None = None
                ) -> tuple[FrameScore, np.ndarray, np.ndarray]:
    """Metrics of one generated frame [H, W, 3] uint8 against its render, the error map [H, W] (0-1,
    0 outside the compared region) and the compared mask [H, W]; `observed` is `observed_space`,
    `sigma` is `splat_sigma`."""
    import kornia

    sharp = None if sigma is None else resolved(sigma)
    mask = compared_mask(alpha, unseen, observed, sharp)
    coarse = 0.0 if sharp is None else float(compared_mask(alpha, unseen, observed, ~sharp).mean())
    gen = generated.astype(np.float32) / 255.0
    ren = render.astype(np.float32) / 255.0
    gen, gain, offset = fit_colours(gen, ren, mask)
    sigma = BLUR_SIGMA_PX * generated.shape[1] / 320.0
    blur = [masked_blur(x, mask, sigma) for x in (gen, ren)]
    error = np.abs(blur[0] - blur[1]).mean(axis=2) * mask
    n = int(mask.sum())
    if n == 0:
        return FrameScore(None, None, 0.0, coarse, 0.0, tuple(gain), tuple(offset)), error, mask
    mse = float(((gen - ren) ** 2)[mask].mean())
    psnr = float("inf") if mse == 0 else -10.0 * np.log10(mse)
    with torch.no_grad():
        a, b = (torch.from_numpy(x).permute(2, 0, 1)[None] for x in (gen, ren))
        ssim_map = kornia.metrics.ssim(a, b, window_size=11)[0].mean(0).numpy()
    ssim = float(ssim_map[mask].mean())
    disagree = float((error[mask] > DISAGREE).mean())
    score = FrameScore(psnr, ssim, n / mask.size, coarse, disagree, tuple(map(float, gain)),
                       tuple(map(float, offset)))
    return score, error, mask


def masked_blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:  # [H, W, C], [H, W] bool
    """Gaussian blur of `image` over the `mask`ed pixels only (normalised convolution): what lies outside
    the compared region (a prop the set never saw, the unseen part) does not bleed into its edge."""
    weight = ndimage.gaussian_filter(mask.astype(np.float32), sigma)
    blurred = ndimage.gaussian_filter(image * mask[..., None], (sigma, sigma, 0))
    return blurred / np.maximum(weight, 1e-6)[..., None]


def frame_regions(error: np.ndarray) -> list[tuple[tuple[int, int, int, int], float]]:
    """Boxes (x0, y0, x1, y1) and mean error of the disagreeing regions of one error map [H, W]."""
    hot = ndimage.binary_opening(error > DISAGREE, iterations=1)
    hot = ndimage.binary_closing(hot, iterations=2)
    labels, count = ndimage.label(hot)
    out = []
    for i, window in enumerate(ndimage.find_objects(labels), start=1):
        region = labels[window] == i
        if region.sum() < MIN_REGION * error.size:
            continue
        ys, xs = window
        out.append(((xs.start, ys.start, xs.stop, ys.stop), float(error[window][region].mean())))
    return out


def changed_regions(per_frame: list[list[tuple[tuple[int, int, int, int], float]] | None],
                    min_frames: int = MIN_FRAMES) -> list[ChangeRegion]:
    """Link the regions of consecutive frames whose boxes overlap; keep chains of `min_frames` or more.

    `per_frame[i]` is None for a frame that could not be compared (not placed): it breaks chains.
    """
    chains: list[dict] = []  # open chains: {"first", "boxes", "errors"}
    done: list[dict] = []
    for i, regions in enumerate(per_frame):
        still_open = []
        used = set()
        for chain in chains:
            last_box = chain["boxes"][i - 1]
            match = None
            if regions:
                overlaps = [(_overlap(last_box, box), j) for j, (box, _) in enumerate(regions) if j not in used]
                overlaps = [o for o in overlaps if o[0] > 0]
                if overlaps:
                    match = max(overlaps)[1]
            if match is None:
                done.append(chain)
                continue
            used.add(match)
            chain["boxes"][i] = regions[match][0]
            chain["errors"].append(regions[match][1])
            still_open.append(chain)
        for j, (box, err) in enumerate(regions or []):
            if j not in used:
                still_open.append({"first": i, "boxes": {i: box}, "errors": [err]})
        chains = still_open
    done += chains
    out = [ChangeRegion(c["first"], max(c["boxes"]), c["boxes"], float(np.mean(c["errors"])))
           for c in done if len(c["boxes"]) >= min_frames]
    return sorted(out, key=lambda r: (r.first, r.last))


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection area of two boxes, each grown by a quarter of its size (the camera moves)."""
    def grow(box):
        x0, y0, x1, y1 = box
        dx, dy = (x1 - x0) / 4, (y1 - y0) / 4
        return x0 - dx, y0 - dy, x1 + dx, y1 + dy

    a, b = grow(a), grow(b)
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
