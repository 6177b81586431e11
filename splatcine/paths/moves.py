"""Film moves, each relative to the camera where its segment starts.

A `Pose` is a camera centre, its world_from_cam rotation (columns: the camera's x right,
y down, z forward in world coordinates), its vertical field of view, and how far ahead
the thing it looks at is (`focus`, used by orbit and dolly-zoom when no point is given).
A segment plays all its moves together along one eased parameter s in [0, 1]:

    dolly / truck / pedestal   translate along the start camera's z / x / -y
    crane                      translates along the world up
    pan                        rotates about the world up through the camera (positive: right)
    tilt / roll                rotate about the camera's x / z (positive: up / clockwise)
    orbit                      rotates the camera and its view about an axis through a pivot
    zoom                       scales the focal length geometrically (tan(fov/2) / factor**s)
    dolly_zoom                 dollies and scales the focal length so the subject keeps its size
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from splatcine.paths.schema import Move


@dataclass(frozen=True)
class Pose:
    center: np.ndarray  # [3] world
    world_from_cam_R: np.ndarray  # [3, 3], columns = camera x, y, z in world (OpenCV axes)
    vfov: float  # degrees
    focus: float | None = None  # distance along the view axis to what the camera looks at

    @property
    def forward(self) -> np.ndarray:
        return self.world_from_cam_R[:, 2]

    @property
    def cam_from_world(self) -> np.ndarray:  # [4, 4]
        out = np.eye(4)
        out[:3, :3] = self.world_from_cam_R.T
        out[:3, 3] = -self.world_from_cam_R.T @ self.center
        return out


def ease(kind: str, x: float) -> float:
    """Easing curves on [0, 1] (quadratic in/out, smoothstep in-out)."""
    x = min(max(x, 0.0), 1.0)
    if kind == "ease-in":
        return x * x
    if kind == "ease-out":
        return 1.0 - (1.0 - x) ** 2
    if kind == "ease-in-out":
        return x * x * (3.0 - 2.0 * x)
    return x


def about(axis: np.ndarray, degrees: float) -> np.ndarray:  # [3, 3]
    """Right-handed rotation about a world axis."""
    axis = np.asarray(axis, dtype=np.float64)
    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * np.radians(degrees)).as_matrix()


def pivot_of(move: Move, start: Pose, scale: float) -> np.ndarray | None:
    if move.orbit is not None and move.orbit.pivot is not None:
        return np.asarray(move.orbit.pivot, dtype=np.float64) * scale
    if start.focus is None:
        return None
    return start.center + start.focus * start.forward


def subject_distance(move: Move, start: Pose, scale: float) -> float | None:
    """How far ahead (along the view axis) a dolly-zoom's subject is."""
    assert move.dolly_zoom is not None
    if move.dolly_zoom.subject is not None:
        return float((np.asarray(move.dolly_zoom.subject) * scale - start.center) @ start.forward)
    return start.focus


def play(move: Move, start: Pose, s: float, up: np.ndarray, scale: float) -> Pose:
    """The camera after playing `move` to eased fraction `s`; distances are scaled by `scale`."""
    x, y, z = start.world_from_cam_R.T
    shift = np.zeros(3)
    for amount, direction in (
        (move.dolly, z),
        (move.truck, x),
        (move.pedestal, -y),
        (move.crane, up),
    ):
        if amount:
            shift += amount * scale * direction
    center = start.center + s * shift
    R = start.world_from_cam_R
    if move.tilt:
        R = R @ Rotation.from_euler("x", move.tilt * s, degrees=True).as_matrix()
    if move.roll:
        R = R @ Rotation.from_euler("z", move.roll * s, degrees=True).as_matrix()
    if move.pan:
        R = about(up, -move.pan * s) @ R  # right-handed about up turns the view left
    focus, vfov = start.focus, start.vfov
    if move.orbit is not None:
        pivot = pivot_of(move, start, scale)
        spin = about(move.orbit.axis if move.orbit.axis is not None else up, move.orbit.angle * s)
        center = pivot + spin @ (center - pivot)
        R = spin @ R
        ahead = float((pivot - center) @ R[:, 2])
        focus = ahead if ahead > 0 else None  # the pivot becomes what the camera looks at
    if move.dolly:
        focus = None if focus is None else focus - s * move.dolly * scale
    tan_half = np.tan(np.radians(start.vfov) / 2.0)
    if move.zoom is not None:
        factor = move.zoom.factor or tan_half / np.tan(np.radians(move.zoom.fov) / 2.0)
        vfov = float(np.degrees(2.0 * np.arctan(tan_half / factor**s)))
    if move.dolly_zoom is not None:
        distance = subject_distance(move, start, scale)
        travel = s * move.dolly_zoom.distance * scale
        center = center + travel * z
        # The subject's image size is focal / distance: keep it by scaling focal with distance.
        vfov = float(np.degrees(2.0 * np.arctan(tan_half * distance / (distance - travel))))
        focus = None if focus is None else focus - travel
    return replace(start, center=center, world_from_cam_R=R, vfov=vfov, focus=focus)
