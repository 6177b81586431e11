"""The plain-PyTorch reference: known geometry, and float64 finite-difference gradients.

The reference is the oracle the kernels are held to, so it is checked on its own:
against closed-form images of a single Gaussian, and its autograd gradients against
central differences in float64 (scenes of 2 to 8 Gaussians, with the hard alpha
cut-offs switched off so the image is smooth in every parameter, after Brush's
finite_diff.rs).
"""

from __future__ import annotations

import functools
import math

import pytest
import torch
from raster_cases import random_case

from splatcine.raster import api, reference, rasterize

F64 = torch.float64


def _one_gaussian(z=4.0, s=0.05, opacity=0.7, width=33, height=25, f=100.0):
    args = dict(
        means=torch.tensor([[0.0, 0.0, z]], dtype=F64),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]], dtype=F64),
        scales=torch.full((1, 3), s, dtype=F64),
        opacities=torch.tensor([opacity], dtype=F64),
        colors=torch.tensor([[0.2, 0.6, 1.0]], dtype=F64),
        cam_from_world=torch.eye(4, dtype=F64),
        K=torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=F64),
        width=width,
        height=height,
    )
    return args


def test_single_gaussian_matches_closed_form():
    z, s, o, f = 4.0, 0.05, 0.7, 100.0
    args = _one_gaussian(z, s, o, f=f)
    out = rasterize(**args, backend="reference")
    var = (f * s / z) ** 2 + reference.EPS2D  # EWA on the axis: (f s / z)^2, plus the low-pass
    ys, xs = torch.meshgrid(torch.arange(25, dtype=F64) + 0.5, torch.arange(33, dtype=F64) + 0.5, indexing="ij")
    d2 = (xs - 16.5) ** 2 + (ys - 12.5) ** 2
    alpha = o * torch.exp(-0.5 * d2 / var)
    alpha = torch.where(alpha >= 1 / 255, alpha, torch.zeros_like(alpha))
    torch.testing.assert_close(out.alpha, alpha, rtol=1e-12, atol=1e-12)  # float64, same formula
    torch.testing.assert_close(out.rgb, alpha[..., None] * args["colors"][0], rtol=1e-12, atol=1e-12)
    assert torch.allclose(out.depth[alpha > 0], torch.tensor(z, dtype=F64))
    assert (out.depth[alpha == 0] == 0).all()
    radius = math.ceil(math.sqrt(2 * math.log(255 * o)) * math.sqrt(var + 0.1))  # 0.1 = sqrt(0.01) floor
    assert out.radii.tolist() == [radius]
    # the box holds every pixel the Gaussian reaches
    reached = torch.nonzero(alpha > 0)
    assert (reached[:, 1].to(F64) + 0.5 - 16.5).abs().max() <= radius


def test_compositing_order_and_background():
    """Two opaque-ish Gaussians on the axis: the nearer one covers the farther one."""
    args = _one_gaussian()
    args["means"] = torch.tensor([[0.0, 0.0, 6.0], [0.0, 0.0, 3.0]], dtype=F64)  # far first
    args["quats"] = args["quats"].repeat(2, 1)
    args["scales"] = torch.full((2, 3), 0.2, dtype=F64)
    args["opacities"] = torch.tensor([0.9, 0.9], dtype=F64)
    args["colors"] = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=F64)
    bg = torch.tensor([0.0, 0.0, 1.0], dtype=F64)
    out = rasterize(**args, background=bg, backend="reference")
    centre = out.rgb[12, 16]
    # front (green) alpha 0.9; back (red) gets T = 0.1; background T = 0.01
    torch.testing.assert_close(centre, torch.tensor([0.09, 0.9, 0.01], dtype=F64), rtol=1e-9, atol=1e-9)
    assert out.depth[12, 16].item() == pytest.approx((0.9 * 3 + 0.09 * 6) / 0.99)


def test_culling_near_plane_and_outside_image():
    args = _one_gaussian()
    args["means"] = torch.tensor([[0, 0, 4.0], [0, 0, -4.0], [0, 0, 0.005], [50.0, 0, 4.0]], dtype=F64)
    args["quats"] = args["quats"].repeat(4, 1)
    args["scales"] = torch.full((4, 3), 0.05, dtype=F64)
    args["opacities"] = torch.full((4,), 0.7, dtype=F64)
    args["colors"] = args["colors"].repeat(4, 1)
    out = rasterize(**args, backend="reference")
    assert out.radii[0] > 0 and out.radii[1:].tolist() == [0, 0, 0]


class _SmoothReferenceOps(api._ReferenceOps):
    blend = staticmethod(functools.partial(reference.composite, smooth=True))


@pytest.mark.parametrize("n, sh_degree, antialiased", [(2, None, False), (5, 3, True), (8, 1, False)])
def test_reference_gradients_match_finite_differences(n, sh_degree, antialiased):
    case = random_case(n, n=n, width=12, height=9, sh_degree=sh_degree, dtype=F64)
    case.opacities = case.opacities.clamp(max=0.8)  # keep alpha below its 0.99 clamp
    case.scales = case.scales * 4  # big enough to cover several of the few pixels
    if sh_degree is not None:
        case.colors = case.colors * 0.2  # colour stays above its clamp at 0
    gen = torch.Generator().manual_seed(n)
    v = torch.randn(case.height, case.width, 5, generator=gen, dtype=F64)

    def render(means, quats, scales, opacities, colors):
        return api.render_stages(_SmoothReferenceOps, means, quats, scales, opacities, colors,
                                 case.cam_from_world, case.K, case.width, case.height, sh_degree,
                                 None, 0.01, antialiased)  # fmt: skip

    # Depth is alpha-normalised: where alpha is nearly 0 it is a ratio of vanishing numbers
    # (and clamped below 1e-10), so only pixels with some coverage weigh in on it.
    covered = render(*case.params()).alpha > 1e-3
    v[..., 3] *= covered

    def loss(*params):
        out = render(*params)
        return (torch.cat([out.rgb, out.depth[..., None], out.alpha[..., None]], -1) * v).sum()

    params = [p.clone().requires_grad_(True) for p in case.params()]
    # float64 central differences: step 1e-6 leaves ~1e-10 truncation and rounding error
    assert torch.autograd.gradcheck(loss, params, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_sh_degree_zero_is_the_dc_colour():
    dirs = torch.randn(10, 3, dtype=F64)
    coeffs = torch.randn(10, 1, 3, dtype=F64)
    torch.testing.assert_close(reference.eval_sh(dirs, coeffs, 0), reference.SH_C0 * coeffs[:, 0])
