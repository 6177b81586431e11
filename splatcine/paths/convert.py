"""A sampled path in other tools' formats (and nerfstudio's back in).

    nerfstudio    camera_path.json: OpenGL camera-to-world (flattened row-major 4x4),
                  vertical FOV in degrees, `keyframes` + the sampled `camera_path`,
                  render_width/height, fps, seconds. Matrices are in the scene frame of
                  transforms.json (nerfstudio's viewer adds its dataparser transform).
    opencv        {"convention": "opencv", frames: [{cam_from_world 4x4, K 3x3, time, vfov}]}
    opengl        the same with "world_from_cam" in OpenGL axes (x right, y up, z back)
    re10k         RealEstate10K / CameraCtrl pose text: a first line naming the source, then
                  per frame `timestamp_us fx/W fy/H cx/W cy/H 0 0` and the 3x4 cam_from_world
                  row-major
    plucker       safetensors: "plucker" [F, 6, H, W] float32 rays [o x d, d] per pixel centre,
                  with poses relative to the first frame's camera (its rays start at the origin);
                  also "cam_from_world" [F, 4, 4] (relative) and "K" [F, 3, 3] of the ray grid
    recammaster   ReCamMaster's camera_extrinsics.json: {"frame{i}": {"cam01": "[a b c d] x4"}},
                  each the transpose of an Unreal camera-to-world (columns forward, right, up,
                  translation) in centimetres; ReCamMaster's loader
                  (`c2w = M.T[:, [1, 2, 0, 3]]; c2w[:3, 1] *= -1; c2w[:3, 3] /= 100`) turns it
                  back into splatcine's OpenCV world_from_cam in metres (scene units if unscaled)

All OpenCV <-> OpenGL conversion goes through `splatcine.cameras`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from splatcine.atomic import atomic_file
from splatcine.cameras import Intrinsics, cam_from_world_from_gl, gl_world_from_cam, invert_rigid
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath

FORMATS = ("nerfstudio", "opencv", "opengl", "re10k", "plucker", "recammaster")


def export(path: SampledPath, fmt: str, out: Path, *, downsample: int = 1) -> Path:
    """Write `path` as `fmt` to `out` atomically."""
    out = Path(out)
    if fmt not in FORMATS:
        raise InputError(f"unknown export format '{fmt}' (one of {', '.join(FORMATS)})")
    with atomic_file(out) as tmp:
        if fmt == "plucker":
            write_plucker(path, tmp, downsample=downsample)
        else:
            text = {
                "nerfstudio": lambda: json.dumps(to_nerfstudio(path), indent=2),
                "opencv": lambda: json.dumps(to_cameras_json(path, "opencv"), indent=2),
                "opengl": lambda: json.dumps(to_cameras_json(path, "opengl"), indent=2),
                "re10k": lambda: to_re10k(path),
                "recammaster": lambda: json.dumps(to_recammaster(path), indent=2),
            }[fmt]()
            tmp.write_text(text)
    return out


# nerfstudio ---------------------------------------------------------------------------------


def to_nerfstudio(path: SampledPath) -> dict[str, Any]:
    aspect = path.width / path.height
    keyframes = [
        {
            "matrix": gl_world_from_cam(m).flatten().tolist(),
            "fov": float(v),
            "aspect": aspect,
            "override_transition_enabled": False,
            "override_transition_sec": None,
        }
        for m, v in zip(path.key_cam_from_world, path.key_vfov)
    ]
    frames = [
        {
            "camera_to_world": gl_world_from_cam(m).flatten().tolist(),
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
        "seconds": path.seconds,
        "smoothness_value": 0.0,
        "is_cycle": False,
        "crop": None,
        "keyframes": keyframes,
        "camera_path": frames,
    }


def read_nerfstudio(file: Path) -> SampledPath:
    """The sampled `camera_path` of a nerfstudio camera_path.json, as OpenCV cameras."""
    file = Path(file)
    doc = _read_json(file)
    frames = doc.get("camera_path")
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{file}: field 'camera_path' is missing or empty")
    try:
        width, height = int(doc["render_width"]), int(doc["render_height"])
        fps = float(doc.get("fps", 24.0))
        seconds = float(doc.get("seconds", (len(frames) - 1) / fps if fps else 0.0))
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
        times=np.linspace(0.0, seconds, len(frames)) if len(frames) > 1 else np.zeros(1),
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


def import_nerfstudio(file: Path, out: Path) -> Path:
    """nerfstudio camera_path.json -> path YAML (written atomically)."""
    text = to_path_yaml(read_nerfstudio(file), source=Path(file).name)
    with atomic_file(Path(out)) as tmp:
        tmp.write_text(text)
    return Path(out)


# per-frame camera JSON ----------------------------------------------------------------------


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
    doc = _read_json(file)
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


# RealEstate10K / CameraCtrl -----------------------------------------------------------------


def to_re10k(path: SampledPath) -> str:
    lines = [f"splatcine://{Path(path.name).name or 'path'}"]
    for m, k, t in zip(path.cam_from_world, path.intrinsics, path.times):
        normalised = (k.fx / k.width, k.fy / k.height, k.cx / k.width, k.cy / k.height, 0.0, 0.0)
        values = [int(round(t * 1e6)), *normalised, *m[:3, :4].flatten()]
        lines.append(
            " ".join(str(values[0]) if i == 0 else repr(float(v)) for i, v in enumerate(values))
        )
    return "\n".join(lines) + "\n"


def read_re10k(file: Path, width: int, height: int, fps: float = 16.0) -> SampledPath:
    """RealEstate10K pose text (normalised intrinsics) for images of `width` x `height`."""
    file = Path(file)
    rows = []
    for n, line in enumerate(Path(file).read_text().splitlines()[1:], start=2):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.split()]
        except ValueError:
            raise InputError(f"{file}:{n} is not a line of 19 numbers") from None
        if len(values) != 19:
            raise InputError(f"{file}:{n} has {len(values)} numbers; RealEstate10K lines have 19")
        rows.append(values)
    if not rows:
        raise InputError(f"{file}: no camera lines")
    data = np.asarray(rows)
    matrices = np.tile(np.eye(4), (len(data), 1, 1))
    matrices[:, :3, :4] = data[:, 7:].reshape(-1, 3, 4)
    intrinsics = [
        Intrinsics(r[1] * width, r[2] * height, r[3] * width, r[4] * height, width, height)
        for r in data
    ]
    return SampledPath(matrices, intrinsics, data[:, 0] / 1e6, fps, width, height, name=str(file))


# Plücker rays -------------------------------------------------------------------------------


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
    out = []
    for pose, K in zip(torch.from_numpy(cam0_from_cam), torch.from_numpy(Ks)):
        rays = pixels @ torch.linalg.inv(K).T @ pose[:3, :3].T  # [H, W, 3] directions in cam0
        d = rays / rays.norm(dim=-1, keepdim=True)
        o = pose[:3, 3].expand_as(d)
        out.append(torch.cat([torch.cross(o, d, dim=-1), d], dim=-1).permute(2, 0, 1))
    return torch.stack(out).float(), invert_rigid(cam0_from_cam), Ks


def write_plucker(path: SampledPath, out: Path, downsample: int = 1) -> None:
    import torch
    from safetensors.torch import save_file

    if downsample < 1:
        raise InputError(f"downsample must be 1 or more, not {downsample}")
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


# ReCamMaster --------------------------------------------------------------------------------


def to_recammaster(path: SampledPath) -> dict[str, Any]:
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
            "cam01": " ".join("[" + " ".join(repr(float(v)) for v in r) + "]" for r in rows)
        }
    return out


def _read_json(file: Path) -> dict[str, Any]:
    try:
        doc = json.loads(Path(file).read_text())
    except FileNotFoundError:
        raise InputError(f"{file}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{file}: not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{file}: expected a JSON object")
    return doc


def frame_table(path: SampledPath, every: int = 1) -> tuple[list[str], list[list[str]]]:
    """Headers and rows describing every `every`-th frame (and the last) for a text table."""
    headers = ["frame", "time s", "position (x y z)", "forward (x y z)", "vfov deg", "fx px"]
    rows = []
    picked = sorted(set(range(0, len(path), max(1, every))) | {len(path) - 1})
    world_from_cam = invert_rigid(path.cam_from_world)
    for i in picked:
        c, f, k = world_from_cam[i, :3, 3], path.cam_from_world[i, 2, :3], path.intrinsics[i]
        rows.append(
            [
                str(i),
                f"{path.times[i]:.3f}",
                " ".join(f"{v:+.3f}" for v in c),
                " ".join(f"{v:+.3f}" for v in f),
                f"{k.vfov_deg:.2f}",
                f"{k.fx:.1f}",
            ]
        )
    return headers, rows
