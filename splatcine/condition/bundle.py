"""`Bundle`: a rendered shot in memory, with the keyword arguments each model's call takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splatcine.condition import wan_vace
from splatcine.render.files import read_shot
from splatcine.render.shot import RenderedShot


@dataclass
class Bundle:
    shot: RenderedShot
    root: Path | None = None  # the shot directory it was read from, if any

    @classmethod
    def load(cls, shot_dir: Path | str) -> "Bundle":
        return cls(read_shot(Path(shot_dir)), Path(shot_dir))

    def to_wan_vace(
        self, num_frames: int | None = None, height: int | None = None, width: int | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for `WanVACEPipeline(...)`: video, mask, reference_images, height,
        width, num_frames (PIL images; see `splatcine.condition.wan_vace` for the quantisation)."""
        from PIL import Image

        data = wan_vace.prepare(self.shot, num_frames, height, width)
        return {
            "video": [Image.fromarray(f) for f in data["control"]],
            "mask": [Image.fromarray(m) for m in data["mask"]],
            "reference_images": [Image.fromarray(r) for r in data["references"]] or None,
            "height": data["height"],
            "width": data["width"],
            "num_frames": data["num_frames"],
        }
