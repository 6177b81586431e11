"""The per-frame colour correction learns a known affine flicker through the training loss."""

from __future__ import annotations

import numpy as np
import torch

from splatcine.train.color import ColorCorrection
from splatcine.train.loss import photometric_loss
from tests.train.synthetic import ground_truth_gaussians, orbit_cameras, render_rgb


def test_recovers_a_known_per_frame_affine_flicker():
    rng = np.random.default_rng(1)
    cameras = orbit_cameras(3, 96, 54)
    renders = [torch.from_numpy(render_rgb(ground_truth_gaussians(), c)) for c in cameras]
    flicker = np.tile(np.eye(3, 4), (3, 1, 1))
    flicker[:, :, :3] += np.diag(rng.uniform(-0.15, 0.15, 3))[None] + rng.uniform(-0.04, 0.04, (3, 3, 3))
    flicker[:, :, 3] = rng.uniform(-0.05, 0.05, (3, 3))
    flicker = torch.tensor(flicker, dtype=torch.float32)
    targets = [r @ f[:, :3].T + f[:, 3] for r, f in zip(renders, flicker)]
    color = ColorCorrection(3)
    opt = torch.optim.Adam(color.parameters(), lr=5e-3)
    for step in range(400):
        i = step % 3
        loss, _ = photometric_loss(color(renders[i], i), targets[i], None, 0.2)
        (loss + 1e-4 * color.regularization()).backward()
        opt.step()
        opt.zero_grad()
    error = (color.affine.detach() - flicker).abs()
    # The images pin the affine down well: the residual is Adam's jitter and the weak pull to identity.
    assert error.max() < 0.03, error.max()
    assert (flicker - torch.eye(3, 4)).abs().max() > 0.1  # and there was flicker to recover


def test_regularization_pulls_toward_identity():
    color = ColorCorrection(2)
    assert color.regularization() == 0
    with torch.no_grad():
        color.affine[1, 0, 3] = 0.5
    rgb = torch.rand(4, 5, 3)
    assert torch.equal(color(rgb, 0), rgb @ torch.eye(3).T)  # frame 0 untouched
    assert color.regularization() > 0


def test_native_affine_matches_the_matrix_product():
    """The C++ colour correction (values and both gradients) against `rgb @ A.T + b` in float64."""
    from splatcine.raster import _native

    g = torch.Generator().manual_seed(2)
    rgb = torch.rand(37, 3001, 3, generator=g, requires_grad=True)  # blocks of 1024 pixels and a tail
    affine = (torch.eye(3, 4) + 0.1 * torch.randn(3, 4, generator=g)).requires_grad_(True)
    out = _native.color_affine(rgb, affine)
    assert out is not None  # float32 on the CPU: the kernel applies
    rgb64, affine64 = rgb.detach().double().requires_grad_(True), affine.detach().double().requires_grad_(True)
    ref = rgb64 @ affine64[:, :3].T + affine64[:, 3]
    torch.testing.assert_close(out.double(), ref, rtol=0, atol=1e-6)  # float32 rounding of 4 terms in [0, 1.5]
    v_out = torch.randn(37, 3001, 3, generator=g)
    v_rgb, v_affine = torch.autograd.grad(out, (rgb, affine), v_out)
    v_rgb_ref, v_affine_ref = torch.autograd.grad(ref, (rgb64, affine64), v_out.double())
    torch.testing.assert_close(v_rgb.double(), v_rgb_ref, rtol=0, atol=1e-5)  # float32 rounding of 3 terms
    # 111k products summed: float32 within blocks of 1024, then double; relative 1e-5
    torch.testing.assert_close(v_affine.double(), v_affine_ref, rtol=1e-5, atol=1e-5 * float(v_affine_ref.abs().max()))
