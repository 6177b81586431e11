"""Keyframe interpolation: exact at keyframes, orthonormal everywhere, holds, speed, from_frame."""

from __future__ import annotations

import numpy as np
import pytest
from path_helpers import centers, load_text

from splatcine.cameras import look_at

EXACT = 1e-9  # the splines are evaluated at their own knots: only rounding separates the sides

KEYS = [  # time, position, look_at
    (0.0, [-3.0, -3.0, 1.0], [0.0, 0.0, 0.5]),
    (1.0, [0.0, -3.5, 1.6], [0.2, 0.0, 0.5]),
    (2.5, [3.0, -2.5, 1.0], [0.0, 0.3, 0.3]),
    (4.0, [3.5, 1.0, 0.8], [0.0, 0.0, 0.5]),
]


def keyframed(extra: str = "", keys=KEYS, aim: str = "look_at") -> str:
    lines = ["fps: 10", extra, "keyframes:"]
    for t, p, target in keys:
        lines.append(f"  - {{time: {t}, position: {p}, {aim}: {target}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "interpolation: {position: kochanek-bartels, tension: 0.4, continuity: -0.3, bias: 0.2}",
        "interpolation: {position: linear, rotation: slerp}",
    ],
)
def test_the_path_passes_exactly_through_its_keyframes(extra):
    path = load_text(keyframed(extra))
    for t, p, target in KEYS:
        i = int(np.argmin(abs(path.times - t)))
        assert path.times[i] == pytest.approx(t, abs=1e-12)
        assert np.allclose(path.cam_from_world[i], look_at(p, target, [0, 0, 1]), atol=EXACT)


def test_rotation_keyframes_are_hit_and_rotations_stay_orthonormal(rng):
    from scipy.spatial.transform import Rotation

    rotations = Rotation.random(5, random_state=1)
    keys = []
    for k, r in enumerate(rotations):
        x, y, z, w = r.as_quat()
        keys.append(
            (float(k), rng.normal(size=3).round(3).tolist(), [float(v) for v in (w, x, y, z)])
        )
    for how in ("spline", "squad", "slerp"):
        path = load_text(keyframed(f"interpolation: {{rotation: {how}}}", keys, aim="rotation"))
        R = path.cam_from_world[:, :3, :3]
        assert np.allclose(R @ R.transpose(0, 2, 1), np.eye(3), atol=1e-9)  # orthonormal
        assert np.allclose(np.linalg.det(R), 1.0, atol=1e-9)  # and proper
        for k, r in enumerate(rotations):
            i = int(np.argmin(abs(path.times - k)))
            assert np.allclose(
                R[i], r.as_matrix().T, atol=EXACT
            )  # cam_from_world = world_from_cam^T


def test_look_at_cameras_look_at_their_target_on_every_frame():
    target = [0.0, 0.0, 0.5]
    keys = [(t, p, target) for t, p, _ in KEYS]
    path = load_text(keyframed("", keys))
    for m, k in zip(path.cam_from_world, path.intrinsics):
        cam = m[:3, :3] @ target + m[:3, 3]
        assert cam[2] > 0
        u, v = k.fx * cam[0] / cam[2] + k.cx, k.fy * cam[1] / cam[2] + k.cy
        assert (u, v) == pytest.approx((k.cx, k.cy), abs=1e-6)  # at the image centre (pixels)
        assert abs(m[0, :3] @ [0, 0, 1]) < 1e-9  # with a level horizon


def test_hold_keeps_the_camera_still_then_moves_on():
    path = load_text("""
        fps: 10
        keyframes:
          - {time: 0, position: [0, -4, 1], look_at: [0, 0, 0.5]}
          - {time: 1, position: [1, -4, 1], look_at: [0, 0, 0.5], hold: 1.5}
          - {time: 3.5, position: [2, -3, 1], look_at: [0, 0, 0.5]}
        """)
    held = (path.times >= 1.0 - 1e-9) & (path.times <= 2.5 + 1e-9)
    assert held.sum() == 16
    assert np.allclose(path.cam_from_world[held], path.cam_from_world[held][0], atol=EXACT)
    assert not np.allclose(path.cam_from_world[-1], path.cam_from_world[held][0])


