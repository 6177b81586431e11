"""gsplat as a second backend on CUDA machines: the yardstick the project's kernels are measured against.

The only module that imports gsplat. Conventions match `rasterize()`: OpenCV
cam_from_world, pixel centres at +0.5, expected depth, background added here.
gsplat's own cut-offs differ slightly (alpha clamp 0.999, 3-sigma radii), so its
images agree with the other backends closely but not bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatcine.errors import MissingDependencyError


def require(device: torch.device) -> None:
    try:
        import gsplat  # noqa: F401
    except ImportError as err:
        raise MissingDependencyError("rasterize: backend 'gsplat' needs gsplat (pip install gsplat)") from err
    if device.type != "cuda":
        raise MissingDependencyError(f"rasterize: backend 'gsplat' needs tensors on CUDA, got {device}")


def usable() -> bool:
    """gsplat is installed with its compiled kernels (a prebuilt wheel, or a JIT build it could make)."""
    import importlib.util

    if importlib.util.find_spec("gsplat") is None or not torch.cuda.is_available():
        return False
    try:
        from gsplat.cuda._backend import _C
    except Exception:  # a failed JIT build raises whatever the compiler driver raised
        return False
    return _C is not None


def rasterize(means, quats, scales, opacities, colors, cam_from_world, K, width, height,
              sh_degree, background, near, antialiased):  # fmt: skip
    from gsplat import rasterization

    from splatcine.raster.api import RasterOutput

    render, alphas, meta = rasterization(
        means, quats, scales, opacities, colors, cam_from_world[None], K[None], width, height,
        near_plane=near, sh_degree=sh_degree, eps2d=0.3, packed=False,
        render_mode="RGB+ED", rasterize_mode="antialiased" if antialiased else "classic",
    )  # fmt: skip
    # gsplat's means2d is [1, N, 2]; hand out [N, 2] whose .grad is filled from the real one
    means2d_batched: Tensor = meta["means2d"]
    means2d = means2d_batched[0].detach()
    if means2d_batched.requires_grad:
        def keep_screen_grad(grad: Tensor) -> None:
            means2d.grad = grad[0]

        means2d_batched.register_hook(keep_screen_grad)
    alpha = alphas[0, ..., 0]
    rgb = render[0, ..., :3]
    if background is not None:
        rgb = rgb + (1.0 - alpha)[..., None] * background.to(rgb)
    radii = meta["radii"][0]
    if radii.ndim == 2:  # newer gsplat: per-axis radii
        radii = radii.amax(-1)
    return RasterOutput(rgb=rgb, depth=render[0, ..., 3] * (alpha > 0), alpha=alpha,
                        radii=radii.int(), means2d=means2d)  # fmt: skip
