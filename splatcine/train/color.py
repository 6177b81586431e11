"""A learned per-frame affine colour correction, for the exposure and colour flicker of generated video.

Each training frame gets a 3x3 matrix and a bias applied to the render before the
loss, so frame-to-frame flicker is explained by the frame rather than baked into
the Gaussians as view-dependent colour or floaters. A penalty pulls every frame
toward identity, which also fixes the gauge (a global colour change belongs to the
Gaussians). Renders of new views never use it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class ColorCorrection(nn.Module):
    def __init__(self, n_frames: int):
        super().__init__()
        self.affine = nn.Parameter(torch.eye(3, 4).repeat(n_frames, 1, 1))  # [F, 3, 4]: [A | b]
        self.register_buffer("identity", torch.eye(3, 4), persistent=False)

    def forward(self, rgb: Tensor, frame: int) -> Tensor:  # [H, W, 3] -> [H, W, 3]
        from splatcine.raster import _native

        affine = self.affine[frame]
        native = _native.color_affine(rgb, affine)  # one C++ pass each way on the CPU
        return rgb @ affine[:, :3].T + affine[:, 3] if native is None else native

    def regularization(self) -> Tensor:
        """Mean squared distance of every frame's [A | b] from [I | 0] (one autograd node, not three)."""
        return F.mse_loss(self.affine, self.identity.expand_as(self.affine))
