"""A small splat scene directory for render tests: a floor, a back wall and a box, seen by 6 source views."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.gaussians import Gaussians, rgb_to_sh_dc
from splatcine.io.ply import write_gaussians_ply
from splatcine.io.video import write_image
from splatcine.scene import layout
from splatcine.scene.transforms import write_transforms

SOURCE_X = np.linspace(-0.6, 0.6, 6)  # source cameras truck along x at y = -3
SIZE = (96, 64)


def set_gaussians(seed: int = 0) -> Gaussians:
    """Small isotropic Gaussians on the floor z=0 ([-2, 2]^2), the wall y=2 and a box at the centre."""
    rng = np.random.default_rng(seed)
    floor = np.c_[rng.uniform(-2, 2, 3000), rng.uniform(-2, 2, 3000), np.zeros(3000)]
    wall = np.c_[rng.uniform(-2, 2, 2000), np.full(2000, 2.0), rng.uniform(0, 2, 2000)]
    box = rng.uniform([-0.3, -0.3, 0.0], [0.3, 0.3, 0.6], (800, 3))
    points = np.concatenate([floor, wall, box])
    colors = np.concatenate([np.tile([0.7, 0.6, 0.4], (3000, 1)), np.tile([0.3, 0.4, 0.8], (2000, 1)),
                             np.tile([0.8, 0.2, 0.2], (800, 1))]) * rng.uniform(0.8, 1.0, (len(points), 1))  # fmt: skip
    n = len(points)
    return Gaussians(
        means=torch.tensor(points, dtype=torch.float32),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        log_scales=torch.full((n, 3), float(np.log(0.05))),
        opacity_logits=torch.full((n,), 4.0),
        sh=rgb_to_sh_dc(torch.tensor(colors, dtype=torch.float32))[:, None],
    )


def source_cameras() -> list[Camera]:
    intr = Intrinsics.from_vfov(50.0, *SIZE)
    return [Camera(look_at([x, -3.0, 1.2], [x, 1.0, 0.5]), intr) for x in SOURCE_X]


def write_splat_scene(root: Path) -> Path:
    from splatcine.raster import rasterize

    g = set_gaussians()
    (root / layout.IMAGES).mkdir(parents=True)
    names = []
    for i, cam in enumerate(source_cameras()):
        with torch.no_grad():
            out = rasterize(g.means, g.quats, g.scales, g.opacities, g.sh,
                            torch.tensor(cam.cam_from_world, dtype=torch.float32),
                            torch.tensor(cam.intrinsics.K, dtype=torch.float32), *SIZE,
                            sh_degree=0)  # fmt: skip
        names.append(f"{layout.IMAGES}/frame_{i:05d}.png")
        write_image(root / names[-1], (out.rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy())
    write_transforms(root / layout.TRANSFORMS, source_cameras(), names, list(range(len(names))))
    write_gaussians_ply(root / layout.SPLAT_PLY, g)
    (root / layout.MANIFEST).write_text(json.dumps({"kind": "test scene"}))
    return root


@pytest.fixture(scope="session")
def splat_scene(tmp_path_factory) -> Path:
    return write_splat_scene(tmp_path_factory.mktemp("scene") / "scene")


TRUCK_YAML = """
target: none
fps: 8
frames: 9
resolution: [96, 64]
vfov: 50
start:
  position: [0, -3, 1.2]
  look_at: [0, 1, 0.5]
moves:
  - truck: 6      # far past the right end of the set: the last frames see mostly nothing
    duration: 1
"""


@pytest.fixture(scope="session")
def truck_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("paths") / "truck.yaml"
    path.write_text(TRUCK_YAML)
    return path
