"""Per-pixel maps derived from a rendered frame: 3D points, normals, and how well the source shot saw them.

All functions work on torch tensors on any device, one frame at a time, in the
OpenCV camera convention (x right, y down, z forward; pixel centres at +0.5).
Depth is the rasterizer's expected z-depth in scene units.

The unseen mask answers "may a video model trust the render here?". For each pixel
of a new view it back-projects the rendered depth to a 3D point and asks the source
shot's cameras whether they saw that point: the point must project inside the source
image, in front of it, and agree with the depth the splat renders from that source
view (a depth test, so occluded points do not count). Three confidences multiply:

    seen = alpha_conf * count_conf * angle_conf,        unseen = 1 - seen
    alpha_conf = smoothstep(alpha; 0.2, 0.8)            the splat covers the pixel
    count_conf = 1 - 0.25 ** n                          n source views saw the point
    angle_conf = 1 - smoothstep(angle; 20 deg, 60 deg)  the nearest of those views looked
                                                        from a similar direction

so a point seen by one source view from the same direction scores unseen 0.25, by two
views 0.06, and a point seen only 60 degrees or more off the new ray scores 1. The binary
mask is `unseen >= UNSEEN_THRESHOLD` (0.5): one clear observation counts as seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

UNSEEN_THRESHOLD = 0.5  # binary unseen mask: graded unseen >= this
ALPHA_RANGE = (0.2, 0.8)  # alpha below 0.2 is empty space, above 0.8 fully covered
COUNT_DECAY = 0.25  # each extra source view that saw a point cuts its doubt to a quarter
ANGLE_RANGE_DEG = (20.0, 60.0)  # view-direction change tolerated fully / not at all
DEPTH_TOLERANCE = 0.05  # a reprojected point agrees with a source depth within 5% of depth
SOURCE_ALPHA_MIN = 0.5  # a source pixel must be covered by the splat to vouch for a point


def pixel_rays(K: Tensor, width: int, height: int) -> Tensor:  # [H, W, 3]
    """Camera-space directions with z = 1 through every pixel centre."""
    K = K.to(torch.float32)
    v, u = torch.meshgrid(
        torch.arange(height, device=K.device, dtype=torch.float32) + 0.5,
        torch.arange(width, device=K.device, dtype=torch.float32) + 0.5,
        indexing="ij",
    )
    x = (u - K[0, 2]) / K[0, 0]
    y = (v - K[1, 2]) / K[1, 1]
    return torch.stack([x, y, torch.ones_like(x)], dim=-1)


def backproject(depth: Tensor, K: Tensor) -> Tensor:  # depth [H, W] z-depth -> [H, W, 3] camera points
    return pixel_rays(K, depth.shape[1], depth.shape[0]) * depth[..., None]


def normals_from_depth(depth: Tensor, K: Tensor, valid: Tensor) -> Tensor:  # [H, W, 3]
    """Unit camera-space normals facing the camera, by central differences of back-projected depth.

    `valid` [H, W] bool marks pixels with a surface; a normal is zero where it or any
    neighbour used by the difference is invalid (silhouette edges have no normal).
    """
    points = backproject(depth, K)
    pad = F.pad(points.permute(2, 0, 1)[None], (1, 1, 1, 1), mode="replicate")[0].permute(1, 2, 0)
    d_du = pad[1:-1, 2:] - pad[1:-1, :-2]  # [H, W, 3] along +u (right)
    d_dv = pad[2:, 1:-1] - pad[:-2, 1:-1]  # along +v (down)
    normals = F.normalize(torch.cross(d_dv, d_du, dim=-1), dim=-1)  # x right, y down: faces -z
    ok = F.pad(valid[None, None].float(), (1, 1, 1, 1), mode="replicate")
    ok = -F.max_pool2d(-ok, 3, stride=1)[0, 0] > 0.5  # all 3x3 neighbours valid
    return torch.where(ok[..., None], normals, torch.zeros_like(normals))


def smoothstep(x: Tensor, lo: float, hi: float) -> Tensor:
    t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class SourceView:
    """What a source camera saw, rendered from the splat at a reduced size for depth tests."""

    cam_from_world: Tensor  # [4, 4]
    K: Tensor  # [3, 3] for the reduced size
    depth: Tensor  # [h, w] expected z-depth
    alpha: Tensor  # [h, w]
    ignored: Tensor | None = None  # [h, w] bool: the source frame's mask (a moving thing hid the set)

    @property
    def center(self) -> Tensor:  # [3] camera centre in world
        R, t = self.cam_from_world[:3, :3], self.cam_from_world[:3, 3]
        return -R.T @ t


@dataclass(frozen=True)
class Coverage:
    """How the source views cover the pixels of one new frame."""

    count: Tensor  # [H, W] int: source views whose depth test the pixel's point passed
    min_angle_deg: Tensor  # [H, W] smallest angle between the new ray and a seeing view's ray (180 if none)
    per_source: Tensor  # [S] int: how many of this frame's pixels each source view saw


def coverage(points_world: Tensor, center: Tensor, sources: list[SourceView]) -> Coverage:
    """Count, for every pixel's 3D point [H, W, 3], the source views that saw it (depth-tested).

    On the CPU one C++ pass (cuda/coverage_cpu.cpp); elsewhere, or without a compiler, the
    same test in torch (`coverage_torch`, which the C++ is tested against)."""
    H, W, _ = points_world.shape
    pts = points_world.reshape(-1, 3)
    native = _coverage_native(pts, center, sources)
    count, best_cos, per_source = native if native is not None else coverage_torch(pts, center, sources)
    angle = torch.rad2deg(torch.arccos(best_cos.clamp(-1.0, 1.0)))
    return Coverage(count.reshape(H, W), angle.reshape(H, W), per_source)


def _coverage_native(pts: Tensor, center: Tensor,
                     sources: list[SourceView]) -> tuple[Tensor, Tensor, Tensor] | None:  # fmt: skip
    from splatcine.raster import _native

    if not sources or pts.device.type != "cpu" or pts.dtype != torch.float32:
        return None
    cameras = torch.stack([torch.cat([src.cam_from_world[:3, :3].reshape(9), src.cam_from_world[:3, 3],
                                      src.K[[0, 1, 0, 1], [0, 1, 2, 2]]]) for src in sources])  # fmt: skip
    sizes = torch.tensor([tuple(src.depth.shape) for src in sources], dtype=torch.int32)
    offsets = torch.tensor(np.cumsum([0] + [src.depth.numel() for src in sources[:-1]]), dtype=torch.int64)
    # each view's depth where it vouches for a point, -1 elsewhere: one load per test
    depth = torch.cat([_vouching_depth(src).reshape(-1) for src in sources])
    return _native.coverage(pts, center.to(pts), cameras.to(pts), sizes, offsets, depth.to(pts),
                            DEPTH_TOLERANCE)  # fmt: skip


def _vouching_depth(src: SourceView) -> Tensor:  # [h, w]
    """The source's depth where the splat covered the pixel and no mask hid it, -1 elsewhere."""
    vouches = src.alpha >= SOURCE_ALPHA_MIN
    if src.ignored is not None:
        vouches &= ~src.ignored.to(vouches.device)
    return torch.where(vouches, src.depth, -1.0)


