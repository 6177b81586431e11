"""A small scene directory for path tests: a ring of source cameras around a box of points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.io.ply import write_points_ply
from splatcine.scene import layout, load_scene
from splatcine.scene.transforms import write_transforms

SOURCE_FRAMES = [0, 4, 8, 12, 16, 20]
METRES_PER_UNIT = 2.5


def write_test_scene(root: Path, metres_per_unit: float | None = METRES_PER_UNIT) -> Path:
    """Six z-up cameras on an arc looking at the origin, 2000 points in a 2 x 2 x 1 box."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    intrinsics = Intrinsics.from_vfov(45.0, 480, 270)
    cameras = []
    for i, _ in enumerate(SOURCE_FRAMES):
        angle = np.radians(-120 + 12 * i)
        eye = np.array([4 * np.cos(angle), 4 * np.sin(angle), 1.2])
        cameras.append(Camera(look_at(eye, [0, 0, 0.4], [0, 0, 1]), intrinsics))
    names = [f"images/frame_{n:05d}.png" for n in SOURCE_FRAMES]
    write_transforms(root / layout.TRANSFORMS, cameras, names, SOURCE_FRAMES)
    points = rng.uniform([-1, -1, 0], [1, 1, 1], size=(2000, 3))
    colors = (rng.uniform(0, 1, size=(2000, 3)) * 255).astype(np.uint8)
    write_points_ply(root / layout.POINTS_PLY, points, colors)
    normalization = {"metres_per_unit": metres_per_unit} if metres_per_unit else {}
    (root / layout.MANIFEST).write_text(json.dumps({"normalization": normalization}))
    return root


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory) -> Path:
    return write_test_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="session")
def scene(scene_dir):
    return load_scene(scene_dir)
