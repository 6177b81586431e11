"""Small image operations shared by the formats: resizing, mask dilation, numbering."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import distance_transform_edt


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """[F, H, W, C] or [F, H, W] -> same at `width` x `height` (area average; dtype kept)."""
    if frames.shape[1:3] == (height, width):
        return frames
    squeeze = frames.ndim == 3
    x = torch.from_numpy(np.ascontiguousarray(frames[..., None] if squeeze else frames)).float()
    x = F.interpolate(x.permute(0, 3, 1, 2), size=(height, width), mode="area", antialias=False)
    x = x.permute(0, 2, 3, 1).numpy()
    x = x[..., 0] if squeeze else x
    if frames.dtype == np.uint8:
        return np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if frames.dtype == bool:
        return x > 0.0  # any unseen pixel in the footprint keeps the resized pixel unseen
    return x.astype(frames.dtype)


def dilate(mask: np.ndarray, radius_px: float) -> np.ndarray:
    """[..., H, W] bool grown by a disk of `radius_px` (exact Euclidean distance)."""
    if radius_px <= 0:
        return mask.copy()
    out = np.empty_like(mask)
    for idx in np.ndindex(mask.shape[:-2]):
        m = mask[idx]
        out[idx] = distance_transform_edt(~m) <= radius_px if m.any() else m
    return out


def frame_name(i: int) -> str:
    return f"{i:05d}"
