"""The Gaussian rasterizer: one math, compiled for CPU and CUDA, differentiable.

Three layers, as in gsplat: the native kernels in `cuda/` (plain pointers, no
torch), the autograd wrappers that check, allocate and call them (`_native`), and
the public `rasterize()` (`api`). `reference` is the same algorithm in plain
PyTorch: the readable specification and the oracle the kernels are tested against.
"""

from splatcine.raster.api import RasterOutput, rasterize

__all__ = ["RasterOutput", "rasterize"]
