"""`plucker`: per-pixel Plücker rays of a path, as safetensors.

"plucker" [F, 6, H, W] float32 rays [o x d, d] per pixel centre (+0.5), with poses relative
to the first frame's camera (its rays start at the origin); also "cam_from_world" [F, 4, 4]
(relative) and "K" [F, 3, 3] of the ray grid. safetensors writes a whole tensor, so the
embedding is held in memory: `check_memory` refuses up front, in one line, a path whose
embedding would not fit (and names the `--downsample` that would).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from splatcine.cameras import invert_rigid
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath

HELD_COPIES = 2  # the float32 embedding, plus safetensors' serialised buffer of it
MEMORY_SHARE = 0.8  # refuse when the export would take more than this share of available memory


def write(path: SampledPath, out: Path, downsample: int = 1) -> None:
    write_plucker(path, out, downsample=downsample)


def embedding_bytes(path: SampledPath, downsample: int) -> int:
    width, height = max(1, path.width // downsample), max(1, path.height // downsample)
    return len(path) * 6 * height * width * 4


def available_bytes() -> int:
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(path: SampledPath, downsample: int, available: int | None = None) -> None:
    available = available_bytes() if available is None else available
    need = HELD_COPIES * embedding_bytes(path, downsample)
    if need <= MEMORY_SHARE * available:
        return
    fits = next((d for d in range(downsample + 1, 65)
                 if HELD_COPIES * embedding_bytes(path, d) <= MEMORY_SHARE * available), None)  # fmt: skip
    hint = f"pass --downsample {fits}" if fits else "export fewer frames"
    raise InputError(f"plucker export of {len(path)} frames at {path.width // downsample}x{path.height // downsample} "
                     f"needs about {need / 2**30:.1f} GiB, {available / 2**30:.1f} GiB is available: {hint}")


def plucker_embeddings(path: SampledPath, downsample: int = 1):
    """Rays [o x d, d] at pixel centres, in the first camera's frame.

    Returns plucker [F, 6, H, W] float32 (torch), cam_from_cam0 [F, 4, 4] and K [F, 3, 3] of
    the ray grid (numpy), where H, W are the path's size divided by `downsample`.
    """
    import torch

    width, height = max(1, path.width // downsample), max(1, path.height // downsample)
    cam0_from_cam = path.cam_from_world[0] @ invert_rigid(path.cam_from_world)  # [F, 4, 4]
    Ks = np.stack([k.resized(width, height).K for k in path.intrinsics])  # [F, 3, 3]
    v, u = torch.meshgrid(
        torch.arange(height, dtype=torch.float64) + 0.5,
        torch.arange(width, dtype=torch.float64) + 0.5,
        indexing="ij",
    )
    pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1)  # [H, W, 3]
    out = torch.empty((len(path), 6, height, width), dtype=torch.float32)  # filled a frame at a time
    for i, (pose, K) in enumerate(zip(torch.from_numpy(cam0_from_cam), torch.from_numpy(Ks))):
        rays = pixels @ torch.linalg.inv(K).T @ pose[:3, :3].T  # [H, W, 3] directions in cam0
        d = rays / rays.norm(dim=-1, keepdim=True)
        o = pose[:3, 3].expand_as(d)
        out[i] = torch.cat([torch.cross(o, d, dim=-1), d], dim=-1).permute(2, 0, 1)
    return out, invert_rigid(cam0_from_cam), Ks


def write_plucker(path: SampledPath, out: Path, downsample: int = 1) -> None:
    import torch
    from safetensors.torch import save_file

    if downsample < 1:
        raise InputError(f"downsample must be 1 or more, not {downsample}")
    check_memory(path, downsample)
    plucker, cam_from_cam0, Ks = plucker_embeddings(path, downsample)
    metadata = {
        "layout": "F x 6 x H x W: [o x d, d], OpenCV axes, relative to frame 0",
        "fps": str(path.fps),
    }
    tensors = {
        "plucker": plucker.contiguous(),
        "cam_from_world": torch.from_numpy(cam_from_cam0).float(),
        "K": torch.from_numpy(Ks).float(),
    }
    save_file(tensors, str(out), metadata=metadata)


