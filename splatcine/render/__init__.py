"""Render a Gaussian scene along a camera path into the maps video models are conditioned on.

`render_path(scene, path, out_dir)` writes a shot directory (layout in `files`): colour,
expected depth, alpha, normals from depth and a graded unseen mask per frame (how it is
graded: `maps`), cameras, previews, a contact sheet, and the conditioning formats
(`splatcine.condition`). `render_cameras` is the same computation in memory.
"""

from splatcine.render.api import RenderResult, render_path
from splatcine.render.maps import UNSEEN_THRESHOLD
from splatcine.render.shot import RenderedShot, UnseenWarning, render_cameras

__all__ = ["UNSEEN_THRESHOLD", "RenderResult", "RenderedShot", "UnseenWarning", "render_cameras", "render_path"]
