"""A small procedural set for the editor tests: the `orbit` room with a splat built from its true depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SIZE = (160, 90)  # small source views: a ~30k Gaussian splat that draws quickly in software WebGL
SPLAT_VIEWS = (0, 4)  # the views whose true depth becomes the splat

PATH_YAML = """\
# Push in and arc round the room (the editor keeps this comment)
target: wan
fps: 16
resolution: [320, 176]   # sides a multiple of 16
start:
  from_frame: 0          # the source shot's first camera
moves:
  - dolly: 0.3           # forward, scene units
    orbit: 60            # and round the room, off what the source shot saw
    duration: 1.5
"""


def write_editor_scene(root: Path) -> Path:
    import scenes
    from splatcine.io.ply import write_gaussians_ply
    from splatcine.render import fidelity
    from splatcine.scene import layout, load_scene
    from splatcine.io.video import read_image

    scenes.write_ground_truth_scene("orbit", root, frames=8, width=SIZE[0], height=SIZE[1], points=2000)
    scene = load_scene(root)
    depth = np.load(root / "ground_truth" / "depth.npz")["depth"]
    picks = [scene.frames[i] for i in SPLAT_VIEWS]
    splat = fidelity.gaussians_from_depth([f.camera for f in picks], [read_image(f.image_path) for f in picks],
                                          [depth[i] for i in SPLAT_VIEWS])  # fmt: skip
    write_gaussians_ply(root / layout.SPLAT_PLY, splat)
    return root


@pytest.fixture(scope="session")
def editor_scene(tmp_path_factory) -> Path:
    return write_editor_scene(tmp_path_factory.mktemp("editor") / "scene")


@pytest.fixture
def path_file(tmp_path) -> Path:
    path = tmp_path / "push.yaml"
    path.write_text(PATH_YAML)
    return path
