"""Structure from motion with COLMAP: the only package that imports pycolmap.

`run_sfm` turns a folder of keyframes into a `SparseModel` (posed cameras and
sparse points) or raises `ReconstructionError` with the reason; `SparseModel`
normalises, measures and writes itself; `triangulate_known_poses` builds points
for an already-posed input. `align` holds the Sim(3) evaluation helpers.
"""

from splatcine.sfm.align import PoseErrors, path_length, pose_errors, umeyama
from splatcine.sfm.colmap import (
    MapperAttempt,
    SfmResult,
    SfmSettings,
    plain_colmap,
    run_sfm,
    triangulate_known_poses,
)
from splatcine.sfm.model import ModelStats, Normalization, SparseModel

__all__ = [
    "MapperAttempt",
    "ModelStats",
    "Normalization",
    "PoseErrors",
    "SfmResult",
    "SfmSettings",
    "SparseModel",
    "path_length",
    "plain_colmap",
    "pose_errors",
    "run_sfm",
    "triangulate_known_poses",
    "umeyama",
]
