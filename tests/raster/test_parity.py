"""The native kernels against the plain-PyTorch reference: images, radii and gradients.

Runs on every device present (`device` fixture): "cpu" compares the C++/OpenMP
kernels with the reference on the CPU, "cuda" compares the CUDA kernels with it on
the GPU. The random cases leave every pixel's transmittance above the 1e-4 stop; the
dense cases (`dense_case`) stop most pixels early, so both the forward stop and the
backward pass's per-pixel `last` index are held to the reference too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from splatcine.raster import rasterize
from raster_cases import (assert_close_but_for_cutoffs, dense_case, native_backend, random_case,
                          terminated_fraction, thin_case)

pytestmark = pytest.mark.usefixtures("native_built")


def _render(case, backend, params=None, **kwargs):
    return rasterize(*case.args(params), sh_degree=case.sh_degree, backend=backend, **kwargs)


def _case(kind, seed, n, width, height, sh_degree, device):
    if kind == "random":
        return random_case(seed, n=n, width=width, height=height, sh_degree=sh_degree, device=device)
    if kind == "thin":
        return thin_case(seed, n=n, width=width, height=height, sh_degree=sh_degree, device=device)
    case = dense_case(seed, n=n, width=width, height=height, sh_degree=sh_degree, device=device)
    # most pixels stop early, so a kernel that stops too soon, too late or not at all fails
    assert terminated_fraction(case) > 0.5
    return case


@pytest.mark.parametrize(
    "kind, seed, n, sh_degree, antialiased",
    [("random", 0, 300, None, False), ("random", 1, 300, 0, True), ("random", 2, 200, 1, False),
     ("random", 3, 200, 2, True), ("random", 4, 400, 3, False),
     ("dense", 10, 1500, None, False), ("dense", 11, 1200, 3, True), ("dense", 12, 1000, 1, False),
     ("thin", 20, 400, None, False), ("thin", 21, 600, 1, False)],
)  # fmt: skip
def test_forward_matches_reference(device, kind, seed, n, sh_degree, antialiased):
    case = _case(kind, seed, n, 72, 52, sh_degree, device)
    background = torch.tensor([0.2, 0.4, 0.6], device=device)
    ref = _render(case, "reference", antialiased=antialiased, background=background)
    out = _render(case, native_backend(device), antialiased=antialiased, background=background)

    assert torch.equal(out.radii, ref.radii)
    assert (ref.radii > 0).sum() > n // 2  # the scene is mostly visible, so the test means something
    assert ref.alpha.max() > 0.9
    torch.testing.assert_close(out.means2d, ref.means2d, rtol=1e-5, atol=1e-3)  # float32 projection
    for name in ("rgb", "alpha", "depth"):
        a, b = getattr(out, name), getattr(ref, name)
        assert torch.isfinite(a).all()
        # fast exp (2e-7 relative) and float32 summation order: measured mean ~1e-7 (depth ~1e-6).
        # A pixel whose transmittance lands within rounding of the 1e-4 stop may take one more
        # Gaussian (colour change < 1e-4; depth, in scene units up to 6, a few times that); one
        # at the 1/255 alpha cut, up to 1/255 (raster_cases.ALPHA_CUT_JUMP).
        unit = float(b.abs().max()) if name == "depth" else 1.0
        typical = 2e-3 if name == "depth" else 5e-4
        assert_close_but_for_cutoffs(a, b, name, typical=typical, unit=unit)


@pytest.mark.parametrize(
    "kind, seed, n, sh_degree, antialiased",
    [("random", 5, 150, None, False), ("random", 6, 150, 3, True), ("random", 7, 150, 1, False),
     ("dense", 13, 1200, None, False), ("dense", 14, 1000, 3, True), ("dense", 15, 1200, 2, False),
     ("thin", 22, 300, None, False), ("thin", 23, 300, 2, True)],
)  # fmt: skip
def test_gradients_match_reference(device, kind, seed, n, sh_degree, antialiased):
    case = _case(kind, seed, n, 56, 40, sh_degree, device)
    gen = torch.Generator(device=device).manual_seed(seed)
    v_rgb = torch.randn(case.height, case.width, 3, generator=gen, device=device)
    v_depth = torch.randn(case.height, case.width, generator=gen, device=device)
    v_alpha = torch.randn(case.height, case.width, generator=gen, device=device)

    # half the cases over a background: its share of each pixel's colour is 1 - alpha
    background = torch.tensor([0.2, 0.4, 0.6], device=device) if seed % 2 else None
    grads = {}
    for backend in ("reference", native_backend(device)):
        params = [p.clone().requires_grad_(True) for p in case.params()]
        out = _render(case, backend, params, antialiased=antialiased, background=background)
        loss = (out.rgb * v_rgb).sum() + (out.depth * v_depth).sum() + (out.alpha * v_alpha).sum()
        loss.backward()
        grads[backend] = [p.grad for p in params] + [out.means2d.grad]

    names = ("means", "quats", "scales", "opacities", "colors", "means2d")
    for name, ref, got in zip(names, grads["reference"], grads[native_backend(device)]):
        assert ref.abs().sum() > 0, name  # gradients actually flow
        assert torch.isfinite(got).all(), name
        cos = F.cosine_similarity(got.flatten(), ref.flatten(), dim=0)
        rel = (got - ref).norm() / ref.norm()
        # same math in float32 with a different summation order: direction all but identical
        assert cos >= 0.999, f"{name}: cosine {cos:.6f}"
        # magnitudes agree to float32 accumulation over hundreds of pixels per Gaussian
        # (measured ~1e-5; the reference itself is float32)
        assert rel < 1e-3, f"{name}: relative L2 error {rel:.2e}"


def test_means2d_gradient_is_kept_for_visible_gaussians_only(device):
    """Densification reads out.means2d.grad: filled for visible Gaussians, zero for culled ones."""
    case = random_case(8, n=60, width=48, height=36, device=device)
    params = [p.clone().requires_grad_(True) for p in case.params()]
    out = rasterize(*case.args(params), backend=native_backend(device))
    out.rgb.sum().backward()
    g = out.means2d.grad
    visible = out.radii > 0
    assert g.shape == (60, 2) and g[visible].abs().sum() > 0
    assert (g[~visible] == 0).all()
    assert out.means2d.grad_fn is not None  # an intermediate of the graph, not a detached copy


def test_empty_tiles_and_sizes_not_multiple_of_tile(device):
    case = random_case(9, n=40, width=37, height=23, device=device)
    ref = _render(case, "reference")
    out = _render(case, native_backend(device))
    torch.testing.assert_close(out.rgb, ref.rgb, rtol=0, atol=1e-4)  # few Gaussians: no cut-off flips


def test_binning_lists_every_tile_a_gaussian_reaches_and_culls_empty_ones(device):
    """Footprint binning (cuda/include/pixel.h): each Gaussian is listed in every tile where
    its alpha reaches 1/255 at some pixel (computed densely in float64 here), and thin
    Gaussians are left out of most of the tiles their square boxes cover."""
    from splatcine.raster import _native

    ext = _native.load()
    case = thin_case(30, n=400, width=72, height=52, device=device)
    means2d, depths, conics, comps, radii = ext.project_fwd(
        case.means, case.quats.contiguous(), case.scales, case.opacities, case.cam_from_world, case.K,
        case.width, case.height, 0.01, False, 0)  # fmt: skip
    opacities = (case.opacities * comps).contiguous()
    tile_offsets, flat_ids, *_ = ext.bin_gaussians(means2d, conics, opacities, radii, depths, case.width,
                                                   case.height, 0)  # fmt: skip
    tiles_x, tiles_y = -(-case.width // 16), -(-case.height // 16)
    listed = torch.zeros(len(radii), tiles_y * tiles_x, dtype=torch.bool)
    tile_of_entry = torch.repeat_interleave(torch.arange(tiles_y * tiles_x), tile_offsets.diff().long().cpu())
    listed[flat_ids.long().cpu(), tile_of_entry] = True

    ys, xs = torch.meshgrid(torch.arange(case.height, dtype=torch.float64) + 0.5,
                            torch.arange(case.width, dtype=torch.float64) + 0.5, indexing="ij")  # fmt: skip
    m, c = means2d.double().cpu(), conics.double().cpu()
    dx, dy = xs[None] - m[:, 0, None, None], ys[None] - m[:, 1, None, None]
    sigma = 0.5 * (c[:, 0, None, None] * dx**2 + c[:, 2, None, None] * dy**2) + c[:, 1, None, None] * dx * dy
    alpha = (opacities.double().cpu()[:, None, None] * torch.exp(-sigma)).clamp(max=0.99)
    hit = (alpha >= 1 / 255) & (radii.cpu() > 0)[:, None, None]  # [N, H, W]
    tile_of_pixel = (ys.long() // 16) * tiles_x + xs.long() // 16
    reached = torch.zeros(listed.shape, dtype=torch.int64).scatter_add_(
        1, tile_of_pixel.flatten()[None].expand(len(radii), -1), hit.flatten(1).long()) > 0
    assert reached.sum() > 100  # the needles do reach many tiles
    assert not (reached & ~listed).any()  # never a reached tile missing from the lists

    box = 0  # the entries the square boxes would make (the binning before footprints)
    for mx, my, r in zip(means2d[:, 0].tolist(), means2d[:, 1].tolist(), radii.tolist()):
        if r > 0:
            tx0, tx1 = max(int((mx - r) // 16), 0), min(int((mx + r) // 16), tiles_x - 1)
            ty0, ty1 = max(int((my - r) // 16), 0), min(int((my + r) // 16), tiles_y - 1)
            box += max(tx1 - tx0 + 1, 0) * max(ty1 - ty0 + 1, 0)
    # needles 30-100x longer than wide at random angles: the lists hold 0.40 of the boxes'
    # tiles (measured for seeds 30-32); square boxes would give 1.0
    assert flat_ids.numel() < 0.6 * box, (flat_ids.numel(), box)


def test_cpu_kernels_give_the_same_bits_for_any_thread_count():
    """Binning's counting sort runs on slices of the depth order and the gradient sum per
    Gaussian in tile order, so one thread and two give identical images and gradients."""
    case = dense_case(40, n=800, width=72, height=52)
    results = []
    threads = torch.get_num_threads()
    try:
        for n_threads in (1, 2):
            torch.set_num_threads(n_threads)
            params = [p.clone().requires_grad_(True) for p in case.params()]
            out = _render(case, "cpu", params)
            (out.rgb.sum() + out.depth.sum() + out.alpha.square().sum()).backward()
            results.append([out.rgb, out.depth, out.alpha] + [p.grad for p in params] + [out.means2d.grad])
    finally:
        torch.set_num_threads(threads)
    for one, two in zip(*results):
        assert torch.equal(one, two)


def test_binning_is_the_same_on_any_thread_count_when_large_enough_to_split():
    """At 60k Gaussians the footprint walk and the counting sort run on every thread (the
    small cases above stay on one): the lists, slots and offsets are identical for 1-3
    threads, each tile's list is in (depth, index) order, and every entry's slot belongs to
    its Gaussian, in tile order."""
    from splatcine.raster import _native

    ext = _native.load()
    rng = np.random.default_rng(7)
    n, width, height = 60_000, 640, 480
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    means2d = t(rng.uniform([-20, -20], [width + 20, height + 20], (n, 2)))
    sx, sy = rng.uniform(0.5, 12, n), rng.uniform(0.5, 12, n)
    angle = rng.uniform(0, np.pi, n)
    c, s = np.cos(angle), np.sin(angle)
    cov = [c * c * sx**2 + s * s * sy**2, c * s * (sx**2 - sy**2), s * s * sx**2 + c * c * sy**2]
    det = cov[0] * cov[2] - cov[1] ** 2
    conics = t(np.stack([cov[2] / det, -cov[1] / det, cov[0] / det], 1))
    radii = torch.tensor(np.ceil(3 * np.maximum(sx, sy)), dtype=torch.int32)
    radii[rng.random(n) < 0.1] = 0  # culled ones
    depths = t(rng.choice(rng.uniform(0.5, 9, 500), n))  # many ties: broken by index
    opacities = t(rng.uniform(0.01, 0.99, n))
    threads, results = torch.get_num_threads(), []
    try:
        for n_threads in (1, 2, 3):
            torch.set_num_threads(n_threads)
            results.append(ext.bin_gaussians(means2d, conics, opacities, radii, depths, width, height, 0))
    finally:
        torch.set_num_threads(threads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert torch.equal(a, b)
    tile_offsets, flat_ids, gauss_offsets, entry_slots = (r.numpy() for r in results[0])
    assert len(flat_ids) > 40_000  # large enough for every pass to split (threads_cpu.h)
    d = depths.numpy()
    for tile in range(len(tile_offsets) - 1):
        ids = flat_ids[tile_offsets[tile]: tile_offsets[tile + 1]]
        assert (np.lexsort((ids, d[ids])) == np.arange(len(ids))).all()
    owner = np.repeat(np.arange(n), np.diff(gauss_offsets))  # the Gaussian of each slot
    assert (owner[entry_slots] == flat_ids).all()
    tile_of_entry = np.repeat(np.arange(len(tile_offsets) - 1), np.diff(tile_offsets))
    by_slot = np.empty_like(tile_of_entry)
    by_slot[entry_slots] = tile_of_entry  # each slot once, tiles ascending within a Gaussian
    assert np.array_equal(np.sort(entry_slots), np.arange(len(entry_slots)))
    assert (np.diff(by_slot)[np.diff(owner) == 0] > 0).all()
