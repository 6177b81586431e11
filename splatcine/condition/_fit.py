"""`--fit`: a rendered shot resampled to a model's frame count and image size, frame by frame.

Frame i of the fitted shot is the rendered frame nearest in time (indices spread evenly over
the shot, so the move keeps its start, end and duration; a shorter shot repeats frames);
each image is centre-cropped to the model's aspect ratio, then resized (area average for
colour, alpha and the graded unseen mask; nearest for depth and normals, which must not
blend across edges), and each camera's intrinsics follow the crop and the resize.
Rendering the path with the model's `target:` gives a smoother result than fitting.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from splatcine.cameras import Camera, Intrinsics
from splatcine.render.shot import RenderedShot


def fit_shot(shot: RenderedShot, frames: int, width: int, height: int, fps: float) -> RenderedShot:
    """`shot` as `frames` frames of `width` x `height`; its maps are computed when a frame is read."""
    picks = np.round(np.linspace(0, len(shot) - 1, frames)).astype(int)
    W, H = shot.width, shot.height
    if W * height > H * width:  # too wide: crop the sides
        cw, ch = max(1, round(H * width / height)), H
    else:
        cw, ch = W, max(1, round(W * height / width))
    x0, y0 = (W - cw) // 2, (H - ch) // 2
    window = (slice(y0, y0 + ch), slice(x0, x0 + cw))
    sx, sy = width / cw, height / ch
    cameras = []
    for i in picks:
        k = shot.cameras[i].intrinsics
        cameras.append(Camera(shot.cameras[i].cam_from_world,
                              Intrinsics(k.fx * sx, k.fy * sy, (k.cx - x0) * sx, (k.cy - y0) * sy, width, height)))  # fmt: skip
    duration = (len(shot) - 1) / shot.fps
    fitted_fps = (frames - 1) / duration if frames > 1 and duration > 0 else fps

    def maps(source, mode: str):
        return _Resampled(source, picks, window, width, height, mode)

    return RenderedShot(cameras, maps(shot.color, "area"), maps(shot.depth, "nearest"), maps(shot.alpha, "area"),
                        maps(shot.normals, "nearest"), maps(shot.unseen, "area"), fitted_fps,
                        references=shot.references, reference_names=shot.reference_names)  # fmt: skip


class _Resampled:
    """A map [F, ...] whose frame i is a crop-and-resize of the source's frame picks[i]."""

    def __init__(self, source, picks: np.ndarray, window, width: int, height: int, mode: str):
        self.source, self.picks, self.window, self.size, self.mode = source, picks, window, (height, width), mode

    def __len__(self) -> int:
        return len(self.picks)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.picks), *self.size, *self.source.shape[3:])

    def __getitem__(self, i: int) -> np.ndarray:
        image = np.asarray(self.source[int(self.picks[i])])[self.window]
        if image.shape[:2] == self.size:
            return image
        x = torch.from_numpy(np.ascontiguousarray(image)).float()
        x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
        x = F.interpolate(x, size=self.size, mode=self.mode)[0]
        out = x[0] if image.ndim == 2 else x.permute(1, 2, 0)
        if image.dtype == np.uint8:
            return (out + 0.5).clamp(0, 255).to(torch.uint8).numpy()
        return out.numpy().astype(image.dtype)
