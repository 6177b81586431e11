"""splatcine: keep a film set consistent across AI-generated video shots.

The public Python API. Each stage is a library function with typed inputs and
outputs; the `splatcine` CLI is a thin door onto the same functions.
"""

from __future__ import annotations

from splatcine.cameras import Camera, Intrinsics
from splatcine.errors import SplatcineError
from splatcine.scene import Scene, load_scene
from splatcine import paths  # noqa: E402

__version__ = "0.1.0"

__all__ = ["Camera", "Intrinsics", "Scene", "SplatcineError", "load_scene", "render_path", "train_scene",
           "__version__"]


def __getattr__(name: str):
    if name == "render_path":  # imported on first use: it pulls in torch and the rasterizer
        from splatcine.render import render_path

        return render_path
    if name == "train_scene":  # likewise: torch, kornia and the rasterizer
        from splatcine.train import train_scene

        return train_scene
    raise AttributeError(f"module 'splatcine' has no attribute {name!r}")
