"""The shot directory that `render_path` writes and `generate` and the formats read.

    SHOT_DIR/
      manifest.json        scene, path, settings, versions, size, fps, formats
      report.json          unseen share per frame, warnings, the reference frames chosen
      cameras.json         per frame: OpenCV cam_from_world, OpenGL world_from_cam, K, size, time
      maps/color.npy       [F, H, W, 3] uint8 RGB
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

import json
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.cameras import Camera, Intrinsics, gl_world_from_cam
from splatcine.errors import InputError
from splatcine.io.video import read_image, write_image, write_video
from splatcine.render.shot import RenderedShot

MANIFEST = "manifest.json"
REPORT = "report.json"
CAMERAS = "cameras.json"
MAPS = "maps"
REFERENCES = "references"
PREVIEWS = "previews"
CONTACT_SHEET = "contact_sheet.png"
CONTACT_COLUMNS = 8  # frames across the contact sheet


def write_shot(shot: RenderedShot, out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write every file of the shot directory except the formats into `out_dir` (which exists)."""
    out_dir = Path(out_dir)
    (out_dir / MAPS).mkdir()
    np.save(out_dir / MAPS / "color.npy", shot.color)
    np.save(out_dir / MAPS / "depth.npy", shot.depth.astype(np.float32))
    np.save(out_dir / MAPS / "alpha.npy", shot.alpha.astype(np.float32))
    np.save(out_dir / MAPS / "normals.npy", shot.normals.astype(np.float16))
    np.save(out_dir / MAPS / "unseen.npy", shot.unseen.astype(np.float32))
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
    write_video(out_dir / PREVIEWS / "color.mp4", shot.color, fps=shot.fps)
    write_video(out_dir / PREVIEWS / "depth.mp4", colorize_depth(shot.depth, shot.alpha), fps=shot.fps)
    write_video(out_dir / PREVIEWS / "unseen.mp4", gray(shot.unseen), fps=shot.fps)
    write_image(out_dir / CONTACT_SHEET, contact_sheet(shot))


def read_shot(shot_dir: Path) -> RenderedShot:
    """Read back what `write_shot` wrote; InputError naming the missing file."""
    shot_dir = Path(shot_dir)
    if not shot_dir.is_dir():
        raise InputError(f"{shot_dir}: no such shot directory")
    arrays = {}
    for name in ("color", "depth", "alpha", "normals", "unseen"):
        path = shot_dir / MAPS / f"{name}.npy"
        if not path.is_file():
            raise InputError(f"{shot_dir}: not a rendered shot ({MAPS}/{name}.npy is missing)")
        arrays[name] = np.load(path)
    cameras, fps = read_cameras_json(shot_dir / CAMERAS)
    report = json.loads((shot_dir / REPORT).read_text()) if (shot_dir / REPORT).is_file() else {}
    names = list(report.get("references", []))
    references = [read_image(shot_dir / REFERENCES / f"{n}.png") for n in names]
    return RenderedShot(cameras, arrays["color"], arrays["depth"], arrays["alpha"],
                        arrays["normals"].astype(np.float32), arrays["unseen"], fps,
                        references=references, reference_names=names)  # fmt: skip


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


def colorize_depth(depth: np.ndarray, alpha: np.ndarray) -> np.ndarray:  # [F, H, W] -> [F, H, W, 3]
    """Inverse depth through matplotlib's turbo, one range for the whole shot, black where empty."""
    from matplotlib import colormaps

    covered = (alpha > 0.5) & (depth > 0)
    inv = np.where(covered, 1.0 / np.maximum(depth, 1e-6), 0.0)
    lo, hi = (np.percentile(inv[covered], [1, 99]) if covered.any() else (0.0, 1.0))
    t = np.clip((inv - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    rgb = (colormaps["turbo"](t)[..., :3] * 255.0 + 0.5).astype(np.uint8)
    return np.where(covered[..., None], rgb, 0).astype(np.uint8)


def contact_sheet(shot: RenderedShot, columns: int = CONTACT_COLUMNS) -> np.ndarray:
    """Every n-th frame in a row, three rows: colour, colourised depth, unseen mask (red)."""
    picks = np.unique(np.linspace(0, len(shot) - 1, min(columns, len(shot))).round().astype(int))
    step = max(1, int(np.ceil(shot.width / 240)))  # thumbnails about 240 px wide
    color = shot.color[picks, ::step, ::step]
    depth = colorize_depth(shot.depth[picks], shot.alpha[picks])[:, ::step, ::step]
    unseen = shot.unseen[picks, ::step, ::step, None]
    red = (color * (1 - 0.6 * unseen) + np.array([255, 0, 0]) * 0.6 * unseen).astype(np.uint8)
    rows = [np.concatenate(list(_pad(row)), axis=1) for row in (color, depth, red)]
    return np.concatenate(rows, axis=0)


def _pad(images: np.ndarray, border: int = 2) -> np.ndarray:  # [N, h, w, 3] with a white border
    return np.pad(images, ((0, 0), (border, border), (border, border), (0, 0)), constant_values=255)
