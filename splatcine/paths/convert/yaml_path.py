"""A sampled path written back as a path YAML (one keyframe per frame): what `path import` writes."""

from __future__ import annotations

from typing import Any

import yaml
from scipy.spatial.transform import Rotation

from splatcine.cameras import invert_rigid
from splatcine.paths.build import SampledPath


def to_path_yaml(path: SampledPath, source: str = "") -> str:
    """A path YAML that passes through every camera of `path` at its time."""
    keyframes = []
    for m, k, t in zip(path.cam_from_world, path.intrinsics, path.times):
        world_from_cam = invert_rigid(m)
        x, y, z, w = Rotation.from_matrix(world_from_cam[:3, :3]).as_quat()
        keyframes.append(
            {
                "time": round(float(t), 9),
                "position": [round(float(v), 9) for v in world_from_cam[:3, 3]],
                "rotation": [round(float(v), 12) for v in (w, x, y, z)],
                "fov": round(float(k.vfov_deg), 9),
            }
        )
    doc: dict[str, Any] = {
        "fps": path.fps,
        "frames": len(path),
        "resolution": [path.width, path.height],
        "interpolation": {"position": "catmull-rom", "rotation": "slerp"},
        "keyframes": keyframes,
    }
    if len(path) == 1:
        doc["start"] = keyframes[0]
        del doc["keyframes"], doc["start"]["time"]
    header = (
        f"# Imported from {source} by `splatcine path import`: one keyframe per frame.\n"
        if source
        else ""
    )
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)
