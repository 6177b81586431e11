"""Masks of what moves in a shot, so SfM and training see only the static set.

`motion_masks(images, cameras, points)` compares dense optical flow between neighbouring
keyframes with the flow the posed static set would produce (`splatcine.masks.motion`);
`splatcine.train` adds a second, residual-based mask of the transients geometry missed
(`splatcine.train.loss.RobustWeights`). Masks follow `splatcine.scene.layout`: 255 = ignore.
"""

from splatcine.masks.auto import SFM_RERUN_FRACTION, FoundMasks, find_moving, write_mask_sheet
from splatcine.masks.motion import MotionMasks, MotionSettings, motion_masks

__all__ = ["SFM_RERUN_FRACTION", "FoundMasks", "MotionMasks", "MotionSettings", "find_moving",
           "motion_masks", "write_mask_sheet"]
