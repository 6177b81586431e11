"""The native kernels: lazy build, and the autograd wrappers around them.

The extension in `cuda/` is compiled on first use with the public
`torch.utils.cpp_extension.load` into a cache directory keyed by the sources'
hash, so later runs load it in milliseconds. The CUDA kernels are compiled in
only where torch sees a CUDA device. Each stage is a `torch.autograd.Function`
calling one forward and one backward kernel; the stages compose like gsplat's
(project -> rasterize to pixels), so `means2d` is a real intermediate whose
gradient is the screen-space gradient densification reads.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor

from splatcine.errors import MissingDependencyError
from splatcine.raster.reference import Projected

CUDA_DIR = Path(__file__).resolve().parents[2] / "cuda"
CPU_SOURCES = ("ops.cpp", "projection_cpu.cpp", "binning_cpu.cpp", "rasterize_cpu.cpp", "ssim_cpu.cpp",
               "color_cpu.cpp", "coverage_cpu.cpp", "adam_cpu.cpp", "glue_cpu.cpp")
CUDA_SOURCES = ("projection_cuda.cu", "binning_cuda.cu", "rasterize_cuda.cu")
# -ffast-math for vectorised float math, but NaN/Inf checks must survive (culling relies on them).
CFLAGS = ("-O3", "-march=native", "-mprefer-vector-width=512", "-ffast-math",
          "-fno-finite-math-only", "-fopenmp")  # fmt: skip
NVCC_FLAGS = ("-O3", "--use_fast_math")

_extension: ModuleType | None = None
_with_cuda = False  # whether `_extension` holds the CUDA kernels


def cache_dir() -> Path:
    root = os.environ.get("SPLATCINE_CACHE_DIR") or Path.home() / ".cache" / "splatcine"
    return Path(root) / "torch_extensions"


def load() -> ModuleType:
    """The compiled extension, building it on first use (one line on stderr while it compiles)."""
    global _extension, _with_cuda
    if _extension is not None:
        return _extension
    # A GPU without the toolkit (a pip-only install) builds the CPU kernels; `ops_for` then
    # refuses CUDA tensors with a clear error and `rasterize(backend="auto")` falls back.
    with_cuda = torch.cuda.is_available() and cuda_toolkit() is not None
    sources = list(CPU_SOURCES) + (list(CUDA_SOURCES) if with_cuda else [])
    missing = [s for s in sources if not (CUDA_DIR / s).exists()]
    if missing:
        raise MissingDependencyError(f"splatcine.raster: native sources not found in {CUDA_DIR} ({missing[0]})")
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None:
        raise MissingDependencyError(
            f"splatcine.raster: no C++ compiler '{cxx}' on PATH (set CXX or install g++) to build "
            "the native rasterizer; backend='reference' works without one"
        )
    digest = hashlib.sha256()
    for path in sorted(CUDA_DIR.rglob("*")):
        if path.suffix in (".h", ".cpp", ".cu"):
            digest.update(path.read_bytes())
    digest.update(" ".join(CFLAGS + NVCC_FLAGS + (torch.__version__, cxx, str(with_cuda))).encode())
    digest.update(_cpu_flags().encode())  # -march=native: machines sharing a cache must not mix ISAs
    # ninja's commands name the sources by absolute path: two checkouts sharing one build
    # directory would rebuild it for each other (and wait on each other's lock) at every load
    digest.update(str(CUDA_DIR).encode())
    name = f"splatcine_raster_{'cuda' if with_cuda else 'cpu'}_{digest.hexdigest()[:12]}"
    build_dir = cache_dir() / name
    build_dir.mkdir(parents=True, exist_ok=True)
    if not any(build_dir.glob(f"{name}*.so")):
        print(f"splatcine: compiling the native rasterizer ({'CPU+CUDA' if with_cuda else 'CPU'}, "
              f"first use, about a minute) into {build_dir}", file=sys.stderr, flush=True)  # fmt: skip
    from torch.utils.cpp_extension import load as load_extension

    try:
        _extension = load_extension(
            name=name,
            sources=[str(CUDA_DIR / s) for s in sources],
            extra_cflags=list(CFLAGS) + (["-DSC_WITH_CUDA"] if with_cuda else []),
            extra_cuda_cflags=list(NVCC_FLAGS),
            extra_ldflags=["-fopenmp"],
            extra_include_paths=[str(CUDA_DIR)],
            build_directory=str(build_dir),
            with_cuda=with_cuda,
            verbose=False,
        )
    except (RuntimeError, OSError, ImportError) as err:
        last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise MissingDependencyError(
            f"splatcine.raster: building the native rasterizer failed ({last}); see {build_dir}"
        ) from err
    _with_cuda = with_cuda
    return _extension


def cuda_toolkit() -> str | None:
    """The CUDA toolkit the kernels build with (torch's CUDA_HOME, holding an nvcc), or None."""
    from torch.utils.cpp_extension import CUDA_HOME

    if CUDA_HOME and (Path(CUDA_HOME) / "bin" / "nvcc").is_file():
        return CUDA_HOME
    return None


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line for line in f if line.startswith("flags")), platform.machine())
    except OSError:
        return platform.machine()


