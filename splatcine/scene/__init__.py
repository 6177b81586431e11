"""The scene directory: what `reconstruct` writes and every later stage reads.

`load_scene(path)` gives a typed `Scene`; `layout` names the files; `transforms`
reads and writes nerfstudio's `transforms.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from splatcine.cameras import Camera
from splatcine.errors import InputError
from splatcine.scene import layout
from splatcine.scene.transforms import read_transforms, resolve_image_path


@dataclass(frozen=True)
class SceneFrame:
    """One kept frame of the source shot with its recovered camera."""

    name: str  # stem of the image file, e.g. "frame_00012"
    image_path: Path
    camera: Camera
    source_frame: int  # index of the frame in the source video
    mask_path: Path | None = None  # 255 = ignore (see layout.MASK_IGNORE)
    alpha_path: Path | None = None  # the input's alpha (255 = opaque); the image is composited on black
    shot: int = 1  # which shot of the set the frame comes from (1: the one reconstructed; see extend)


@dataclass
class Scene:
    """A reconstructed set: posed frames, sparse points, and (after training) a splat."""

    root: Path
    frames: list[SceneFrame]
    points: np.ndarray  # [P, 3] sparse SfM points, normalised scene frame
    point_colors: np.ndarray  # [P, 3] uint8
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def cameras(self) -> list[Camera]:
        return [f.camera for f in self.frames]

    @property
    def splat_path(self) -> Path | None:
        path = self.root / layout.SPLAT_PLY
        return path if path.is_file() else None

    @property
    def training_unfinished(self) -> bool:
        """A training was started on this scene and never completed (see layout.TRAINING_MARKER)."""
        return (self.root / layout.TRAINING_MARKER).is_file()

    @property
    def metres_per_unit(self) -> float | None:
        """Real-world scale, when the manifest records one (e.g. from a metric input)."""
        scale = self.manifest.get("normalization", {}).get("metres_per_unit")
        return float(scale) if scale else None

    def frame_by_source(self, source_frame: int) -> SceneFrame:
        for frame in self.frames:
            if frame.source_frame == source_frame:
                return frame
        kept = [f.source_frame for f in self.frames]
        raise InputError(
            f"{self.root}: the scene has no camera for source frame {source_frame} "
            f"(kept frames: {_ranges(kept)})"
        )


def load_scene(path: Path) -> Scene:
    """Read a scene directory written by `splatcine reconstruct` (or an equivalent one)."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"{root}: no such scene directory")
    if not layout.is_scene_dir(root):
        raise InputError(f"{root}: not a splatcine scene (no {layout.TRANSFORMS} and {layout.MANIFEST})")
    cameras, entries, _ = read_transforms(root / layout.TRANSFORMS)
    frames = []
    for camera, entry in zip(cameras, entries):
        image_path = resolve_image_path(root, entry["file_path"])
        mask, alpha = entry.get("mask_path"), entry.get("alpha_path")
        frames.append(
            SceneFrame(
                name=image_path.stem,
                image_path=image_path,
                camera=camera,
                source_frame=int(entry.get("source_frame", len(frames))),
                mask_path=root / mask if mask else None,
                alpha_path=root / alpha if alpha else None,
                shot=int(entry.get("shot", 1)),
            )
        )
    manifest = _read_manifest(root / layout.MANIFEST)
    points_path = root / layout.POINTS_PLY
    if points_path.is_file():
        from splatcine.io.ply import read_points_ply

        points, colors = read_points_ply(points_path)
        colors = colors if colors is not None else np.full((len(points), 3), 128, np.uint8)
    else:
        points, colors = np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    return Scene(root=root, frames=frames, points=points, point_colors=colors, manifest=manifest)


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: a scene manifest is a JSON object, not a {type(manifest).__name__}")
    normalization = manifest.get("normalization", {})
    scale = normalization.get("metres_per_unit") if isinstance(normalization, dict) else None
    if not isinstance(normalization, dict) or not (scale is None or isinstance(scale, (int, float))):
        raise InputError(f"{path}: field 'normalization' is not what splatcine writes")
    return manifest


def _ranges(values: list[int]) -> str:
    """[0,1,2,5,6] -> '0-2, 5-6'."""
    out, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            out.append(f"{start}-{v}" if v != start else f"{v}")
            start = None
    return ", ".join(out)
