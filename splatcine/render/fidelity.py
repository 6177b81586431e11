"""Measure a rendered shot against ground truth: masked PSNR, and the unseen mask against true disocclusion.

Used by the tests and `benchmarks/bench_render.py` on the procedural scenes (`scenes`),
whose ray caster gives exact colour and z-depth for any camera. The ground-truth
disocclusion here is computed from exact depths in plain numpy, independently of
`maps.coverage` (which works from the splat's own rendered depth): a pixel of a new view
is truly unseen when its 3D point is not visible in any source frame.
"""

from __future__ import annotations

import numpy as np
import torch

from splatcine.cameras import Camera
from splatcine.gaussians import Gaussians, rgb_to_sh_dc

GT_DEPTH_TOLERANCE = 0.02  # exact depths agree to float32 rounding; 2% absorbs nearest-pixel lookup


def back_project(camera: Camera, depth: np.ndarray) -> np.ndarray:  # [H, W] z-depth -> [H, W, 3] world
    k = camera.intrinsics
    x = (np.arange(k.width) + 0.5 - k.cx) / k.fx
    y = (np.arange(k.height) + 0.5 - k.cy) / k.fy
    rays = np.stack(np.broadcast_arrays(x[None, :], y[:, None], 1.0), axis=-1)
    world_from_cam = camera.world_from_cam
    return (rays * depth[..., None]) @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]


def gaussians_from_depth(
    cameras: list[Camera], rgbs: list[np.ndarray], depths: list[np.ndarray], footprint: float = 0.5
) -> Gaussians:
    """A splat that is the ground truth: one small isotropic opaque Gaussian per pixel of each view,
    at its true 3D point, with its colour and a standard deviation of `footprint` pixels there."""
    means, colors, sigmas = [], [], []
    for cam, rgb, depth in zip(cameras, rgbs, depths):
        ok = np.isfinite(depth) & (depth > 0)
        means.append(back_project(cam, depth)[ok])
        colors.append(rgb[ok] / 255.0)
        sigmas.append(footprint * depth[ok] / cam.intrinsics.fx)
    means, colors, sigmas = (np.concatenate(a) for a in (means, colors, sigmas))
    n = len(means)
    return Gaussians(
        means=torch.tensor(means, dtype=torch.float32),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        log_scales=torch.tensor(np.log(sigmas), dtype=torch.float32)[:, None].repeat(1, 3),
        opacity_logits=torch.full((n,), 4.0),  # opacity 0.98: opaque surfaces
        sh=rgb_to_sh_dc(torch.tensor(colors, dtype=torch.float32))[:, None].contiguous(),
    )


def true_unseen(
    camera: Camera, depth: np.ndarray, source_cameras: list[Camera], source_depths: list[np.ndarray]
) -> np.ndarray:  # [H, W] bool
    """Pixels of `camera` whose true 3D point no source camera sees (exact depth test)."""
    points = back_project(camera, depth).reshape(-1, 3)
    seen = np.zeros(len(points), bool)
    for src, src_depth in zip(source_cameras, source_depths):
        k = src.intrinsics
        cam = points @ src.cam_from_world[:3, :3].T + src.cam_from_world[:3, 3]
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = cam[:, 0] / z * k.fx + k.cx
            v = cam[:, 1] / z * k.fy + k.cy
        inside = (z > 1e-6) & (u >= 0) & (u < k.width) & (v >= 0) & (v < k.height)
        col = np.clip(np.nan_to_num(u), 0, k.width - 1).astype(int)
        row = np.clip(np.nan_to_num(v), 0, k.height - 1).astype(int)
        seen |= inside & (np.abs(src_depth[row, col] - z) <= GT_DEPTH_TOLERANCE * z)
    return ~seen.reshape(depth.shape)


def masked_psnr(render: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB over the pixels of `mask` ([..., H, W]) of uint8 images [..., H, W, 3]."""
    diff = render.astype(np.float64) / 255.0 - reference.astype(np.float64) / 255.0
    mse = float((diff**2)[mask].mean())
    return float("inf") if mse == 0 else -10.0 * np.log10(mse)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def recall(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share of the true pixels that `predicted` covers."""
    total = truth.sum()
    return 1.0 if total == 0 else float(np.logical_and(predicted, truth).sum() / total)
