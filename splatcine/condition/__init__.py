"""Conditioning for video diffusion models, built from a rendered shot.

Each format is a folder inside the shot directory, laid out the way its model's own
scripts read it (the layouts, and the upstream lines they follow, are in each module):

- `wan-vace`    control video + mask video + reference images for diffusers' `WanVACEPipeline`
- `voyager`     HunyuanWorld-Voyager's `--input-path` folder (49 frames)
- `gen3c`       GEN3C's loader folder: rgb.mp4, depth/mask/camera .npz (121 frames, 1280x704)
- `cameractrl`  CameraCtrl's `--trajectory_file` (16 poses) and the sizes to pass
- `recammaster` ReCamMaster's camera_extrinsics.json (81 frames) and how to run it
- `frames`      plain PNG sequences of every map

A format whose model takes a fixed frame count or size names its `target:` preset in
`TARGETS`; `check_formats` turns a shot that breaks those rules into a one-line error, or,
with `fit=True`, `write_formats` resamples the shot for that format (`_fit`).
`Bundle` is the same shot in memory; `bundle.to_wan_vace()` gives the keyword
arguments of a `WanVACEPipeline` call, so a larger pipeline can run its own model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from splatcine.condition import cameractrl, frames, gen3c, recammaster, voyager, wan_vace
from splatcine.condition._fit import fit_shot
from splatcine.condition.bundle import Bundle
from splatcine.errors import InputError
from splatcine.paths import targets
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.render.shot import RenderedShot

FORMATS: dict[str, Callable[[RenderedShot, Path], None]] = {
    "wan-vace": wan_vace.write,
    "voyager": voyager.write,
    "gen3c": gen3c.write,
    "cameractrl": cameractrl.write,
    "recammaster": recammaster.write,
    "frames": frames.write,
}
TARGETS = {"voyager": "voyager", "gen3c": "gen3c", "cameractrl": "cameractrl", "recammaster": "recammaster"}


def check_formats(formats: Sequence[str], frames: int, width: int, height: int, fit: bool = False) -> None:
    """InputError (one line) for an unknown format, or one whose model cannot take this shot unless `fit`."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"--format {unknown[0]!r} is not one of {', '.join(FORMATS)}")
    for name in formats:
        problem = targets.fit_problem(TARGETS[name], frames, width, height) if name in TARGETS else None
        if problem and not fit:
            raise InputError(f"--format {name} needs {problem}: render a path with `target: {TARGETS[name]}`, "
                             "or pass --fit to resample the shot for it")  # fmt: skip


def write_formats(
    shot: RenderedShot, shot_dir: Path, formats: Sequence[str], progress: ProgressCallback = silent,
    fit: bool = False,
) -> None:  # fmt: skip
    """Write each format's folder `shot_dir/<format>/` (resampled for its model when `fit`)."""
    check_formats(formats, len(shot), shot.width, shot.height, fit)
    for i, name in enumerate(formats):
        folder = Path(shot_dir) / name
        folder.mkdir(exist_ok=True)
        FORMATS[name](fitted(shot, name) if fit else shot, folder)
        progress(Progress("condition", i + 1, len(formats), {"format": name}))


def fitted(shot: RenderedShot, name: str) -> RenderedShot:
    """`shot` resampled to format `name`'s frame count and size, when it does not fit them."""
    target = TARGETS.get(name)
    if target is None or targets.fit_problem(target, len(shot), shot.width, shot.height) is None:
        return shot
    preset = targets.PRESETS[target]
    rule = targets.parse_rule(preset.frame_rule)
    count = targets.nearest_count(len(shot), rule)
    width, height = preset.resolution if preset.fixed_size else (
        targets.nearest_side(shot.width, preset.side_multiple), targets.nearest_side(shot.height, preset.side_multiple))
    return fit_shot(shot, count, width, height, preset.fps)


__all__ = ["FORMATS", "TARGETS", "Bundle", "check_formats", "write_formats"]
