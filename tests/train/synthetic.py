"""A small scene with known Gaussians, rendered by the rasterizer itself, for the trainer's tests.

The set is a textured floor, a back wall and a coloured ball seen by an orbiting
camera. Because the frames are renders of known Gaussians, a trainer that works can
fit them closely; the sparse points are the true centres, thinned and jittered, as
SfM would give them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.gaussians import Gaussians, rgb_to_sh_dc
from splatcine.io.ply import write_points_ply
from splatcine.io.video import write_image
from splatcine.raster import rasterize
from splatcine.scene import layout
from splatcine.scene.transforms import write_transforms


def ground_truth_gaussians(seed: int = 0, per_side: int = 28) -> Gaussians:
    rng = np.random.default_rng(seed)
    u, v = np.meshgrid(np.linspace(-1, 1, per_side), np.linspace(-1, 1, per_side))
    u, v = u.ravel(), v.ravel()
    checker = ((np.floor((u + 1) * 3) + np.floor((v + 1) * 3)) % 2)[:, None]
    floor = np.stack([u, v, np.zeros_like(u)], 1)
    floor_rgb = checker * [0.9, 0.8, 0.3] + (1 - checker) * [0.15, 0.3, 0.6]
    wall = np.stack([u, np.full_like(u, 1.0), 0.5 * (v + 1)], 1)
    wall_rgb = np.stack([0.5 + 0.4 * np.sin(3 * u), 0.5 + 0.4 * np.cos(4 * v), 0.5 + 0.3 * u * v], 1)
    dirs = rng.normal(size=(400, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    ball = 0.3 * dirs + [0.2, -0.1, 0.35]
    ball_rgb = 0.5 + 0.45 * dirs
    means = np.concatenate([floor, wall, ball])
    rgb = np.concatenate([floor_rgb, wall_rgb, ball_rgb]).clip(0.02, 0.98)
    n = len(means)
    spacing = 2.0 / (per_side - 1)
    return Gaussians(
        means=torch.tensor(means, dtype=torch.float32),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        log_scales=torch.full((n, 3), float(np.log(0.6 * spacing))),
        opacity_logits=torch.full((n,), 3.0),
        sh=rgb_to_sh_dc(torch.tensor(rgb, dtype=torch.float32))[:, None],
    )


def orbit_cameras(n: int, width: int, height: int) -> list[Camera]:
    intr = Intrinsics.from_vfov(50.0, width, height)
    angles = np.linspace(-0.5 * np.pi, 0.5 * np.pi, n) - 0.5 * np.pi  # a half orbit in front of the wall
    eyes = np.stack([3.0 * np.cos(angles), 3.0 * np.sin(angles), np.full(n, 1.3)], 1)
    return [Camera(look_at(e, np.array([0.0, 0.0, 0.3])), intr) for e in eyes]


def render_rgb(gaussians: Gaussians, camera: Camera) -> np.ndarray:  # [H, W, 3] float in [0, 1]
    intr = camera.intrinsics
    out = rasterize(gaussians.means, gaussians.quats, gaussians.scales, gaussians.opacities,
                    gaussians.rgb, torch.tensor(camera.cam_from_world, dtype=torch.float32),
                    torch.tensor(intr.K, dtype=torch.float32), intr.width, intr.height,
                    background=torch.full((3,), 0.0))  # fmt: skip
    return out.rgb.clamp(0, 1).numpy()


def write_scene(
    root: Path,
    frames: int = 16,
    width: int = 120,
    height: int = 68,
    n_points: int = 600,
    mover: bool = False,  # paint a red square that moves from frame to frame, masked out
    flicker: np.ndarray | None = None,  # [frames, 3, 4] per-frame affine applied to each image
    seed: int = 0,
) -> Path:
    """Write a complete scene directory (images, transforms, manifest, points, masks)."""
    root = Path(root)
    (root / layout.IMAGES).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    gaussians = ground_truth_gaussians(seed)
    cameras = orbit_cameras(frames, width, height)
    files, masks = [], []
    for i, cam in enumerate(cameras):
        rgb = render_rgb(gaussians, cam)
        if flicker is not None:
            rgb = (rgb @ flicker[i, :, :3].T + flicker[i, :, 3]).clip(0, 1)
        mask_rel = None
        if mover:
            mask = np.zeros((height, width), np.uint8)
            x0 = int(width * (0.3 + 0.2 * i / max(1, frames - 1)))  # walks a fifth of the width
            y0 = height // 3
            rgb[y0:y0 + height // 3, x0:x0 + height // 3] = [1.0, 0.0, 0.0]
            mask[y0:y0 + height // 3, x0:x0 + height // 3] = layout.MASK_IGNORE
            (root / layout.MASKS).mkdir(exist_ok=True)
            mask_rel = f"{layout.MASKS}/frame_{i:05d}.png"
            write_image(root / mask_rel, mask)
        name = f"{layout.IMAGES}/frame_{i:05d}.png"
        write_image(root / name, (rgb * 255 + 0.5).astype(np.uint8))
        files.append(name)
        masks.append(mask_rel)
    write_transforms(root / layout.TRANSFORMS, cameras, files, list(range(frames)),
                     masks if mover else None)  # fmt: skip
    (root / layout.MANIFEST).write_text(json.dumps({"source": "tests/train/synthetic.py"}))
    if n_points:
        pick = rng.choice(len(gaussians), min(n_points, len(gaussians)), replace=False)
        xyz = gaussians.means[pick].numpy() + rng.normal(scale=0.01, size=(len(pick), 3))
        write_points_ply(root / layout.POINTS_PLY, xyz, (gaussians.rgb[pick].numpy() * 255).astype(np.uint8))
    return root
