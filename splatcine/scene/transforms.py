"""nerfstudio `transforms.json`: the edge where cameras become OpenGL camera-to-world.

Written with one shared pinhole camera at the top level (`fl_x`, `fl_y`, `cx`, `cy`,
`w`, `h`, `camera_model: OPENCV` with zero distortion since frames are undistorted)
and per frame `file_path`, `transform_matrix` (OpenGL camera-to-world), optional
`mask_path`, and splatcine's `source_frame` (index of the video frame it came from).
Per-frame intrinsics, as nerfstudio allows, are read too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.cameras import Camera, Intrinsics, cam_from_world_from_gl, gl_world_from_cam
from splatcine.errors import InputError


def write_transforms(
    path: Path,
    cameras: list[Camera],
    file_paths: list[str],
    source_frames: list[int],
    mask_paths: list[str | None] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write `transforms.json`. Paths are relative to the file's directory."""
    if not cameras:
        raise ValueError("no cameras to write")
    shared = cameras[0].intrinsics
    same = all(c.intrinsics == shared for c in cameras)
    doc: dict[str, Any] = {"camera_model": "OPENCV"}
    if same:
        doc.update(_intrinsics_json(shared))
    frames = []
    for i, cam in enumerate(cameras):
        frame: dict[str, Any] = {
            "file_path": file_paths[i],
            "transform_matrix": gl_world_from_cam(cam.cam_from_world).tolist(),
            "source_frame": int(source_frames[i]),
        }
        if not same:
            frame.update(_intrinsics_json(cam.intrinsics))
        if mask_paths is not None and mask_paths[i] is not None:
            frame["mask_path"] = mask_paths[i]
        frames.append(frame)
    doc["frames"] = frames
    doc.update(extra or {})
    Path(path).write_text(json.dumps(doc, indent=2))


def _intrinsics_json(k: Intrinsics) -> dict[str, Any]:
    return {"fl_x": k.fx, "fl_y": k.fy, "cx": k.cx, "cy": k.cy, "w": k.width, "h": k.height,
            "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0}


def read_transforms(path: Path) -> tuple[list[Camera], list[dict[str, Any]], dict[str, Any]]:
    """Read a nerfstudio (or original NeRF-synthetic) `transforms.json`.

    Returns the cameras (OpenCV `cam_from_world`), the raw frame entries, and the document.
    NeRF-synthetic files give `camera_angle_x` instead of focal lengths; the image size is
    then read from the first image.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    frames = doc.get("frames")
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{path}: field 'frames' is missing or empty")
    cameras = []
    for i, frame in enumerate(frames):
        where = f"{path}: frames[{i}]"
        try:
            gl = np.asarray(frame["transform_matrix"], dtype=np.float64)
        except KeyError:
            raise InputError(f"{where}.transform_matrix is missing") from None
        if gl.shape == (3, 4):
            gl = np.vstack([gl, [0, 0, 0, 1]])
        if gl.shape != (4, 4) or not np.isfinite(gl).all():
            raise InputError(f"{where}.transform_matrix must be a finite 4x4 matrix")
        cameras.append(Camera(cam_from_world_from_gl(gl), _read_intrinsics(path, doc, frame, where)))
    return cameras, frames, doc


def _read_intrinsics(path: Path, doc: dict, frame: dict, where: str) -> Intrinsics:
    def get(key: str):
        return frame.get(key, doc.get(key))

    w, h = get("w"), get("h")
    if w is None or h is None:
        from splatcine.io.video import image_size  # only when the file does not say

        w, h = image_size(path.parent / _with_suffix(path.parent, frame["file_path"]))
    w, h = int(w), int(h)
    fx, fy = get("fl_x"), get("fl_y")
    if fx is None and get("camera_angle_x") is not None:
        fx = 0.5 * w / np.tan(0.5 * float(get("camera_angle_x")))
    if fx is None:
        raise InputError(f"{where}: no focal length (fl_x or camera_angle_x)")
    fy = fx if fy is None else fy
    cx = get("cx") if get("cx") is not None else w / 2.0
    cy = get("cy") if get("cy") is not None else h / 2.0
    return Intrinsics(float(fx), float(fy), float(cx), float(cy), w, h)


def _with_suffix(root: Path, file_path: str) -> str:
    """NeRF-synthetic files omit the image extension."""
    if Path(file_path).suffix:
        return file_path
    for ext in (".png", ".jpg", ".jpeg"):
        if (root / (file_path + ext)).exists():
            return file_path + ext
    return file_path


def resolve_image_path(root: Path, file_path: str) -> Path:
    return Path(root) / _with_suffix(Path(root), file_path)
