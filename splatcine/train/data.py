"""The frames a run trains and evaluates on, as tensors at the training resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from splatcine.errors import InputError
from splatcine.io.video import read_image
from splatcine.scene import Scene, SceneFrame
from splatcine.scene.layout import MASK_IGNORE


@dataclass(frozen=True)
class View:
    """One posed frame, resized for training."""

    index: int  # position among the training views (indexes the colour correction)
    name: str
    source_frame: int
    image: Tensor  # [H, W, 3] float32 in [0, 1]; composited on black where the input had alpha
    valid: Tensor | None  # [H, W] bool, False where the mask says ignore; None: all valid
    cam_from_world: Tensor  # [4, 4] float32, OpenCV
    K: Tensor  # [3, 3] float32
    width: int
    height: int
    alpha: Tensor | None = None  # [H, W] float32 in [0, 1], the input's alpha; None: opaque

    def target(self, background: Tensor | None) -> Tensor:  # [H, W, 3]
        """The frame as seen over `background` [3] (None: black, the scene's background): where
        the input had alpha, the background shows through by 1 - alpha."""
        if self.alpha is None or background is None:
            return self.image
        return self.image + (1.0 - self.alpha)[..., None] * background


def split_views(
    scene: Scene, max_width: int | None, holdout_every: int, device: str | torch.device = "cpu"
) -> tuple[list[View], list[View]]:
    """(train, held_out): every `holdout_every`-th kept frame (0, n, 2n, ...) is held out."""
    if not scene.frames:
        raise InputError(f"{scene.root}: the scene has no frames to train on")
    frames = scene.frames
    hold = holdout_every > 0 and len(frames) > 1
    train = [f for i, f in enumerate(frames) if not (hold and i % holdout_every == 0)]
    test = [f for i, f in enumerate(frames) if hold and i % holdout_every == 0]
    return ([_load_view(i, f, max_width, device) for i, f in enumerate(train)],
            [_load_view(i, f, max_width, device) for i, f in enumerate(test)])


def _load_view(index: int, frame: SceneFrame, max_width: int | None, device) -> View:
    intr = frame.camera.intrinsics
    image = read_image(frame.image_path)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[:2] != (intr.height, intr.width):
        raise InputError(
            f"{frame.image_path}: image is {image.shape[1]}x{image.shape[0]} but its camera "
            f"says {intr.width}x{intr.height}"
        )
    width, height = intr.width, intr.height
    if max_width is not None and width > max_width:
        width, height = max_width, max(1, round(intr.height * max_width / intr.width))
        intr = intr.resized(width, height)
    rgb = torch.from_numpy(np.ascontiguousarray(image)).float().div(255.0)
    rgb = _resize(rgb.permute(2, 0, 1), height, width).permute(1, 2, 0).clamp(0.0, 1.0)
    valid = None
    if frame.mask_path is not None:
        mask = read_image(frame.mask_path)
        mask = mask[..., 0] if mask.ndim == 3 else mask
        ignore = torch.from_numpy((mask >= MASK_IGNORE // 2 + 1).astype(np.float32))
        valid = _resize(ignore[None], height, width)[0] <= 0.0  # a pixel touching the mask is ignored
    alpha = None
    if frame.alpha_path is not None:
        a = torch.from_numpy(read_image(frame.alpha_path).astype(np.float32) / 255.0)
        if tuple(a.shape[:2]) != image.shape[:2]:
            raise InputError(f"{frame.alpha_path}: alpha is {a.shape[1]}x{a.shape[0]} but its image "
                             f"{frame.image_path} is {image.shape[1]}x{image.shape[0]}")  # fmt: skip
        alpha = _resize((a[..., 0] if a.dim() == 3 else a)[None], height, width)[0].clamp(0.0, 1.0).to(device)
    return View(
        index=index,
        name=frame.name,
        source_frame=frame.source_frame,
        image=rgb.contiguous().to(device),
        valid=None if valid is None else valid.to(device),
        cam_from_world=torch.as_tensor(frame.camera.cam_from_world, dtype=torch.float32, device=device),
        K=torch.as_tensor(intr.K, dtype=torch.float32, device=device),
        width=width,
        height=height,
        alpha=alpha,
    )


def _resize(chw: Tensor, height: int, width: int) -> Tensor:
    """Area-style downsampling (bilinear with antialiasing); identity at the same size."""
    if chw.shape[-2:] == (height, width):
        return chw
    return F.interpolate(chw[None], size=(height, width), mode="bilinear", antialias=True,
                         align_corners=False)[0]
