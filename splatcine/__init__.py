"""splatcine: keep a film set consistent across AI-generated video shots.

The public Python API. Each stage is a library function with typed inputs and
outputs; the `splatcine` CLI is a thin door onto the same functions.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

# OpenMP threads that spin while they wait collapse on a shared 2-core machine (PEERS.md:
# ~7x slower; measured here: torch ops 15x, a rasterizer step 3x); sleeping waits cost
# microseconds. libgomp reads this once, when torch loads it, so it is set before any
# splatcine module imports torch. A value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from splatcine.cameras import Camera, Intrinsics  # noqa: E402
from splatcine.errors import SplatcineError  # noqa: E402
from splatcine.scene import Scene, load_scene  # noqa: E402
from splatcine import paths  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Camera", "CheckResult", "ExtendResult", "Intrinsics", "RasterOutput", "Reconstruction", "Scene", "SplatcineError", "check", "extend", "load_scene",
           "rasterize", "reconstruct", "render_path", "train_scene", "__version__"]


class _Package(ModuleType):
    """`splatcine.reconstruct` is the function, loaded on first use (it pulls in pycolmap, which
    rendering and training never need, and the GPU machine lacks); importing the submodule of
    the same name must not rebind it to the module."""

    def __setattr__(self, name: str, value) -> None:
        if name == "reconstruct" and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in ("reconstruct", "Reconstruction"):
        from splatcine.reconstruct import Reconstruction, reconstruct

        globals().update(reconstruct=reconstruct, Reconstruction=Reconstruction)
        return globals()[name]
    if name in ("rasterize", "RasterOutput"):  # imported on first use: it pulls in torch
        from splatcine import raster

        return getattr(raster, name)
    if name == "render_path":  # imported on first use: it pulls in torch and the rasterizer
        from splatcine.render import render_path

        return render_path
    if name == "train_scene":  # likewise: torch, kornia and the rasterizer
        from splatcine.train import train_scene

        return train_scene
    if name in ("check", "CheckResult"):  # the check package (callable); torch loads when it runs
        import splatcine.check as package

        return package if name == "check" else package.CheckResult
    if name in ("extend", "ExtendResult"):  # likewise, the extend package
        import splatcine.extend as package

        return package if name == "extend" else package.ExtendResult
    raise AttributeError(f"module 'splatcine' has no attribute {name!r}")
