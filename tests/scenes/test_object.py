"""The procedural object capture: NeRF-synthetic layout, straight alpha, cameras round the object."""

from __future__ import annotations

import numpy as np

from splatcine.io.video import read_image_alpha
from splatcine.scene.transforms import read_transforms, resolve_image_path
from scenes.object import CENTER, object_cameras, write_object_capture


def test_object_capture_is_a_nerf_synthetic_folder_with_alpha(tmp_path):
    path = write_object_capture(tmp_path / "capture", views=4, size=64)
    cameras, frames, doc = read_transforms(path)
    assert "camera_angle_x" in doc and len(cameras) == 4
    for camera, truth, frame in zip(cameras, object_cameras(4, 64), frames):
        np.testing.assert_allclose(camera.cam_from_world, truth.cam_from_world, atol=1e-9)  # through OpenGL and back
        rgb, alpha = read_image_alpha(resolve_image_path(path.parent, frame["file_path"]))
        assert alpha is not None and rgb.shape == (64, 64, 3)
        assert alpha[0, 0] == 0 and alpha[24:40, 24:40].max() == 1  # empty corner, the crane in the middle
        assert ((alpha > 0) & (alpha < 1)).any()  # silhouettes carry coverage, not a hard cut
        assert 0.05 < (alpha > 0).mean() < 0.6  # an object in empty space, not a filled frame


def test_every_camera_looks_at_the_object_from_its_sphere():
    cameras = object_cameras(32, 100)
    for camera in cameras:
        toward = camera.cam_from_world[:3, :3] @ (CENTER - camera.center)
        assert toward[2] > 0 and np.allclose(toward[:2], 0.0, atol=1e-9)  # the centre is on the optical axis
    elevation = np.degrees(np.arcsin((np.stack([c.center for c in cameras]) - CENTER)[:, 2] / 3.3))
    assert elevation.min() > -10.5 and elevation.max() < 75.5 and np.ptp(elevation) > 60
