"""CUDA kernels against the CPU kernels and against gsplat, on the same inputs.

Skipped without a CUDA device; the GPU parity tests in test_parity.py (device=cuda)
hold the CUDA kernels to the reference as well.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F
from raster_cases import assert_close_but_for_cutoffs, dense_case, random_case, terminated_fraction

from splatcine.raster import rasterize

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    pytest.mark.usefixtures("native_built"),
]


def _outputs_and_grads(case, backend, device, antialiased=False):
    params = [p.detach().to(device).clone().requires_grad_(True) for p in case.params()]
    args = (*params, case.cam_from_world.to(device), case.K.to(device), case.width, case.height)
    out = rasterize(*args, sh_degree=case.sh_degree, antialiased=antialiased, backend=backend)
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(case.height, case.width, 5, generator=gen).to(device)
    loss = (out.rgb * v[..., :3]).sum() + (out.depth * v[..., 3]).sum() + (out.alpha * v[..., 4]).sum()
    loss.backward()
    return out, [p.grad.cpu() for p in params]


def _worst_pixel(case, name, err, gpu, cpu, antialiased) -> str:
    """Which backend is off: both at the worst pixel beside the float64 reference."""
    params = [p.detach().double() for p in case.params()]
    ref = rasterize(*params, case.cam_from_world.double(), case.K.double(), case.width, case.height,
                    sh_degree=case.sh_degree, antialiased=antialiased, backend="reference")  # fmt: skip
    at = tuple(int(i) for i in torch.nonzero(err == err.max())[0])
    values = [float(getattr(out, name).detach().cpu()[at]) for out in (gpu, cpu, ref)]
    return (f"{name}: mean {err.mean():.1e}, max {err.max():.1e} at {at}: cuda {values[0]:.6f}, "
            f"cpu {values[1]:.6f}, float64 reference {values[2]:.6f}")


def _case(kind, seed, sh_degree=None, max_opacity=0.99):
    if kind == "random":  # already 40-45% of pixels stop early at this density
        return random_case(seed, n=2000, width=160, height=96, sh_degree=sh_degree)
    case = dense_case(seed, n=3000, width=160, height=96, sh_degree=sh_degree, max_opacity=max_opacity)
    assert terminated_fraction(case) > 0.5  # the early-termination paths carry most pixels
    return case


@pytest.mark.parametrize("kind, seed, sh_degree, antialiased",
                         [("random", 0, None, False), ("random", 1, 3, True), ("dense", 20, None, False),
                          ("dense", 21, 3, True)])  # fmt: skip
def test_cuda_matches_cpu(kind, seed, sh_degree, antialiased):
    case = _case(kind, seed, sh_degree)
    cpu, cpu_grads = _outputs_and_grads(case, "cpu", "cpu", antialiased)
    gpu, gpu_grads = _outputs_and_grads(case, "cuda", "cuda", antialiased)
    assert torch.equal(gpu.radii.cpu(), cpu.radii)
    for name in ("rgb", "alpha"):
        # __expf against the CPU's polynomial exp, and float32 order: ~1e-6; a rare pixel may
        # stop one Gaussian apart at the 1e-4 transmittance cut-off, or keep one at the 1/255
        # alpha cut that the other drops (FMA contraction decides: raster_cases.ALPHA_CUT_JUMP)
        a, b = getattr(gpu, name).detach().cpu(), getattr(cpu, name).detach()
        try:
            assert_close_but_for_cutoffs(a, b, name)
        except AssertionError as err:
            where = _worst_pixel(case, name, (a - b).abs(), gpu, cpu, antialiased)
            raise AssertionError(f"{err}; {where}") from None
    for name, a, b in zip(("means", "quats", "scales", "opacities", "colors"), gpu_grads, cpu_grads):
        cos = F.cosine_similarity(a.flatten(), b.flatten(), dim=0)
        rel = (a - b).norm() / b.norm()
        assert cos >= 0.999, name  # same math, atomics change only the summation order
        assert rel < 1e-3, name  # float32 accumulation differences


@pytest.mark.skipif(importlib.util.find_spec("gsplat") is None, reason="gsplat not installed")
@pytest.mark.parametrize("kind", ["random", "dense"])
def test_cuda_matches_gsplat(kind):
    """gsplat uses a 0.999 alpha clamp and 3-sigma radii, so agreement is close, not exact."""
    case = _case(kind, 2, max_opacity=0.9)
    case.opacities = case.opacities.clamp(max=0.9)
    ours, our_grads = _outputs_and_grads(case, "cuda", "cuda")
    theirs, their_grads = _outputs_and_grads(case, "gsplat", "cuda")
    # differences come only from the few pixels their 3-sigma box or our 1/255 ellipse cut
    assert (ours.rgb - theirs.rgb).abs().mean() < 5e-3
    assert (ours.alpha - theirs.alpha).abs().mean() < 5e-3
    for name, a, b in zip(("means", "quats", "scales", "opacities", "colors"), our_grads, their_grads):
        assert F.cosine_similarity(a.flatten(), b.flatten(), dim=0) >= 0.99, name  # same cut-off caveat
