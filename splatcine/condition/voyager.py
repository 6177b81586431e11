"""`voyager`: partial RGB-D renders and coverage masks, as HunyuanWorld-Voyager's data engine lays them out.

    voyager/
      ref_image.png                 the first frame's render (Voyager's input image)
      ref_depth.exr                 its normalised inverse depth
      video_input/render_NNNN.png   partial render, black where the set was not seen
      video_input/mask_NNNN.png     coverage mask: 255 = rendered from the set, 0 = to generate
      video_input/depth_NNNN.exr    normalised inverse depth, float32 single channel "Y",
                                    (1/d - 1/far) / (1/near - 1/far) in [0, 1], 0 where uncovered
      depth_range.json              near, far (scene units) to undo the normalisation

Coverage is the complement of the binary unseen mask. The EXRs are written with the
OpenEXR package (imageio's EXR plugin needs the FreeImage library, which is not on PyPI);
OpenCV reads them with `OPENCV_IO_ENABLE_OPENEXR=1` and `cv2.IMREAD_UNCHANGED`. This module
is the only one that imports OpenEXR.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from splatcine.errors import MissingDependencyError
from splatcine.io.video import write_image
from splatcine.render.shot import RenderedShot


def write(shot: RenderedShot, folder: Path) -> None:
    covered = ~shot.unseen_binary & (shot.depth > 0)
    near, far = depth_range(shot.depth, covered)
    inv = normalized_inverse_depth(shot.depth, covered, near, far)
    (folder / "video_input").mkdir()
    write_image(folder / "ref_image.png", shot.color[0])
    write_exr(folder / "ref_depth.exr", inv[0])
    for i in range(len(shot)):
        render = np.where(covered[i][..., None], shot.color[i], 0).astype(np.uint8)
        write_image(folder / "video_input" / f"render_{i:04d}.png", render)
        write_image(folder / "video_input" / f"mask_{i:04d}.png", covered[i].astype(np.uint8) * 255)
        write_exr(folder / "video_input" / f"depth_{i:04d}.exr", inv[i])
    doc = {"near": near, "far": far, "units": "scene units",
           "inverse_depth": "(1/depth - 1/far) / (1/near - 1/far), 0 where mask is 0"}  # fmt: skip
    (folder / "depth_range.json").write_text(json.dumps(doc, indent=2))


def depth_range(depth: np.ndarray, covered: np.ndarray) -> tuple[float, float]:
    """(near, far) over the covered pixels of the whole shot; (1, 2) when nothing is covered."""
    if not covered.any():
        return 1.0, 2.0
    d = depth[covered]
    near, far = float(d.min()), float(d.max())
    return near, max(far, near * (1 + 1e-6))


def normalized_inverse_depth(depth: np.ndarray, covered: np.ndarray, near: float, far: float) -> np.ndarray:
    inv = (1.0 / np.maximum(depth, 1e-9) - 1.0 / far) / (1.0 / near - 1.0 / far)
    return np.where(covered, np.clip(inv, 0.0, 1.0), 0.0).astype(np.float32)


def write_exr(path: Path, image: np.ndarray) -> None:
    """A float32 [H, W] image as a single-channel ("Y") ZIP-compressed scanline EXR."""
    try:
        import OpenEXR
    except ImportError:
        raise MissingDependencyError("writing EXR needs the OpenEXR package (pip install openexr)") from None
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"Y": np.ascontiguousarray(image, dtype=np.float32)}) as exr:
        exr.write(str(path))


def read_exr(path: Path) -> np.ndarray:
    """The "Y" channel of an EXR written by `write_exr`, float32 [H, W]."""
    import OpenEXR

    with OpenEXR.File(str(path)) as exr:
        return np.array(exr.channels()["Y"].pixels, dtype=np.float32)
