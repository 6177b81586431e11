"""Two-view checks before mapping, on synthetic correspondences with known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from splatcine.cameras import look_at
from splatcine.sfm import ModelStats, SparseModel, choose_model, compare_models, pair_parallax
from splatcine.cameras import Camera, Intrinsics

K = np.array([[400.0, 0, 320], [0, 400.0, 180], [0, 0, 1]])


def _project(cam_from_world: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    cam = xyz @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    uv = cam @ K.T
    return uv[:, :2] / uv[:, 2:3]


def _scene(rng, plane: int, off_plane: int) -> np.ndarray:
    """`plane` points on the floor z = 0 and `off_plane` points of an object 0.3-0.8 m above it."""
    floor = np.c_[rng.uniform(-1.5, 1.5, (plane, 2)), np.zeros(plane)]
    thing = np.c_[rng.uniform(-0.3, 0.3, (off_plane, 2)), rng.uniform(0.3, 0.8, off_plane)]
    return np.concatenate([floor, thing])


def _pair(rng, xyz, move: bool, noise_px: float = 0.15):  # SIFT on sharp frames: 0.1-0.3 px
    a = look_at([0.0, -3.0, 2.5], [0.0, 0.0, 0.0])
    b = look_at([0.6 if move else 0.0, -3.0, 2.5], [0.0, 0.1, 0.0] if not move else [0.0, 0.0, 0.0])
    xy1, xy2 = _project(a, xyz), _project(b, xyz)
    return xy1 + rng.normal(0, noise_px, xy1.shape), xy2 + rng.normal(0, noise_px, xy2.shape)


def test_a_move_over_a_dominant_plane_shows_its_parallax(rng):
    # 85% of the matches on the floor: their homography explains the median match, so the old
    # measure (the median transfer error) read this move as a pan
    xy1, xy2 = _pair(rng, _scene(rng, 850, 150), move=True)
    p = pair_parallax(xy1, xy2, focal_px=400.0)
    assert p.median_deg < 0.07  # the old measure: under its pan threshold
    assert p.parallax_deg > 0.5 and p.off_plane_share == pytest.approx(0.15, abs=0.03)  # the object's matches


def test_a_pan_over_the_same_scene_has_none(rng):
    xy1, xy2 = _pair(rng, _scene(rng, 850, 150), move=False)  # the camera turns about its centre
    p = pair_parallax(xy1, xy2, focal_px=400.0)
    assert p.off_plane_deg == 0.0 and p.parallax_deg < 0.07  # noise only: 0.15 px is 0.02 degrees


def test_stray_mismatches_are_not_parallax(rng):
    xyz = _scene(rng, 1000, 0)
    xy1, xy2 = _pair(rng, xyz, move=False)
    xy2[:20] = rng.uniform(0, 640, (20, 2))  # 2% junk matches, far off any model
    assert pair_parallax(xy1, xy2, focal_px=400.0).parallax_deg < 0.07


def _model(focal: float, shift: float = 0.0) -> SparseModel:
    k = Intrinsics(focal, focal, 320.0, 180.0, 640, 360)
    cams = {f"frame_{i:05d}.png": Camera(look_at([i * 0.2, -3.0 + shift * i * i, 1.5], [0.0, 0.0, 1.0]), k)
            for i in range(8)}
    return SparseModel.from_cameras(cams)


def _stats(registered: int, reprojection: float, focal: float) -> ModelStats:
    return ModelStats(registered, 500, reprojection, 4.0, 3.0, focal, focal / 640)


def test_models_are_compared_camera_by_camera():
    same = compare_models(_model(400.0), _model(400.0))
    assert same["agree"] and same["centre_diff_pct"] < 1e-6 and same["focal_ratio"] == pytest.approx(1.0)
    bent = compare_models(_model(400.0), _model(700.0, shift=0.05))
    assert not bent["agree"] and bent["focal_ratio"] == pytest.approx(400 / 700)
    assert bent["centre_diff_pct"] > 2.0  # the second path curves away: a similarity cannot align it


def test_choice_prefers_registration_then_the_better_fit():
    models = {"incremental": _model(480.0), "global": _model(272.0, shift=0.05)}
    more = choose_model(models, {"incremental": _stats(20, 0.5, 480), "global": _stats(25, 0.5, 272)}, "incremental")
    assert more[0] == "global" and "registers 25" in more[1]
    # re10k 0c11dbe: same registration, the global mapper fits twice as well (and is the true focal)
    fit = choose_model(models, {"incremental": _stats(25, 1.05, 480), "global": _stats(25, 0.51, 272)},
                       "incremental")
    assert fit[0] == "global" and "0.51 px" in fit[1] and "disagree" in fit[1]
    tie = choose_model(models, {"incremental": _stats(25, 0.50, 480), "global": _stats(25, 0.52, 272)},
                       "incremental")
    assert tie[0] == "incremental" and "tie" in tie[1]
    only = choose_model({"global": models["global"]}, {"global": _stats(25, 0.5, 272)}, "incremental")
    assert only[0] == "global" and only[2] is None


def test_the_focal_range_always_holds_the_kept_focal():
    from splatcine.sfm.colmap import focal_range

    # the case issue 9 saw: kept at 336 px while a refit held at 286 px fitted better; the range
    # came out 197-286 (with the other mapper's focal), leaving the kept focal outside it
    better_elsewhere = {235.2: 0.60, 285.6: 0.20, 336.0: 0.48, 403.2: 0.70, 470.4: 0.90}
    lo, hi = focal_range(336.0, 0.48, better_elsewhere)
    assert lo <= 336.0 <= hi and lo == 285.6
    # a move that leaves the focal free: every held refit fits alike, the range spans them all
    assert focal_range(300.0, 0.5, {210.0: 0.5, 255.0: 0.505, 300.0: 0.5, 360.0: 0.5, 420.0: 0.501}) == (210.0, 420.0)
    # a focal that only its own value fits; refits that failed are absent, not evidence
    assert focal_range(300.0, 0.5, {210.0: 0.9, 300.0: 0.5, 420.0: 0.8}) == (300.0, 300.0)
    assert focal_range(300.0, 0.5, {}) == (300.0, 300.0)


def test_every_thread_count_and_seed_of_the_mappers_is_pinned():
    """COLMAP's -1 (every core, a random seed) left in any nested field makes cameras depend on the
    machine: the global mapper's bundle adjuster and the incremental triangulator were such fields."""
    import pycolmap

    from splatcine.sfm.runtime import pinned

    def fields(options, prefix=""):
        for name in dir(options):
            value = getattr(options, name) if not name.startswith("_") else None
            if name in ("num_threads", "random_seed"):
                yield prefix + name, value
            elif hasattr(value, "todict") and not callable(value):
                yield from fields(value, f"{prefix}{name}.")

    for kind in (pycolmap.GlobalPipelineOptions, pycolmap.IncrementalPipelineOptions,
                 pycolmap.TwoViewGeometryOptions, pycolmap.BundleAdjustmentOptions):
        found = dict(fields(pinned(kind(), 2, 7)))
        assert "num_threads" in "".join(found)  # the walk reaches the fields
        threads = {k: v for k, v in found.items() if k.endswith("num_threads")}
        assert all(v == (1 if k.startswith("ransac.") else 2) for k, v in threads.items()), (kind, found)
        assert all(v == 7 for k, v in found.items() if k.endswith("random_seed")), (kind, found)
    nested = dict(fields(pinned(pycolmap.GlobalPipelineOptions(), 2, 7)))
    assert nested["mapper.bundle_adjustment.ceres.solver_options.num_threads"] == 2
