"""The shot directory that `render_path` writes and `generate` and the formats read.

    SHOT_DIR/
      manifest.json        scene, path, settings, versions, size, fps, formats
      report.json          unseen share per frame, warnings, the reference frames chosen
      cameras.json         per frame: OpenCV cam_from_world, OpenGL world_from_cam, K, size, time
      maps/color.npy       [F, H, W, 3] uint8 RGB (maps are plain .npy, written and read a frame at a time)
      maps/depth.npy       [F, H, W] float32 expected z-depth in scene units (0 = nothing)
      maps/alpha.npy       [F, H, W] float32 accumulated opacity
      maps/normals.npy     [F, H, W, 3] float16 unit camera-space normals (OpenCV axes), 0 = none
      maps/unseen.npy      [F, H, W] float32 graded unseen mask (binary: >= 0.5)
      references/NAME.png  source-shot frames that saw most of the path (for reference images)
      previews/color.mp4, previews/depth.mp4, previews/unseen.mp4
      contact_sheet.png    every n-th frame: colour, depth, unseen
      <format>/            one folder per conditioning format (see `splatcine.condition`)
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from collections.abc import Iterable
from typing import Any

import numpy as np

from splatcine.cameras import Camera, Intrinsics, gl_world_from_cam
from splatcine.errors import InputError
from splatcine.io.video import read_image, write_image, write_video
from splatcine.render.framestore import NpyFrames, NpyWriter
from splatcine.render.shot import Frame, RenderedShot

MANIFEST = "manifest.json"
REPORT = "report.json"
CAMERAS = "cameras.json"
MAPS = "maps"
REFERENCES = "references"
PREVIEWS = "previews"
CONTACT_SHEET = "contact_sheet.png"
CONTACT_COLUMNS = 8  # frames across the contact sheet


MAP_DTYPES = {"color": np.uint8, "depth": np.float32, "alpha": np.float32, "normals": np.float16,
              "unseen": np.float32}  # fmt: skip


def write_maps(frames: Iterable[Frame], out_dir: Path, count: int, width: int, height: int) -> None:
    """Stream `count` frames into `out_dir/maps/*.npy`, one frame in memory at a time."""
    (Path(out_dir) / MAPS).mkdir(exist_ok=True)
    shapes = {"color": (count, height, width, 3), "normals": (count, height, width, 3)}
    writers = {name: NpyWriter(Path(out_dir) / MAPS / f"{name}.npy", shapes.get(name, (count, height, width)), dtype)
               for name, dtype in MAP_DTYPES.items()}  # fmt: skip
    with contextlib.ExitStack() as stack:
        for writer in writers.values():
            stack.enter_context(writer)
        for frame in frames:
            for name, writer in writers.items():
                writer.append(getattr(frame, name))


def write_shot(shot: RenderedShot, out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write every file of the shot directory except the formats into `out_dir` (which exists).

    The maps are written from the shot unless `out_dir/maps` already holds them (a streamed
    render); previews and the contact sheet read one frame at a time."""
    out_dir = Path(out_dir)
    if not (out_dir / MAPS / "color.npy").is_file():
        write_maps(shot.frames(), out_dir, len(shot), shot.width, shot.height)
    (out_dir / REFERENCES).mkdir()
    for name, image in zip(shot.reference_names, shot.references):
        write_image(out_dir / REFERENCES / f"{name}.png", image)
    (out_dir / CAMERAS).write_text(json.dumps(cameras_json(shot.cameras, shot.fps), indent=1))
    report = {
        "unseen_fraction": [round(float(f), 4) for f in shot.unseen_fraction],
        "warnings": shot.warnings(),
        "references": shot.reference_names,
    }
    (out_dir / REPORT).write_text(json.dumps(report, indent=2))
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    (out_dir / PREVIEWS).mkdir()
    n = len(shot)
    write_video(out_dir / PREVIEWS / "color.mp4", (shot.color[i] for i in range(n)), fps=shot.fps)
    lo, hi = inverse_depth_range(shot.frames())
    write_video(out_dir / PREVIEWS / "depth.mp4", (colorize_depth(f.depth, f.alpha, lo, hi) for f in shot.frames()),
                fps=shot.fps)  # fmt: skip
    write_video(out_dir / PREVIEWS / "unseen.mp4", (gray(shot.unseen[i]) for i in range(n)), fps=shot.fps)
    write_image(out_dir / CONTACT_SHEET, contact_sheet(shot))


def read_shot(shot_dir: Path) -> RenderedShot:
    """The shot `write_shot` wrote, its maps read frame by frame from disk; InputError naming a missing file."""
    shot_dir = Path(shot_dir)
    if not shot_dir.is_dir():
        raise InputError(f"{shot_dir}: no such shot directory")
    read_shot_maps(shot_dir, [], 1.0)  # a missing map is named before the cameras file
    cameras, fps = read_cameras_json(shot_dir / CAMERAS)
    shot = read_shot_maps(shot_dir, cameras, fps)
    report = json.loads((shot_dir / REPORT).read_text()) if (shot_dir / REPORT).is_file() else {}
    shot.reference_names = list(report.get("references", []))
    shot.references = [read_image(shot_dir / REFERENCES / f"{n}.png") for n in shot.reference_names]
    return shot


