"""What the editor draws in the 3D view: the set (splat, source cameras, points) and the path.

Cameras are `cam_from_world` (OpenCV) inside splatcine; viser places nodes by their
world_from_local pose as (wxyz, position) and its frustums look along +z with y down, the
OpenCV camera axes, so a camera goes in as the rotation and centre of `world_from_cam`.
"""

from __future__ import annotations

import numpy as np
import viser
from scipy.spatial.transform import Rotation

from splatcine.cameras import invert_rigid
from splatcine.gaussians import Gaussians

SEEN_RGB = np.array([40, 200, 70])  # the path where the set has been seen ...
UNSEEN_RGB = np.array([230, 40, 40])  # ... and where it has not (binary unseen share 1)
PENDING_RGB = np.array([235, 235, 235])  # before the quick render has measured it
KEYFRAME_RGB = (255, 150, 20)
SOURCE_RGB = (90, 90, 110)


def pose_of(cam_from_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # [4, 4] -> wxyz [4], centre [3]
    world_from_cam = invert_rigid(np.asarray(cam_from_world, dtype=np.float64))
    x, y, z, w = Rotation.from_matrix(world_from_cam[:3, :3]).as_quat()
    return np.array([w, x, y, z]), world_from_cam[:3, 3]


def splat_arrays(gaussians: Gaussians) -> dict[str, np.ndarray]:
    """The splat as viser takes it: centres [N, 3], covariances [N, 3, 3], rgbs [N, 3], opacities [N, 1]."""
    g = gaussians.detach()
    quats = g.quats.double().numpy()
    R = Rotation.from_quat(np.roll(quats, -1, axis=1)).as_matrix()  # wxyz -> xyzw; normalised
    scales = g.scales.double().numpy()
    covariances = np.einsum("nij,nj,nkj->nik", R, scales**2, R)  # R diag(s^2) R^T
    return {
        "centers": g.means.numpy().astype(np.float32),
        "covariances": covariances.astype(np.float32),
        "rgbs": g.rgb.numpy().astype(np.float32),  # the view-independent (DC) colour
        "opacities": g.opacities.numpy().astype(np.float32)[:, None],
    }


def camera_size(centres: np.ndarray) -> float:  # [C, 3] -> a frustum scale that suits the set
    if len(centres) < 2:
        return 0.15
    spread = np.linalg.norm(centres.max(axis=0) - centres.min(axis=0))
    return float(np.clip(0.06 * spread, 0.03, 0.5))


def add_frustum(scene: viser.SceneApi, name: str, cam_from_world: np.ndarray, vfov_deg: float,
                aspect: float, scale: float, color) -> viser.CameraFrustumHandle:  # fmt: skip
    wxyz, position = pose_of(cam_from_world)
    return scene.add_camera_frustum(name, fov=float(np.radians(vfov_deg)), aspect=aspect, scale=scale,
                                    thickness=2.0, thickness_units="screen", color=color, wxyz=wxyz,
                                    position=position)  # fmt: skip


def path_segments(centres: np.ndarray, unseen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Line segments [F-1, 2, 3] along the sampled centres, coloured [F-1, 2, 3] uint8 by the
    unseen share of each frame (green 0 -> red 1), or a neutral colour when not yet measured."""
    points = np.stack([centres[:-1], centres[1:]], axis=1)
    if unseen is None:
        colors = np.broadcast_to(PENDING_RGB, points.shape)
    else:
        share = np.clip(np.stack([unseen[:-1], unseen[1:]], axis=1), 0.0, 1.0)[..., None]
        colors = (1.0 - share) * SEEN_RGB + share * UNSEEN_RGB
    return points, np.ascontiguousarray(colors, dtype=np.uint8)
