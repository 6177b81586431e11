"""`cameractrl`: RealEstate10K pose text and Plücker ray embeddings, as CameraCtrl reads them.

    cameractrl/
      poses.txt      line 1: an identifier (RealEstate10K puts the YouTube URL there);
                     then one line per frame, 19 numbers:
                     timestamp_us fx/W fy/H cx/W cy/H 0 0 r11 r12 r13 t1 r21 r22 r23 t2 r31 r32 r33 t3
                     (intrinsics normalised by the image size, the 3x4 OpenCV world-to-camera
                     matrix row-major; CameraCtrl's `Camera(entry)` parses exactly this)
      plucker.npy    float32 [F, 6, h, w]: per pixel (o x d, d) with o, d the ray origin and unit
                     direction in the first camera's frame (CameraCtrl's `ray_condition` after
                     `get_relative_pose`), at the shot's size reduced to a longer side of 384
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from splatcine.cameras import Camera, invert_rigid
from splatcine.render import maps
from splatcine.render.shot import RenderedShot

PLUCKER_MAX_SIDE = 384  # CameraCtrl samples at 384x256; full-size embeddings are 6 floats a pixel


def pose_lines(cameras: list[Camera], fps: float, source: str = "splatcine") -> list[str]:
    lines = [source]
    for i, cam in enumerate(cameras):
        k = cam.intrinsics
        w2c = np.asarray(cam.cam_from_world, dtype=np.float64)[:3, :4].reshape(-1)
        values = [k.fx / k.width, k.fy / k.height, k.cx / k.width, k.cy / k.height, 0.0, 0.0, *w2c]
        lines.append(" ".join([str(round(i / fps * 1e6))] + [f"{v:.9g}" for v in values]))
    return lines


def plucker_embedding(cameras: list[Camera], width: int, height: int) -> np.ndarray:  # [F, 6, h, w]
    """Plücker rays of each camera relative to the first (first camera = identity), at `width` x `height`."""
    first_w2c = np.asarray(cameras[0].cam_from_world, dtype=np.float64)
    out = np.empty((len(cameras), 6, height, width), np.float32)
    for i, cam in enumerate(cameras):
        rel_c2w = torch.from_numpy(first_w2c @ invert_rigid(cam.cam_from_world)).float()
        K = torch.from_numpy(cam.intrinsics.resized(width, height).K).float()
        dirs = maps.pixel_rays(K, width, height) @ rel_c2w[:3, :3].T  # [h, w, 3]
        dirs = torch.nn.functional.normalize(dirs, dim=-1)
        origin = rel_c2w[:3, 3].expand_as(dirs)
        out[i] = torch.cat([torch.cross(origin, dirs, dim=-1), dirs], dim=-1).permute(2, 0, 1).numpy()
    return out


def write(shot: RenderedShot, folder: Path) -> None:
    (folder / "poses.txt").write_text("\n".join(pose_lines(shot.cameras, shot.fps)) + "\n")
    w, h = maps.reduced_size(shot.width, shot.height, PLUCKER_MAX_SIDE)
    np.save(folder / "plucker.npy", plucker_embedding(shot.cameras, w, h))
