"""`recammaster`: ReCamMaster's camera_extrinsics.json.

`{"frame{i}": {"cam01": "[a b c d] [..] [..] [..]"}}`, each the transpose of an Unreal
camera-to-world (columns forward, right, up, translation) in centimetres. ReCamMaster's
loader (`inference_recammaster.py`, `TextVideoCameraDataset.__getitem__`:
`c2w = M.T[:, [1, 2, 0, 3]]; c2w[:3, 1] *= -1; c2w[:3, 3] /= 100`) turns it back into
splatcine's OpenCV world_from_cam in metres (scene units when the scene has no metric scale).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.cameras import invert_rigid
from splatcine.paths.build import SampledPath


def write(path: SampledPath, out: Path) -> None:
    out.write_text(json.dumps(to_recammaster(path), indent=2))


def to_recammaster(path: SampledPath, cam: int = 1) -> dict[str, Any]:
    centimetres = 100.0 * (path.metres_per_unit or 1.0)
    out = {}
    for i, m in enumerate(path.cam_from_world):
        world_from_cam = invert_rigid(m)
        x, y, z, t = (
            world_from_cam[:3, 0],
            world_from_cam[:3, 1],
            world_from_cam[:3, 2],
            world_from_cam[:3, 3],
        )
        unreal = np.eye(4)  # columns: forward, right, up, translation (cm)
        unreal[:3, 0], unreal[:3, 1], unreal[:3, 2], unreal[:3, 3] = z, x, -y, t * centimetres
        rows = unreal.T  # written transposed (Unreal's row-vector matrices)
        out[f"frame{i}"] = {
            f"cam{cam:02d}": " ".join("[" + " ".join(repr(float(v)) for v in r) + "]" for r in rows)
        }
    return out


