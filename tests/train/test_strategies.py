"""Densification strategies on constructed cases: which Gaussians are cloned, split, pruned, relocated."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import Parameter

from splatcine.train.config import ADCConfig, MCMCConfig
from splatcine.train.strategy import ADCStrategy, MCMCStrategy, StepInfo
from splatcine.train.strategy import ops


def make_params(means, log_scale, opacity):
    n = len(means)
    tensors = {
        "means": torch.tensor(means, dtype=torch.float32),
        "quats": torch.tensor([[1.0, 0.0, 0.0, 0.0]]).repeat(n, 1),
        "log_scales": torch.tensor(log_scale, dtype=torch.float32)[:, None].repeat(1, 3),
        "opacity_logits": torch.logit(torch.tensor(opacity, dtype=torch.float32)),
        "sh0": torch.arange(n, dtype=torch.float32)[:, None, None].repeat(1, 1, 3),  # tags rows
        "shN": torch.zeros(n, 3, 3),
    }
    params = {k: Parameter(v.clone()) for k, v in tensors.items()}
    optimizers = {k: torch.optim.Adam([p], lr=1e-3) for k, p in params.items()}
    for name, opt in optimizers.items():  # one step so every moment exists (and differs by row)
        params[name].grad = torch.rand_like(params[name])
        opt.step()
        params[name].data.copy_(tensors[name])
    return params, optimizers


def info(step, grad2d, radii, rng):
    return StepInfo(step, grad2d, radii, width=200, height=100, means_lr=1e-4, rng=rng)


def assert_moments_match(params, optimizers):
    for name, p in params.items():
        state = optimizers[name].state[p]
        assert state["exp_avg"].shape == p.shape and state["exp_avg_sq"].shape == p.shape, name


def test_adc_clones_small_splits_large_prunes_transparent():
    # extent 1: grow_scale3d 0.01 separates "small" (0.001) from "large" (0.05).
    cfg = ADCConfig(refine_start=0, refine_every=10, reset_every=1000)
    params, optimizers = make_params(
        means=[[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0]],
        log_scale=[math.log(0.001), math.log(0.05), math.log(0.05), math.log(0.001)],
        opacity=[0.5, 0.5, 0.5, 0.001],
    )
    strategy = ADCStrategy(cfg, scene_extent=1.0)
    # Pixel gradients; times size/2 in NDC: 1e-5 * 100 = 1e-3 > 2e-4 (high), 1e-7 * 100 = 1e-5 (low).
    grad = torch.tensor([[1e-5, 0.0], [1e-5, 0.0], [1e-7, 0.0], [1e-7, 0.0]])
    radii = torch.tensor([3, 3, 3, 3], dtype=torch.int32)
    rng = torch.Generator().manual_seed(0)
    done = strategy.post_backward(params, optimizers, info(10, grad, radii, rng))
    assert done == {"cloned": 1, "split": 1, "pruned": 1}
    tags = sorted(params["sh0"][:, 0, 0].tolist())
    assert tags == [0.0, 0.0, 1.0, 1.0, 2.0]  # 0 cloned, 1 split in two, 2 kept, 3 pruned
    halves = params["sh0"][:, 0, 0] == 1.0
    assert torch.allclose(params["log_scales"][halves], torch.tensor(math.log(0.05 / 1.6)))
    assert not torch.equal(params["means"][halves][0], params["means"][halves][1])  # drawn apart
    assert_moments_match(params, optimizers)


def test_adc_ignores_gradients_of_culled_gaussians_and_resets_opacity():
    cfg = ADCConfig(refine_start=0, refine_every=10, reset_every=20, prune_opacity=0.005)
    params, optimizers = make_params([[0, 0, 0], [1, 0, 0]], [math.log(0.001)] * 2, [0.9, 0.9])
    strategy = ADCStrategy(cfg, scene_extent=1.0)
    rng = torch.Generator().manual_seed(0)
    grad = torch.tensor([[1e-5, 0.0], [1e-5, 0.0]])
    culled = torch.tensor([0, 3], dtype=torch.int32)  # the first is off screen: no growth
    assert strategy.post_backward(params, optimizers, info(10, grad, culled, rng))["cloned"] == 1
    visible = torch.full((3,), 3, dtype=torch.int32)
    strategy.post_backward(params, optimizers, info(20, torch.zeros(3, 2), visible, rng))
    assert torch.sigmoid(params["opacity_logits"]).max() <= 2 * cfg.prune_opacity + 1e-6


def test_mcmc_relocates_dead_and_keeps_the_budget():
    cfg = MCMCConfig(refine_start=0, refine_every=10, cap_max=12, min_opacity=0.005)
    n = 10
    opacity = [0.6] * 7 + [0.001] * 3  # three dead
    params, optimizers = make_params([[i, 0, 0] for i in range(n)], [math.log(0.01)] * n, opacity)
    strategy = MCMCStrategy(cfg, scene_extent=1.0)
    rng = torch.Generator().manual_seed(0)
    zero = torch.zeros(n, 2)
    done = strategy.post_backward(params, optimizers, info(10, zero, torch.ones(n), rng))
    assert done["relocated"] == 3
    assert len(params["means"]) == 10 + done["added"] <= cfg.cap_max
    for step in range(20, 200, 10):
        strategy.post_backward(params, optimizers, info(step, torch.zeros(len(params["means"]), 2),
                                                        torch.ones(len(params["means"])), rng))
        assert len(params["means"]) <= cfg.cap_max
    assert len(params["means"]) == cfg.cap_max
    assert (torch.sigmoid(params["opacity_logits"]) > cfg.min_opacity).all()
    assert_moments_match(params, optimizers)


@pytest.mark.parametrize("copies", [1, 2, 5])
def test_relocation_keeps_the_summed_peak_opacity(copies):
    """N+1 stacked copies with the new opacity o' composite to the original o at the centre:
    1 - (1 - o')^(N+1) = o (the opacity half of 3DGS-MCMC's eq. 9)."""
    params, optimizers = make_params([[0, 0, 0]], [math.log(0.1)], [0.7])
    ops._share(params, torch.zeros(copies, dtype=torch.long), min_opacity=0.005)
    new = torch.sigmoid(params["opacity_logits"][0])
    assert torch.isclose(1 - (1 - new) ** (copies + 1), torch.tensor(0.7), atol=1e-5)  # float32 logit
    assert params["log_scales"][0, 0] < math.log(0.1)  # and each copy is smaller


def test_reset_and_remove_keep_adam_moments_aligned():
    params, optimizers = make_params([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [-3.0] * 3, [0.5, 0.9, 0.2])
    before = optimizers["means"].state[params["means"]]["exp_avg"].clone()
    ops.remove(params, optimizers, torch.tensor([False, True, False]))
    assert torch.equal(optimizers["means"].state[params["means"]]["exp_avg"], before[[0, 2]])
    ops.reset_opacity(params, optimizers, 0.01)
    assert torch.sigmoid(params["opacity_logits"]).max() <= 0.01 + 1e-6
    assert not optimizers["opacity_logits"].state[params["opacity_logits"]]["exp_avg"].any()
