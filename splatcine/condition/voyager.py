"""`voyager`: the input folder HunyuanWorld-Voyager's `sample_image2video.py --input-path` reads.

    voyager/
      ref_image.png                 frame 0's render (the image Voyager continues)
      ref_depth.exr                 frame 0's normalised inverse depth
      video_input/render_NNNN.png   partial render, black where the set was not seen (j < 49)
      video_input/mask_NNNN.png     coverage: 255 = rendered from the set, 0 = to generate
      video_input/depth_NNNN.exr    normalised inverse depth, float32, one channel "Y"
      depth_range.json              per frame [p2, p98]: the inverse-depth percentiles used

As Voyager's own `data_engine/create_input.py` (`create_video_input`) makes them, per frame:
inverse depth 1 / (d + 1e-6) on the covered pixels, normalised by that frame's 2nd and
98th percentiles, (inv - p2) / (p98 - p2) (not clipped: about 2% of pixels fall outside
[0, 1] on each side), and uncovered pixels filled with the frame's minimum. The sampler
reads exactly 49 frames (`for j in range(49)`) and resizes everything to `--video-size`
(H W), so the shot must be 49 frames at the size passed there (target `voyager`).
Coverage is the complement of the binary unseen mask where the splat has depth.
Only this module imports OpenEXR (the EXRs are what `pyexr.read`, Voyager's reader, opens).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from splatcine.errors import MissingDependencyError
from splatcine.io.video import write_image
from splatcine.render.shot import Frame, RenderedShot

INVERSE_EPS = 1e-6  # create_input.py: 1 / (depth + 1e-6)
PERCENTILES = (2, 98)  # create_input.py's min_percentile, max_percentile
MIN_SPAN = 1e-12  # a frame of one flat depth has p98 == p2: keep the division finite (all 0)


def write(shot: RenderedShot, folder: Path) -> None:
    (folder / "video_input").mkdir()
    ranges = []
    for f in shot.frames():
        covered = covered_pixels(f)
        inv, p2, p98 = normalized_inverse_depth(f.depth, covered)
        ranges.append([p2, p98])
        render = np.where(covered[..., None], f.color, 0).astype(np.uint8)
        write_image(folder / "video_input" / f"render_{f.index:04d}.png", render)
        write_image(folder / "video_input" / f"mask_{f.index:04d}.png", covered.astype(np.uint8) * 255)
        write_exr(folder / "video_input" / f"depth_{f.index:04d}.exr", inv)
        if f.index == 0:
            write_image(folder / "ref_image.png", f.color)
            write_exr(folder / "ref_depth.exr", inv)
    (folder / "depth_range.json").write_text(json.dumps(ranges))


def covered_pixels(frame: Frame) -> np.ndarray:  # [H, W] bool
    return ~frame.unseen_binary & (frame.depth > 0)


def normalized_inverse_depth(depth: np.ndarray, covered: np.ndarray) -> tuple[np.ndarray, float, float]:
    """[H, W] z-depth -> (normalised inverse depth [H, W] float32, p2, p98), as create_input.py.

    A frame with nothing covered is all 0 with the range [0, 0]."""
    if not covered.any():
        return np.zeros(depth.shape, np.float32), 0.0, 0.0
    inv = 1.0 / (depth[covered].astype(np.float64) + INVERSE_EPS)
    p2, p98 = (float(v) for v in np.percentile(inv, PERCENTILES))
    values = (inv - p2) / max(p98 - p2, MIN_SPAN)
    out = np.full(depth.shape, values.min(), np.float32)
    out[covered] = values
    return out, p2, p98


def write_exr(path: Path, image: np.ndarray) -> None:
    """A float32 [H, W] image as a single-channel ("Y") ZIP-compressed scanline EXR."""
    try:
        import OpenEXR
    except ImportError:
        raise MissingDependencyError("writing EXR needs the OpenEXR package (pip install 'openexr>=3.3')") from None
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"Y": np.ascontiguousarray(image, dtype=np.float32)}) as exr:
        exr.write(str(path))


def read_exr(path: Path) -> np.ndarray:
    """The "Y" channel of an EXR written by `write_exr`, float32 [H, W]."""
    import OpenEXR

    with OpenEXR.File(str(path)) as exr:
        return np.array(exr.channels()["Y"].pixels, dtype=np.float32)