def ops_for(device: torch.device) -> type:
    """The compiled stages for tensors on `device`; MissingDependencyError when they cannot run there."""
    load()
    if device.type == "cuda" and not _with_cuda:
        raise MissingDependencyError(
            "splatcine.raster: torch sees a GPU but no CUDA toolkit (nvcc; set CUDA_HOME), so the "
            "native rasterizer was built without its CUDA kernels"
        )
    return NativeOps


def _stream(t: Tensor) -> int:
    """The current CUDA stream as an address for the kernels (0 on the CPU)."""
    return torch.cuda.current_stream(t.device).cuda_stream if t.is_cuda else 0


class _Project(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means, quats, scales, opacities, cam_from_world, K, width, height, near,
                antialiased):  # fmt: skip
        ext = load()
        means, quats, scales = means.contiguous(), quats.contiguous(), scales.contiguous()
        means2d, depths, conics, comps, radii = ext.project_fwd(
            means, quats, scales, opacities.detach().contiguous(), cam_from_world, K,
            width, height, near, antialiased, _stream(means),
        )  # fmt: skip
        ctx.save_for_backward(means, quats, scales, cam_from_world, K, radii)
        ctx.settings = (width, height, near, antialiased)
        ctx.mark_non_differentiable(radii)
        return means2d, depths, conics, comps, radii

    @staticmethod
    def backward(ctx, v_means2d, v_depths, v_conics, v_comps, _v_radii):
        means, quats, scales, cam_from_world, K, radii = ctx.saved_tensors
        width, height, near, antialiased = ctx.settings
        v_means, v_quats, v_scales = load().project_bwd(
            means, quats, scales, cam_from_world, K, width, height, near, antialiased, radii,
            v_means2d.contiguous(), v_depths.contiguous(), v_conics.contiguous(),
            v_comps.contiguous(), _stream(means),
        )  # fmt: skip
        return v_means, v_quats, v_scales, None, None, None, None, None, None, None


class _SHColors(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means, coeffs, cam_from_world, degree, radii):
        coeffs = coeffs.contiguous()
        colors, dirs, raw = load().sh_colors_fwd(degree, means.contiguous(), cam_from_world, coeffs, radii,
                                                 _stream(means))  # fmt: skip
        ctx.save_for_backward(dirs, coeffs, radii, raw)
        ctx.degree = degree
        return colors

    @staticmethod
    def backward(ctx, v_colors):
        dirs, coeffs, radii, raw = ctx.saved_tensors
        v_means, v_coeffs = load().sh_colors_bwd(ctx.degree, dirs, coeffs, radii, raw, v_colors.contiguous(),
                                                 _stream(dirs))  # fmt: skip
        return v_means, v_coeffs, None, None, None


class _Composite(torch.autograd.Function):
    @staticmethod
    def forward(ctx, means2d, conics, opacities, rgb, depths, radii, width, height, background):
        means2d, conics, opacities = means2d.contiguous(), conics.contiguous(), opacities.contiguous()
        background = means2d.new_empty(0) if background is None else background.to(means2d).contiguous()
        # the CPU forward keeps what it gathered for the backward, when there will be one
        color, depth_sum, alpha, *saved = load().composite_fwd(
            means2d, conics, opacities, rgb.contiguous(), depths.contiguous(), radii, background, width, height,
            any(ctx.needs_input_grad[:5]), _stream(means2d))  # fmt: skip
        ctx.save_for_backward(means2d, conics, opacities, background, *saved)
        ctx.size = (width, height)
        return color, depth_sum, alpha

    @staticmethod
    def backward(ctx, v_color, v_depth_sum, v_alpha):
        means2d, conics, opacities, background, *saved = ctx.saved_tensors
        grads = load().composite_bwd(means2d, conics, opacities, saved, background, *ctx.size,
                                     v_color.contiguous(), v_depth_sum.contiguous(), v_alpha.contiguous(),
                                     _stream(v_color))  # fmt: skip
        return *grads, None, None, None, None


class _SSIM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        a, b = a.contiguous(), b.contiguous()
        ssim, moments = load().ssim_fwd(a, b)
        ctx.save_for_backward(a, b, moments)
        return ssim

    @staticmethod
    def backward(ctx, v_ssim):
        a, b, moments = ctx.saved_tensors
        return load().ssim_bwd(a, b, moments, v_ssim.contiguous()), None


def ssim_map(a: Tensor, b: Tensor) -> Tensor | None:  # [H, W, C] x2 -> [H, W, C]
    """kornia's per-pixel SSIM (11-pixel window) of `a` against a fixed `b` by the C++ kernel,
    differentiable in `a`; None where the kernel does not apply (not float32 on the CPU, `b`
    needing a gradient, an image smaller than the window, or no compiler)."""
    return _SSIM.apply(a, b) if _image_pair(a, b) and _loadable() else None


