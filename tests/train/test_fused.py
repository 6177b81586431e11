"""The CPU trainer's hand-written loss and gradients against the loss composed from the public pieces.

`TrainState` takes one of two paths to a step's loss: `_composed_loss` (rasterize, colour
correction, photometric loss, each its own autograd node) and `_fused_loss` (the same kernels
called in turn, forward and backward, by `splatcine.train.fused`). Here both run on the same
parameters and must agree in the loss, the gradient of every parameter and the screen-space
gradient densification reads.
"""

from __future__ import annotations

import pytest
import torch

from splatcine.gaussians import Gaussians
from splatcine.train import resolve_config
from splatcine.train.config import MCMCConfig
from splatcine.train.data import View
from splatcine.train.strategy import Strategy, make_strategy
from splatcine.train.trainer import TrainState
from tests.train.synthetic import ground_truth_gaussians, orbit_cameras, render_rgb

W, H = 64, 40


def _views(mask: bool) -> list[View]:
    truth = ground_truth_gaussians()
    views = []
    for i, cam in enumerate(orbit_cameras(3, W, H)):
        valid = None
        if mask:  # a block the mask leaves out, as a moving object's would
            valid = torch.ones(H, W, dtype=torch.bool)
            valid[8:20, 10 + 12 * i: 30 + 12 * i] = False
        views.append(View(i, f"f{i}", i, torch.from_numpy(render_rgb(truth, cam)).float(), valid,
                          torch.tensor(cam.cam_from_world, dtype=torch.float32),
                          torch.tensor(cam.intrinsics.K, dtype=torch.float32), W, H))  # fmt: skip
    return views


def _state(degree: int, antialiased: bool, color_correction: bool, seed: int = 0) -> TrainState:
    """A state whose parameters are the known set, disturbed (so every gradient is non-zero)."""
    g = torch.Generator().manual_seed(seed)
    truth = ground_truth_gaussians()
    n = len(truth)
    sh = torch.cat([truth.sh, 0.1 * torch.randn(n, 15, 3, generator=g)], dim=1)
    start = Gaussians(truth.means + 0.02 * torch.randn(n, 3, generator=g), truth.quats + 0.1 * torch.randn(n, 4, generator=g),
                      truth.log_scales + 0.2 * torch.randn(n, 3, generator=g), 2.0 * torch.randn(n, generator=g), sh)  # fmt: skip
    config = resolve_config("preview", sh_degree=3, sh_degree_interval=1, antialiased=antialiased,
                            color_correction=color_correction, iterations=100)  # fmt: skip
    state = TrainState(config, start, 3, extent=2.0)
    state.strategy = Strategy(2.0)
    with torch.no_grad():  # a colour correction away from identity, so its gradients are not trivial
        state.color.affine.add_(0.05 * torch.randn(state.color.affine.shape, generator=g))
    return state


def _gradients(state: TrainState, loss_fn, view: View, degree: int, background) -> tuple:
    for p in [*state.params.values(), state.color.affine]:
        p.grad = None
    loss, mse, radii, backward = loss_fn(view, degree, background, validate=True)
    screen = backward()
    grads = {k: None if p.grad is None else p.grad.clone() for k, p in state.params.items()}
    grads["affine"] = state.color.affine.grad.clone() if state.color.affine.grad is not None else None
    return float(loss.detach()), float(mse), radii, screen.clone(), grads


@pytest.mark.parametrize("degree,antialiased,color_correction,background,mask",
                         [(0, False, True, True, False), (1, True, True, False, True), (3, False, False, True, True),
                          (2, True, True, True, True), (0, False, False, False, False)])  # fmt: skip
def test_fused_loss_equals_the_composed_loss_in_value_and_every_gradient(degree, antialiased, color_correction,
                                                                         background, mask):  # fmt: skip
    state = _state(degree, antialiased, color_correction)
    views = _views(mask)
    bg = torch.tensor([0.2, 0.5, 0.8]) if background else None
    for view in views[:2]:
        composed = _gradients(state, state._composed_loss, view, degree, bg)
        fused = _gradients(state, state._fused_loss, view, degree, bg)
        # The fused path takes exp from a vectorised polynomial (~5e-7 relative, ops.cpp exp_)
        # where torch.exp is correct to an ulp: the losses agree to float32 rounding, and the
        # gradients to 1e-4 of each one's largest entry (the rest is the same kernels' arithmetic).
        assert fused[0] == pytest.approx(composed[0], rel=1e-5)
        assert fused[1] == pytest.approx(composed[1], rel=1e-5)
        assert torch.equal(fused[2], composed[2])  # the same Gaussians culled
        for name, a, b in [("screen", fused[3], composed[3]),
                           *((k, fused[4][k], composed[4][k]) for k in composed[4])]:  # fmt: skip
            assert (a is None) == (b is None), name
            if a is None or b.numel() == 0:
                continue
            scale = float(b.abs().max())
            assert scale > 0 or name in ("shN", "origin"), f"{name}: no gradient to compare"
            torch.testing.assert_close(a, b, rtol=0, atol=1e-4 * scale + 1e-12, msg=name)


@pytest.mark.parametrize("strategy", ["none", "mcmc"])
def test_a_trainer_step_is_the_same_fused_or_composed(strategy):
    """Ten steps each way from the same start end at the same parameters; with MCMC its
    regularisation joins the hand-written gradients (and its noise the positions)."""
    views = _views(mask=True)
    fused_state, composed_state = _state(1, False, True), _state(1, False, True)
    if strategy == "mcmc":
        for state in (fused_state, composed_state):
            state.strategy = make_strategy(MCMCConfig(), 2.0)
    composed_state._fuses = lambda view: False
    assert fused_state._fuses(views[0])
    for step in range(10):
        a, b = fused_state.step(views[step % 3]), composed_state.step(views[step % 3])
        assert a.loss == pytest.approx(b.loss, rel=1e-4)
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN"):
        # ten Adam steps of size ~lr from gradients equal to 1e-4 (test above): the same to 1e-5
        torch.testing.assert_close(fused_state.params[name], composed_state.params[name], rtol=0, atol=1e-5)
    torch.testing.assert_close(fused_state.color.affine, composed_state.color.affine, rtol=0, atol=1e-5)


def test_the_fused_path_is_taken_only_where_its_kernels_apply():
    views = _views(mask=False)
    assert _state(0, False, True)._fuses(views[0])
    for backend in ("reference", "gsplat"):
        state = _state(0, False, True)
        state.config = state.config.model_copy(update={"backend": backend})
        assert not state._fuses(views[0]), backend
    state = _state(0, False, True)
    small = View(0, "s", 0, torch.zeros(5, 8, 3), None, views[0].cam_from_world, views[0].K, 8, 5)
    assert not state._fuses(small)  # smaller than the SSIM window: the C++ loss does not take it
    state = _state(0, False, True)
    state.params = {k: torch.nn.Parameter(v.detach().double(), requires_grad=v.requires_grad)
                    for k, v in state.params.items()}  # fmt: skip
    assert not state._fuses(views[0])  # float64: the kernels are float32
