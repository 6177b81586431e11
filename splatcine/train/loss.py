"""The photometric loss of 3DGS, (1 - l) L1 + l (1 - SSIM), over the pixels a mask keeps."""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F
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
    no error and do not leak into the SSIM windows of the pixels beside them. On the
    CPU in float32 one C++ call computes it all, forward and backward
    (`splatcine.raster._native.photometric_loss`: the ~20 image-sized torch ops below cost
    more than the SSIM itself on a small step); `photometric_loss_torch` elsewhere.
    """
    from splatcine.raster import _native

    if valid is not None:
        target = torch.where(valid[..., None], target, render.detach())
    weight = None if valid is None else valid.to(render.dtype)
    native = _native.photometric_loss(render, target, weight, ssim_lambda)
    return photometric_loss_torch(render, target, weight, ssim_lambda) if native is None else native


def photometric_loss_torch(
    render: Tensor,  # [H, W, 3]
    target: Tensor,  # [H, W, 3], ignored pixels already replaced by the render
    weight: Tensor | None,  # [H, W] float, 0 = ignore; None = every pixel counts
    ssim_lambda: float,
) -> tuple[Tensor, Tensor]:
    """`photometric_loss` in PyTorch ops (autograd differentiates it): the reference of the C++ one."""
    weight = torch.ones_like(render[..., 0]) if weight is None else weight
    count = weight.sum().clamp_min(1.0)
    l1 = ((render - target).abs().mean(-1) * weight).sum() / count
    mse = (((render - target) ** 2).mean(-1) * weight).sum() / count
    if ssim_lambda == 0.0:
        return l1, mse.detach()
    d_ssim = ((1.0 - ssim_map(render, target).mean(-1)) * weight).sum() / count
    return (1.0 - ssim_lambda) * l1 + ssim_lambda * d_ssim, mse.detach()


def ssim_map(a: Tensor, b: Tensor) -> Tensor:  # [H, W, C], [H, W, C] -> [H, W, C]
    """Per-pixel SSIM exactly as `kornia.metrics.ssim` computes it (11-pixel Gaussian window,
    sigma 1.5, reflected borders). On the CPU in float32 a C++ kernel does it, forward and
    backward in one pass each (splatcine.raster._native.ssim_map; oneDNN's depthwise
    convolution backward made SSIM half of a small training step); elsewhere `ssim_map_torch`.
    Both are checked against kornia in the tests; the held-out metrics use kornia itself."""
    from splatcine.raster import _native

    native = _native.ssim_map(a, b)
    return ssim_map_torch(a, b) if native is None else native


def ssim_map_torch(a: Tensor, b: Tensor) -> Tensor:  # [H, W, C], [H, W, C] -> [H, W, C]
    """`ssim_map` in PyTorch ops: the window applied as two 1D passes over all five moments in
    one call, about a third faster forward and backward than kornia's differentiable path."""
    channels = a.shape[-1]
    kernel = kornia.filters.get_gaussian_kernel1d(SSIM_WINDOW, 1.5, device=a.device, dtype=a.dtype)
    moments = torch.cat([a, b, a * a, b * b, a * b], dim=-1).permute(2, 0, 1)[None]  # [1, 5C, H, W]
    moments = moments.contiguous(memory_format=torch.channels_last)  # oneDNN's fast depthwise layout
    r, groups = SSIM_WINDOW // 2, 5 * channels
    # One reflected pad on both axes: reflecting rows commutes with the horizontal pass, so
    # this equals padding before each pass, at one pad (and one pad backward) fewer.
    blurred = F.conv2d(F.pad(moments, [r, r, r, r], mode="reflect"),
                       kernel.view(1, 1, 1, -1).expand(groups, 1, 1, -1), groups=groups)
    blurred = F.conv2d(blurred, kernel.view(1, 1, -1, 1).expand(groups, 1, -1, 1), groups=groups)
    mu_a, mu_b, aa, bb, ab = blurred[0].permute(1, 2, 0).split(channels, dim=-1)
    c1, c2 = 0.01**2, 0.03**2  # kornia's constants for max_val = 1
    num = (2 * mu_a * mu_b + c1) * (2 * (ab - mu_a * mu_b) + c2)
    den = (mu_a**2 + mu_b**2 + c1) * ((aa - mu_a**2) + (bb - mu_b**2) + c2)
    return num / (den + 1e-12)


