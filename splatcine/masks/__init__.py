"""Masks of what moves in a shot, so SfM and training see only the static set.

`feature_masks(images)` needs no cameras: flow that breaks the set's two-view geometry
over long gaps keeps the first SfM pass's features off large movers
(`splatcine.masks.epipolar`). `motion_masks(images, cameras, points)` then compares dense
optical flow between neighbouring keyframes with the flow the posed static set would
produce (`splatcine.masks.motion`);
`splatcine.train` adds a second, residual-based mask of the transients geometry missed
(`splatcine.train.loss.RobustWeights`). Masks follow `splatcine.scene.layout`: 255 = ignore.
"""

from splatcine.masks.auto import (SFM_RERUN_FRACTION, FoundMasks, find_moving, write_feature_masks,
                                  write_mask_sheet)
from splatcine.masks.epipolar import EpipolarSettings, feature_masks
from splatcine.masks.motion import MotionMasks, MotionSettings, motion_masks

__all__ = ["SFM_RERUN_FRACTION", "EpipolarSettings", "FoundMasks", "MotionMasks", "MotionSettings",
           "feature_masks", "find_moving", "motion_masks", "write_feature_masks", "write_mask_sheet"]
