"""Hostile inputs: the output is clean (finite, the bad Gaussians culled) or the error is
a precise one-line InputError, never a crash or a NaN image (after Brush's fuzz.rs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from raster_cases import native_backend, random_case

from splatcine.errors import InputError
from splatcine.raster import rasterize


@pytest.fixture(params=["reference", "native"])
def backend(request, device):
    if request.param == "native":
        request.getfixturevalue("native_built")
        return native_backend(device)
    return "reference"


def _render_and_backprop(case, backend, **kwargs):
    params = [p.clone().requires_grad_(True) for p in case.params()]
    out = rasterize(*case.args(params), sh_degree=case.sh_degree, backend=backend, **kwargs)
    (out.rgb.sum() + out.depth.sum() + out.alpha.sum()).backward()
    for name in ("rgb", "depth", "alpha", "means2d"):
        assert torch.isfinite(getattr(out, name)).all(), name
    for name, p in zip(("means", "quats", "scales", "opacities", "colors"), params):
        assert torch.isfinite(p.grad).all(), f"gradient of {name}"
    return out


@pytest.mark.parametrize("field, index", [("means", (3, 0)), ("scales", (1, 2)), ("quats", (0, 1)),
                                          ("opacities", (2,)), ("colors", (4, 1))])  # fmt: skip
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_is_a_precise_error(device, backend, field, index, bad):
    case = random_case(0, n=10, device=device)
    getattr(case, field)[index] = bad
    with pytest.raises(InputError, match=f"rasterize: {field} has 1 non-finite"):
        rasterize(*case.args(), backend=backend)


def test_non_finite_camera_is_a_precise_error(device, backend):
    case = random_case(0, n=10, device=device)
    case.cam_from_world[0, 3] = float("nan")
    with pytest.raises(InputError, match="cam_from_world"):
        rasterize(*case.args(), backend=backend)


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(means=torch.zeros(3, 2)), "means must be a \\[N, 3\\]"),
        (dict(quats=torch.zeros(3, 3)), "quats must have shape \\[3, 4\\]"),
        (dict(opacities=torch.full((3,), 1.5)), "opacities must be activated"),
        (dict(scales=-torch.ones(3, 3)), "scales must be activated"),
        (dict(width=0), "width and height"),
        (dict(backend="vulkan"), "backend must be one of"),
        (dict(sh_degree=4), "sh_degree must be"),
        (dict(sh_degree=2), "colors must be \\[3, >=9, 3\\]"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    kwargs = dict(means=torch.zeros(3, 3), quats=torch.ones(3, 4), scales=torch.ones(3, 3),
                  opacities=torch.full((3,), 0.5), colors=torch.ones(3, 3),
                  cam_from_world=torch.eye(4), K=torch.eye(3), width=8, height=8)  # fmt: skip
    kwargs.update(args)
    with pytest.raises(InputError, match=message) as err:
        rasterize(**kwargs)
    assert "\n" not in str(err.value)


def test_degenerate_gaussians_are_culled(device, backend):
    case = random_case(1, n=12, device=device)
    case.quats[0] = 0.0  # zero-length quaternion
    case.means[1] = case.cam_from_world[:3, :3].T @ (torch.tensor([0.0, 0.0, -2.0], device=device)
                                                    - case.cam_from_world[:3, 3])  # behind the camera
    case.scales[2] = 1e30  # covariance overflows float32
    case.opacities[3] = 0.0  # never reaches 1/255
    out = _render_and_backprop(case, backend)
    assert out.radii[:4].tolist() == [0, 0, 0, 0]
    assert (out.radii[4:] > 0).sum() > 4


@pytest.mark.parametrize("scale", [1e-20, 1e-6, 1e3, 1e6])
def test_tiny_and_huge_scales_render_cleanly(device, backend, scale):
    case = random_case(2, n=8, device=device)
    case.scales[:4] = scale
    out = _render_and_backprop(case, backend)
    if scale >= 1e3:  # a Gaussian bigger than the view covers it, with its own opacity
        assert out.alpha.min() > 0


def test_empty_scene_is_the_background(device, backend):
    case = random_case(3, n=0, device=device)
    bg = torch.tensor([0.1, 0.2, 0.3], device=device)
    out = _render_and_backprop(case, backend, background=bg)
    assert torch.equal(out.rgb, bg.expand(case.height, case.width, 3))
    assert (out.alpha == 0).all() and (out.depth == 0).all() and out.radii.shape == (0,)


def test_one_pixel_image(device, backend):
    case = random_case(4, n=30, width=1, height=1, device=device)
    case.K[0, 0] = case.K[1, 1] = 2.0
    out = _render_and_backprop(case, backend)
    assert out.rgb.shape == (1, 1, 3) and out.alpha.item() > 0


_EXTREME = st.sampled_from([0.0, -0.0, 1e-30, 1e-8, 1e-3, 0.5, 1.0, 3.0, 1e4, 1e12, 1e30, -1e4])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 6),
    size=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    values=st.lists(_EXTREME, min_size=6 * 11, max_size=6 * 11),
    sign=st.lists(st.sampled_from([-1.0, 1.0]), min_size=6 * 3, max_size=6 * 3),
)
def test_fuzz_extreme_values(native_built, n, size, values, sign):
    """Every backend on this machine, on Gaussians built from extreme values."""
    v = np.array(values, dtype=np.float32).reshape(6, 11)[:n]
    means = torch.tensor(v[:, :3] * np.array(sign, dtype=np.float32).reshape(6, 3)[:n])
    means[:, 2] += 2.0
    quats = torch.tensor(v[:, 3:7])
    scales = torch.tensor(np.abs(v[:, 7:10]))
    opacities = torch.tensor(np.clip(np.abs(v[:, 10]), 0.0, 1.0))
    colors = torch.rand(n, 3)
    width, height = size
    K = torch.tensor([[20.0, 0, width / 2], [0, 20.0, height / 2], [0, 0, 1]])
    for backend in ("reference", "cpu"):
        out = rasterize(means, quats, scales, opacities, colors, torch.eye(4), K, width, height,
                        backend=backend)  # fmt: skip
        for name in ("rgb", "depth", "alpha"):
            assert torch.isfinite(getattr(out, name)).all(), (backend, name)
        assert (out.alpha >= 0).all() and (out.alpha <= 1).all()
