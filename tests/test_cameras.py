"""The camera conventions every stage relies on."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from splatcine.cameras import (
    GL_FROM_CV,
    Camera,
    Intrinsics,
    cam_from_world_from_gl,
    gl_world_from_cam,
    invert_rigid,
    look_at,
)


def random_cam_from_world(rng: np.random.Generator, n: int) -> np.ndarray:  # [n, 4, 4]
    out = np.tile(np.eye(4), (n, 1, 1))
    out[:, :3, :3] = Rotation.random(n, random_state=rng.integers(1 << 31)).as_matrix()
    out[:, :3, 3] = rng.normal(size=(n, 3))
    return out


def test_invert_rigid_is_the_matrix_inverse(rng):
    m = random_cam_from_world(rng, 5)
    # 1e-12: both are exact up to float64 rounding of a 4x4 product
    np.testing.assert_allclose(invert_rigid(m) @ m, np.tile(np.eye(4), (5, 1, 1)), atol=1e-12)


def test_opengl_round_trip_and_axes(rng):
    cam_from_world = random_cam_from_world(rng, 4)
    gl = gl_world_from_cam(cam_from_world)
    np.testing.assert_allclose(cam_from_world_from_gl(gl), cam_from_world, atol=1e-12)  # float64 rounding
    # An OpenGL camera looks down its -z: that is the OpenCV camera's +z (forward) in world.
    for cv, g in zip(cam_from_world, gl):
        np.testing.assert_allclose(-g[:3, 2], cv[2, :3], atol=1e-12)  # float64 rounding
        np.testing.assert_allclose(g[:3, 1], -cv[1, :3], atol=1e-12)  # GL up = -(CV down)
    np.testing.assert_array_equal(GL_FROM_CV @ GL_FROM_CV, np.eye(4))


def test_look_at_projects_target_to_principal_point():
    k = Intrinsics.from_vfov(50.0, 640, 360)
    cam = Camera(look_at([3.0, -4.0, 1.5], [0.5, 0.2, 0.3], up=[0, 0, 1]), k)
    target_cam = cam.cam_from_world @ np.array([0.5, 0.2, 0.3, 1.0])
    uv = (k.K @ target_cam[:3])[:2] / target_cam[2]
    np.testing.assert_allclose(uv, [k.cx, k.cy], atol=1e-9)  # exact geometry, float64
    # world up (+z) appears upward on screen: image y decreases
    above = cam.cam_from_world @ np.array([0.5, 0.2, 1.3, 1.0])
    assert (k.K @ above[:3])[1] / above[2] < k.cy
    np.testing.assert_allclose(np.linalg.det(cam.cam_from_world[:3, :3]), 1.0, atol=1e-12)
    np.testing.assert_allclose(cam.center, [3.0, -4.0, 1.5], atol=1e-12)


@pytest.mark.parametrize("eye,target,up", [([0, 0, 0], [0, 0, 0], [0, 0, 1]), ([0, 0, 0], [0, 0, 5], [0, 0, 1])])
def test_look_at_rejects_degenerate_input(eye, target, up):
    with pytest.raises(ValueError):
        look_at(eye, target, up)


def test_intrinsics_fov_and_resize():
    k = Intrinsics.from_vfov(60.0, 480, 270)
    assert k.vfov_deg == pytest.approx(60.0)
    half = k.resized(240, 135)
    assert (half.fx, half.cx, half.width) == pytest.approx((k.fx / 2, k.cx / 2, 240))
    assert half.vfov_deg == pytest.approx(60.0)
