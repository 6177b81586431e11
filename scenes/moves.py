"""Camera moves through the procedural set, each a `list[Camera]` of `frames` cameras.

Moves are built with `splatcine.cameras.look_at` (world up +z, OpenCV cameras) and a
60 degree horizontal field of view. The parallax moves translate by 25-35% of the
depth they look across, which gives SfM a well-conditioned problem.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from splatcine.cameras import Camera, Intrinsics, look_at
from scenes.walkers import follow, walkers
from scenes.world import PIVOT

HFOV_DEG = 60.0
EYE_Z = 1.6


def intrinsics(width: int, height: int, hfov_deg: float = HFOV_DEG) -> Intrinsics:
    """Square pixels, principal point at the image centre."""
    f = 0.5 * width / np.tan(0.5 * np.radians(hfov_deg))
    return Intrinsics(f, f, width / 2.0, height / 2.0, int(width), int(height))


def _ramp(frames: int) -> np.ndarray:
    """Frame times in [0, 1] [F], eased in and out like a camera operator's move."""
    s = np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(frames)
    return 0.5 - 0.5 * np.cos(np.pi * s)


def _track(eyes: np.ndarray, targets: np.ndarray, k: Intrinsics) -> list[Camera]:
    return [Camera(look_at(e, t), k) for e, t in zip(eyes, targets)]


def dolly(frames: int, width: int, height: int) -> list[Camera]:
    """Forward 2.2 m into a room about 9 m deep, panning 40 degrees across the table as it goes.

    A camera that only translates leaves the focal length undetermined for SfM (depth and
    focal trade off). With a 15 degree turn the global mapper was right but the incremental
    one settled on a 755 px focal (true 416) and 50% camera error; with this pan both agree
    with the truth to 0.2%.
    """
    s = _ramp(frames)[:, None]
    eyes = np.array([-4.2, 0.4, 1.5]) + s * np.array([2.2, -0.3, 0.1])
    targets = np.array([2.5, -1.8, 0.9]) + s * np.array([-1.2, 3.2, -0.3])
    return _track(eyes, targets, intrinsics(width, height))


def truck(frames: int, width: int, height: int) -> list[Camera]:
    """Sideways 3 m across the room, panning to keep a point at the far side in frame (~20 deg).

    The pan is what lets SfM recover the focal length (see `dolly`).
    """
    s = _ramp(frames)[:, None]
    eyes = np.array([-3.6, -1.5, EYE_Z]) + s * np.array([0.0, 3.0, 0.0])
    target = np.array([4.5, 0.0, 0.4])
    return _track(eyes, np.broadcast_to(target, eyes.shape), intrinsics(width, height))


def orbit(frames: int, width: int, height: int) -> list[Camera]:
    """A 90 degree arc at 3 m from the table's centre (`scenes.world.PIVOT`), always facing it."""
    angles = np.radians(150.0 + 90.0 * _ramp(frames))
    radius, height_above = 3.0, 0.9
    eyes = PIVOT + np.stack(
        [radius * np.cos(angles), radius * np.sin(angles), np.full_like(angles, height_above)], 1
    )
    return _track(eyes, np.broadcast_to(PIVOT, eyes.shape), intrinsics(width, height))


def pan(frames: int, width: int, height: int) -> list[Camera]:
    """Rotation only: a 50 degree sweep from a fixed centre."""
    yaw = np.radians(-25.0 + 50.0 * _ramp(frames))
    eye = np.array([-3.8, 0.0, EYE_Z])
    targets = eye + np.stack([np.cos(yaw), np.sin(yaw), np.full_like(yaw, -0.2)], 1)
    return _track(np.broadcast_to(eye, targets.shape), targets, intrinsics(width, height))


def static(frames: int, width: int, height: int) -> list[Camera]:
    """The same camera every frame."""
    cam = Camera(look_at([-3.8, 0.2, EYE_Z], [0.5, -0.2, 0.8]), intrinsics(width, height))
    return [cam] * frames


def moving(frames: int, width: int, height: int) -> list[Camera]:
    """The truck move, looking further down so the ball crossing the floor (`Mover`) is in shot."""
    s = _ramp(frames)[:, None]
    eyes = np.array([-3.6, -1.5, EYE_Z]) + s * np.array([0.0, 3.0, 0.0])
    target = np.array([3.0, 0.0, 0.0])
    return _track(eyes, np.broadcast_to(target, eyes.shape), intrinsics(width, height))


def cut(frames: int, width: int, height: int) -> tuple[list[Camera], list[int]]:
    """Three shots joined by hard cuts: a dolly, an orbit seen from the far side, a pan.

    Returns the cameras and the cut frame indices (the first frame of each new shot).
    """
    if frames < 3:
        raise ValueError(f"a clip with two cuts needs at least 3 frames (got {frames})")
    n1, n2 = frames // 3, frames // 3
    n3 = frames - n1 - n2
    k = intrinsics(width, height)
    first = dolly(n1, width, height)
    angles = np.radians(-60.0 + 40.0 * _ramp(n2))
    eyes = PIVOT + np.stack([3.2 * np.cos(angles), 3.2 * np.sin(angles), np.ones_like(angles)], 1)
    second = _track(eyes, np.broadcast_to(PIVOT, eyes.shape), k)
    yaw = np.radians(200.0 + 30.0 * _ramp(n3))
    eye = np.array([4.0, 2.8, 2.0])
    targets = eye + np.stack([np.cos(yaw), np.sin(yaw), np.full_like(yaw, -0.35)], 1)
    third = _track(np.broadcast_to(eye, targets.shape), targets, k)
    return first + second + third, [n1, n1 + n2]


MOVES: dict[str, Callable[[int, int, int], list[Camera]]] = {
    "dolly": dolly,
    "truck": truck,
    "orbit": orbit,
    "pan": pan,
    "static": static,
    "moving": moving,
    "walkers": walkers,  # a person-sized walker and a ball cross the room (scenes.walkers)
    # the pan from one spot while the walker and the ball cross in front of it: a negative whose
    # movers alone show parallax (the rollercoaster's and the kitten's class in the shared data)
    "chase": pan,
    # a still camera while a train-sized box passes close in front (`scenes.walkers.passing_set`):
    # a negative whose largest rigid motion is the mover (DAVIS-like `train running`)
    "passing": static,
    # a tracking shot: the camera walks beside the walker, which holds still in the frame
    # (`scenes.walkers.follow_set`): a positive with the passing train's signature (DAVIS-like `lady running`)
    "follow": follow,
}
NAMES = (*MOVES, "cut")


def cameras_for(name: str, frames: int, width: int, height: int) -> tuple[list[Camera], list[int]]:
    """The cameras of the move `name` and its cut frames (empty except for `cut`)."""
    if name == "cut":
        return cut(frames, width, height)
    if name not in MOVES:
        raise KeyError(name)
    return MOVES[name](frames, width, height), []
