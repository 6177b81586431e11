"""Adaptive density control, the densification of the original 3DGS paper (Kerbl et al. 2023).

Every `refine_every` steps between `refine_start` and `refine_stop`, Gaussians whose
mean screen-space gradient is large are cloned (when small) or split in two (when
large); transparent ones, and after the first opacity reset oversized ones, are
pruned. Every `reset_every` steps all opacities are lowered so that the optimiser
has to prove which Gaussians are needed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatcine.train.config import ADCConfig
from splatcine.train.strategy import ops
from splatcine.train.strategy.base import StepInfo, Strategy
from splatcine.train.strategy.ops import Optimizers, Params


class ADCStrategy(Strategy):
    def __init__(self, config: ADCConfig, scene_extent: float):
        super().__init__(scene_extent)
        self.config = config
        self.grad2d = torch.zeros(0)  # [N] sum of screen-space gradient norms (NDC units)
        self.count = torch.zeros(0)  # [N] steps in which each Gaussian was visible

    def post_backward(self, params: Params, optimizers: Optimizers, info: StepInfo) -> dict[str, int]:
        cfg, step = self.config, info.step
        if step >= cfg.refine_stop:
            return {}
        self._accumulate(info, len(params["means"]))
        done: dict[str, int] = {}
        if step > cfg.refine_start and step % cfg.refine_every == 0:
            done = self.refine(params, optimizers, step, info.rng)
        if step > 0 and step % cfg.reset_every == 0:
            ops.reset_opacity(params, optimizers, 2.0 * cfg.prune_opacity)
        return done

    def _accumulate(self, info: StepInfo, n: int) -> None:
        if self.grad2d.shape[0] != n:
            self.grad2d = torch.zeros(n, device=info.radii.device)
            self.count = torch.zeros(n, device=info.radii.device)
        # The original thresholds are in NDC units: d/d(ndc) = d/d(pixel) * (size / 2).
        grad = info.means2d_grad * torch.tensor([info.width / 2.0, info.height / 2.0],
                                                device=info.means2d_grad.device)
        visible = info.radii > 0
        self.grad2d[visible] += grad[visible].norm(dim=-1)
        self.count[visible] += 1

    def refine(self, params: Params, optimizers: Optimizers, step: int, rng: torch.Generator) -> dict[str, int]:
        """Clone, split and prune once, from the gradients accumulated since the last time."""
        cfg = self.config
        n = len(params["means"])
        avg = self.grad2d / self.count.clamp_min(1)
        high = avg > cfg.grow_grad2d
        room = max(0, cfg.max_gaussians - n)
        if int(high.sum()) > room:  # the guard: grow only the `room` steepest
            high = torch.zeros_like(high)
            high[avg.topk(room).indices] = True
        small = torch.exp(params["log_scales"].data).amax(-1) <= cfg.grow_scale3d * self.scene_extent
        clone, split = high & small, high & ~small
        ops.duplicate(params, optimizers, clone)
        ops.split(params, optimizers, torch.cat([split, torch.zeros(int(clone.sum()), dtype=torch.bool,
                                                                    device=split.device)]), rng)
        prune = torch.sigmoid(params["opacity_logits"].data) < cfg.prune_opacity
        if step > cfg.reset_every:
            prune |= torch.exp(params["log_scales"].data).amax(-1) > cfg.prune_scale3d * self.scene_extent
        ops.remove(params, optimizers, prune)
        self.grad2d = torch.zeros(len(params["means"]), device=self.grad2d.device)
        self.count = torch.zeros_like(self.grad2d)
        return {"cloned": int(clone.sum()), "split": int(split.sum()), "pruned": int(prune.sum())}

    def state_dict(self) -> dict[str, Tensor]:
        return {"grad2d": self.grad2d, "count": self.count}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.grad2d, self.count = state["grad2d"], state["count"]
