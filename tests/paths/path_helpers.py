"""Small helpers shared by the path tests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np

from splatcine import paths
from splatcine.cameras import Camera, Intrinsics, invert_rigid, look_at
from splatcine.io.ply import write_points_ply
from splatcine.scene import layout
from splatcine.scene.transforms import write_transforms

START = "start: {position: [0, -4, 1.2], look_at: [0, 0, 0.5]}\n"


def load_text(text: str, scene=None, name: str = "test.yaml"):
    return paths.loads(textwrap.dedent(text), scene, name=name)


def centers(path) -> np.ndarray:  # [F, 3]
    return invert_rigid(path.cam_from_world)[:, :3, 3]


def axes(
    path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # x, y, z camera axes in world, [F, 3] each
    R = path.cam_from_world[:, :3, :3]
    return R[:, 0], R[:, 1], R[:, 2]


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


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
