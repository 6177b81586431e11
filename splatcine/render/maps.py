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
    """Count, for every pixel's 3D point [H, W, 3], the source views that saw it (depth-tested)."""
    H, W, _ = points_world.shape
    pts = points_world.reshape(-1, 3)
    ray_new = F.normalize(pts - center, dim=-1)  # [P, 3] from the new camera to the point
    count = torch.zeros(pts.shape[0], dtype=torch.int32, device=pts.device)
    best_cos = torch.full((pts.shape[0],), -1.0, device=pts.device)
    per_source = []
    for src in sources:
        seen = _seen_by(pts, src)
        count += seen.int()
        ray_src = F.normalize(pts - src.center.to(pts), dim=-1)
        cos = (ray_new * ray_src).sum(-1)
        best_cos = torch.where(seen, torch.maximum(best_cos, cos), best_cos)
        per_source.append(int(seen.sum()))
    angle = torch.rad2deg(torch.arccos(best_cos.clamp(-1.0, 1.0)))
    return Coverage(count.reshape(H, W), angle.reshape(H, W), torch.tensor(per_source, dtype=torch.int64))


def _seen_by(pts: Tensor, src: SourceView) -> Tensor:  # pts [P, 3] world -> [P] bool
    h, w = src.depth.shape
    cam = pts @ src.cam_from_world[:3, :3].T.to(pts) + src.cam_from_world[:3, 3].to(pts)
    z = cam[:, 2]
    front = z > 1e-6
    uv = cam[:, :2] / z.clamp_min(1e-6)[:, None] * src.K.diagonal()[:2].to(pts) + src.K[:2, 2].to(pts)
    col, row = uv[:, 0].floor().long(), uv[:, 1].floor().long()
    inside = front & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    idx = (row.clamp(0, h - 1) * w + col.clamp(0, w - 1))
    src_depth = src.depth.reshape(-1).to(pts)[idx]
    src_alpha = src.alpha.reshape(-1).to(pts)[idx]
    agrees = (z - src_depth).abs() <= DEPTH_TOLERANCE * src_depth
    seen = inside & agrees & (src_alpha >= SOURCE_ALPHA_MIN)
    if src.ignored is not None:  # where a mover hid the set, this view vouches for nothing
        seen &= ~src.ignored.reshape(-1)[idx]
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