def coverage_torch(pts: Tensor, center: Tensor,
                   sources: list[SourceView]) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """`coverage` in torch ops for points [P, 3]: count [P], best cosine [P] (-1: unseen),
    per_source [S]."""
    ray_new = F.normalize(pts - center, dim=-1)  # [P, 3] from the new camera to the point
    count = torch.zeros(pts.shape[0], dtype=torch.int32, device=pts.device)
    best_cos = torch.full((pts.shape[0],), -1.0, device=pts.device)
    per_source = []
    for batch in _batches(sources, pts.shape[0]):
        seen = _seen_by(pts, batch)  # [S, P]
        count += seen.sum(0, dtype=torch.int32)
        centers = torch.stack([src.center for src in batch]).to(pts)
        # cosine of the angle between the new ray and each view's ray, coordinate by coordinate
        # ([S, P] each): half the passes of normalising [S, P, 3] rays
        (dx, dy, dz), (rx, ry, rz) = pts.T[:, None] - centers.T[:, :, None], ray_new.T[:, None]
        cos = (rx * dx + ry * dy + rz * dz) * torch.rsqrt((dx * dx + dy * dy + dz * dz).clamp_min(1e-24))  # [S, P]
        best_cos = torch.maximum(best_cos, torch.where(seen, cos, -1.0).amax(0))
        per_source += seen.sum(1).tolist()
    return count, best_cos, torch.tensor(per_source, dtype=torch.int64)


