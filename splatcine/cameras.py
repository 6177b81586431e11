"""Camera conventions, stated once.

Inside splatcine every extrinsic is `cam_from_world`: a 4x4 world-to-camera matrix
in the OpenCV axis convention (x right, y down, z forward). Intrinsics are pinhole
`fx, fy, cx, cy` in pixels with the image size beside them (pixel centres at
+0.5, as in COLMAP).

OpenGL / nerfstudio / Blender cameras (x right, y up, z backward, stored as
camera-to-world) exist only at import and export edges, through the two
functions `gl_world_from_cam` and `cam_from_world_from_gl` below.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Flips y and z: maps OpenCV camera axes to OpenGL camera axes (and back: it is its own inverse).
GL_FROM_CV = np.diag([1.0, -1.0, -1.0, 1.0])


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels for an image of `width` x `height`."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def K(self) -> np.ndarray:  # [3, 3]
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def vfov_deg(self) -> float:
        return float(np.degrees(2.0 * np.arctan(0.5 * self.height / self.fy)))

    @classmethod
    def from_vfov(cls, vfov_deg: float, width: int, height: int) -> "Intrinsics":
        fy = 0.5 * height / np.tan(0.5 * np.radians(vfov_deg))
        return cls(fy, fy, width / 2.0, height / 2.0, int(width), int(height))

    def resized(self, width: int, height: int) -> "Intrinsics":
        """The same lens on an image resampled to `width` x `height`."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)


@dataclass(frozen=True)
class Camera:
    """One posed pinhole camera."""

    cam_from_world: np.ndarray = field(repr=False)  # [4, 4], OpenCV axes
    intrinsics: Intrinsics

    @property
    def world_from_cam(self) -> np.ndarray:  # [4, 4]
        return invert_rigid(self.cam_from_world)

    @property
    def center(self) -> np.ndarray:  # [3], camera centre in world coordinates
        return self.world_from_cam[:3, 3]

    @property
    def forward(self) -> np.ndarray:  # [3], unit viewing direction (+z of the camera) in world
        return self.cam_from_world[2, :3].copy()


def invert_rigid(a_from_b: np.ndarray) -> np.ndarray:
    """Inverse of rigid (or similarity-free) 4x4 transforms, batched over leading dims."""
    a_from_b = np.asarray(a_from_b, dtype=np.float64)
    R = a_from_b[..., :3, :3]
    t = a_from_b[..., :3, 3]
    out = np.zeros_like(a_from_b)
    Rt = np.swapaxes(R, -1, -2)
    out[..., :3, :3] = Rt
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", Rt, t)
    out[..., 3, 3] = 1.0
    return out


def gl_world_from_cam(cam_from_world: np.ndarray) -> np.ndarray:
    """OpenCV world-to-camera [..., 4, 4] -> OpenGL camera-to-world [..., 4, 4] (nerfstudio, Blender)."""
    return invert_rigid(cam_from_world) @ GL_FROM_CV


def cam_from_world_from_gl(gl_world_from_cam: np.ndarray) -> np.ndarray:
    """OpenGL camera-to-world [..., 4, 4] -> OpenCV world-to-camera [..., 4, 4]."""
    return invert_rigid(np.asarray(gl_world_from_cam, dtype=np.float64) @ GL_FROM_CV)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """`cam_from_world` [4, 4] of a camera at `eye` looking at `target` with world `up` on screen up.

    Raises ValueError when `target == eye` or `up` is parallel to the view.
    """
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise ValueError("look_at target equals the camera position")
    z = forward / norm
    x = np.cross(z, up)  # OpenCV: x right = forward x up when y points down
    if np.linalg.norm(x) < 1e-9 * max(1.0, np.linalg.norm(up)):
        raise ValueError("up vector is parallel to the viewing direction")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])  # rows: camera axes in world coordinates
    out = np.eye(4)
    out[:3, :3] = R
    out[:3, 3] = -R @ eye
    return out