def read_shot_maps(shot_dir: Path, cameras: list[Camera], fps: float) -> RenderedShot:
    """A shot over the maps in `shot_dir/maps`, read a frame at a time."""
    arrays = {}
    for name in MAP_DTYPES:
        path = Path(shot_dir) / MAPS / f"{name}.npy"
        if not path.is_file():
            raise InputError(f"{shot_dir}: not a rendered shot ({MAPS}/{name}.npy is missing)")
        arrays[name] = NpyFrames(path)
    return RenderedShot(cameras, arrays["color"], arrays["depth"], arrays["alpha"], arrays["normals"],
                        arrays["unseen"], fps)  # fmt: skip


def cameras_json(cameras: list[Camera], fps: float) -> dict[str, Any]:
    frames = []
    for i, cam in enumerate(cameras):
        k = cam.intrinsics
        frames.append({
            "index": i,
            "time": i / fps,
            "width": k.width, "height": k.height,
            "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy,
            "K": k.K.tolist(),
            "cam_from_world_opencv": np.asarray(cam.cam_from_world).tolist(),
            "world_from_cam_opengl": gl_world_from_cam(cam.cam_from_world).tolist(),
        })  # fmt: skip
    return {
        "conventions": "cam_from_world_opencv: world-to-camera, x right, y down, z forward; "
        "world_from_cam_opengl: camera-to-world, x right, y up, z backward (nerfstudio, Blender)",
        "fps": fps,
        "frames": frames,
    }


def read_cameras_json(path: Path) -> tuple[list[Camera], float]:
    try:
        doc = json.loads(Path(path).read_text())
        cameras = [
            Camera(np.asarray(f["cam_from_world_opencv"], dtype=np.float64),
                   Intrinsics(f["fx"], f["fy"], f["cx"], f["cy"], int(f["width"]), int(f["height"])))
            for f in doc["frames"]
        ]  # fmt: skip
        return cameras, float(doc["fps"])
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{path}: not a splatcine cameras file ({type(err).__name__}: {err})") from None


def gray(values: np.ndarray) -> np.ndarray:  # [..., H, W] in [0, 1] -> [..., H, W, 3] uint8
    v = (np.clip(values, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.repeat(v[..., None], 3, axis=-1)


INVERSE_DEPTH_SAMPLES = 20_000  # pixels a frame drawn for the shot's inverse-depth range (a percentile, not a sum)


def inverse_depth_range(frames: Iterable[Frame]) -> tuple[float, float]:
    """The 1st/99th percentiles of covered inverse depth over `frames` (from a sample of each)."""
    samples = []
    for f in frames:
        covered = (f.alpha > 0.5) & (f.depth > 0)
        inv = 1.0 / np.maximum(f.depth[covered], 1e-6)
        step = max(1, inv.size // INVERSE_DEPTH_SAMPLES)
        samples.append(inv[::step])
    values = np.concatenate(samples) if samples else np.zeros(0)
    if not values.size:
        return 0.0, 1.0
    lo, hi = np.percentile(values, [1, 99])
    return float(lo), float(hi)


def colorize_depth(depth: np.ndarray, alpha: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """[..., H, W] -> [..., H, W, 3]: inverse depth through matplotlib's turbo over [lo, hi], black where empty."""
    from matplotlib import colormaps

    covered = (alpha > 0.5) & (depth > 0)
    inv = np.where(covered, 1.0 / np.maximum(depth, 1e-6), 0.0)
    t = np.clip((inv - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    rgb = (colormaps["turbo"](t)[..., :3] * 255.0 + 0.5).astype(np.uint8)
    return np.where(covered[..., None], rgb, 0).astype(np.uint8)


def contact_sheet(shot: RenderedShot, columns: int = CONTACT_COLUMNS) -> np.ndarray:
    """Every n-th frame in a row, three rows: colour, colourised depth, unseen mask (red)."""
    picks = np.unique(np.linspace(0, len(shot) - 1, min(columns, len(shot))).round().astype(int))
    step = max(1, int(np.ceil(shot.width / 240)))  # thumbnails about 240 px wide
    frames = [shot.frame(int(i)) for i in picks]
    lo, hi = inverse_depth_range(frames)
    color = np.stack([f.color[::step, ::step] for f in frames])
    depth = np.stack([colorize_depth(f.depth, f.alpha, lo, hi)[::step, ::step] for f in frames])
    unseen = np.stack([f.unseen[::step, ::step, None] for f in frames])
    red = (color * (1 - 0.6 * unseen) + np.array([255, 0, 0]) * 0.6 * unseen).astype(np.uint8)
    rows = [np.concatenate(list(_pad(row)), axis=1) for row in (color, depth, red)]
    return np.concatenate(rows, axis=0)


def _pad(images: np.ndarray, border: int = 2) -> np.ndarray:  # [N, h, w, 3] with a white border
    return np.pad(images, ((0, 0), (border, border), (border, border), (0, 0)), constant_values=255)
