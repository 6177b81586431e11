"""nerfstudio `transforms.json`: the edge where cameras become OpenGL camera-to-world.

Written with one shared pinhole camera at the top level (`fl_x`, `fl_y`, `cx`, `cy`,
`w`, `h`, `camera_model: OPENCV` with zero distortion since frames are undistorted)
and per frame `file_path`, `transform_matrix` (OpenGL camera-to-world), optional
`mask_path`, and splatcine's `source_frame` (index of the video frame it came from) and
`alpha_path` (the alpha of a frame given with one; its image is composited on black).
Per-frame intrinsics, as nerfstudio allows, are read too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, StrictStr, ValidationError, field_validator

from splatcine.cameras import Camera, Intrinsics, cam_from_world_from_gl, gl_world_from_cam
from splatcine.errors import InputError


def write_transforms(
    path: Path,
    cameras: list[Camera],
    file_paths: list[str],
    source_frames: list[int],
    mask_paths: list[str | None] | None = None,
    extra: dict[str, Any] | None = None,
    alpha_paths: list[str | None] | None = None,
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
        if alpha_paths is not None and alpha_paths[i] is not None:
            frame["alpha_path"] = alpha_paths[i]  # splatcine's: the frame's alpha (see ingest/alpha.py)
        frames.append(frame)
    doc["frames"] = frames
    doc.update(extra or {})
    Path(path).write_text(json.dumps(doc, indent=2))


def _intrinsics_json(k: Intrinsics) -> dict[str, Any]:
    return {"fl_x": k.fx, "fl_y": k.fy, "cx": k.cx, "cy": k.cy, "w": k.width, "h": k.height,
            "k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0}


class _Lens(BaseModel):
    """Pinhole fields nerfstudio allows at the top level or per frame (all optional here)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    w: Annotated[int, Field(ge=1, le=65536)] | None = None
    h: Annotated[int, Field(ge=1, le=65536)] | None = None
    fl_x: PositiveFloat | None = None
    fl_y: PositiveFloat | None = None
    cx: float | None = None
    cy: float | None = None
    camera_angle_x: Annotated[float, Field(gt=0, lt=math.pi)] | None = None  # radians (NeRF-synthetic)


class TransformsFrame(_Lens):
    file_path: StrictStr
    transform_matrix: list[list[float]]  # OpenGL camera-to-world, 4x4 or 3x4
    mask_path: StrictStr | None = None
    alpha_path: StrictStr | None = None
    source_frame: Annotated[int, Field(ge=0)] | None = None

    @field_validator("transform_matrix")
    @classmethod
    def _rigid(cls, rows: list[list[float]]) -> list[list[float]]:
        gl = np.asarray(rows, dtype=np.float64) if all(len(r) == 4 for r in rows) else None
        if gl is None or gl.shape not in ((3, 4), (4, 4)):
            raise ValueError("must be a 4x4 (or 3x4) matrix of numbers")
        if gl.shape == (4, 4) and not np.allclose(gl[3], [0, 0, 0, 1], atol=1e-6):
            raise ValueError("the last row must be [0, 0, 0, 1]")
        rotation = gl[:3, :3]
        # A camera-to-world rotation is orthonormal with determinant +1. The tolerance admits the
        # float32 rounding and 4-decimal printing of exported files (errors ~1e-4) and separates them
        # from zero, scaled or sheared matrices (errors of order 1).
        with np.errstate(over="ignore", invalid="ignore"):  # 1e308 entries: inf, then "not a rotation"
            gram = rotation.T @ rotation
        if not np.allclose(gram, np.eye(3), atol=ROTATION_TOLERANCE) or np.linalg.det(rotation) < 0:
            raise ValueError("the upper-left 3x3 is not a rotation (orthonormal, determinant +1)")
        return rows


class TransformsFile(_Lens):
    frames: Annotated[list[TransformsFrame], Field(min_length=1)]


ROTATION_TOLERANCE = 1e-2


def read_transforms(path: Path) -> tuple[list[Camera], list[dict[str, Any]], dict[str, Any]]:
    """Read a nerfstudio (or original NeRF-synthetic) `transforms.json`.

    Returns the cameras (OpenCV `cam_from_world`), the checked frame entries, and the document.
    NeRF-synthetic files give `camera_angle_x` instead of focal lengths; the image size is
    then read from the first image. Wrong types, non-finite or negative focal lengths,
    matrices that are not rigid and cameras that all sit at one point are one `InputError`
    naming the file and the field.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    try:
        checked = TransformsFile.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        if first["type"] == "missing":
            raise InputError(f"{path}: {where} is missing") from None
        message = first["msg"].removeprefix("Value error, ")
        raise InputError(f"{path}: {where or 'the file'}: {message} (got {_short(first.get('input'))})") from None
    frames = [f.model_dump(exclude_none=True) for f in checked.frames]
    cameras = []
    for i, frame in enumerate(frames):
        gl = np.asarray(frame["transform_matrix"], dtype=np.float64)
        if gl.shape == (3, 4):
            gl = np.vstack([gl, [0, 0, 0, 1]])
        cameras.append(Camera(cam_from_world_from_gl(gl), _read_intrinsics(path, doc, frame, f"{path}: frames[{i}]")))
    centers = np.stack([c.center for c in cameras])
    if len(cameras) > 1 and np.ptp(centers, axis=0).max() <= 1e-9 * max(1.0, np.abs(centers).max()):
        raise InputError(f"{path}: all {len(cameras)} frames have the same camera position "
                         f"(transform_matrix): nothing can be triangulated or trained from one point")  # fmt: skip
    return cameras, frames, doc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
