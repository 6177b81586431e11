"""`find_moving`: automatic masks for a posed folder of keyframes, and the picture of them.

Used by `splatcine.reconstruct` between a first SfM pass on whole frames and, when the
masks cover enough to matter, a second pass with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera
from splatcine.io.video import read_image, write_image
from splatcine.masks.motion import MotionSettings, motion_masks
from splatcine.progress import ProgressCallback, silent

# With `SFM_RERUN_DEFAULT`, SfM runs again with the masks when they cover at least this share
# of the keyframes on average (not measured: below it, RANSAC is expected to drop the few
# features on movers).
SFM_RERUN_FRACTION = 0.01
# The re-run is off by default: measured, it did not help. The first pass already keeps its
# features off what flow shows moving (`SFM_FEATURE_MASKS`). On the walkers clip (masks cover
# 20-35% of each keyframe, walker IoU 0.90, ball 0.92) the re-run with the final masks gave
# a 0.44% centre error and 0.26 deg against 0.27% and 0.17 deg without it (true masks: 0.21%,
# 0.12 deg), for a second SfM that took the run from 595 s to 1523 s (one run each, loaded
# machine); on the same clip at 24 frames (masks 27%), 0.51% and 0.30 deg against 0.22% and
# 0.13 deg (benchmarks/results/masks.json). With a first pass on whole frames it made the
# cameras worse too (a still dolly: 2.9% centre error against < 1%; the walkers clip: 2.2%
# against 2.0%), because masks judged against pulled cameras miss the mover.
SFM_RERUN_DEFAULT = False
# Both passes take the static set to be what most of the image agrees on (the consensus of the
# two-view fits, the cameras SfM finds). Masks covering more than this share on average mean
# that assumption failed (MotionCtrl's dog fills the frame while its generated field changes:
# 77% masked), and `reconstruct` warns instead of presenting the masks as found movers.
MOSTLY_MOVING = 0.5
# The final masks judge each pixel against the residual the static set leaves in its frame
# (`MotionMasks.set_residual_px`, work pixels at 320 px). Above this, the cameras do not explain
# the flow and the masks cannot tell what moves (found 76% moving before the test was relative,
# nothing after): the shot's median is 0.13-0.17 px on the procedural sets, 0.23-0.64 px on the
# five static RealEstate10K clips, the pull-down copy, lady running, Tokyo walk and the
# rollercoaster, and 2.8 px on MotionCtrl's dog (its generated set changes as the camera moves).
UNEXPLAINED_PX = 1.5
# The first SfM pass of `--masks auto` takes no features where flow breaks the two-view
# geometry of the set over 12-24 px of image motion (`splatcine.masks.epipolar.feature_masks`).
SFM_FEATURE_MASKS = True


def write_feature_masks(images: list[np.ndarray], names: list[str], mask_dir: Path,
                        progress: ProgressCallback = silent) -> float:
    """COLMAP masks (`<name>.png`, black = no features) of the first SfM pass from keyframes [N] in
    video order (`splatcine.masks.epipolar.feature_masks`); returns the mean share masked."""
    from splatcine.masks.epipolar import feature_masks

    masks = feature_masks(images, progress=progress)
    Path(mask_dir).mkdir(parents=True, exist_ok=True)
    for name, mask in zip(names, masks):
        write_image(Path(mask_dir) / f"{name}.png", np.where(mask, 0, 255).astype(np.uint8))
    return float(np.mean([m.mean() for m in masks]))


@dataclass
class FoundMasks:
    masks: dict[str, np.ndarray]  # image name -> uint8 [H, W], 255 = moving (ignore), 0 = static
    fractions: dict[str, float]  # image name -> share of the frame masked
    seconds: dict[str, float] = field(default_factory=dict)
    set_residual_px: float | None = None  # `MotionMasks.set_residual_px`; None: not measured

    @property
    def unexplained_warning(self) -> str | None:
        """A warning when the cameras do not explain the flow well enough to judge what moves."""
        if self.set_residual_px is None or not self.set_residual_px > UNEXPLAINED_PX:
            return None
        return (f"the cameras explain the shot's optical flow only to {self.set_residual_px:.1f} px (a static set "
                f"leaves under {UNEXPLAINED_PX:g} px at 320 px wide), so the automatic masks cannot tell what "
                "moves; the cameras may be wrong too. Pass your own with --masks DIR")

    @property
    def mean_fraction(self) -> float:
        return float(np.mean(list(self.fractions.values()))) if self.fractions else 0.0

    @property
    def worth_sfm_rerun(self) -> bool:
        return self.mean_fraction >= SFM_RERUN_FRACTION


def find_moving(
    image_dir: Path,
    cameras: dict[str, Camera],  # image name -> camera, the registered frames (names sort in video order)
    points: np.ndarray,  # [P, 3] sparse points in the cameras' frame
    settings: MotionSettings = MotionSettings(),
    progress: ProgressCallback = silent,
) -> FoundMasks:
    """Masks of the moving things in the registered frames of `image_dir` (see `splatcine.masks.motion`)."""
    names = sorted(cameras)
    if len(names) < 2:
        return FoundMasks({}, {})
    images = [read_image(Path(image_dir) / name) for name in names]
    found = motion_masks(images, [cameras[n] for n in names], points, settings, progress)
    masks = {n: np.where(m, 255, 0).astype(np.uint8) for n, m in zip(names, found.masks)}
    return FoundMasks(masks, {n: float(f) for n, f in zip(names, found.fractions)}, found.seconds,
                      found.set_residual_px)


def write_mask_sheet(path: Path, images: list[np.ndarray], masks: list[np.ndarray | None],
                     labels: list[str] | None = None, columns: int = 4, width: int = 240) -> None:
    """A contact sheet of frames [H, W, 3] with their masks ([H, W], >= 128 = ignore) tinted red.

    Up to 12 frames, spread evenly; each tile `width` pixels wide with the masked share written
    under it when `labels` is None.
    """
    from PIL import Image, ImageDraw

    pick = np.unique(np.linspace(0, len(images) - 1, min(12, len(images))).round().astype(int))
    tiles = []
    for i in pick:
        image = images[i].astype(np.float32)
        mask = masks[i]
        share = 0.0
        if mask is not None:
            ignore = mask >= 128
            share = float(ignore.mean())
            image[ignore] = 0.45 * image[ignore] + 0.55 * np.array([255.0, 40.0, 40.0])
        h = round(image.shape[0] * width / image.shape[1])
        tile = Image.fromarray(image.clip(0, 255).astype(np.uint8)).resize((width, h), Image.BILINEAR)
        canvas = Image.new("RGB", (width, h + 16), (20, 20, 20))
        canvas.paste(tile, (0, 0))
        text = labels[i] if labels is not None else f"{share:.1%} masked"
        ImageDraw.Draw(canvas).text((4, h + 2), text, fill=(230, 230, 230))
        tiles.append(np.asarray(canvas))
    rows = [tiles[r:r + columns] for r in range(0, len(tiles), columns)]
    blank = np.zeros_like(tiles[0])
    sheet = np.concatenate([np.concatenate(row + [blank] * (columns - len(row)), axis=1) for row in rows])
    write_image(Path(path), sheet)
