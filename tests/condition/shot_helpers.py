"""A synthetic rendered shot with known maps, so the formats are checked without rendering
(a module of its own: test files import it, and `conftest` names clash across test folders)."""

from __future__ import annotations

import numpy as np

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.render.shot import RenderedShot

FRAMES, WIDTH, HEIGHT = 11, 72, 40  # 11 frames -> 9 for Wan; 72x40 -> 64x32


def synthetic_shot(frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT) -> RenderedShot:
    """A dolly past a wall: depth rises left to right; the right quarter of every frame is unseen."""
    rng = np.random.default_rng(1)
    intr = Intrinsics.from_vfov(50.0, width, height)
    cameras = [Camera(look_at([x, -3.0, 1.0], [x, 0.0, 1.0]), intr) for x in np.linspace(0, 1, frames)]
    u = np.linspace(0.0, 1.0, width, dtype=np.float32)
    depth = np.broadcast_to(2.0 + 3.0 * u, (frames, height, width)).copy()
    alpha = np.ones((frames, height, width), np.float32)
    unseen = np.zeros((frames, height, width), np.float32)
    unseen[:, :, 3 * width // 4 :] = 1.0
    unseen[:, :, width // 2 : 3 * width // 4] = 0.3  # graded, below the binary threshold
    depth[unseen >= 0.5], alpha[unseen >= 0.5] = 0.0, 0.0
    color = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    normals = np.zeros((frames, height, width, 3), np.float32)
    normals[..., 2] = -1.0
    reference = rng.integers(0, 256, (60, 90, 3), dtype=np.uint8)
    return RenderedShot(cameras, color, depth, alpha, normals, unseen, 12.0,
                        references=[reference], reference_names=["frame_00003"])  # fmt: skip
