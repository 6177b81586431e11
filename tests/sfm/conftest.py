"""Procedural clips and their reconstructions, made once per test session.

Clips are small (32 frames at 320x180) so the whole SfM suite stays within its
CI budget; each is rendered by `scenes` (not by splatcine) and reconstructed at
most once, by whichever test asks first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from splatcine.errors import SplatcineError

FRAMES, WIDTH, HEIGHT = 32, 320, 180


class ClipCache:
    def __init__(self, root: Path):
        self.root = root
        self._clips: dict = {}
        self._results: dict = {}

    def clip(self, name: str):
        if name not in self._clips:
            from scenes import make_clip

            self._clips[name] = make_clip(name, self.root / "clips" / name, frames=FRAMES, width=WIDTH, height=HEIGHT)
        return self._clips[name]

    def reconstruction(self, name: str, masks: bool = False):
        """`reconstruct`'s result for clip `name`, or the SplatcineError it raised."""
        key = (name, masks)
        if key not in self._results:
            from splatcine.reconstruct import reconstruct

            clip = self.clip(name)
            out = self.root / "scenes" / f"{name}{'_masked' if masks else ''}"
            try:
                self._results[key] = reconstruct(clip.video_path, out, masks=clip.masks_dir if masks else None,
                                                 sfm_only=True)
            except SplatcineError as err:
                self._results[key] = err
        return self._results[key]

    def scene_dir(self, name: str, masks: bool = False) -> Path:
        return self.root / "scenes" / f"{name}{'_masked' if masks else ''}"


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> ClipCache:
    return ClipCache(tmp_path_factory.mktemp("sfm"))
