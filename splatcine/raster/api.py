"""`rasterize()`: the one public entry to the Gaussian rasterizer.

It checks its inputs once, picks a backend, and composes the same stages for every
backend: project -> (SH colour) -> composite colour over the background, and depth
-> normalise depth. Backends differ only in who computes the stages: plain
PyTorch (`reference`), the native C++/OpenMP kernels (`cpu`), the native CUDA
kernels (`cuda`), or gsplat (`gsplat`, when installed on a CUDA machine).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from splatcine.errors import InputError, MissingDependencyError
from splatcine.raster import reference

BACKENDS = ("auto", "cpu", "cuda", "gsplat", "reference")
DEFAULT_NEAR = 0.01  # camera-space depth below which Gaussians are culled


class RasterOutput:
    """What `rasterize` returns; `depth` is computed on first use (a training step never reads it)."""

    def __init__(self, rgb: Tensor, depth: Tensor | Callable[[], Tensor], alpha: Tensor, radii: Tensor,
                 means2d: Tensor):  # fmt: skip
        self.rgb = rgb  # [H, W, 3]
        self.alpha = alpha  # [H, W] accumulated opacity
        self.radii = radii  # [N] int32 screen radius in pixels, 0 = culled
        self.means2d = means2d  # [N, 2] projected centres; after backward, .grad is the screen-space gradient
        self._depth = depth

    @property
    def depth(self) -> Tensor:  # [H, W] expected depth (alpha-normalised), 0 where alpha is 0
        if callable(self._depth):
            self._depth = self._depth()
        return self._depth


def rasterize(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] (w, x, y, z), need not be unit length
    scales: Tensor,  # [N, 3] activated standard deviations
    opacities: Tensor,  # [N] activated, in (0, 1)
    colors: Tensor,  # [N, 3] RGB, or [N, K, 3] SH coefficients when sh_degree is given
    cam_from_world: Tensor,  # [4, 4] OpenCV
    K: Tensor,  # [3, 3] pinhole intrinsics in pixels
    width: int,
    height: int,
    *,
    sh_degree: int | None = None,
    background: Tensor | None = None,  # [3]; None = black
    near: float = DEFAULT_NEAR,
    antialiased: bool = False,
    backend: str = "auto",
    validate: bool = True,
) -> RasterOutput:
    """Render Gaussians into an image seen by one pinhole camera.

    Differentiable with respect to means, quats, scales, opacities and colors;
    the camera is not differentiated. `validate=False` skips the input checks (shapes,
    non-finite values, ranges: about 1 ms at 100k Gaussians) for a caller that keeps its
    own tensors well-formed, like the trainer between its periodic checks.
    """
    if validate:
        check_inputs(means, quats, scales, opacities, colors, cam_from_world, K, width, height,
                     sh_degree, background, near)  # fmt: skip
    ops = _ops_for(backend, means)
    cam_from_world = cam_from_world.to(means)
    K = K.to(means)

    if ops is None:  # gsplat composes its own stages
        from splatcine.raster import _gsplat

        return _gsplat.rasterize(means, quats, scales, opacities, colors, cam_from_world, K,
                                 width, height, sh_degree, background, near, antialiased)  # fmt: skip

    return render_stages(ops, means, quats, scales, opacities, colors, cam_from_world, K, width,
                         height, sh_degree, background, near, antialiased)  # fmt: skip


def render_stages(ops, means, quats, scales, opacities, colors, cam_from_world, K, width, height,
                  sh_degree, background, near, antialiased) -> RasterOutput:  # fmt: skip
    """The stages every backend shares, on `ops` (project, colors, composite); inputs checked."""
    proj = ops.project(means, quats, scales, opacities, cam_from_world, K, width, height,
                       near, antialiased)  # fmt: skip
    means2d = proj.means2d
    if means2d.requires_grad:
        means2d.retain_grad()
    rgb = colors if sh_degree is None else ops.colors(means, cam_from_world, colors, sh_degree, proj.radii)
    opacities = opacities * proj.compensations if antialiased else opacities  # compensations are 1 otherwise
    color, depth_sum, alpha = ops.composite(means2d, proj.conics, opacities, rgb, proj.depths, proj.radii,
                                            width, height, background)  # fmt: skip
    grad = torch.is_grad_enabled()

    def depth() -> Tensor:  # differentiable as it would have been here
        with torch.set_grad_enabled(grad):
            return torch.where(alpha > 0, depth_sum / alpha.clamp_min(1e-10), torch.zeros_like(alpha))

    return RasterOutput(rgb=color, depth=depth, alpha=alpha, radii=proj.radii, means2d=means2d)


class _ReferenceOps:
    """The stages in plain PyTorch (autograd does the backward pass)."""

    project = staticmethod(reference.project)
    blend = staticmethod(reference.composite)  # features [N, C] -> ([H, W, C], alpha [H, W])

    @staticmethod
    def colors(means: Tensor, cam_from_world: Tensor, coeffs: Tensor, degree: int, radii: Tensor) -> Tensor:
        """[N, 3] colour of each Gaussian seen from the camera: SH + 0.5, clamped at 0 (as 3DGS)."""
        dirs = means - reference.camera_center(cam_from_world)
        return torch.clamp_min(reference.eval_sh(dirs, coeffs, degree) + 0.5, 0.0)

    @classmethod
    def composite(cls, means2d, conics, opacities, rgb, depths, radii, width, height,
                  background) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """(colour [H, W, 3] over `background` (None: black), blended depth [H, W], alpha [H, W])."""
        features = torch.cat([rgb, depths[:, None]], -1)  # depth blends as a 4th channel
        blended, alpha = cls.blend(means2d, conics, opacities, features, depths, radii, width, height)
        color = blended[..., :3]
        if background is not None:
            color = color + (1.0 - alpha)[..., None] * background.to(color)
        return color, blended[..., 3], alpha


_warned_fallback = False


def _ops_for(backend: str, means: Tensor):
    """The stage implementations for `backend`; None means gsplat does everything."""
    global _warned_fallback
    device = means.device
    if backend not in BACKENDS:
        raise InputError(f"rasterize: backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "reference":
        return _ReferenceOps
    if backend == "gsplat":
        from splatcine.raster import _gsplat

        _gsplat.require(device)
        return None
    from splatcine.raster import _native

    if backend == "auto":
        if means.dtype != torch.float32:  # the kernels are float32; float64 is for checking
            return _ReferenceOps
        try:
            return _native.ops_for(device)
        except MissingDependencyError as err:
            ops, instead = _fallback(device)
            if not _warned_fallback:
                warnings.warn(f"{err}; {instead}", stacklevel=3)
                _warned_fallback = True
            return ops
    if (backend == "cuda") != (device.type == "cuda"):
        raise InputError(f"rasterize: backend {backend!r} needs tensors on "
                         f"{'a CUDA device' if backend == 'cuda' else 'the CPU'}, got {device}")  # fmt: skip
    if means.dtype != torch.float32:
        raise InputError(f"rasterize: backend {backend!r} takes float32 tensors, got {means.dtype} "
                         "(backend='reference' takes any float type)")  # fmt: skip
    return _native.ops_for(device)


def _fallback(device: torch.device):
    """What `auto` uses when the native kernels cannot run on `device`: (ops, what to tell the user).

    On a GPU without the CUDA toolkit: gsplat when its compiled kernels are there, else the
    CPU kernels on copies of the tensors, else the PyTorch reference (which runs anywhere).
    """
    from splatcine.raster import _gsplat, _native

    if device.type == "cuda":
        if _gsplat.usable():
            return None, "using gsplat's kernels instead"
        try:
            return _OnCPU(_native.ops_for(torch.device("cpu")), device), (
                "running the CPU kernels on copies of the tensors (slow; install the CUDA toolkit "
                "or gsplat for GPU speed)")  # fmt: skip
        except MissingDependencyError:
            pass
    return _ReferenceOps, "using the slow PyTorch reference"


class _OnCPU:
    """Stages computed on the CPU for tensors that live on `device`; autograd moves the gradients back."""

    def __init__(self, ops, device: torch.device):
        self.ops, self.device = ops, device

    def _to_cpu(self, *tensors: Tensor) -> list[Tensor]:
        return [t.cpu() for t in tensors]

    def project(self, means, quats, scales, opacities, cam_from_world, K, width, height, near,
                antialiased) -> reference.Projected:  # fmt: skip
        proj = self.ops.project(*self._to_cpu(means, quats, scales, opacities, cam_from_world, K),
                                width, height, near, antialiased)  # fmt: skip
        return reference.Projected(*(t.to(self.device) for t in proj))

    def colors(self, means: Tensor, cam_from_world: Tensor, coeffs: Tensor, degree: int, radii: Tensor) -> Tensor:
        return self.ops.colors(*self._to_cpu(means, cam_from_world, coeffs), degree, radii.cpu()).to(self.device)

    def composite(self, means2d, conics, opacities, rgb, depths, radii, width, height, background):
        background = None if background is None else background.cpu()
        out = self.ops.composite(*self._to_cpu(means2d, conics, opacities, rgb, depths, radii), width, height,
                                 background)  # fmt: skip
        return tuple(t.to(self.device) for t in out)


def check_inputs(means, quats, scales, opacities, colors, cam_from_world, K, width, height,
                 sh_degree, background, near) -> None:  # fmt: skip
    """One-line InputErrors naming the argument; non-finite values are errors, not NaN images."""
    if not isinstance(width, int) or not isinstance(height, int) or width < 1 or height < 1:
        raise InputError(f"rasterize: width and height must be positive integers, got {width}x{height}")
    if not isinstance(means, Tensor) or means.ndim != 2 or means.shape[1] != 3:
        raise InputError(f"rasterize: means must be a [N, 3] tensor, got {_shape(means)}")
    n = means.shape[0]
    if not means.is_floating_point():
        raise InputError(f"rasterize: means must be floating point, got {means.dtype}")
    expected = {"quats": (quats, (n, 4)), "scales": (scales, (n, 3)), "opacities": (opacities, (n,)),
                "cam_from_world": (cam_from_world, (4, 4)), "K": (K, (3, 3))}  # fmt: skip
    if sh_degree is None:
        expected["colors"] = (colors, (n, 3))
    else:
        if not isinstance(sh_degree, int) or not 0 <= sh_degree <= 3:
            raise InputError(f"rasterize: sh_degree must be 0, 1, 2 or 3, got {sh_degree!r}")
        if not isinstance(colors, Tensor) or colors.ndim != 3 or colors.shape[0] != n \
                or colors.shape[2] != 3 or colors.shape[1] < (sh_degree + 1) ** 2:  # fmt: skip
            raise InputError(f"rasterize: colors must be [{n}, >={(sh_degree + 1) ** 2}, 3] SH "
                             f"coefficients for sh_degree={sh_degree}, got {_shape(colors)}")  # fmt: skip
    if background is not None:
        expected["background"] = (background, (3,))
    for name, (value, shape) in expected.items():
        if not isinstance(value, Tensor) or tuple(value.shape) != shape:
            raise InputError(f"rasterize: {name} must have shape {list(shape)}, got {_shape(value)}")
    tensors = {"means": means, "colors": colors, **{k: v for k, (v, _) in expected.items()}}
    for name, value in tensors.items():
        if not value.is_floating_point():
            raise InputError(f"rasterize: {name} must be floating point, got {value.dtype}")
        if name not in ("cam_from_world", "K", "background") and value.device != means.device:
            raise InputError(f"rasterize: {name} is on {value.device} but means is on {means.device}")
    # An L1 norm is finite when every value is: one op per device for all the tensors (this
    # runs every training step), then only a tensor whose norm is suspect is counted exactly.
    for device in {v.device for v in tensors.values()}:
        named = [(k, v.detach()) for k, v in tensors.items() if v.device == device and v.numel()]
        norms = torch._foreach_norm([v for _, v in named], 1) if named else []
        if norms and not bool(torch.isfinite(torch.stack(norms)).all()):
            for (name, value), norm in zip(named, norms):
                bad = int((~torch.isfinite(value)).sum()) if not bool(torch.isfinite(norm)) else 0
                if bad:
                    raise InputError(f"rasterize: {name} has {bad} non-finite values (NaN or Inf)")
    if opacities.numel():
        low, high = torch.aminmax(opacities.detach())
        if not bool((low >= 0) & (high <= 1)):
            raise InputError("rasterize: opacities must be activated, in [0, 1]")
    if scales.numel() and bool(scales.detach().min() < 0):
        raise InputError("rasterize: scales must be activated (non-negative) standard deviations")
    if not near > 0:
        raise InputError(f"rasterize: near must be positive, got {near}")
    if not bool((K.diagonal()[:2] > 0).all()):
        raise InputError("rasterize: K must have positive focal lengths")


def _shape(value) -> str:
    return str(list(value.shape)) if isinstance(value, Tensor) else type(value).__name__
