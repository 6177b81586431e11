"""Structure from motion with COLMAP: the only package that imports pycolmap.

`run_sfm` turns a folder of keyframes into a `SparseModel` (posed cameras and
sparse points) or raises `ReconstructionError` with the reason (`match_shot` is its
first half: features, matches and what they say before mapping); `SparseModel`
normalises, measures and writes itself; `triangulate_known_poses` builds points
for an already-posed input. `align` holds the Sim(3) evaluation helpers.
"""

from splatcine.sfm.align import PoseErrors, path_length, pose_errors, umeyama
from splatcine.sfm.colmap import (
    MapperAttempt,
    SfmResult,
    SfmSettings,
    choose_model,
    compare_models,
    focal_profile,
    match_shot,
    plain_colmap,
    plain_colmap_mappers,
    run_sfm,
    triangulate_known_poses,
)
from splatcine.sfm.model import ModelStats, Normalization, SparseModel
from splatcine.sfm.pairs import (
    PairParallax,
    ShotGeometry,
    best_rotation,
    count_verified_matches,
    is_geometric_cut,
    pair_parallax,
    rotation_share,
)

__all__ = [
    "MapperAttempt",
    "PairParallax",
    "ModelStats",
    "Normalization",
    "PoseErrors",
    "SfmResult",
    "SfmSettings",
    "ShotGeometry",
    "SparseModel",
    "best_rotation",
    "choose_model",
    "compare_models",
    "focal_profile",
    "count_verified_matches",
    "is_geometric_cut",
    "match_shot",
    "pair_parallax",
    "path_length",
    "plain_colmap",
    "plain_colmap_mappers",
    "pose_errors",
    "rotation_share",
    "run_sfm",
    "triangulate_known_poses",
    "umeyama",
]
