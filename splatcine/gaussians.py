"""The Gaussian scene as tensors, stored the way the reference 3DGS implementation stores it.

Parameters are kept unconstrained (log-scales, opacity logits, unnormalised
quaternions) so the optimiser can move them freely; the activated values the
rasterizer takes are properties. The same layout is what the standard 3DGS PLY
holds (`splatcine.io.ply`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
from torch import Tensor

SH_C0 = 0.28209479177387814  # Y_0^0: colour = SH_C0 * f_dc + 0.5


@dataclass
class Gaussians:
    means: Tensor  # [N, 3] world positions
    quats: Tensor  # [N, 4] rotation as (w, x, y, z), not necessarily unit length
    log_scales: Tensor  # [N, 3] log of the standard deviations along the local axes
    opacity_logits: Tensor  # [N] logit of the peak opacity
    sh: Tensor  # [N, K, 3] SH coefficients, K = (degree + 1)^2; sh[:, 0] is the DC term

    def __len__(self) -> int:
        return self.means.shape[0]

    @property
    def scales(self) -> Tensor:  # [N, 3]
        return torch.exp(self.log_scales)

    @property
    def opacities(self) -> Tensor:  # [N]
        return torch.sigmoid(self.opacity_logits)

    @property
    def sh_degree(self) -> int:
        return int(math.isqrt(self.sh.shape[1])) - 1

    @property
    def rgb(self) -> Tensor:  # [N, 3] view-independent colour (the DC term)
        return (SH_C0 * self.sh[:, 0] + 0.5).clamp(0.0, 1.0)

    def tensors(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def to(self, device: torch.device | str) -> "Gaussians":
        return Gaussians(**{k: v.to(device) for k, v in self.tensors().items()})

    def detach(self) -> "Gaussians":
        return Gaussians(**{k: v.detach() for k, v in self.tensors().items()})

    def __getitem__(self, index: Tensor | slice) -> "Gaussians":
        return Gaussians(**{k: v[index] for k, v in self.tensors().items()})


def rgb_to_sh_dc(rgb: Tensor) -> Tensor:
    """[..., 3] colours in [0, 1] -> DC SH coefficients."""
    return (rgb - 0.5) / SH_C0
