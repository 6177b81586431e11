"""transforms.json is the nerfstudio edge: it must round-trip our cameras exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.errors import InputError
from splatcine.scene.transforms import read_transforms, write_transforms


def test_round_trip_keeps_cameras_and_source_frames(tmp_path):
    k = Intrinsics(400.0, 401.0, 239.5, 134.5, 480, 270)
    cams = [Camera(look_at([np.cos(a), np.sin(a), 0.3], [0, 0, 0]), k) for a in np.linspace(0, 1, 5)]
    write_transforms(tmp_path / "transforms.json", cams, [f"images/f{i}.png" for i in range(5)], [0, 3, 6, 9, 12])
    back, frames, doc = read_transforms(tmp_path / "transforms.json")
    assert doc["fl_x"] == 400.0 and doc["w"] == 480  # nerfstudio's top-level shared intrinsics
    assert [f["source_frame"] for f in frames] == [0, 3, 6, 9, 12]
    for a, b in zip(cams, back):
        np.testing.assert_allclose(b.cam_from_world, a.cam_from_world, atol=1e-12)  # float64 JSON round trip
        assert b.intrinsics == a.intrinsics


def test_nerf_synthetic_camera_angle_x(tmp_path):
    doc = {"camera_angle_x": 0.6911, "w": 800, "h": 800,
           "frames": [{"file_path": "./train/r_0", "transform_matrix": np.eye(4).tolist()}]}
    (tmp_path / "transforms.json").write_text(json.dumps(doc))
    (cam,), _, _ = read_transforms(tmp_path / "transforms.json")
    assert cam.intrinsics.fx == pytest.approx(0.5 * 800 / np.tan(0.5 * 0.6911))


@pytest.mark.parametrize(
    "content,message",
    [("{not json", "not valid JSON"), ('{"frames": []}', "frames: List should have at least 1 item"),
     ('{"fl_x": 1, "w": 2, "h": 2, "frames": [{"file_path": "a"}]}', r"frames\[0\].transform_matrix is missing"),
     ('{"fl_x": 1, "w": 2, "h": 2, "frames": [{"file_path": "a", "transform_matrix": [[1]]}]}', "must be a 4x4")],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "transforms.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_transforms(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
