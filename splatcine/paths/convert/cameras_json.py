"""`opencv` / `opengl`: per-frame camera JSON, both ways.

    {"convention": "opencv", "axes": ..., "fps", "width", "height",
     "frames": [{"index", "time", "cam_from_world" 4x4 (or "world_from_cam" 4x4 in OpenGL axes:
                 x right, y up, z back), "K" 3x3, "vfov"}]}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.cameras import Intrinsics, cam_from_world_from_gl, gl_world_from_cam
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath
from splatcine.paths.convert._json import read_json


def write_opencv(path: SampledPath, out: Path) -> None:
    out.write_text(json.dumps(to_cameras_json(path, "opencv"), indent=2))


def write_opengl(path: SampledPath, out: Path) -> None:
    out.write_text(json.dumps(to_cameras_json(path, "opengl"), indent=2))


def to_cameras_json(path: SampledPath, convention: str) -> dict[str, Any]:
    frames = []
    for i, (m, k, t) in enumerate(zip(path.cam_from_world, path.intrinsics, path.times)):
        frame: dict[str, Any] = {"index": i, "time": float(t)}
        if convention == "opencv":
            frame["cam_from_world"] = m.tolist()
        else:
            frame["world_from_cam"] = gl_world_from_cam(m).tolist()
        frame.update({"K": k.K.tolist(), "vfov": k.vfov_deg})
        frames.append(frame)
    axes = "x right, y down, z forward" if convention == "opencv" else "x right, y up, z backward"
    return {
        "convention": convention,
        "axes": axes,
        "fps": path.fps,
        "width": path.width,
        "height": path.height,
        "frames": frames,
    }


def read_cameras_json(file: Path) -> SampledPath:
    """Read what `to_cameras_json` writes, in either convention."""
    file = Path(file)
    doc = read_json(file)
    convention = doc.get("convention")
    key = {"opencv": "cam_from_world", "opengl": "world_from_cam"}.get(convention)
    if key is None:
        raise InputError(f"{file}: convention must be 'opencv' or 'opengl', not {convention!r}")
    try:
        width, height, fps = int(doc["width"]), int(doc["height"]), float(doc["fps"])
        matrices = np.asarray([f[key] for f in doc["frames"]], dtype=np.float64)
        Ks = np.asarray([f["K"] for f in doc["frames"]], dtype=np.float64)
        times = np.asarray([f["time"] for f in doc["frames"]], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{file}: missing or malformed field ({err})") from None
    if convention == "opengl":
        matrices = cam_from_world_from_gl(matrices)
    intrinsics = [Intrinsics(K[0, 0], K[1, 1], K[0, 2], K[1, 2], width, height) for K in Ks]
    return SampledPath(matrices, intrinsics, times, fps, width, height, name=str(file))


