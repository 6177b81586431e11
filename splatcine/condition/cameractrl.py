"""`cameractrl`: RealEstate10K pose text and Plücker ray embeddings, as CameraCtrl reads them.

    cameractrl/
      poses.txt      line 1: an identifier (RealEstate10K puts the YouTube URL there);
                     then one line per frame, 19 numbers:
                     timestamp_us fx/W fy/H cx/W cy/H 0 0 r11 r12 r13 t1 r21 r22 r23 t2 r31 r32 r33 t3
                     (intrinsics normalised by the image size, the 3x4 OpenCV world-to-camera
                     matrix row-major; CameraCtrl's `Camera(entry)` parses exactly this)
      plucker.npy    float32 [F, 6, h, w]: per pixel (o x d, d) with o, d the ray origin and unit
                     direction in the first camera's frame (CameraCtrl's `ray_condition` after
                     `get_relative_pose`), at the shot's size divided by the smallest whole
                     factor that brings the longer side to 384 or less

Both come from `splatcine.paths.convert`, which writes the same formats for a camera path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera
from splatcine.paths import SampledPath
from splatcine.paths.convert import plucker_embeddings, to_re10k
from splatcine.render.shot import RenderedShot

PLUCKER_MAX_SIDE = 384  # CameraCtrl samples at 384x256; full-size embeddings are 6 floats a pixel


def as_sampled_path(cameras: list[Camera], fps: float, name: str = "shot") -> SampledPath:
    first = cameras[0].intrinsics
    matrices = np.stack([np.asarray(c.cam_from_world, dtype=np.float64) for c in cameras])
    times = np.arange(len(cameras)) / fps
    return SampledPath(matrices, [c.intrinsics for c in cameras], times, fps, first.width, first.height, name=name)


def write(shot: RenderedShot, folder: Path) -> None:
    path = as_sampled_path(shot.cameras, shot.fps)
    (folder / "poses.txt").write_text(to_re10k(path))
    downsample = max(1, math.ceil(max(shot.width, shot.height) / PLUCKER_MAX_SIDE))
    plucker, _, _ = plucker_embeddings(path, downsample)
    np.save(folder / "plucker.npy", plucker.numpy())
