"""`gen3c`: the folder GEN3C's loader reads, plus the first-frame image.

GEN3C (nv-tlabs/GEN3C) reads a directory with `load_data_distributed_format`
(`cosmos_predict1/diffusion/inference/data_loader_utils.py`), builds its 3D cache from it
(`Cache4D`) and renders that cache into each target camera:

    gen3c/
      rgb.mp4          the render, read with cv2.VideoCapture into [-1, 1]
      depth.npz        'depth' [F, H, W] float16 z-depth in scene units (0 = nothing)
      mask.npz         'mask' [F, H, W] bool: True where the render is valid (seen, with depth)
      camera.npz       'w2c' [F, 4, 4] float32 OpenCV world-to-camera,
                       'intrinsics' [F, 3, 3] float32 for integer pixel centres
      first_frame.png  frame 0's render (GEN3C's image-conditioned scripts start from it)

GEN3C unprojects pixel (x, y) at integer coordinates (`unproject_points`: `pos = [x_idx,
y_idx, 1]`), where splatcine's pixel centres sit at +0.5, so cx and cy are written 0.5 px
smaller. `gen3c_dynamic.py` runs 121-frame chunks (N*120+1 frames) at 1280x704 (target
`gen3c`); with `--movement_distance 0` its generated trajectory is the loaded cameras
themselves, so it renders the cache along this path. Its cache clamps depth to [0, 100]:
scenes far larger than that in scene units lose their far depth. Nothing here is pickled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splatcine.io.video import write_image, write_video
from splatcine.render.framestore import npz_writer
from splatcine.render.shot import RenderedShot

PIXEL_CENTRE_SHIFT = 0.5  # splatcine: centres at +0.5; GEN3C: at integers


def write(shot: RenderedShot, folder: Path) -> None:
    F_, H, W = len(shot), shot.height, shot.width
    write_video(folder / "rgb.mp4", (f.color for f in shot.frames()), fps=shot.fps)
    with npz_writer(folder / "depth.npz", "depth", (F_, H, W), np.float16) as depth, \
            npz_writer(folder / "mask.npz", "mask", (F_, H, W), np.bool_) as mask:  # fmt: skip
        for f in shot.frames():
            valid = ~f.unseen_binary & (f.depth > 0)
            depth.append(np.where(valid, f.depth, 0.0))
            mask.append(valid)
            if f.index == 0:
                write_image(folder / "first_frame.png", f.color)
    w2c = np.stack([c.cam_from_world for c in shot.cameras]).astype(np.float32)
    np.savez(folder / "camera.npz", w2c=w2c, intrinsics=gen3c_intrinsics(shot))


def gen3c_intrinsics(shot: RenderedShot) -> np.ndarray:  # [F, 3, 3] float32
    K = np.stack([c.intrinsics.K for c in shot.cameras])
    K[:, 0, 2] -= PIXEL_CENTRE_SHIFT
    K[:, 1, 2] -= PIXEL_CENTRE_SHIFT
    return K.astype(np.float32)
