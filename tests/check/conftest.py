"""A set with known truth for check and extend: the orbit shot's scene with a ground-truth splat.

The scene is built the way `reconstruct` builds one from posed input (true cameras, SIFT points
triangulated by COLMAP, the normalised frame), and its splat is the ray-cast truth
(`scenes.shots.ground_truth_splat`): training one would cost minutes, and the check's logic does
not depend on where the splat came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import scenes
from scenes import shots
from splatcine.cameras import Camera
from splatcine.io.ply import write_gaussians_ply
from splatcine.reconstruct import reconstruct

W, H = 320, 180  # SIFT needs about this much to place frames reliably on the procedural set
SCENE_FRAMES = 16
SHOT_FRAMES = 8


@dataclass
class TestSet:
    scene: Path  # scene directory (normalised frame) with the ground-truth splat
    ground_truth: Path  # the ground-truth scene it was built from (world frame, metres)
    normalized_from_world: np.ndarray  # [4, 4] similarity

    def to_scene(self, cameras: list[Camera]) -> list[Camera]:
        return shots.in_scene_frame(cameras, self.normalized_from_world)


def build_set(root: Path, frames: int = SCENE_FRAMES, views: int = 5) -> TestSet:
    gt = scenes.write_ground_truth_scene("orbit", root / "gt", frames=frames, width=W, height=H, points=2000)
    reconstruct(gt / "transforms.json", root / "scene", sfm_only=True)
    manifest = json.loads((root / "scene" / "manifest.json").read_text())
    m = np.asarray(manifest["normalization"]["normalized_from_colmap"])
    write_gaussians_ply(root / "scene" / "splat.ply", shots.ground_truth_splat(gt, m, views=views, block=1))
    return TestSet(root / "scene", gt, m)


@pytest.fixture(scope="session")
def test_set(tmp_path_factory) -> TestSet:
    return build_set(tmp_path_factory.mktemp("check_set"))
