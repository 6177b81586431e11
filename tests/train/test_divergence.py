"""A training run that goes non-finite stops with one line naming the step, not a renderer error."""

from __future__ import annotations

import math

import pytest
import torch

from splatcine.errors import InputError, ReconstructionError
from splatcine.gaussians import Gaussians
from splatcine.train import TrainConfig
from splatcine.train.data import View
from splatcine.train.trainer import INPUT_CHECK_EVERY, TrainState


def _state_and_view(n: int = 64) -> tuple[TrainState, View]:
    gen = torch.Generator().manual_seed(0)
    means = torch.rand(n, 3, generator=gen) - 0.5 + torch.tensor([0.0, 0.0, 4.0])  # in front of the camera
    gaussians = Gaussians(means, torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), torch.full((n, 3), -2.5),
                          torch.zeros(n), torch.rand(n, 1, 3, generator=gen))  # fmt: skip
    K = torch.tensor([[40.0, 0, 24], [0, 40.0, 16], [0, 0, 1]])
    view = View(0, "f0", 0, torch.rand(32, 48, 3, generator=gen), None, torch.eye(4), K, 48, 32)
    return TrainState(TrainConfig(sh_degree=0, random_background=False), gaussians, 1, 1.0), view


def test_a_non_finite_loss_stops_before_the_step_with_the_step_number():
    state, view = _state_and_view()
    assert math.isfinite(state.step(view).loss)
    state.params["sh0"].data[:] = float("nan")  # colours: the render and the loss go NaN
    before = {k: v.detach().clone() for k, v in state.params.items()}
    with pytest.raises(ReconstructionError, match="diverged at step 1: the loss is nan"):
        state.step(view)
    for k, v in state.params.items():  # the failing step moved nothing
        assert torch.equal(torch.nan_to_num(v.detach()), torch.nan_to_num(before[k])), k


def test_a_non_finite_parameter_the_loss_never_sees_is_caught_at_the_next_input_check():
    state, view = _state_and_view()
    state.step(view)
    state.params["means"].data[1] = torch.tensor([float("inf"), 0.0, -10.0])  # behind the camera: culled
    with pytest.raises(ReconstructionError, match=rf"diverged by step {INPUT_CHECK_EVERY}: rasterize: means has 1 non-finite"):
        for _ in range(INPUT_CHECK_EVERY):
            state.step(view)
    assert state.step_index == INPUT_CHECK_EVERY  # the steps between checks ran


def test_a_bad_setting_at_the_first_step_is_not_called_divergence():
    state, view = _state_and_view()
    state.config = state.config.model_copy(update={"backend": "cuda"})  # CPU tensors: a settings error
    with pytest.raises(InputError, match="rasterize: backend 'cuda' needs tensors on a CUDA device"):
        state.step(view)
