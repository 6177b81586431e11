"""A learned per-frame affine colour correction, for the exposure and colour flicker of generated video.

Each training frame gets a 3x3 matrix and a bias applied to the render before the
loss, so frame-to-frame flicker is explained by the frame rather than baked into
the Gaussians as view-dependent colour or floaters. A penalty pulls every frame
toward identity, which also fixes the gauge (a global colour change belongs to the
Gaussians). Renders of new views never use it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class ColorCorrection(nn.Module):
    def __init__(self, n_frames: int):
        super().__init__()
        self.affine = nn.Parameter(torch.eye(3, 4).repeat(n_frames, 1, 1))  # [F, 3, 4]: [A | b]

    def forward(self, rgb: Tensor, frame: int) -> Tensor:  # [H, W, 3] -> [H, W, 3]
        affine = self.affine[frame]
        return rgb @ affine[:, :3].T + affine[:, 3]

    def regularization(self) -> Tensor:
        """Mean squared distance of every frame's [A | b] from [I | 0]."""
        identity = torch.eye(3, 4, device=self.affine.device)
        return ((self.affine - identity) ** 2).mean()
