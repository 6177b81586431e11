"""Did the generated shot follow the camera it was asked for? Recovered against requested cameras.

Both sets of cameras are in the scene's frame (the requested ones were rendered from it, the
recovered ones registered into it), so no alignment is fitted: an offset is an error. Centre
error is a share of the requested path's length (scale-free, comparable across scenes); a path
that does not move (a pan) has no length, and its centre error is given in scene units instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from splatcine.cameras import Camera

STILL_PATH = 1e-6  # scene units: a requested path shorter than this does not translate


@dataclass(frozen=True)
class Adherence:
    centre_error: list[float | None]  # [F] % of path length (scene units for a still path); None: unplaced
    rotation_error_deg: list[float | None]  # [F]
    focal_ratio: float | None  # recovered / requested focal, at the same image width
    path_length: float  # requested, scene units
    unit: str  # "% of path length" or "scene units"

    @property
    def max_centre_error(self) -> float | None:
        return _max(self.centre_error)

    @property
    def max_rotation_error_deg(self) -> float | None:
        return _max(self.rotation_error_deg)

    def to_json(self) -> dict:
        r = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {"unit": self.unit, "path_length": round(self.path_length, 5),
                "max_centre_error": r(self.max_centre_error), "max_rotation_error_deg": r(self.max_rotation_error_deg),
                "focal_ratio": r(self.focal_ratio),
                "centre_error": [r(v) for v in self.centre_error],
                "rotation_error_deg": [r(v) for v in self.rotation_error_deg]}


def requested_for(requested: list[Camera], count: int) -> list[Camera]:
    """The requested camera of each of `count` generated frames (the same count, or resampled in time)."""
    if len(requested) == count:
        return list(requested)
    picks = np.rint(np.linspace(0, len(requested) - 1, count)).astype(int)
    return [requested[i] for i in picks]


def adherence(recovered: list[Camera | None], requested: list[Camera]) -> Adherence:
    """Per-frame centre and rotation error of `recovered` [F] against `requested` [F]."""
    centres = np.array([c.center for c in requested])
    length = float(np.linalg.norm(np.diff(centres, axis=0), axis=1).sum())
    still = length < STILL_PATH
    centre_error, rotation_error, ratios = [], [], []
    for got, want in zip(recovered, requested):
        if got is None:
            centre_error.append(None)
            rotation_error.append(None)
            continue
        d = float(np.linalg.norm(got.center - want.center))
        centre_error.append(d if still else 100.0 * d / length)
        rotation_error.append(rotation_angle_deg(got.cam_from_world[:3, :3], want.cam_from_world[:3, :3]))
        ratios.append(got.intrinsics.fx / got.intrinsics.width / (want.intrinsics.fx / want.intrinsics.width))
    return Adherence(centre_error, rotation_error, float(np.median(ratios)) if ratios else None, length,
                     "scene units" if still else "% of path length")


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle of the rotation between two rotation matrices [3, 3]."""
    cos = (np.trace(a @ b.T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _max(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
