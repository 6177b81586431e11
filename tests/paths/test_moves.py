"""Each film move does what its name says, checked on the sampled cameras."""

from __future__ import annotations

import numpy as np
import pytest
from path_helpers import START, angle_deg, axes, centers, load_text

UP = np.array([0.0, 0.0, 1.0])
EXACT = 1e-9  # closed-form geometry in float64: only rounding separates the sides


def move(body: str, easing: str = "linear"):
    return load_text(f"fps: 10\n{START}moves:\n  - {body}\n    duration: 2\n    easing: {easing}\n")


def test_dolly_moves_along_the_view_axis_and_only_translates():
    path = move("dolly: 1.5")
    c, (_, _, z) = centers(path), axes(path)
    step = c - c[0]
    assert np.allclose(np.cross(step, z[0]), 0.0, atol=EXACT)  # parallel to the initial view axis
    assert np.linalg.norm(step[-1]) == pytest.approx(1.5, abs=EXACT)
    assert step[-1] @ z[0] > 0  # forward, not back
    assert np.allclose(path.cam_from_world[:, :3, :3], path.cam_from_world[0, :3, :3], atol=EXACT)
    assert np.allclose(path.vfov, path.vfov[0])


def test_truck_moves_along_camera_x():
    path = move("truck: -0.7")
    c, (x, _, _) = centers(path), axes(path)
    assert np.allclose(c[-1] - c[0], -0.7 * x[0], atol=EXACT)
    assert np.allclose(path.cam_from_world[:, :3, :3], path.cam_from_world[0, :3, :3], atol=EXACT)


def test_pedestal_moves_along_camera_up_and_crane_along_world_up():
    pedestal, crane = move("pedestal: 0.5"), move("crane: 0.5")
    _, y, z = axes(pedestal)
    assert abs(z[0] @ UP) > 0.05  # the start camera is tilted, so the two ups differ
    assert np.allclose(centers(pedestal)[-1] - centers(pedestal)[0], -0.5 * y[0], atol=EXACT)
    assert np.allclose(centers(crane)[-1] - centers(crane)[0], 0.5 * UP, atol=EXACT)
    assert np.all(np.diff(centers(crane)[:, 2]) >= 0)  # the crane only rises


def test_pan_only_rotates_about_the_world_up():
    path = move("pan: 30")
    c, (x, _, z) = centers(path), axes(path)
    assert np.allclose(c, c[0], atol=EXACT)
    horizontal = z - np.outer(z @ UP, UP)
    assert angle_deg(horizontal[0], horizontal[-1]) == pytest.approx(30.0, abs=1e-6)
    assert np.allclose(z @ UP, z[0] @ UP, atol=EXACT)  # the elevation does not change
    assert np.allclose(x @ UP, 0.0, atol=EXACT)  # and the horizon stays level
    assert z[-1] @ x[0] > 0  # positive pans to the right


def test_tilt_rotates_about_camera_x():
    path = move("tilt: 12")
    c, (x, _, z) = centers(path), axes(path)
    assert np.allclose(c, c[0], atol=EXACT)
    assert np.allclose(x, x[0], atol=EXACT)
    elevation = np.degrees(np.arcsin(z @ UP))
    assert elevation[-1] - elevation[0] == pytest.approx(12.0, abs=1e-6)  # positive tilts up


def test_roll_rotates_about_the_view_axis_clockwise():
    path = move("roll: 20")
    c, (x, _, z) = centers(path), axes(path)
    assert np.allclose(c, c[0], atol=EXACT)
    assert np.allclose(z, z[0], atol=EXACT)
    assert angle_deg(x[0], x[-1]) == pytest.approx(20.0, abs=1e-6)
    assert x[-1] @ UP < 0  # the camera's right side dips


def test_orbit_keeps_its_distance_and_faces_the_pivot():
    path = move("orbit: {angle: 90, pivot: [0, 0, 0.5]}")
    pivot = np.array([0.0, 0.0, 0.5])
    c, (x, _, z) = centers(path), axes(path)
    distance = np.linalg.norm(c - pivot, axis=1)
    assert np.allclose(distance, distance[0], atol=EXACT)
    assert np.allclose(np.cross(pivot - c, z), 0.0, atol=1e-9)  # the pivot stays on the view axis
    flat = (c - pivot) - np.outer((c - pivot) @ UP, UP)
    assert angle_deg(flat[0], flat[-1]) == pytest.approx(90.0, abs=1e-6)
    assert (c[1] - c[0]) @ x[0] > 0  # positive travels to the camera's right


