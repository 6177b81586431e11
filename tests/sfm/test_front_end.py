"""The front end on the failure classes of issue 9, with procedural shots whose cameras are known:
repeated frames, a photo folder, a dominant plane, a forward dolly, a tracking shot; and the model
choice report."""

from __future__ import annotations

import numpy as np
import pytest

from splatcine.io.video import read_image, write_image, write_video
from splatcine.reconstruct import Reconstruction, reconstruct
from splatcine.sfm import pose_errors

# Each test reconstructs a 16-20 frame 320x180 shot with both mappers and the focal profile (no
# automatic masks: nothing moves in these sets, and the masks stage is tested in tests/masks): about
# 30-45 s each on an idle 2-core machine (measured 2-9 min each at load 12-17). They run in CI.
pytestmark = pytest.mark.slow


def _errors(result: Reconstruction, cameras):
    frames = result.scene.frames
    est = np.stack([f.camera.cam_from_world for f in frames])
    ref = np.stack([cameras[f.source_frame].cam_from_world for f in frames])
    return pose_errors(est, ref)


def test_repeated_frames_are_posed_once_each_without_cuts(clips, tmp_path):
    """8 to 24 fps conversion: every frame three times. Issue 9 saw this refused with a "hard cut"
    at every third frame."""
    clip = clips.clip("orbit")
    picked = list(range(0, 32, 2))  # 16 distinct frames
    frames = [read_image(clip.frame_paths[i]) for i in picked for _ in range(3)]
    write_video(tmp_path / "x3.mp4", frames, fps=24)
    result = reconstruct(tmp_path / "x3.mp4", tmp_path / "scene", sfm_only=True, masks="none")
    report = result.report
    assert report.cuts == [] and len(report.duplicates) == 32  # two of every three
    assert report.frames_kept == report.frames_registered == 16
    truth = [clip.cameras[i] for i in picked for _ in range(3)]
    errors = _errors(result, truth)
    assert errors.centre_error_pct < 1.0 and errors.rotation_error_deg < 0.5  # the bar of the other moves


def test_a_shuffled_photo_folder_is_a_capture(clips, tmp_path):
    """Photos in an order that is not the walk's: no cuts, every photo matched with every other."""
    clip = clips.clip("orbit")
    order = np.random.default_rng(3).permutation(np.arange(0, 32, 2))
    (tmp_path / "photos").mkdir()
    for rank, i in enumerate(order):
        write_image(tmp_path / "photos" / f"IMG_{rank:04d}.jpg", read_image(clip.frame_paths[i]))
    result = reconstruct(tmp_path / "photos", tmp_path / "scene", sfm_only=True, masks="none")
    assert result.report.input_kind == "frames" and result.report.cuts == []
    assert result.report.frames_registered == len(order)
    errors = _errors(result, [clip.cameras[i] for i in order])
    assert errors.centre_error_pct < 1.0 and errors.rotation_error_deg < 0.5


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory):
    from scenes.cases import make_case_clip

    return make_case_clip("tabletop", tmp_path_factory.mktemp("tabletop"), frames=20)


def test_a_move_over_a_dominant_plane_is_not_a_pan(tabletop, tmp_path):
    """The floor fills most of the frame, so most matches fit one homography; the table and the
    ball give the parallax. Issue 9 saw such a shot refused with 0.03 degrees."""
    result = reconstruct(tabletop.shot_path, tmp_path / "scene", sfm_only=True, masks="none")
    assert result.report.frames_registered == result.report.frames_kept == 20
    errors = _errors(result, tabletop.cameras)
    assert errors.centre_error_pct < 1.0 and errors.rotation_error_deg < 0.5


def test_a_tracking_shot_is_posed_and_named_ambiguous(tmp_path):
    """The camera walks beside a walker that holds still in its frame, turning 2 degrees: the
    signature of a still camera watching a passing train (`scenes` `passing`), but here the cameras
    from the room are right, and the still part lies inside the frame. So it warns and does not
    refuse (issue 9)."""
    from scenes.cases import make_case_clip

    clip = make_case_clip("follow", tmp_path / "clip", frames=20)
    result = reconstruct(clip.shot_path, tmp_path / "scene", sfm_only=True, masks="none")
    assert result.report.frames_registered == result.report.frames_kept == 20
    errors = _errors(result, clip.cameras)
    # a sideways move leaves the focal loose: every focal tried fits as well (0.7-1.4x the kept
    # one, which came out 0.84-1.56x the truth at 32 frames and 2.16x at 20, the other mapper's
    # 1.06x), and a focal that far off tilts the cameras by up to 2 degrees (0.34-0.68 mean,
    # measured on two machines). So the bar is on the path and the turn from frame to frame, and
    # the report must say that the focal is open at both ends
    assert errors.centre_error_pct < 1.0 and errors.step_rotation_error_deg < 0.2
    assert any(w.startswith("the focal length is unconstrained") and "or less" in w and "or more" in w
               for w in result.report.warnings)
    assert any(w.startswith("part of the frame holds still") for w in result.report.warnings)


def test_a_still_camera_watching_a_train_pass_is_refused(tmp_path):
    """A still camera, a box passing before it over most of the frame: the box is the largest rigid
    motion, and cameras from it would be posed at a good fit. The still set frames the view, so the
    shot is refused before mapping, through the default (automatic masks) path a user takes."""
    from scenes.cases import make_case_clip

    from splatcine.errors import NoParallaxError

    clip = make_case_clip("passing", tmp_path / "clip", frames=20)
    with pytest.raises(NoParallaxError, match="the camera stands still"):
        reconstruct(clip.shot_path, tmp_path / "scene", sfm_only=True)
    assert not (tmp_path / "scene").exists()  # nothing half-written


def test_the_report_says_which_mapper_won_and_how_sure_the_focal_is(clips):
    report = clips.reconstruction("orbit").report
    assert {a["mapper"].split()[0] for a in report.mapper_attempts} == {"incremental", "global"}  # both ran
    assert report.mapper in report.mapper_reason
    lo, hi = report.focal_range_px
    true_focal = clips.clip("orbit").cameras[0].intrinsics.fx
    assert lo <= report.focal_px <= hi and hi / lo < 1.5  # an orbit constrains its focal length
    assert lo * 0.98 <= true_focal <= hi * 1.02  # 2%: the focal's own estimate error on these clips (< 0.5%)
    assert report.mapper_agreement is None or report.mapper_agreement["agree"]  # the truth is unambiguous here