def _image_pair(a: Tensor, b: Tensor) -> bool:
    """Whether the image kernels take render `a` against a fixed target `b` ([H, W, C] alike,
    float32 on the CPU, at least as large as half the SSIM window)."""
    return (a.device.type == "cpu" and a.dtype == b.dtype == torch.float32 and a.shape == b.shape
            and a.ndim == 3 and min(a.shape[:2]) > 5 and not b.requires_grad)  # fmt: skip


def _loadable() -> bool:
    try:
        load()
    except MissingDependencyError:
        return False
    return True


class _Photometric(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, weight, ssim_lambda):
        a, b, weight = a.contiguous(), b.contiguous(), weight.contiguous()
        stats, moments = load().photometric_fwd(a, b, weight, ssim_lambda)
        ctx.save_for_backward(a, b, weight, moments)
        ctx.ssim_lambda = ssim_lambda
        mse = stats[1]
        ctx.mark_non_differentiable(mse)
        return stats[0], mse

    @staticmethod
    def backward(ctx, v_loss, _v_mse):
        a, b, weight, moments = ctx.saved_tensors
        return load().photometric_bwd(a, b, weight, moments, ctx.ssim_lambda, float(v_loss)), None, None, None


def photometric_loss(a: Tensor, b: Tensor, weight: Tensor | None,
                     ssim_lambda: float) -> tuple[Tensor, Tensor] | None:  # fmt: skip
    """(loss, mse) of `splatcine.train.loss.photometric_loss` for a render `a` against a fixed
    target `b` [H, W, C], pixels weighted by `weight` [H, W] (None: all 1), by one C++ call
    forward and one backward; None where the kernel does not apply (as `ssim_map`)."""
    applies = _image_pair(a, b) and (weight is None or (weight.shape == a.shape[:2] and not weight.requires_grad))
    if not (applies and _loadable()):
        return None
    weight = a.new_empty(0) if weight is None else weight.to(torch.float32)
    return _Photometric.apply(a, b, weight, float(ssim_lambda))


class _ColorAffine(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rgb, affine):
        rgb, affine = rgb.contiguous(), affine.contiguous()
        ctx.save_for_backward(rgb, affine)
        return load().color_affine_fwd(rgb, affine)

    @staticmethod
    def backward(ctx, v_out):
        rgb, affine = ctx.saved_tensors
        return load().color_affine_bwd(rgb, affine, v_out.contiguous())


def color_affine(rgb: Tensor, affine: Tensor) -> Tensor | None:  # [..., 3], [3, 4] -> [..., 3]
    """`rgb @ affine[:, :3].T + affine[:, 3]` by the C++ kernel, differentiable in both; None
    where it does not apply (not float32 on the CPU, or no compiler)."""
    if not (rgb.device.type == affine.device.type == "cpu" and rgb.dtype == affine.dtype == torch.float32
            and rgb.shape[-1] == 3 and affine.shape == (3, 4)) or not _loadable():  # fmt: skip
        return None
    return _ColorAffine.apply(rgb, affine)


def adam_step(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor], exp_avg_sqs: list[Tensor],
              steps: list[Tensor], settings: list[tuple[float, float, float, float]]) -> bool:  # fmt: skip
    """One Adam step on every parameter by the C++ kernel (one parallel region for all, or
    none when small; each step counter counted up first); settings per parameter: lr, beta1,
    beta2, eps. False, with nothing changed, where it does not apply (a tensor not float32,
    contiguous and on the CPU, or no compiler)."""
    return _loadable() and load().adam_step(params, grads, exp_avgs, exp_avg_sqs, steps, settings)


def coverage(pts: Tensor, center: Tensor, cameras: Tensor, sizes: Tensor, offsets: Tensor, depth: Tensor,
             depth_tol: float) -> tuple[Tensor, Tensor, Tensor] | None:  # fmt: skip
    """The render's coverage test (`splatcine.render.maps.coverage`) by the C++ kernel: points
    [P, 3] against S views (cameras [S, 16], depth maps flat at offsets [S] of sizes [S, 2],
    -1 where a view vouches for nothing) -> count [P] int32, best cosine [P], per-view count
    [S] int64; None without a compiler."""
    if not _loadable():
        return None
    return load().coverage(pts.contiguous(), center.contiguous(), cameras.contiguous(), sizes, offsets,
                           depth.contiguous(), float(depth_tol))


class NativeOps:
    """The stages of `rasterize()` on the compiled kernels (float32)."""

    @staticmethod
    def project(means, quats, scales, opacities, cam_from_world, K, width, height, near,
                antialiased) -> Projected:  # fmt: skip
        return Projected(*_Project.apply(means, quats, scales, opacities, cam_from_world, K,
                                         width, height, near, antialiased))  # fmt: skip

    @staticmethod
    def colors(means: Tensor, cam_from_world: Tensor, coeffs: Tensor, degree: int, radii: Tensor) -> Tensor:
        return _SHColors.apply(means, coeffs, cam_from_world, degree, radii)

    @staticmethod
    def composite(means2d, conics, opacities, rgb, depths, radii, width, height, background):
        return _Composite.apply(means2d, conics, opacities, rgb, depths, radii, width, height, background)