# (view, point) pairs tested at once. One view at a time, small ops' overhead made coverage 2/3
# of `splatcine render`'s time on the demo (48 views x 130k pixels a frame); all 48 at once, the
# [S, P] intermediates (~60 MB) left the cache. Measured on that size: 0.64 s a frame one view
# at a time, 0.33 s at 4 views, 0.36 s at 8, 0.53 s at 16.
BATCH_PAIRS = 600_000


def _batches(sources: list[SourceView], points: int) -> list[list[SourceView]]:
    """Consecutive runs of source views with one depth-map size, at most BATCH_PAIRS / points each."""
    size = max(1, BATCH_PAIRS // max(points, 1))
    batches: list[list[SourceView]] = []
    for src in sources:
        if batches and len(batches[-1]) < size and batches[-1][0].depth.shape == src.depth.shape:
            batches[-1].append(src)
        else:
            batches.append([src])
    return batches


def _seen_by(pts: Tensor, sources: list[SourceView]) -> Tensor:  # pts [P, 3] world -> [S, P] bool
    """Whether each source view (all of one depth-map size) saw each point: in its frame, in
    front, on the surface it rendered there (depth within DEPTH_TOLERANCE) and not masked."""
    h, w = sources[0].depth.shape
    cam_from_world = torch.stack([src.cam_from_world[:3] for src in sources]).to(pts)  # [S, 3, 4]
    K = torch.stack([src.K for src in sources]).to(pts)  # [S, 3, 3]
    # one matrix product for all views ([3S, 4] x [4, P]); batched [P, 3] x [3, 3] products are 7x slower
    x, y, z = (cam_from_world.reshape(-1, 4) @ torch.cat([pts, torch.ones_like(pts[:, :1])], 1).T
               ).reshape(len(sources), 3, -1).unbind(1)  # fmt: skip
    front = z > 1e-6
    inv_z = 1.0 / z.clamp_min(1e-6)
    col = (x * inv_z * K[:, 0, 0, None] + K[:, 0, 2, None]).floor().long()
    row = (y * inv_z * K[:, 1, 1, None] + K[:, 1, 2, None]).floor().long()
    inside = front & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    idx = row.clamp(0, h - 1) * w + col.clamp(0, w - 1)  # [S, P]
    src_depth = torch.stack([src.depth.reshape(-1) for src in sources]).to(pts).gather(1, idx)
    src_alpha = torch.stack([src.alpha.reshape(-1) for src in sources]).to(pts).gather(1, idx)
    agrees = (z - src_depth).abs() <= DEPTH_TOLERANCE * src_depth
    seen = inside & agrees & (src_alpha >= SOURCE_ALPHA_MIN)
    if any(src.ignored is not None for src in sources):  # where a mover hid the set, a view vouches for nothing
        ignored = torch.stack([torch.zeros(h * w, dtype=torch.bool, device=pts.device) if src.ignored is None
                               else src.ignored.reshape(-1).to(pts.device) for src in sources])  # fmt: skip
        seen &= ~ignored.gather(1, idx)
    return seen


def unseen_score(alpha: Tensor, cov: Coverage) -> Tensor:  # [H, W] in [0, 1]
    """The graded unseen mask (see the module docstring for the formula)."""
    alpha_conf = smoothstep(alpha, *ALPHA_RANGE)
    count_conf = 1.0 - torch.pow(torch.tensor(COUNT_DECAY, device=alpha.device), cov.count.float())
    angle_conf = 1.0 - smoothstep(cov.min_angle_deg.to(alpha), *ANGLE_RANGE_DEG)
    return (1.0 - alpha_conf * count_conf * angle_conf).clamp(0.0, 1.0)


def unseen_binary(unseen: Tensor) -> Tensor:  # [H, W] bool
    return unseen >= UNSEEN_THRESHOLD


def reduced_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) scaled so the longer side is at most `max_side`, keeping the aspect ratio."""
    s = min(1.0, max_side / max(width, height))
    return max(1, int(math.floor(width * s + 0.5))), max(1, int(math.floor(height * s + 0.5)))
