"""`frames`: plain PNG sequences of every map, for any tool that reads image folders.

    frames/
      color/NNNNN.png          uint8 RGB render
      depth/NNNNN.png          uint16 expected depth: depth = value * depth_scale (scene units), 0 = none
      alpha/NNNNN.png          uint8 accumulated opacity * 255
      normal/NNNNN.png         uint8 RGB camera-space (OpenCV) normal (n + 1) / 2 * 255; 0 = none
      unseen/NNNNN.png         uint8 graded unseen mask * 255
      unseen_binary/NNNNN.png  uint8 255 where unseen >= threshold, else 0
      frames.json              depth_scale, unseen_threshold, frame count, size
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from splatcine.condition._image import frame_name
from splatcine.io.video import write_image
from splatcine.render import maps
from splatcine.render.shot import RenderedShot

UINT16_MAX = 65535


def depth_scale(shot: RenderedShot) -> float:
    """Scene units per 16-bit step, so the farthest depth of the shot fits (one pass over the depth maps)."""
    far = max((float(np.max(shot.depth[i], initial=0.0)) for i in range(len(shot))), default=0.0)
    return far / UINT16_MAX if far > 0 else 1.0


def write(shot: RenderedShot, folder: Path) -> None:
    scale = depth_scale(shot)
    writers = {
        "alpha": lambda f: _u8(f.alpha),
        "normal": lambda f: np.where(np.any(f.normals != 0, -1, keepdims=True), _u8((f.normals + 1.0) / 2.0),
                                     0).astype(np.uint8),
        "unseen": lambda f: _u8(f.unseen),
        "unseen_binary": lambda f: f.unseen_binary.astype(np.uint8) * 255,
        "color": lambda f: f.color,
        "depth": lambda f: np.clip(np.round(f.depth / scale), 0, UINT16_MAX).astype(np.uint16),
    }  # fmt: skip
    for name in writers:
        (folder / name).mkdir()
    for f in shot.frames():
        for name, make in writers.items():
            write_image(folder / name / f"{frame_name(f.index)}.png", make(f))
    doc = {"frames": len(shot), "width": shot.width, "height": shot.height, "fps": shot.fps,
           "depth_scale": scale, "depth_units": "scene units per 16-bit step",
           "unseen_threshold": maps.UNSEEN_THRESHOLD}  # fmt: skip
    (folder / "frames.json").write_text(json.dumps(doc, indent=2))


def _u8(values: np.ndarray) -> np.ndarray:
    return (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
