"""Helpers for check and extend tests. A set with known truth: the orbit shot's scene with a ground-truth splat.

The scene is built the way `reconstruct` builds one from posed input (true cameras, SIFT points
triangulated by COLMAP, the normalised frame), and its splat is the ray-cast truth
(`scenes.shots.ground_truth_splat`): training one would cost minutes, and the check's logic does
not depend on where the splat came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scenes import shots
from splatcine.cameras import Camera

W, H = 320, 180  # SIFT needs about this much to place frames reliably on the procedural set
SCENE_FRAMES = 16
SHOT_FRAMES = 8


@dataclass
class KnownSet:
    scene: Path  # scene directory (normalised frame) with the ground-truth splat
    ground_truth: Path  # the ground-truth scene it was built from (world frame, metres)
    normalized_from_world: np.ndarray  # [4, 4] similarity

    def to_scene(self, cameras: list[Camera]) -> list[Camera]:
        return shots.in_scene_frame(cameras, self.normalized_from_world)


def turned(camera: Camera, degrees: float) -> Camera:
    """`camera` turned about its own x axis (a tilt) by `degrees`, its centre kept."""
    from scipy.spatial.transform import Rotation

    cam_from_world = camera.cam_from_world.copy()
    cam_from_world[:3] = Rotation.from_euler("x", degrees, degrees=True).as_matrix() @ cam_from_world[:3]
    return Camera(cam_from_world, camera.intrinsics)


def build_set(root: Path, frames: int = SCENE_FRAMES, views: int = 5, block: int = 1) -> KnownSet:
    scene, m = shots.known_set(root, frames, W, H, views, block)
    return KnownSet(scene, root / "gt", m)
