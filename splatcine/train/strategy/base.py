"""The hooks a densification strategy plugs into the training loop (after gsplat's `strategy/base.py`).

The loop calls `regularization` when forming the loss and `post_backward` after
the gradients exist and before the optimisers step; a strategy may then add,
remove or move Gaussians through `splatcine.train.strategy.ops`, which keeps the
Adam moments in step. Whatever a strategy accumulates goes through
`state_dict` / `load_state_dict` so a resumed run continues exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from splatcine.train.strategy.ops import Optimizers, Params


@dataclass
class StepInfo:
    """What a strategy may look at after one training step's backward pass."""

    step: int  # 0-based index of the iteration
    means2d_grad: Tensor  # [N, 2] screen-space gradient of the loss, pixels
    radii: Tensor  # [N] projected radii, 0 = culled
    width: int
    height: int
    means_lr: float  # the position learning rate this step
    rng: torch.Generator  # the run's generator: strategies draw from it so runs repeat


class Strategy:
    """Base class: a strategy that never changes the Gaussian set."""

    def __init__(self, scene_extent: float):
        self.scene_extent = scene_extent

    def regularization(self, params: Params) -> Tensor | None:
        """Extra loss terms the strategy asks for; None: none (the default)."""
        return None

    def post_backward(self, params: Params, optimizers: Optimizers, info: StepInfo) -> dict[str, int]:
        """Adjust the Gaussian set; returns counts of what was done (for progress reports)."""
        return {}

    def state_dict(self) -> dict[str, Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        pass
