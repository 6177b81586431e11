"""`gen3c`: the rendered 3D-cache buffers GEN3C's diffusion stage is conditioned on.

GEN3C (nv-tlabs/GEN3C, on Cosmos) renders its 3D cache into every target camera and
passes `pipeline.generate(..., rendered_warp_images=..., rendered_warp_masks=...)`:

    gen3c/
      rendered_warp_images.pt   float32 [1, F, 1, 3, H, W] (batch, frame, buffer, C, H, W), the
                                render in [-1, 1]; -1 (black) where the set was not seen
      rendered_warp_masks.pt    float32 [1, F, 1, 1, H, W], 1 = valid render, 0 = to generate
      cameras.npz               w2c [F, 4, 4] (OpenCV cam_from_world), intrinsics [F, 3, 3]
      gen3c.json                shape notes, fps

One buffer (N = 1): the splat is a single fused cache. The released GEN3C model takes
121-frame chunks at 1280x704; the buffers keep the shot's own frame count and size, so
render the path at that size and length to feed it unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from splatcine.render.shot import RenderedShot

MODEL_FRAMES = 121  # frames per chunk of the released GEN3C model
MODEL_SIZE = (1280, 704)  # (width, height) of the released GEN3C model


def buffers(shot: RenderedShot) -> tuple[torch.Tensor, torch.Tensor]:
    valid = ~shot.unseen_binary  # [F, H, W]
    rgb = torch.from_numpy(shot.color).float().div(127.5).sub(1.0)  # [F, H, W, 3] in [-1, 1]
    mask = torch.from_numpy(valid).float()
    rgb = torch.where(mask[..., None] > 0, rgb, torch.full_like(rgb, -1.0))
    images = rgb.permute(0, 3, 1, 2)[None, :, None].contiguous()  # [1, F, 1, 3, H, W]
    masks = mask[None, :, None, None].contiguous()  # [1, F, 1, 1, H, W]
    return images, masks


def write(shot: RenderedShot, folder: Path) -> None:
    images, masks = buffers(shot)
    torch.save(images, folder / "rendered_warp_images.pt")
    torch.save(masks, folder / "rendered_warp_masks.pt")
    w2c = np.stack([c.cam_from_world for c in shot.cameras]).astype(np.float32)
    K = np.stack([c.intrinsics.K for c in shot.cameras]).astype(np.float32)
    np.savez(folder / "cameras.npz", w2c=w2c, intrinsics=K)
    notes = {
        "rendered_warp_images": list(images.shape), "rendered_warp_masks": list(masks.shape),
        "layout": "[batch, frame, buffer, channel, height, width]", "fps": shot.fps,
        "model_expects": {"frames": MODEL_FRAMES, "width": MODEL_SIZE[0], "height": MODEL_SIZE[1]},
    }  # fmt: skip
    (folder / "gen3c.json").write_text(json.dumps(notes, indent=2))
