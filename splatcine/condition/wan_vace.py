"""`wan-vace`: the inputs of diffusers' `WanVACEPipeline` (Wan 2.1 VACE), as files and as kwargs.

    wan-vace/
      control.mp4, control/NNNNN.png   the render; unseen regions filled neutral grey (128)
      mask.mp4, mask/NNNNN.png         white (255) where the model must generate, black where the
                                       render is to be kept: the binary unseen mask, dilated
      reference_NN.png                 source-shot frames that saw most of the path
      wan_vace.json                    num_frames, height, width, fps, dilation, grey, references

Wan's VAE compresses time by 4 (keeping the first frame) and space by 8 and its
transformer patches 2x2 latents, so the pipeline wants 4n+1 frames and sides that are
multiples of 16: the shot is cut to the longest 4n+1 prefix and each side is resized
down to a multiple of 16. The mask is dilated by `MASK_DILATION_PX` (8 px, one VAE
latent cell at the output size) so that a latent touching an unseen pixel is regenerated
whole and the seam between render and generation is not a hard render edge. The PNGs
are the exact values; the mp4s are previews (lossy).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from splatcine.condition._image import dilate, frame_name, resize_frames
from splatcine.io.video import read_image, write_image, write_video
from splatcine.render import maps
from splatcine.render.shot import Frame, RenderedShot

MASK_DILATION_PX = 8  # one Wan VAE latent cell (8x spatial compression) at the output size
GREY = 128  # neutral grey: 0 after the pipeline's [-1, 1] normalisation
SIDE_MULTIPLE = 16  # VAE x8 then 2x2 patches
FRAME_STRIDE = 4  # VAE temporal compression: 4n+1 frames


def wan_num_frames(count: int) -> int:
    """The longest 4n+1 not above `count` (at least 1)."""
    return max(1, (count - 1) // FRAME_STRIDE * FRAME_STRIDE + 1)


def wan_side(side: int) -> int:
    """`side` rounded down to a multiple of 16 (at least 16)."""
    return max(SIDE_MULTIPLE, side // SIDE_MULTIPLE * SIDE_MULTIPLE)


def prepare(
    shot: RenderedShot, num_frames: int | None = None, height: int | None = None, width: int | None = None
) -> dict:
    """Arrays for Wan VACE: control [F, H, W, 3] uint8, mask [F, H, W] uint8 0/255, references.

    `num_frames`, `height` and `width` default to the shot's own, quantised for Wan; given
    values are quantised too. (In memory: the pipeline call takes whole lists; `write` streams.)
    """
    n, h, w = wan_size(shot, num_frames, height, width)
    frames = [control_and_mask(shot.frame(i), w, h) for i in range(n)]
    references = [_fit(ref, w, h) for ref in shot.references]
    return {"control": np.stack([c for c, _ in frames]), "mask": np.stack([m for _, m in frames]),
            "references": references, "num_frames": n, "height": h, "width": w}  # fmt: skip


def wan_size(shot: RenderedShot, num_frames: int | None = None, height: int | None = None,
             width: int | None = None) -> tuple[int, int, int]:  # fmt: skip
    """(frames, height, width) quantised for Wan."""
    return (wan_num_frames(min(num_frames or len(shot), len(shot))), wan_side(height or shot.height),
            wan_side(width or shot.width))  # fmt: skip


def control_and_mask(frame: Frame, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame's control image [H, W, 3] uint8 (unseen filled grey) and mask [H, W] uint8 0/255."""
    color = resize_frames(frame.color[None], width, height)[0]
    unseen = resize_frames(frame.unseen_binary[None], width, height)
    mask = dilate(unseen, MASK_DILATION_PX)[0]
    control = np.where(mask[..., None], np.uint8(GREY), color).astype(np.uint8)
    return control, mask.astype(np.uint8) * 255


def write(shot: RenderedShot, folder: Path) -> None:
    n, h, w = wan_size(shot)
    (folder / "control").mkdir()
    (folder / "mask").mkdir()
    for i in range(n):
        control, mask = control_and_mask(shot.frame(i), w, h)
        write_image(folder / "control" / f"{frame_name(i)}.png", control)
        write_image(folder / "mask" / f"{frame_name(i)}.png", mask)
    names = [frame_name(i) for i in range(n)]
    write_video(folder / "control.mp4", (read_image(folder / "control" / f"{x}.png") for x in names), fps=shot.fps)
    write_video(folder / "mask.mp4", (np.repeat(read_image(folder / "mask" / f"{x}.png")[..., None], 3, axis=-1)
                                      for x in names), fps=shot.fps)  # fmt: skip
    for i, ref in enumerate(shot.references):
        write_image(folder / f"reference_{i:02d}.png", _fit(ref, w, h))
    settings = {
        "num_frames": n, "height": h, "width": w,
        "fps": shot.fps, "mask_dilation_px": MASK_DILATION_PX, "grey": GREY,
        "unseen_threshold": maps.UNSEEN_THRESHOLD, "references": shot.reference_names,
    }  # fmt: skip
    (folder / "wan_vace.json").write_text(json.dumps(settings, indent=2))


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop to the target aspect, then resize: a reference keeps its proportions."""
    h, w = image.shape[:2]
    if w * height > h * width:  # too wide
        cw = max(1, round(h * width / height))
        image = image[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = max(1, round(w * height / width))
        image = image[(h - ch) // 2 : (h - ch) // 2 + ch]
    return resize_frames(image[None], width, height)[0]
