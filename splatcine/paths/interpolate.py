"""Keyframe interpolation: splines through positions, rotation splines or slerp, FOV.

Curves are parametrised by keyframe index u (keyframe k sits at u = k), so every curve
passes exactly through its keyframes. Time maps to u piecewise: u stays at k while
keyframe k holds, then runs to k + 1 along the arriving keyframe's easing. With
`constant_speed`, each stretch between stops (holds, first, last keyframe) instead
advances u so that arc length grows linearly with time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import splines
import splines.quaternion as squat
from scipy.spatial.transform import Rotation, Slerp

from splatcine.cameras import look_at
from splatcine.paths.moves import Pose, ease
from splatcine.paths.schema import Interpolation

SAMPLES_PER_SEGMENT = 64  # arc-length table resolution for constant speed


@dataclass(frozen=True)
class Anchor:
    """A keyframe resolved to world geometry."""

    time: float
    hold: float
    easing: str
    pose: Pose
    target: np.ndarray | None  # [3] look_at point, when given
    up: np.ndarray  # [3]


class KeyframeCurve:
    def __init__(self, anchors: list[Anchor], how: Interpolation):
        self.anchors = anchors
        self.how = how
        count = len(anchors)
        self.index = np.arange(count, dtype=np.float64)
        self.positions = self._curve(np.stack([a.pose.center for a in anchors]))
        same_up = all(np.allclose(a.up, anchors[0].up) for a in anchors)
        self.tracking = count > 1 and same_up and all(a.target is not None for a in anchors)
        self.targets = self._curve(np.stack([a.target for a in anchors])) if self.tracking else None
        self.rotations = None if self.tracking else self._rotation_curve()
        self.tan_half = np.tan(np.radians([a.pose.vfov for a in anchors]) / 2.0)
        self.focus = [a.pose.focus for a in anchors]
        self.arc = self._arc_table() if how.constant_speed and count > 1 else None

    @property
    def end(self) -> float:
        return self.anchors[-1].time + self.anchors[-1].hold

    def _curve(self, points: np.ndarray):
        """A callable u -> [3] through `points` [K, 3]."""
        if len(points) < 3 or self.how.position == "linear":
            return lambda u: np.array([np.interp(u, self.index, points[:, i]) for i in range(3)])
        if self.how.position == "catmull-rom":
            spline = splines.CatmullRom(points, grid=list(self.index))
        else:
            tcb = (self.how.tension, self.how.continuity, self.how.bias)
            spline = splines.KochanekBartels(points, grid=list(self.index), tcb=tcb)
        last = self.index[-1]
        return lambda u: np.asarray(spline.evaluate(min(max(u, 0.0), last)), dtype=np.float64)

    def _rotation_curve(self):
        rotations = Rotation.from_matrix(np.stack([a.pose.world_from_cam_R for a in self.anchors]))
        if len(self.anchors) == 1:
            return lambda u: rotations[0].as_matrix()
        if self.how.rotation == "slerp" or len(self.anchors) < 3:
            slerp = Slerp(self.index, rotations)
            return lambda u: slerp(min(max(u, 0.0), self.index[-1])).as_matrix()
        if self.how.rotation == "squad":
            return _squad(rotations)
        quats = squat.canonicalized(
            [squat.UnitQuaternion.from_unit_xyzw(q) for q in rotations.as_quat()]
        )
        tcb = (self.how.tension, self.how.continuity, self.how.bias)
        spline = squat.KochanekBartels(list(quats), grid=list(self.index), tcb=tcb)
        last = self.index[-1]
        return lambda u: Rotation.from_quat(
            spline.evaluate(min(max(u, 0.0), last)).xyzw
        ).as_matrix()

    def _arc_table(self) -> tuple[np.ndarray, np.ndarray]:
        grid = np.linspace(0.0, self.index[-1], SAMPLES_PER_SEGMENT * (len(self.anchors) - 1) + 1)
        points = np.stack([self.positions(u) for u in grid])
        length = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
        return grid, length

    def param(self, t: float) -> float:
        """Keyframe-index parameter u at time t."""
        anchors = self.anchors
        for k in range(len(anchors) - 1):
            depart, arrive = anchors[k].time + anchors[k].hold, anchors[k + 1].time
            if t <= depart:
                return float(k)
            if t <= arrive:
                if self.arc is not None:
                    return self._constant_speed(k, t)
                return k + ease(anchors[k + 1].easing, (t - depart) / (arrive - depart))
        return float(len(anchors) - 1)

    def _constant_speed(self, k: int, t: float) -> float:
        """Within the stretch between the stops around segment k, arc length linear in time."""
        anchors = self.anchors
        first = k
        while first > 0 and anchors[first].hold == 0.0:
            first -= 1
        last = k + 1
        while last < len(anchors) - 1 and anchors[last].hold == 0.0:
            last += 1
        grid, length = self.arc
        s0, s1 = np.interp([first, last], grid, length)
        if s1 - s0 < 1e-12:  # a stretch that does not travel: plain timing
            depart, arrive = anchors[k].time + anchors[k].hold, anchors[k + 1].time
            return k + ease(anchors[k + 1].easing, (t - depart) / (arrive - depart))
        start, stop = anchors[first].time + anchors[first].hold, anchors[last].time
        s = s0 + (t - start) / (stop - start) * (s1 - s0)
        return float(np.interp(s, length, grid))

    def at(self, t: float) -> Pose:
        u = self.param(t)
        center = self.positions(u)
        if self.tracking:
            R = look_at(center, self.targets(u), self.anchors[0].up)[:3, :3].T
        else:
            R = self.rotations(u)
        tan_half = np.interp(u, self.index, self.tan_half)
        k = int(round(u))
        focus = self.focus[k] if abs(u - k) < 1e-9 else None
        return Pose(center, R, float(np.degrees(2.0 * np.arctan(tan_half))), focus)


def _squad(rotations: Rotation):
    """Shoemake's squad through `rotations` at u = 0, 1, 2, ... (open ends: s_0 = q_0, s_n = q_n).

    splines' own Squad is closed-only, so the open curve is written here on scipy rotations:
    a quaternion log is half a rotation vector, so s_i = q_i exp(-(log(q_i^-1 q_i+1) +
    log(q_i^-1 q_i-1)) / 4) is q_i rotated by -(v_next + v_prev) / 4 in rotation vectors.
    """
    count = len(rotations)
    inner = [rotations[0]]
    for i in range(1, count - 1):
        q = rotations[i]
        v_next = (q.inv() * rotations[i + 1]).as_rotvec()
        v_prev = (q.inv() * rotations[i - 1]).as_rotvec()
        inner.append(q * Rotation.from_rotvec(-(v_next + v_prev) / 4.0))
    inner.append(rotations[count - 1])

    def slerp(a: Rotation, b: Rotation, h: float) -> Rotation:
        return a * Rotation.from_rotvec(h * (a.inv() * b).as_rotvec())

    def at(u: float) -> np.ndarray:
        i = min(max(int(np.floor(u)), 0), count - 2)
        h = min(max(u - i, 0.0), 1.0)
        outer = slerp(rotations[i], rotations[i + 1], h)
        middle = slerp(inner[i], inner[i + 1], h)
        return slerp(outer, middle, 2.0 * h * (1.0 - h)).as_matrix()

    return at
