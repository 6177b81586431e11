"""3D Gaussian splatting as Markov chain Monte Carlo (Kheradmand et al. 2024).

No cloning by gradient: Gaussians that became transparent are relocated onto live
ones (drawn by opacity, sharing its opacity so the picture does not change), the set
grows by a fixed fraction up to a hard budget, and positions receive noise scaled
by each Gaussian's covariance (mostly for the transparent ones) so they explore.
Opacity and scale penalties keep Gaussians from hoarding the budget.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatcine.train.config import MCMCConfig
from splatcine.train.strategy import ops
from splatcine.train.strategy.base import StepInfo, Strategy
from splatcine.train.strategy.ops import Optimizers, Params


class MCMCStrategy(Strategy):
    def __init__(self, config: MCMCConfig, scene_extent: float):
        super().__init__(scene_extent)
        self.config = config

    def regularization(self, params: Params) -> Tensor:
        cfg = self.config
        return (cfg.opacity_reg * torch.sigmoid(params["opacity_logits"]).mean()
                + cfg.scale_reg * torch.exp(params["log_scales"]).mean())

    def post_backward(self, params: Params, optimizers: Optimizers, info: StepInfo) -> dict[str, int]:
        cfg, step = self.config, info.step
        done: dict[str, int] = {}
        if cfg.refine_start < step < cfg.refine_stop and step % cfg.refine_every == 0:
            dead = torch.sigmoid(params["opacity_logits"].data) <= cfg.min_opacity
            done["relocated"] = ops.relocate(params, optimizers, dead, info.rng, cfg.min_opacity)
            n = len(params["means"])
            n_new = max(0, min(cfg.cap_max, max(n + 1, int((1.0 + cfg.grow_rate) * n))) - n)
            done["added"] = ops.sample_add(params, optimizers, n_new, info.rng, cfg.min_opacity)
        ops.inject_noise(params, cfg.noise_lr * info.means_lr, info.rng)
        return done
