"""Every frame of a new shot placed in the set: the shot's frames read, registered into the scene's model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcine.errors import InputError, ReconstructionError
from splatcine.io.video import read_frames, write_image
from splatcine.progress import ProgressCallback, silent
from splatcine.scene import Scene, layout
from splatcine.sfm.register import RegisterSettings, Registration, register_frames


@dataclass
class Localised:
    """The new shot's frames and where each sits in the scene."""

    shot: Path
    frames: list[np.ndarray]  # [F] uint8 [H, W, 3]
    frame_dir: Path  # the frames as PNG (frame_%05d.png), inside the work folder
    registration: Registration


def localise(scene: Scene, shot: Path, work_dir: Path, *, settings: RegisterSettings = RegisterSettings(),
             progress: ProgressCallback = silent) -> Localised:
    """Read `shot` (video or frame folder) and register its frames into `scene`'s COLMAP model.

    Raises InputError for an unreadable shot or a scene without a sparse model, and
    ReconstructionError when not a single frame can be placed.
    """
    shot = Path(shot)
    frames = read_frames(shot)
    sizes = {f.shape for f in frames}
    if len(sizes) > 1:
        raise InputError(f"{shot}: frames of different sizes ({', '.join(map(str, sorted(sizes)))})")
    frame_dir = Path(work_dir) / "frames"
    frame_dir.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        write_image(frame_dir / f"frame_{i:05d}.png", frame)
    registration = register_frames(scene.root / layout.SPARSE, scene.root / layout.IMAGES, frame_dir,
                                   Path(work_dir) / "register", settings=settings, progress=progress)
    if not registration.placed:
        raise ReconstructionError(
            f"{shot}: no frame of the shot could be placed in the set {scene.root} (best frame: "
            f"{max(registration.inliers, default=0)} matches to the set's points; "
            f"{settings.min_inliers} needed): it does not show this set, or shows too little of it")
    return Localised(shot, frames, frame_dir, registration)