def psnr(mse: Tensor | float) -> float:
    mse = float(mse)
    return float("inf") if mse <= 0 else -10.0 * math.log10(mse)


class RobustWeights:
    """Residual-based down-weighting of transients: pixels that stay badly fit while the set converges.

    In the spirit of RobustNeRF (Sabour et al. 2023) and SpotLessSplats (Sabour et al. 2024),
    written for this trainer. Each step, a pixel is an outlier candidate when its residual
    (mean absolute colour error, smoothed over 3x3 pixels) exceeds both `floor` and the
    image's median + `k_mad` x 1.4826 MAD; candidates count only in clusters (a 7x7 majority),
    so texture that is merely slow to fit, scattered, stays in. Each view keeps an exponential
    average of its outlier map over its visits, at 1/`cell` resolution; once training is past
    `start`, pixels whose average is above one half are ignored by the loss (they were outliers
    on most recent visits, not once). The maps are the view's residual mask, written out
    after training.
    """

    cell = 4  # the persistent maps are kept at this fraction of the training resolution
    k_mad = 3.0  # robust z-score of an outlier residual
    cluster = 7  # window of the majority vote that keeps only clustered outliers
    decay = 0.7  # weight of the old map at each visit (a pixel flips after 2-3 visits)

    def __init__(self, start: int, floor: float):
        self.start, self.floor = start, floor
        self.maps: dict[int, Tensor] = {}  # view index -> [ceil(H / cell), ceil(W / cell)] in [0, 1]

    def valid(self, index: int, render: Tensor, target: Tensor, valid: Tensor | None, step: int) -> Tensor | None:
        """Update view `index`'s map from this step's residual; the pixels [H, W] the loss keeps."""
        h, w = target.shape[:2]
        if index not in self.maps:
            self.maps[index] = torch.zeros(-(-h // self.cell), -(-w // self.cell), device=target.device)
        outlier = self.outliers(render.detach(), target, valid)
        small = F.adaptive_avg_pool2d(outlier[None, None].float(), self.maps[index].shape)[0, 0]
        self.maps[index].mul_(self.decay).add_((1 - self.decay) * small)
        if step < self.start:
            return valid
        ignore = self.mask(index, h, w)
        return ~ignore if valid is None else valid & ~ignore

    def outliers(self, render: Tensor, target: Tensor, valid: Tensor | None) -> Tensor:  # [H, W] bool
        residual = (render - target).abs().mean(-1)
        residual = F.avg_pool2d(residual[None, None], 3, stride=1, padding=1, count_include_pad=False)[0, 0]
        judged = residual if valid is None else residual[valid]
        if judged.numel() == 0:
            return torch.zeros_like(residual, dtype=torch.bool)
        median = judged.median()
        mad = (judged - median).abs().median()
        candidate = (residual > torch.clamp(median + self.k_mad * 1.4826 * mad, min=self.floor)).float()
        r = self.cluster // 2
        clustered = F.avg_pool2d(candidate[None, None], self.cluster, stride=1, padding=r,
                                 count_include_pad=False)[0, 0] > 0.5
        return clustered if valid is None else clustered & valid

    def mask(self, index: int, height: int, width: int) -> Tensor:  # [H, W] bool, True = ignored
        if index not in self.maps:
            return torch.zeros(height, width, dtype=torch.bool)
        up = F.interpolate(self.maps[index][None, None], size=(height, width), mode="bilinear",
                           align_corners=False)[0, 0]
        return up > 0.5
