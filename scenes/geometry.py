"""Ray casting against the few shapes the set is built from, vectorised over rays.

All rays of one camera share an origin `o` [3] and have directions `d` [3, P] (one row per
axis, so per-axis arithmetic runs on contiguous memory; `inv` = 1 / d is computed once) scaled so
that the camera-space z of `d` is 1: the ray parameter `t` of a hit is then exactly the
z-depth along the OpenCV optical axis. Every shape returns `t` [P] (inf where missed)
and, for the rays it won, the face hit, surface coordinates in metres and the normal [3, P].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


def reciprocal(d: np.ndarray) -> np.ndarray:
    """1 / d [3, P], with exact zeros nudged so slab divisions stay finite; shared by all shapes."""
    with np.errstate(divide="ignore"):
        inv = 1.0 / d
    inv[~np.isfinite(inv)] = 1e12
    return inv


@dataclass(frozen=True)
class Box:
    """An axis-aligned box seen from outside (`inside=False`) or from within (a room)."""

    lo: tuple[float, float, float]
    hi: tuple[float, float, float]
    inside: bool = False

    @property
    def size(self) -> np.ndarray:  # [3]
        return np.subtract(self.hi, self.lo)

    @property
    def aabb(self) -> np.ndarray:  # [2, 3]
        return np.array([self.lo, self.hi], dtype=np.float64)

    def intersect(self, o: np.ndarray, d: np.ndarray, inv: np.ndarray) -> np.ndarray:
        near, far = None, None
        for axis in range(3):
            t1 = (self.lo[axis] - o[axis]) * inv[axis]
            t2 = (self.hi[axis] - o[axis]) * inv[axis]
            lo_t, hi_t = np.minimum(t1, t2), np.maximum(t1, t2)
            near = lo_t if near is None else np.maximum(near, lo_t)
            far = hi_t if far is None else np.minimum(far, hi_t)
        if self.inside:
            return far  # the nearest exit through a wall
        return np.where((near <= far) & (near > EPS), near, np.inf)

    def surface(self, o: np.ndarray, d: np.ndarray, t: np.ndarray):
        """Face index (axis * 2 + positive side) [P], u, v [P] in metres, normal [3, P]."""
        local = o[:, None] + d * t - np.asarray(self.lo)[:, None]  # [3, P], from the low corner
        size = self.size[:, None]
        # The face is the axis whose coordinate sits on the boundary (0 or size).
        on = np.minimum(np.abs(local), np.abs(local - size)) / size
        axis = np.argmin(on, axis=0)
        cols = np.arange(local.shape[1])
        positive = local[axis, cols] > 0.5 * size[axis, 0]
        face = axis * 2 + positive
        # Surface coordinates: walls (x or y faces) keep height as v; floor and ceiling use x, y.
        u = local[np.where(axis == 0, 1, 0), cols]
        v = local[np.where(axis == 2, 1, 2), cols]
        normal = np.zeros_like(local)
        normal[axis, cols] = np.where(positive, 1.0, -1.0) * (-1.0 if self.inside else 1.0)
        return face, u, v, normal

    def face_extent(self, face: int) -> tuple[float, float]:
        """(u, v) size in metres of a face, matching `surface`'s coordinates."""
        axis = face // 2
        u_axis = 1 if axis == 0 else 0
        v_axis = 1 if axis == 2 else 2
        return float(self.size[u_axis]), float(self.size[v_axis])

    n_faces = 6


@dataclass(frozen=True)
class Cylinder:
    """A vertical pillar (axis along world z) from `z0` to `z1`, with a flat top cap."""

    center: tuple[float, float]
    radius: float
    z0: float
    z1: float

    @property
    def aabb(self) -> np.ndarray:  # [2, 3]
        (x, y), r = self.center, self.radius
        return np.array([[x - r, y - r, self.z0], [x + r, y + r, self.z1]])

    def intersect(self, o: np.ndarray, d: np.ndarray, inv: np.ndarray) -> np.ndarray:
        ox, oy = o[0] - self.center[0], o[1] - self.center[1]
        dx, dy, dz = d
        a = dx * dx + dy * dy
        b = 2.0 * (ox * dx + oy * dy)
        c = ox * ox + oy * oy - self.radius**2
        disc = b * b - 4.0 * a * c
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * np.maximum(a, 1e-20))
        z = o[2] + t * dz
        side = np.where((disc > 0) & (t > EPS) & (z >= self.z0) & (z <= self.z1), t, np.inf)
        if o[2] <= self.z1:
            return side  # the top cap is only visible from above
        t_cap = (self.z1 - o[2]) * inv[2]
        cx, cy = ox + t_cap * dx, oy + t_cap * dy
        cap = np.where((t_cap > EPS) & (cx * cx + cy * cy <= self.radius**2), t_cap, np.inf)
        return np.minimum(side, cap)

    def surface(self, o: np.ndarray, d: np.ndarray, t: np.ndarray):
        """Face 0 = side (u around the circumference, v = height), 1 = top cap."""
        p = o[:, None] + d * t
        x, y = p[0] - self.center[0], p[1] - self.center[1]
        top = np.abs(p[2] - self.z1) < 1e-6 * max(1.0, abs(self.z1))
        top &= x * x + y * y < (self.radius * (1 - 1e-4)) ** 2
        angle = np.arctan2(y, x) + np.pi
        u = np.where(top, x + self.radius, angle * self.radius)
        v = np.where(top, y + self.radius, p[2] - self.z0)
        normal = np.stack([x, y, np.zeros_like(x)]) / self.radius
        normal[:, top] = np.array([[0.0], [0.0], [1.0]])
        return top.astype(np.int64), u, v, normal

    def face_extent(self, face: int) -> tuple[float, float]:
        if face == 0:
            return 2 * np.pi * self.radius, self.z1 - self.z0
        return 2 * self.radius, 2 * self.radius

    n_faces = 2


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]
    radius: float

    @property
    def aabb(self) -> np.ndarray:  # [2, 3]
        return np.array([np.subtract(self.center, self.radius), np.add(self.center, self.radius)])

    def intersect(self, o: np.ndarray, d: np.ndarray, inv: np.ndarray) -> np.ndarray:
        oc = o - np.asarray(self.center)
        a = (d * d).sum(axis=0)
        b = 2.0 * (oc @ d)
        c = oc @ oc - self.radius**2
        disc = b * b - 4.0 * a * c
        t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a)
        return np.where((disc > 0) & (t > EPS), t, np.inf)

    def surface(self, o: np.ndarray, d: np.ndarray, t: np.ndarray):
        """One face: u = longitude x radius, v = colatitude x radius (metres along the surface)."""
        n = (o[:, None] + d * t - np.asarray(self.center)[:, None]) / self.radius
        u = (np.arctan2(n[1], n[0]) + np.pi) * self.radius
        v = np.arccos(np.clip(n[2], -1.0, 1.0)) * self.radius
        return np.zeros(len(t), np.int64), u, v, n

    def face_extent(self, face: int) -> tuple[float, float]:
        return 2 * np.pi * self.radius, np.pi * self.radius

    n_faces = 1


Shape = Box | Cylinder | Sphere
