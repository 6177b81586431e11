"""`cameractrl`: the trajectory file CameraCtrl's `inference.py --trajectory_file` reads.

    cameractrl/
      poses.txt        line 1: an identifier (RealEstate10K puts the YouTube URL there; the
                       script skips it); then one line per frame, 19 numbers separated by
                       single spaces (the script splits on ' '):
                       timestamp_us fx/W fy/H cx/W cy/H 0 0 r11 r12 r13 t1 r21 r22 r23 t2 r31 r32 r33 t3
                       (intrinsics normalised by the image size, the 3x4 OpenCV
                       world-to-camera row-major; `cameractrl/data/dataset.py: Camera(entry)`)
      cameractrl.json  the sizes to pass: original_pose_width/height (the shot's size, which
                       the normalised intrinsics refer to), image_width/height, video_length

CameraCtrl's pose encoder takes exactly 16 frames (temporal position encoding
`max_len` 16; `--video_length 16`) at 256x384 (`--image_height/--image_width`), so the
shot must be 16 frames (target `cameractrl`). `inference.py` rescales fx or fy when the
pose aspect ratio differs from 384:256, then builds its own Plücker embedding
(`ray_condition`, pixel centres at +0.5) from these poses relative to the first.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera
from splatcine.paths import SampledPath
from splatcine.paths.convert.re10k import to_re10k
from splatcine.paths.targets import PRESETS
from splatcine.render.shot import RenderedShot


def as_sampled_path(cameras: list[Camera], fps: float, name: str = "shot") -> SampledPath:
    first = cameras[0].intrinsics
    matrices = np.stack([np.asarray(c.cam_from_world, dtype=np.float64) for c in cameras])
    times = np.arange(len(cameras)) / fps
    return SampledPath(matrices, [c.intrinsics for c in cameras], times, fps, first.width, first.height, name=name)


def write(shot: RenderedShot, folder: Path) -> None:
    (folder / "poses.txt").write_text(to_re10k(as_sampled_path(shot.cameras, shot.fps)))
    width, height = PRESETS["cameractrl"].resolution
    sizes = {"original_pose_width": shot.width, "original_pose_height": shot.height,
             "image_width": width, "image_height": height, "video_length": len(shot)}  # fmt: skip
    (folder / "cameractrl.json").write_text(json.dumps(sizes, indent=2))