def test_orbit_defaults_to_the_look_at_point():
    default, explicit = move("orbit: 45"), move("orbit: {angle: 45, pivot: [0, 0, 0.5]}")
    assert np.allclose(default.cam_from_world, explicit.cam_from_world, atol=EXACT)


def test_zoom_changes_only_the_focal_length():
    path = move("zoom: 2")
    assert np.allclose(path.cam_from_world, path.cam_from_world[0], atol=EXACT)
    assert path.intrinsics[-1].fx / path.intrinsics[0].fx == pytest.approx(2.0, rel=1e-12)
    to_fov = move("zoom: {fov: 20}")
    assert to_fov.vfov[-1] == pytest.approx(20.0, abs=1e-9)


def test_dolly_zoom_keeps_the_subject_size():
    path = move("dolly_zoom: -2")  # the subject is the look_at point
    subject = np.array([0.0, 0.0, 0.5])
    c, (x, _, _) = centers(path), axes(path)
    sizes = []
    for m, k in zip(path.cam_from_world, path.intrinsics):
        ends = np.array([subject - 0.2 * x[0], subject + 0.2 * x[0]])
        cam = ends @ m[:3, :3].T + m[:3, 3]
        pixels = cam[:, :2] / cam[:, 2:] * [k.fx, k.fy]
        sizes.append(np.linalg.norm(pixels[1] - pixels[0]))
    assert np.linalg.norm(c[-1] - c[0]) == pytest.approx(2.0, abs=EXACT)  # it did move
    assert path.intrinsics[-1].fx > 1.4 * path.intrinsics[0].fx  # and zoomed in
    assert np.allclose(sizes, sizes[0], rtol=1e-9)


def test_moves_in_one_item_play_together_and_items_chain():
    path = load_text(f"""
        fps: 10
        {START}
        moves:
          - dolly: 1
            truck: 1
            duration: 1
            easing: linear
          - hold: 1
          - pan: 10
            duration: 1
        """)
    c = centers(path)
    x, _, z = axes(path)
    assert np.allclose(c[5] - c[0], 0.5 * (z[0] + x[0]), atol=EXACT)  # both halfway at once
    assert np.allclose(c[10:], c[10], atol=EXACT)  # hold, then a pan that does not move
    assert np.allclose(path.cam_from_world[10:21], path.cam_from_world[10], atol=EXACT)
    flat = z - np.outer(z @ UP, UP)
    assert angle_deg(flat[20], flat[30]) == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize("easing,below_half", [("ease-in", True), ("ease-out", False)])
def test_easing_shapes_the_timing_but_not_the_ends(easing, below_half):
    path, linear = move("dolly: 1", easing), move("dolly: 1")
    travelled = np.linalg.norm(centers(path) - centers(path)[0], axis=1)
    assert travelled[-1] == pytest.approx(1.0, abs=EXACT)
    assert (travelled[5] < 0.25) == below_half  # a quarter of the time in
    assert np.allclose(
        centers(linear)[5] - centers(linear)[0], 0.25 * axes(linear)[2][0], atol=EXACT
    )


def test_ease_in_out_starts_and_ends_at_rest():
    travelled = np.linalg.norm(centers(move("dolly: 1", "ease-in-out")) - [0, -4, 1.2], axis=1)
    steps = np.diff(travelled)
    assert steps[0] < 0.1 * steps.max() and steps[-1] < 0.1 * steps.max()


def test_metres_use_the_scene_scale(scene):
    from path_helpers import METRES_PER_UNIT

    path = load_text(
        f"fps: 10\nunits: metres\n{START}moves:\n  - dolly: 5\n    duration: 1\n", scene
    )
    assert np.linalg.norm(centers(path)[-1] - centers(path)[0]) == pytest.approx(
        5 / METRES_PER_UNIT, abs=EXACT
    )
