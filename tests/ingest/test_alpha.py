"""Inputs with alpha: read, composited on black with the alpha kept, and refused in one line when unusable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splatcine.errors import InputError
from splatcine.ingest.alpha import composite
from splatcine.io.video import read_image, read_image_alpha, write_image
from splatcine.reconstruct import reconstruct
from splatcine.scene import layout, load_scene
from tests.train.synthetic import orbit_cameras
from splatcine.cameras import gl_world_from_cam

SIZE = 48


def _rgba(seed: int) -> np.ndarray:
    """A textured disc on transparency, with a soft (fractional) rim."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    r = np.hypot(xx - SIZE / 2 + 0.5, yy - SIZE / 2 + 0.5)
    alpha = np.clip(SIZE / 3 - r, 0.0, 1.0)
    rgb = rng.integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
    return np.dstack([rgb, (alpha * 255 + 0.5).astype(np.uint8)])


def _posed_capture(root, frames: list[np.ndarray]):
    """A NeRF-synthetic style folder: camera_angle_x, paths without extension."""
    (root / "images").mkdir(parents=True)
    cams = orbit_cameras(len(frames), SIZE, SIZE)
    doc = {"camera_angle_x": 0.8, "frames": []}
    for i, (image, cam) in enumerate(zip(frames, cams)):
        write_image(root / "images" / f"r_{i}.png", image)
        doc["frames"].append({"file_path": f"./images/r_{i}",
                              "transform_matrix": gl_world_from_cam(cam.cam_from_world).tolist()})
    (root / "transforms.json").write_text(json.dumps(doc))
    return root / "transforms.json"


def test_read_image_alpha_keeps_the_channel_and_read_image_leaves_it_out(tmp_path):
    rgba = _rgba(0)
    write_image(tmp_path / "a.png", rgba)
    rgb, alpha = read_image_alpha(tmp_path / "a.png")
    assert rgb.dtype == np.uint8 and rgb.shape == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(rgb, rgba[..., :3])
    np.testing.assert_allclose(alpha, rgba[..., 3] / 255.0, atol=1e-7)  # float32 of an exact ratio
    assert read_image(tmp_path / "a.png").shape == (SIZE, SIZE, 3)
    write_image(tmp_path / "la.png", rgba[..., [0, 3]])  # grey + alpha
    grey, alpha = read_image_alpha(tmp_path / "la.png")
    np.testing.assert_array_equal(grey, np.repeat(rgba[..., :1], 3, axis=2))
    assert alpha is not None and alpha.max() == 1.0
    write_image(tmp_path / "rgb.png", rgba[..., :3])
    assert read_image_alpha(tmp_path / "rgb.png")[1] is None


def test_composite_is_the_over_operator():
    rgb = np.array([[[200, 100, 0]]], np.uint8)
    for a, background in ((0.0, (0, 0, 0)), (0.25, (0, 0, 0)), (0.5, (255, 255, 255)), (1.0, (9, 9, 9))):
        out = composite(rgb, np.array([[a]], np.float32), background).astype(float)
        expected = a * rgb.astype(float) + (1 - a) * np.asarray(background, float)
        assert np.abs(out - expected).max() <= 0.5  # rounding to uint8 only


def test_posed_rgba_is_composited_on_black_and_its_alpha_kept(tmp_path):
    frames = [_rgba(i) for i in range(5)]
    reconstruct(_posed_capture(tmp_path / "capture", frames), tmp_path / "scene", sfm_only=True)
    scene = load_scene(tmp_path / "scene")
    assert [f.alpha_path is not None for f in scene.frames] == [True] * 5
    for frame, rgba in zip(scene.frames, frames):
        stored = read_image(frame.image_path).astype(float)
        a = rgba[..., 3:] / 255.0
        assert np.abs(stored - rgba[..., :3] * a).max() <= 0.5  # over black, rounding only
        np.testing.assert_array_equal(read_image(frame.alpha_path), rgba[..., 3])
    assert stored[0, 0].max() == 0  # a transparent corner is black, whatever colour the file had there
    report = json.loads((tmp_path / "scene" / layout.REPORT).read_text())
    assert any("alpha" in w for w in report["warnings"])


def test_a_fully_transparent_frame_names_its_file_and_field(tmp_path):
    frames = [_rgba(i) for i in range(4)]
    frames[2][..., 3] = 0
    capture = _posed_capture(tmp_path / "capture", frames)
    with pytest.raises(InputError) as err:
        reconstruct(capture, tmp_path / "scene", sfm_only=True)
    message = str(err.value)
    assert f"{capture}: frames[2].file_path" in message and "alpha channel is 0 everywhere" in message
    assert "\n" not in message and not (tmp_path / "scene").exists()


def test_frames_with_and_without_alpha_are_refused_naming_both(tmp_path):
    frames = [_rgba(i) for i in range(4)]
    frames[3] = frames[3][..., :3]
    capture = _posed_capture(tmp_path / "capture", frames)
    with pytest.raises(InputError) as err:
        reconstruct(capture, tmp_path / "scene", sfm_only=True)
    message = str(err.value)
    assert message.startswith(f"{capture}: frames[3].file_path: has no alpha channel")
    assert "frames[0].file_path has one" in message and "\n" not in message


def _moving_rgba(n: int) -> list[np.ndarray]:
    """Windows of a blocky random picture, 8 px apart (so the folder's camera moves), on a disc of alpha."""
    rng = np.random.default_rng(0)
    picture = np.kron(rng.integers(30, 225, size=(16, 40, 3)), np.ones((4, 4, 1)))  # 64 x 160
    yy, xx = np.mgrid[:64, :64]
    alpha = np.clip(24 - np.hypot(xx - 32, yy - 32), 0, 1) * 255
    return [np.dstack([picture[:, 8 * i:8 * i + 64], alpha]).round().astype(np.uint8) for i in range(n)]


def test_a_folder_of_rgba_frames_is_composited_with_its_alpha_kept(tmp_path):
    from splatcine.ingest import ingest

    frames = _moving_rgba(6)
    (tmp_path / "shot").mkdir()
    for i, frame in enumerate(frames):
        write_image(tmp_path / "shot" / f"{i:03d}.png", frame)
    got = ingest(tmp_path / "shot")
    assert got.alphas is not None and len(got.alphas) == len(got.frames) == 6
    for rgba, image, alpha in zip(frames, got.frames, got.alphas):
        np.testing.assert_array_equal(alpha, rgba[..., 3])
        assert np.abs(image - rgba[..., :3] * (rgba[..., 3:] / 255.0)).max() <= 0.5  # over black
    write_image(tmp_path / "shot" / "003.png", frames[3][..., :3])
    with pytest.raises(InputError, match=r"003\.png: has no alpha channel, but 000\.png has one"):
        ingest(tmp_path / "shot")
