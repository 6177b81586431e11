"""`render_path`: a scene and a camera path in, a shot directory of maps and conditioning out."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from splatcine.atomic import SHOT_KIND, atomic_directory, check_output_dir
from splatcine.cameras import Camera
from splatcine.errors import InputError
from splatcine.progress import ProgressCallback, silent
from splatcine.render import files, maps, shot as shot_mod
from splatcine.scene import Scene, load_scene

REFERENCE_COUNT = 2  # source frames copied as reference images (Wan VACE takes a few)


@dataclass(frozen=True)
class RenderResult:
    out_dir: Path
    num_frames: int
    width: int
    height: int
    fps: float
    formats: tuple[str, ...]
    unseen_fraction: float  # mean share of a frame the binary unseen mask covers
    warnings: tuple[str, ...]  # "frames 40-80 look at parts of the set the source shot never saw"


def render_path(
    scene: Scene | Path | str,
    path: Path | str | Sequence[Camera],
    out_dir: Path | str,
    *,
    formats: Sequence[str] = ("frames",),
    fit: bool = False,
    fps: float | None = None,
    overwrite: bool = False,
    backend: str = "auto",
    device: str | None = None,
    progress: ProgressCallback = silent,
) -> RenderResult:
    """Render `scene`'s splat along `path` (a path YAML or a list of cameras) into `out_dir`.

    Writes the shot directory described in `splatcine.render.files`, then one folder per
    entry of `formats` (`splatcine.condition.FORMATS`); a format whose model takes another frame
    count or size is an InputError before anything renders, or is resampled for it with `fit`.
    Frames stream to disk as they render, so memory does not grow with the path's length.
    The directory appears whole or not at all.
    """
    from splatcine.condition import check_formats, write_formats

    formats = tuple(dict.fromkeys(formats))  # each once, in the order given
    out_dir = Path(out_dir)
    # never the scene being read, nor the folder of the path file; only an earlier shot is replaced
    inputs = [scene.root if isinstance(scene, Scene) else Path(scene)]
    inputs += [Path(path)] if isinstance(path, (str, Path)) else []
    check_output_dir(out_dir, overwrite, SHOT_KIND, inputs)
    scene = scene if isinstance(scene, Scene) else load_scene(Path(scene))
    gaussians = _load_gaussians(scene)
    cameras, path_fps, path_name = _path_cameras(path, scene)
    fps = float(fps or path_fps or 24.0)
    if not cameras:
        raise InputError(f"{path_name}: the camera path has no frames")
    size = cameras[0].intrinsics
    check_formats(formats, len(cameras), size.width, size.height, fit)

    renderer = shot_mod.ShotRenderer(gaussians, cameras, scene.cameras, backend=backend, device=device,
                                     progress=progress, source_masks=_source_masks(scene))  # fmt: skip
    with atomic_directory(out_dir, overwrite=overwrite, kind=SHOT_KIND, inputs=inputs) as tmp:
        files.write_maps(renderer.frames(), tmp, len(cameras), size.width, size.height)
        shot = files.read_shot_maps(tmp, cameras, fps)
        shot.source_pixels = renderer.source_pixels
        shot_mod.send_warnings(shot, progress)
        _attach_references(shot, scene)
        files.write_shot(shot, tmp, _manifest(scene, path_name, shot, formats, backend))
        write_formats(shot, tmp, formats, progress=progress, fit=fit)
    return RenderResult(out_dir, len(shot), shot.width, shot.height, fps, formats,
                        float(shot.unseen_fraction.mean()), tuple(shot.warnings()))  # fmt: skip


def _source_masks(scene: Scene) -> list[np.ndarray | None] | None:
    """Each source frame's mask ([H, W] bool, True = a moving thing), or None without masks."""
    from splatcine.io.video import read_image

    if all(f.mask_path is None for f in scene.frames):
        return None
    out = []
    for f in scene.frames:
        mask = None if f.mask_path is None else read_image(f.mask_path)
        out.append(None if mask is None else (mask if mask.ndim == 2 else mask[..., 0]) >= 128)
    return out


def _load_gaussians(scene: Scene):
    if scene.splat_path is None and scene.training_unfinished:
        raise InputError(f"{scene.root}: the scene's training never finished (stopped or killed); "
                         f"`splatcine train {scene.root} --resume` continues it")
    if scene.splat_path is None:
        raise InputError(f"{scene.root}: the scene has no splat.ply yet (run `splatcine train` first)")
    from splatcine.io.ply import read_gaussians_ply

    return read_gaussians_ply(scene.splat_path)


def _path_cameras(path, scene: Scene) -> tuple[list[Camera], float | None, str]:
    if isinstance(path, (str, Path)):
        from splatcine import paths

        sampled = paths.load(Path(path), scene=scene)
        return list(sampled.cameras), float(sampled.fps), str(path)
    cameras = list(path)
    if not all(isinstance(c, Camera) for c in cameras):
        raise InputError("render_path: path must be a path YAML file or a list of Camera")
    return cameras, None, "cameras"


def _attach_references(shot: shot_mod.RenderedShot, scene: Scene) -> None:
    """Copy the source frames that saw most of the new path: the model's reference images."""
    from splatcine.io.video import read_image

    picked = shot_mod.pick_sources(len(scene.frames))
    if shot.source_pixels is None or not len(picked):
        return
    order = np.argsort(-shot.source_pixels, kind="stable")[:REFERENCE_COUNT]
    for i in order:
        if shot.source_pixels[i] == 0:
            continue
        frame = scene.frames[picked[int(i)]]
        image = read_image(frame.image_path)
        shot.references.append(image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2))
        shot.reference_names.append(frame.name)


def _manifest(scene: Scene, path_name: str, shot, formats, backend: str) -> dict[str, Any]:
    return {
        "kind": "splatcine shot",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scene": str(scene.root),
        "path": path_name,
        "frames": len(shot),
        "width": shot.width,
        "height": shot.height,
        "fps": shot.fps,
        "formats": list(formats),
        "settings": {
            "backend": backend,
            "unseen_threshold": maps.UNSEEN_THRESHOLD,
            "alpha_range": maps.ALPHA_RANGE,
            "count_decay": maps.COUNT_DECAY,
            "angle_range_deg": maps.ANGLE_RANGE_DEG,
            "depth_tolerance": maps.DEPTH_TOLERANCE,
            "source_max_side": shot_mod.SOURCE_MAX_SIDE,
            "max_sources": shot_mod.MAX_SOURCES,
            "reference_count": REFERENCE_COUNT,
        },
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("splatcine", "numpy", "diffusers", "transformers", "openexr"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
