"""Conditioning for video diffusion models, built from a rendered shot.

Each format is a folder inside the shot directory, laid out the way its model's own
tools read it (the layouts are documented in each module):

- `wan-vace`   control video + mask video + reference images for diffusers' `WanVACEPipeline`
- `voyager`    partial renders, 0/255 coverage masks, inverse-depth EXRs (HunyuanWorld-Voyager)
- `gen3c`      rendered warp images and masks as GEN3C's diffusion stage takes them
- `cameractrl` RealEstate10K pose text and Plücker embeddings (CameraCtrl)
- `frames`     plain PNG sequences of every map

`Bundle` is the same shot in memory; `bundle.to_wan_vace()` gives the keyword
arguments of a `WanVACEPipeline` call, so a larger pipeline can run its own model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from splatcine.condition import cameractrl, frames, gen3c, voyager, wan_vace
from splatcine.condition.bundle import Bundle
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.render.shot import RenderedShot

FORMATS: dict[str, Callable[[RenderedShot, Path], None]] = {
    "wan-vace": wan_vace.write,
    "voyager": voyager.write,
    "gen3c": gen3c.write,
    "cameractrl": cameractrl.write,
    "frames": frames.write,
}


def write_formats(
    shot: RenderedShot, shot_dir: Path, formats: Sequence[str], progress: ProgressCallback = silent
) -> None:
    """Write each format's folder `shot_dir/<format>/`."""
    for i, name in enumerate(formats):
        folder = Path(shot_dir) / name
        folder.mkdir(exist_ok=True)
        FORMATS[name](shot, folder)
        progress(Progress("condition", i + 1, len(formats), {"format": name}))


__all__ = ["FORMATS", "Bundle", "write_formats"]
