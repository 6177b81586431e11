"""Class 7: each unusable shot is told what is actually wrong, not "the camera does not translate"."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from splatcine.io.video import write_image, write_video
from tests.bad_inputs.conftest import assert_one_error, cli, snapshot


def _textured(frames: int, width: int = 192, height: int = 128) -> np.ndarray:
    """A smooth random texture sliding right: a shot with structure and coherent motion."""
    rng = np.random.default_rng(0)
    from scipy import ndimage

    base = ndimage.gaussian_filter(rng.random((height, width + 4 * frames, 3)), (3, 3, 0))
    base = ((base - base.min()) / np.ptp(base) * 255).astype(np.uint8)
    return np.stack([base[:, 4 * i:4 * i + width] for i in range(frames)])


def _shot(tmp_path, kind: str):
    rng = np.random.default_rng(1)
    path = tmp_path / f"{kind}.mp4"
    if kind == "png":
        write_image(tmp_path / "still.png", _textured(1)[0])
        shutil.move(tmp_path / "still.png", path)
    elif kind in ("one", "two"):
        write_video(path, _textured(1 if kind == "one" else 2), fps=24)
    elif kind == "noise":
        write_video(path, rng.integers(0, 256, (12, 128, 192, 3), dtype=np.uint8), fps=24)
    elif kind == "black":
        write_video(path, np.zeros((12, 128, 192, 3), np.uint8), fps=24)
    return path


@pytest.mark.parametrize("kind,code,says", [
    ("png", 2, "a PNG image, not a video"),
    ("one", 2, "has 1 frame"),
    ("two", 2, "has 2 frames"),
    ("noise", 3, "look like noise"),
    ("black", 3, "blank"),
])
def test_unusable_shots_are_told_what_is_wrong(tmp_path, kind, code, says):
    shot = _shot(tmp_path, kind)
    before = snapshot(tmp_path)
    line = assert_one_error(cli("reconstruct", shot, "-o", tmp_path / "scene", "--sfm-only"), code, str(shot), says)
    assert "translate" not in line
    assert snapshot(tmp_path) == before


def test_masks_that_hide_everything(tmp_path):
    frames = _textured(12)
    shot, masks = tmp_path / "shot.mp4", tmp_path / "masks.mp4"
    write_video(shot, frames, fps=24)
    write_video(masks, np.full_like(frames, 255), fps=24)
    before = snapshot(tmp_path)
    result = cli("reconstruct", shot, "--masks", masks, "-o", tmp_path / "scene", "--sfm-only")
    assert_one_error(result, 2, str(masks), "inverted")
    assert snapshot(tmp_path) == before


def test_colmap_prints_nothing_of_its_own(tmp_path):
    """COLMAP's glog lines (`E20261129 ... sfm.cc:310] Failed to create any sparse model`) go to
    file descriptor 2 directly, so this runs in its own process and reads its real stderr."""
    import re
    import subprocess
    import sys

    from tests.bad_inputs.conftest import ROOT

    rng = np.random.default_rng(0)
    for i in range(3):  # noise: features, no matches, no model: COLMAP logs at every level
        write_image(tmp_path / f"{i}.png", rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    code = ("import pycolmap, sys; from splatcine.sfm.colmap import plain_colmap; "
            f"plain_colmap({str(tmp_path)!r}, {str(tmp_path / 'work')!r}); "
            "sys.exit(pycolmap.logging.minloglevel)")  # the caller's level (0) comes back afterwards
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert not re.findall(r"^[IWE]\d{8} ", done.stderr, re.M), done.stderr
    assert done.returncode == 0, done.stderr
