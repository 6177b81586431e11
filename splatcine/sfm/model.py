"""A sparse COLMAP model as splatcine sees it: cameras, points, statistics, normalisation.

Wraps a `pycolmap.Reconstruction` so that nothing outside `splatcine.sfm` touches
pycolmap types; everything it hands out is numpy or `splatcine.cameras`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pycolmap

from splatcine.cameras import Camera, Intrinsics


@dataclass(frozen=True)
class ModelStats:
    registered: int
    points: int
    mean_reprojection_px: float
    mean_track_length: float
    median_triangulation_deg: float  # parallax: median over points of the widest angle between their rays
    focal_px: float
    focal_ratio: float  # focal / max(width, height): 0.5-3 for ordinary lenses

    def to_json(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Normalization:
    """How the normalised scene frame relates to COLMAP's: x_norm = normalized_from_colmap @ x_colmap."""

    normalized_from_colmap: np.ndarray  # [4, 4] similarity (scale * rotation, translation)
    scale: float  # normalised units per COLMAP unit

    def to_json(self) -> dict:
        return {
            "normalized_from_colmap": self.normalized_from_colmap.tolist(),
            "scale": self.scale,
            "convention": "x right, y forward (mean view direction), z up (mean camera up); "
                          "origin at the camera path's centroid; unit = median scene depth",
        }


class SparseModel:
    """Posed images and sparse points of one COLMAP reconstruction."""

    def __init__(self, reconstruction: pycolmap.Reconstruction):
        self._rec = reconstruction

    @classmethod
    def from_cameras(cls, cameras: dict[str, Camera], ids: dict[str, tuple[int, int]] | None = None) -> "SparseModel":
        """A model with known cameras and no points; `ids` gives (image_id, camera_id) per name."""
        rec = pycolmap.Reconstruction()
        for n, name in enumerate(sorted(cameras)):
            image_id, camera_id = ids[name] if ids else (n + 1, n + 1)
            k = cameras[name].intrinsics
            camera = pycolmap.Camera.create_from_model_name(camera_id, "PINHOLE", k.fx, k.width, k.height)
            camera.params = [k.fx, k.fy, k.cx, k.cy]
            rec.add_camera_with_trivial_rig(camera)
            pose = pycolmap.Rigid3d(cameras[name].cam_from_world[:3])
            rec.add_image_with_trivial_frame(pycolmap.Image(name, [], camera_id, image_id), pose)
        return cls(rec)

    @property
    def reconstruction(self) -> pycolmap.Reconstruction:
        """The pycolmap object, for code inside `splatcine.sfm` only."""
        return self._rec

    @classmethod
    def read(cls, path: Path) -> "SparseModel":
        return cls(pycolmap.Reconstruction(str(path)))

    def write(self, path: Path) -> None:
        """COLMAP binary model (cameras.bin, images.bin, points3D.bin, ...) into folder `path`."""
        Path(path).mkdir(parents=True, exist_ok=True)
        self._rec.write_binary(str(path))

    def cameras(self) -> dict[str, Camera]:
        """Image name -> camera, for every registered image, in name order."""
        out = {}
        for image in sorted(self._registered_images(), key=lambda im: im.name):
            cam = image.camera
            fx, fy = cam.focal_length_x, cam.focal_length_y
            k = Intrinsics(fx, fy, cam.principal_point_x, cam.principal_point_y, cam.width, cam.height)
            cam_from_world = np.eye(4)
            cam_from_world[:3] = image.cam_from_world().matrix()
            out[image.name] = Camera(cam_from_world, k)
        return out

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """xyz [P, 3] float64 and rgb [P, 3] uint8 of the sparse points."""
        pts = list(self._rec.points3D.values())
        if not pts:
            return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
        xyz = np.array([p.xyz for p in pts], dtype=np.float64)
        rgb = np.array([p.color for p in pts], dtype=np.uint8)
        return xyz, rgb

    def observations(self) -> dict[str, np.ndarray]:
        """Image name -> pixel positions [M, 2] of its keypoints that belong to a sparse point."""
        return {
            image.name: np.array([p.xy for p in image.points2D if p.has_point3D()]).reshape(-1, 2)
            for image in self._registered_images()
        }

    def stats(self) -> ModelStats:
        images = self._registered_images()
        cam = images[0].camera if images else next(iter(self._rec.cameras.values()), None)
        focal = float(cam.mean_focal_length()) if cam is not None else float("nan")
        size = max(cam.width, cam.height) if cam is not None else 1
        has_points = self._rec.num_points3D() > 0
        return ModelStats(
            registered=len(images),
            points=self._rec.num_points3D(),
            mean_reprojection_px=float(self._rec.compute_mean_reprojection_error()) if has_points else float("nan"),
            mean_track_length=float(self._rec.compute_mean_track_length()) if has_points else 0.0,
            median_triangulation_deg=self._median_triangulation_deg(),
            focal_px=focal,
            focal_ratio=focal / size,
        )

    def normalize(self) -> Normalization:
        """Move the model (in place) to splatcine's normalised frame and return the transform."""
        cams = list(self.cameras().values())
        centres = np.array([c.center for c in cams])
        ups = np.array([-c.cam_from_world[1, :3] for c in cams])  # OpenCV y is down
        forwards = np.array([c.forward for c in cams])
        up = _unit(ups.mean(0))
        R_up = _rotation_between(up, np.array([0.0, 0.0, 1.0]))
        fwd = R_up @ forwards.mean(0)
        heading = np.arctan2(fwd[0], fwd[1])  # turn the mean view direction onto +y
        c, s = np.cos(heading), np.sin(heading)
        R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ R_up
        centre = centres.mean(0)
        xyz, _ = self.points()
        depth = np.median(np.linalg.norm(xyz - centre, axis=1)) if len(xyz) else 0.0
        if not depth > 0:
            depth = max(float(np.linalg.norm(centres - centre, axis=1).max()), 1e-9)
        scale = float(1.0 / depth)
        self._rec.transform(pycolmap.Sim3d(scale, pycolmap.Rotation3d(R), -scale * R @ centre))
        m = np.eye(4)
        m[:3, :3] = scale * R
        m[:3, 3] = -scale * R @ centre
        return Normalization(m, scale)

    def _registered_images(self) -> list:
        return [im for im in self._rec.images.values() if im.has_pose]

    def _median_triangulation_deg(self) -> float:
        centres = {im.image_id: im.projection_center() for im in self._registered_images()}
        angles = []
        for point in self._rec.points3D.values():
            rays = np.array([centres[e.image_id] - point.xyz for e in point.track.elements
                             if e.image_id in centres])
            if len(rays) < 2:
                continue
            rays /= np.linalg.norm(rays, axis=1, keepdims=True) + 1e-12
            cos = np.clip(rays @ rays.T, -1.0, 1.0)
            angles.append(np.degrees(np.arccos(cos.min())))
        return float(np.median(angles)) if angles else 0.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(np.linalg.norm(v), 1e-12)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation [3, 3] taking unit vector `a` onto unit vector `b`."""
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -1.0 + 1e-9:  # opposite: half a turn about any axis orthogonal to a
        axis = _unit(np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)
