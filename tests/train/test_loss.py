"""The training loss: its SSIM is kornia's, and ignored pixels add nothing."""

from __future__ import annotations

import kornia
import torch

from splatcine.train.loss import photometric_loss, ssim_map


def test_ssim_map_matches_kornia_values_and_gradients():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(37, 53, 3, generator=g, requires_grad=True)
    b = (0.6 * a.detach() + 0.4 * torch.rand(37, 53, 3, generator=g))
    ours = ssim_map(a, b)
    ref = kornia.metrics.ssim(a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None], 11)[0].permute(1, 2, 0)
    # Same arithmetic in another order (separable window): float32 rounding only.
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
    (v_ours,) = torch.autograd.grad(ours.square().mean(), a)
    (v_ref,) = torch.autograd.grad(ref.square().mean(), a)
    # float32 rounding in another order (the C++ kernel's adjoint against autograd through kornia's
    # convolutions): relative 1e-4, and near-zero entries within 1e-5 of the largest gradient
    torch.testing.assert_close(v_ours, v_ref, rtol=1e-4, atol=1e-5 * float(v_ref.abs().max()))


def test_ignored_pixels_add_no_loss():
    g = torch.Generator().manual_seed(1)
    render, target = torch.rand(20, 30, 3, generator=g), torch.rand(20, 30, 3, generator=g)
    valid = torch.ones(20, 30, dtype=torch.bool)
    valid[5:12, 8:20] = False
    changed = target.clone()
    changed[~valid] = torch.rand(int((~valid).sum()), 3, generator=g)  # what a mask hides
    for ssim_lambda in (0.0, 0.2):
        loss, mse = photometric_loss(render, target, valid, ssim_lambda)
        loss2, mse2 = photometric_loss(render, changed, valid, ssim_lambda)
        assert torch.equal(loss, loss2) and torch.equal(mse, mse2)
    full, _ = photometric_loss(render, target, None, 0.2)
    assert not torch.equal(full, photometric_loss(render, changed, None, 0.2)[0])  # unmasked: it would


def test_native_and_torch_ssim_agree_on_values_and_gradients_at_every_border():
    """The C++ SSIM (forward and its hand-written adjoint) against the PyTorch ops autograd
    differentiates, on sizes where the reflected borders of both sides overlap (6, 9, 21)."""
    from splatcine.raster import _native
    from splatcine.train.loss import ssim_map_torch

    g = torch.Generator().manual_seed(2)
    for h, w in ((6, 9), (21, 6), (40, 57)):
        a = torch.rand(h, w, 3, generator=g, requires_grad=True)
        b = 0.5 * a.detach() + 0.5 * torch.rand(h, w, 3, generator=g)
        native = _native.ssim_map(a, b)
        assert native is not None  # float32 on the CPU: the kernel applies
        torch.testing.assert_close(native, ssim_map_torch(a, b), rtol=0, atol=1e-5)  # float32 rounding
        weight = torch.rand(h, w, 3, generator=g)  # an arbitrary upstream gradient
        (v_native,) = torch.autograd.grad((native * weight).sum(), a)
        a64 = a.detach().double().requires_grad_(True)
        (v_ref,) = torch.autograd.grad((ssim_map_torch(a64, b.double()) * weight.double()).sum(), a64)
        # float32 kernel against float64 autograd: SSIM's quotients amplify rounding where the
        # local variance is small; 1e-3 relative to the largest gradient.
        torch.testing.assert_close(v_native.double(), v_ref, rtol=0, atol=1e-3 * float(v_ref.abs().max()))


def test_native_photometric_loss_matches_the_torch_ops():
    """The one-call C++ loss (values and gradient) against `photometric_loss_torch` in float64,
    unmasked and masked, for L1 alone, the 3DGS mix and SSIM alone."""
    from splatcine.raster import _native
    from splatcine.train.loss import photometric_loss_torch

    g = torch.Generator().manual_seed(3)
    for (h, w), masked, ssim_lambda in (((6, 9), False, 0.2), ((40, 57), False, 0.2), ((40, 57), True, 0.2),
                                       ((23, 31), True, 0.0), ((23, 31), False, 1.0)):  # fmt: skip
        render = torch.rand(h, w, 3, generator=g, requires_grad=True)
        target = (0.6 * render.detach() + 0.4 * torch.rand(h, w, 3, generator=g))
        target[0, 0] = render.detach()[0, 0]  # a == b: abs' gradient is 0 there, in both
        weight = (torch.rand(h, w, generator=g) > 0.3).float() if masked else None
        native = _native.photometric_loss(render, target, weight, ssim_lambda)
        assert native is not None  # float32 on the CPU: the kernel applies
        loss, mse = native
        r64 = render.detach().double().requires_grad_(True)
        ref, ref_mse = photometric_loss_torch(r64, target.double(), None if weight is None else weight.double(),
                                              ssim_lambda)  # fmt: skip
        # float32 per-pixel terms summed in double against float64 throughout: float32 rounding
        torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=0)
        torch.testing.assert_close(mse.double(), ref_mse, rtol=1e-5, atol=0)
        (v_native,) = torch.autograd.grad(3.0 * loss, render)
        (v_ref,) = torch.autograd.grad(3.0 * ref, r64)
        # as the SSIM test above: float32 kernel against float64 autograd, SSIM's quotients amplify
        # rounding where the local variance is small; 1e-3 relative to the largest gradient
        torch.testing.assert_close(v_native.double(), v_ref, rtol=0, atol=1e-3 * float(v_ref.abs().max()))
        if masked and ssim_lambda == 0.0:  # L1 alone: an ignored pixel gets no gradient at all
            assert bool((v_native[weight == 0] == 0).all())


def test_native_loss_is_the_same_on_any_number_of_threads():
    """The C++ loss splits the image into a band of rows per thread, each band blurring the rows
    beyond its edges itself. Bands thinner than the window (6 rows on 5 threads) must still give
    bit for bit what one thread gives: every element is the same arithmetic in the same order."""
    from splatcine.raster import _native

    g = torch.Generator().manual_seed(4)
    threads = torch.get_num_threads()
    for h, w in ((6, 9), (23, 31)):
        render = torch.rand(h, w, 3, generator=g)
        target = 0.6 * render + 0.4 * torch.rand(h, w, 3, generator=g)
        weight = (torch.rand(h, w, generator=g) > 0.3).float()
        upstream = torch.rand(h, w, 3, generator=g)
        results = []
        try:
            for n in (1, 2, 3, 5):
                torch.set_num_threads(n)
                a = render.clone().requires_grad_(True)
                loss, mse = _native.photometric_loss(a, target, weight, 0.2)
                (v_loss,) = torch.autograd.grad(loss, a)
                ssim = _native.ssim_map(a, target)
                (v_ssim,) = torch.autograd.grad((ssim * upstream).sum(), a)
                results.append((loss.detach(), mse, v_loss, ssim.detach(), v_ssim))
        finally:
            torch.set_num_threads(threads)
        for other in results[1:]:
            for x, y in zip(results[0], other):
                assert torch.equal(x, y)
