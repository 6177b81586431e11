"""The photometric loss of 3DGS, (1 - l) L1 + l (1 - SSIM), over the pixels a mask keeps."""

from __future__ import annotations

import kornia
import torch
from torch import Tensor

SSIM_WINDOW = 11  # the 3DGS window size


def photometric_loss(
    render: Tensor,  # [H, W, 3]
    target: Tensor,  # [H, W, 3]
    valid: Tensor | None,  # [H, W] bool, False = ignore; None = every pixel counts
    ssim_lambda: float,
) -> tuple[Tensor, Tensor]:
    """(loss, mse): both averaged over the valid pixels only.

    Ignored pixels of the target are replaced by the (detached) render, so they add
    no error and do not leak into the SSIM windows of the pixels beside them.
    """
    if valid is not None:
        target = torch.where(valid[..., None], target, render.detach())
    weight = torch.ones_like(render[..., 0]) if valid is None else valid.to(render.dtype)
    count = weight.sum().clamp_min(1.0)
    l1 = ((render - target).abs().mean(-1) * weight).sum() / count
    mse = (((render - target) ** 2).mean(-1) * weight).sum() / count
    if ssim_lambda == 0.0:
        return l1, mse.detach()
    ssim_map = kornia.metrics.ssim(_bchw(render), _bchw(target), SSIM_WINDOW)  # [1, 3, H, W]
    d_ssim = ((1.0 - ssim_map[0].mean(0)) * weight).sum() / count
    return (1.0 - ssim_lambda) * l1 + ssim_lambda * d_ssim, mse.detach()


def psnr(mse: Tensor | float) -> float:
    mse = float(mse)
    return float("inf") if mse <= 0 else -10.0 * torch.log10(torch.tensor(mse)).item()


def _bchw(image: Tensor) -> Tensor:
    return image.permute(2, 0, 1)[None]
