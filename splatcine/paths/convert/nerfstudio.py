"""`nerfstudio`: camera_path.json for `ns-render camera-path`, both ways.

OpenGL camera-to-world (flattened row-major 4x4), vertical FOV in degrees, `keyframes` and
the sampled `camera_path`, render_width/height, fps, and `seconds` = frames / fps: ns-render
(`scripts/render.py`, `_render_trajectory_video`) plays `len(cameras) / seconds` frames a
second. ns-render applies no dataparser transform (`get_path_from_json`): the cameras must be
in the frame of the trained model, which is the transforms.json frame moved by the model's
`dataparser_transforms.json` (given, it is applied; not given, the transforms.json frame is
written, which a model trained without auto-orient, centring or auto-scale uses).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.atomic import atomic_file
from splatcine.cameras import Intrinsics, cam_from_world_from_gl, gl_world_from_cam
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath
from splatcine.paths.convert._json import read_json
from splatcine.paths.convert.yaml_path import to_path_yaml


def write(path: SampledPath, out: Path, dataparser_transforms: Path | None = None) -> None:
    out.write_text(json.dumps(to_nerfstudio(path, dataparser_transforms), indent=2))


def read_dataparser_transforms(file: Path) -> tuple[np.ndarray, float]:
    """nerfstudio's dataparser_transforms.json -> (transform [4, 4], scale).

    nerfstudio writes {"transform": 3x4, "scale": s} (`DataParser.save_dataparser_transform`)
    after mapping every pose as `poses = transform @ poses; poses[:, :3, 3] *= scale`
    (`nerfstudio_dataparser.py`, `_generate_dataparser_outputs`)."""
    doc = read_json(Path(file))
    try:
        transform = np.asarray(doc["transform"], dtype=np.float64).reshape(3, 4)
        scale = float(doc["scale"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{file}: needs 'transform' (3x4 numbers) and 'scale' ({err})") from None
    if not (np.isfinite(transform).all() and np.isfinite(scale) and scale > 0):
        raise InputError(f"{file}: 'transform' and 'scale' must be finite, scale above 0")
    return np.vstack([transform, [0.0, 0.0, 0.0, 1.0]]), scale


def to_model_frame(world_from_cam: np.ndarray, transform: np.ndarray, scale: float) -> np.ndarray:
    """[..., 4, 4] camera-to-world in the transforms.json frame -> in the trained model's frame."""
    out = transform @ world_from_cam
    out[..., :3, 3] *= scale
    return out


def to_nerfstudio(path: SampledPath, dataparser_transforms: Path | None = None) -> dict[str, Any]:
    """camera_path.json for `ns-render camera-path`. Without `dataparser_transforms` the cameras stay
    in the transforms.json frame (what a model trained with `--auto-orient-method none
    --center-method none --auto-scale-poses False` uses); with it, in the trained model's."""
    model = read_dataparser_transforms(dataparser_transforms) if dataparser_transforms else None

    def gl(m: np.ndarray) -> np.ndarray:
        out = gl_world_from_cam(m)
        return out if model is None else to_model_frame(out, *model)

    aspect = path.width / path.height
    keyframes = [
        {
            "matrix": gl(m).flatten().tolist(),
            "fov": float(v),
            "aspect": aspect,
            "override_transition_enabled": False,
            "override_transition_sec": None,
        }
        for m, v in zip(path.key_cam_from_world, path.key_vfov)
    ]
    frames = [
        {
            "camera_to_world": gl(m).flatten().tolist(),
            "fov": float(k.vfov_deg),
            "aspect": aspect,
        }
        for m, k in zip(path.cam_from_world, path.intrinsics)
    ]
    return {
        "camera_type": "perspective",
        "render_width": path.width,
        "render_height": path.height,
        "fps": path.fps,
        "seconds": len(path) / path.fps,  # ns-render plays len(camera_path) / seconds frames a second
        "smoothness_value": 0.0,
        "is_cycle": False,
        "crop": None,
        "keyframes": keyframes,
        "camera_path": frames,
    }


def read_nerfstudio(file: Path) -> SampledPath:
    """The sampled `camera_path` of a nerfstudio camera_path.json, as OpenCV cameras."""
    file = Path(file)
    doc = read_json(file)
    frames = doc.get("camera_path")
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{file}: field 'camera_path' is missing or empty")
    try:
        width, height = int(doc["render_width"]), int(doc["render_height"])
        fps = float(doc.get("fps", 24.0))
        seconds = float(doc.get("seconds", len(frames) / fps if fps else 0.0))
    except (KeyError, TypeError, ValueError, OverflowError) as err:
        raise InputError(
            f"{file}: render_width, render_height, fps and seconds must be numbers ({err})"
        ) from None
    # The ranges a path YAML accepts, so that what is imported can be loaded again.
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise InputError(f"{file}: render_width/render_height must be 16-8192 pixels")
    if not (0.0 < fps <= 240.0 and 0.0 <= seconds <= 3600.0):
        raise InputError(f"{file}: fps must be above 0 and at most 240, seconds 0-3600")
    matrices, vfovs = [], []
    for i, frame in enumerate(frames):
        where = f"{file}: camera_path[{i}]"
        try:
            gl = np.asarray(frame["camera_to_world"], dtype=np.float64).reshape(4, 4)
            vfov = float(frame["fov"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InputError(
                f"{where} needs camera_to_world (16 numbers) and fov (degrees)"
            ) from None
        if not (np.isfinite(gl).all() and np.abs(gl[:3, 3]).max() <= 1e6 and 1.0 <= vfov <= 170.0):
            raise InputError(
                f"{where}: camera_to_world must be finite (positions within 1e6) "
                "and fov within 1-170 degrees"
            )
        matrices.append(cam_from_world_from_gl(_orthonormal(gl, where)))
        vfovs.append(vfov)
    return SampledPath(
        cam_from_world=np.stack(matrices),
        intrinsics=[Intrinsics.from_vfov(v, width, height) for v in vfovs],
        times=np.arange(len(frames)) / fps,  # ns-render: frame i at i / fps
        fps=fps,
        width=width,
        height=height,
        name=str(file),
    )


def _orthonormal(world_from_cam: np.ndarray, where: str) -> np.ndarray:
    """Strip scale from a camera-to-world (Blender exports may carry one) via SVD."""
    U, S, Vt = np.linalg.svd(world_from_cam[:3, :3])
    if S.min() < 1e-9 or np.linalg.det(U @ Vt) < 0:
        raise InputError(f"{where}: camera_to_world is not a rotation")
    out = world_from_cam.copy()
    out[:3, :3] = U @ Vt
    out[3] = [0.0, 0.0, 0.0, 1.0]
    return out


def import_nerfstudio(file: Path, out: Path) -> Path:
    """nerfstudio camera_path.json -> path YAML (written atomically)."""
    text = to_path_yaml(read_nerfstudio(file), source=Path(file).name)
    with atomic_file(Path(out)) as tmp:
        tmp.write_text(text)
    return Path(out)