def test_constant_speed_evens_out_the_steps():
    keys = [
        (0.0, [0, 0, 0], [0, 5, 0]),
        (1.0, [0.5, 0.3, 0], [0, 5, 0]),
        (2.0, [4, 0, 0], [0, 5, 0]),
    ]
    plain = np.linalg.norm(np.diff(centers(load_text(keyframed("", keys))), axis=0), axis=1)
    path = load_text(
        keyframed("fps: 40\ninterpolation: {constant_speed: true}", keys).replace("fps: 10\n", "")
    )
    even = np.linalg.norm(np.diff(centers(path), axis=0), axis=1)
    assert plain.max() / plain.min() > 3  # uneven keyframe spacing makes uneven speed
    assert (
        even.max() / even.min() < 1.02
    )  # equal arcs; short chords differ from them by < 2 % on this bend
    gaps = np.linalg.norm(centers(path) - [0.5, 0.3, 0], axis=1)
    assert (
        gaps.min() < even.max() / 2
    )  # it still passes through the middle keyframe, just not at its time
    assert np.allclose(centers(path)[[0, -1]], [[0, 0, 0], [4, 0, 0]], atol=EXACT)


def test_fov_is_interpolated_and_hit_at_keyframes():
    path = load_text("""
        fps: 10
        keyframes:
          - {time: 0, position: [0, -4, 1], look_at: [0, 0, 0.5], fov: 60}
          - {time: 2, position: [1, -4, 1], look_at: [0, 0, 0.5], fov: 30}
        """)
    assert path.vfov[0] == pytest.approx(60.0, abs=1e-9)
    assert path.vfov[-1] == pytest.approx(30.0, abs=1e-9)
    assert np.all(np.diff(path.vfov) < 0)


def test_from_frame_anchors_on_the_source_camera(scene):
    path = load_text(
        """
        fps: 10
        keyframes:
          - {time: 0, from_frame: 4}
          - {time: 1, from_frame: 12}
        moves:
          - orbit: 20
            duration: 1
        """,
        scene,
    )
    assert np.allclose(
        path.cam_from_world[0], scene.frame_by_source(4).camera.cam_from_world, atol=EXACT
    )
    assert np.allclose(
        path.cam_from_world[10], scene.frame_by_source(12).camera.cam_from_world, atol=EXACT
    )
    assert path.vfov[0] == pytest.approx(scene.frame_by_source(4).camera.intrinsics.vfov_deg)
    assert np.allclose(path.up, [0, 0, 1], atol=1e-9)  # estimated from the source cameras


def test_intrinsics_follow_the_resolution():
    path = load_text(
        "resolution: [640, 320]\nvfov: 40\nduration: 1\n"
        "start: {position: [0, 0, 0], look_at: [0, 1, 0]}\n"
    )
    k = path.intrinsics[0]
    assert (k.width, k.height, k.cx, k.cy) == (640, 320, 320.0, 160.0)
    assert k.vfov_deg == pytest.approx(40.0)
    assert len(path) == 25 and path.times[-1] == pytest.approx(1.0)


def test_rotation_splines_turn_smoothly_through_keyframes_where_slerp_kinks():
    from scipy.spatial.transform import Rotation

    keys = [
        (0.0, [0, 0, 0], [1.0, 0.0, 0.0, 0.0]),
        (1.0, [0, 0, 0], [0.9239, 0.3827, 0.0, 0.0]),  # 45 deg about x
        (2.0, [0, 0, 0], [0.9239, 0.0, 0.3827, 0.0]),  # 45 deg about y
        (3.0, [0, 0, 0], [1.0, 0.0, 0.0, 0.0]),
    ]

    def kink(how: str, fps: int) -> float:
        """Relative change of the per-frame rotation across the keyframe at t = 1 s."""
        text = keyframed(f"fps: {fps}\ninterpolation: {{rotation: {how}}}", keys, aim="rotation")
        R = load_text(text.replace("fps: 10\n", "")).cam_from_world[:, :3, :3]
        i = fps
        before = Rotation.from_matrix(R[i - 1] @ R[i].T).as_rotvec()
        after = Rotation.from_matrix(R[i] @ R[i + 1].T).as_rotvec()
        return np.linalg.norm(after - before) / np.linalg.norm(before)

    # A jump in angular velocity stays as frames get finer; a smooth turn's change shrinks.
    slerp_coarse, slerp_fine = kink("slerp", 100), kink("slerp", 200)
    assert slerp_fine > 1.0 and slerp_fine == pytest.approx(slerp_coarse, rel=0.01)
    for how in ("squad", "spline"):
        assert kink(how, 200) < 0.6 * kink(how, 100)  # halves with the step: C1 at the keyframe
