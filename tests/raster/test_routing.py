"""Backend routing on a GPU without the CUDA toolkit (a pip-only install, no nvcc).

The native extension then builds its CPU kernels only. `backend="auto"` must not hand CUDA
tensors to them (a raw RuntimeError): it falls back to gsplat when gsplat's kernels are
there, else runs the CPU kernels on copies of the tensors, with one warning. The missing
compiler is faked; the CPU-only machine fakes the GPU's routing too, and a CUDA machine
runs the real thing (`test_gpu_without_nvcc_renders_on_the_fallback`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from raster_cases import dense_case, random_case

from splatcine.errors import MissingDependencyError
from splatcine.raster import _gsplat, _native, api, rasterize


@pytest.fixture
def gpu_without_nvcc(monkeypatch):
    """The routing state of a GPU machine whose extension was built without CUDA kernels."""
    monkeypatch.setattr(_native, "load", lambda: object())
    monkeypatch.setattr(_native, "_with_cuda", False)
    monkeypatch.setattr(api, "_warned_fallback", False)
    return SimpleNamespace(device=torch.device("cuda"), dtype=torch.float32)  # what routing reads


def test_auto_prefers_gsplat_then_the_cpu_kernels_with_one_warning(gpu_without_nvcc, monkeypatch):
    monkeypatch.setattr(_gsplat, "usable", lambda: True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert api._ops_for("auto", gpu_without_nvcc) is None  # None: gsplat renders
        monkeypatch.setattr(_gsplat, "usable", lambda: False)
        ops = api._ops_for("auto", gpu_without_nvcc)
        api._ops_for("auto", gpu_without_nvcc)
    assert isinstance(ops, api._OnCPU) and ops.ops is _native.NativeOps and ops.device.type == "cuda"
    assert len(caught) == 1  # one warning per process, however many frames follow
    message = str(caught[0].message)
    assert "no CUDA toolkit (nvcc" in message and "using gsplat's kernels instead" in message


def test_auto_without_gsplat_says_it_runs_the_cpu_kernels(gpu_without_nvcc, monkeypatch):
    monkeypatch.setattr(_gsplat, "usable", lambda: False)
    with pytest.warns(UserWarning, match="running the CPU kernels on copies of the tensors"):
        api._ops_for("auto", gpu_without_nvcc)


def test_explicit_cuda_backend_is_a_clear_error(gpu_without_nvcc):
    with pytest.raises(MissingDependencyError, match="built without its CUDA kernels"):
        api._ops_for("cuda", gpu_without_nvcc)


@pytest.mark.usefixtures("native_built")
def test_cpu_kernels_on_copies_give_the_native_result_and_gradients():
    """The offloading wrapper moves tensors only: images and every gradient are the CPU kernels' own."""
    case = dense_case(3, n=600, width=48, height=40, sh_degree=1)
    results = []
    for ops in (_native.NativeOps, api._OnCPU(_native.NativeOps, torch.device("cpu"))):
        params = [p.clone().requires_grad_(True) for p in case.params()]
        out = api.render_stages(ops, *params, case.cam_from_world, case.K, case.width, case.height, 1,
                                None, 0.01, False)  # fmt: skip
        (out.rgb.sum() + out.depth.sum() + out.alpha.sum()).backward()
        results.append([out.rgb, out.alpha, out.means2d.grad] + [p.grad for p in params])
    for a, b in zip(*results):
        assert torch.equal(a, b)


def test_faked_missing_compiler_builds_cpu_kernels_that_refuse_cuda_tensors(tmp_path):
    """In a fresh process: torch 'sees' a GPU, the toolkit is gone; nothing crashes on the way."""
    script = textwrap.dedent(
        """
        import torch
        torch.cuda.is_available = lambda: True
        from splatcine.raster import _native
        from splatcine.errors import MissingDependencyError
        _native.cuda_toolkit = lambda: None
        _native.load()
        print("with_cuda:", _native._with_cuda)
        try:
            _native.ops_for(torch.device("cuda"))
        except MissingDependencyError as err:
            print("ERROR:", err)
        print("cpu ops:", _native.ops_for(torch.device("cpu")).__name__)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "with_cuda: False" in result.stdout
    assert "ERROR: splatcine.raster: torch sees a GPU but no CUDA toolkit" in result.stdout
    assert "cpu ops: NativeOps" in result.stdout


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("via", ["cpu kernels", "gsplat"])
def test_gpu_without_nvcc_renders_on_the_fallback(via, tmp_path_factory):
    """On a real GPU, in a fresh process with the toolkit faked away: CUDA tensors in, CUDA out."""
    if via == "gsplat" and not _gsplat.usable():
        pytest.skip("gsplat's compiled kernels are not installed")
    script = textwrap.dedent(
        f"""
        import sys, warnings, torch
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from raster_cases import random_case
        from splatcine.raster import _gsplat, _native, rasterize
        _native.cuda_toolkit = lambda: None
        if {via!r} == "cpu kernels":
            _gsplat.usable = lambda: False
        case = random_case(4, n=500, width=64, height=48, device="cuda")
        case.opacities = case.opacities.clamp(max=0.9)  # gsplat clamps alpha at 0.999, we at 0.99
        params = [p.clone().requires_grad_(True) for p in case.params()]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = rasterize(*case.args(params))
            rasterize(*case.args())
        out.rgb.sum().backward()
        ref = rasterize(*case.args(), backend="reference")
        print("warnings:", len(caught), str(caught[0].message) if caught else "")
        print("device:", out.rgb.device.type, params[0].grad.device.type)
        print("finite grads:", all(bool(torch.isfinite(p.grad).all()) and p.grad.abs().sum() > 0
                                   for p in params))
        print("mean error:", float((out.rgb - ref.rgb).abs().mean()))
        """
    )
    # the CPU-only build, apart from the CUDA one; built once for both variants
    env = dict(os.environ, SPLATCINE_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "no-nvcc-build"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines["warnings"].startswith("1 ") and "no CUDA toolkit" in lines["warnings"]
    assert ("gsplat" if via == "gsplat" else "CPU kernels") in lines["warnings"]
    assert lines["device"] == "cuda cuda" and lines["finite grads"] == "True"
    # the CPU kernels match the reference to float32 rounding; gsplat differs only where its
    # 3-sigma box cuts what our 1/255 ellipse keeps (test_cuda.py: mean < 5e-3)
    assert float(lines["mean error"]) < (1e-5 if via == "cpu kernels" else 5e-3)


def test_routing_keeps_the_reference_for_float64():
    case = random_case(1, n=5, dtype=torch.float64)
    assert api._ops_for("auto", case.means) is api._ReferenceOps
    out = rasterize(*case.args())
    assert out.rgb.dtype == torch.float64 and not F.relu(-out.alpha).any()
