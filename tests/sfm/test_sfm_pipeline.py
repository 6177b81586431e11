"""`reconstruct` on procedural clips with known cameras: accuracy, diagnosis, and the scene directory."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from splatcine.errors import InputError, ReconstructionError
from splatcine.io.video import read_image
from splatcine.reconstruct import Reconstruction, reconstruct
from splatcine.scene import layout, load_scene
from splatcine.scene.transforms import read_transforms, write_transforms
from splatcine.sfm import SparseModel, path_length, pose_errors


def _errors(result: Reconstruction, clip):
    frames = result.scene.frames
    est = np.stack([f.camera.cam_from_world for f in frames])
    ref = np.stack([clip.cameras[f.source_frame].cam_from_world for f in frames])
    return pose_errors(est, ref)


# The dolly (40 degree pan while moving in) constrains its focal, but the global mapper stops at
# 338 px (4.3% centre error) and the incremental one at 197 px (2.9%); the focal profile's released
# refit leaves that local minimum (276.8 px, truth 277.1, 0.06%, 0.48 -> 0.20 px). It failed once
# in four pytest runs while COLMAP's image ids and threaded matches changed from run to run
# (issue 9); since both are fixed (`splatcine.sfm.runtime`) every run gets the same cameras.
@pytest.mark.parametrize("name", ["dolly", "orbit"])
def test_parallax_moves_register_every_keyframe_accurately(clips, name):
    result = clips.reconstruction(name)
    assert isinstance(result, Reconstruction), result
    report = result.report
    assert report.frames_read == 32
    assert report.frames_registered == report.frames_kept >= 8
    errors = _errors(result, clips.clip(name))
    assert errors.centre_error_pct < 1.0  # the bar: 1% of the path length after Sim(3)
    assert errors.rotation_error_deg < 0.5  # the bar, relative rotations
    assert report.mean_reprojection_px < 1.0  # rendered frames + H.264: sub-pixel features
    true_focal = clips.clip(name).cameras[0].intrinsics.fx
    focal = result.scene.frames[0].camera.intrinsics.fx
    assert focal == pytest.approx(true_focal, rel=0.02)  # measured 0.1% (dolly) and under 0.5% (orbit)
    lo, hi = report.focal_range_px
    assert lo <= report.focal_px <= hi  # the range holds the kept focal (issue 9 saw 336 px in 197-286)


def test_pan_only_fails_with_the_parallax_diagnosis(clips):
    err = clips.reconstruction("pan")
    assert isinstance(err, ReconstructionError)
    assert "the camera does not translate" in str(err) and "degrees of parallax" in str(err)
    assert str(clips.clip("pan").video_path) in str(err)  # the error names the shot
    assert not clips.scene_dir("pan").exists()


def test_static_camera_fails_with_the_parallax_diagnosis(clips):
    err = clips.reconstruction("static")
    assert isinstance(err, ReconstructionError)
    assert "the camera does not translate: 0.0 degrees of parallax" in str(err)
    assert not clips.scene_dir("static").exists()


def test_a_pan_after_movers_is_refused_though_the_movers_show_parallax(clips):
    # the walker and the ball give the whole frame 3 degrees of parallax (the first test passes);
    # one rotation still explains 88% of the matches between distant frames
    err = clips.reconstruction("chase")
    assert isinstance(err, ReconstructionError), err
    assert "the camera only turns" in str(err) and "SfM needs the camera to move" in str(err)
    assert str(clips.clip("chase").video_path) in str(err)
    assert not clips.scene_dir("chase").exists()


def test_cuts_are_found_and_listed(clips):
    err = clips.reconstruction("cut")
    clip = clips.clip("cut")
    assert isinstance(err, ReconstructionError)
    # A cut is refused only when geometry confirms it (no verified matches across it): the
    # dolly -> far-side orbit cut shares no view, while the orbit -> pan cut looks at the same
    # corner of the set and is posed across as a jump. So every refused cut is a true one.
    refused = re.search(r"at frame\(s\) ([\d, ]+);", str(err))
    assert refused is not None and "--segment" in str(err), str(err)
    listed = [int(c) for c in refused.group(1).split(",")]
    assert listed and set(listed) <= set(clip.cuts)
    assert not clips.scene_dir("cut").exists()


def test_masked_moving_object_keeps_registration_and_gets_no_features(clips):
    result = clips.reconstruction("moving", masks=True)
    assert isinstance(result, Reconstruction), result
    assert result.report.frames_registered == result.report.frames_kept
    errors = _errors(result, clips.clip("moving"))
    assert errors.centre_error_pct < 1.0 and errors.rotation_error_deg < 0.5  # as for the other moves
    root = clips.scene_dir("moving", masks=True)
    observations = SparseModel.read(root / layout.SPARSE).observations()
    masked_hits = 0
    for frame in result.scene.frames:
        assert frame.mask_path is not None and frame.mask_path.is_file()
        mask = read_image(frame.mask_path)
        xy = observations[frame.image_path.name].astype(int)  # COLMAP pixel centres are at +0.5
        masked_hits += int((mask[xy[:, 1], xy[:, 0]] == layout.MASK_IGNORE).sum())
    assert masked_hits == 0


def test_scene_directory_is_complete_and_consistent(clips):
    result = clips.reconstruction("orbit")
    root = clips.scene_dir("orbit")
    manifest = json.loads((root / layout.MANIFEST).read_text())
    assert len(manifest["inputs"]["shot"]["sha256"]) == 64
    assert {"splatcine", "pycolmap", "torch", "numpy"} <= set(manifest["versions"])
    assert manifest["settings"]["sfm"]["mapper"] == "incremental"
    assert json.loads((root / layout.REPORT).read_text())["frames_registered"] == result.report.frames_registered
    # images named by source frame, one per registered camera
    names = sorted(p.name for p in (root / layout.IMAGES).iterdir())
    assert names == sorted(f"frame_{f.source_frame:05d}.png" for f in result.scene.frames)
    # transforms.json and the COLMAP model hold the same cameras
    model = SparseModel.read(root / layout.SPARSE).cameras()
    for frame in result.scene.frames:
        colmap = model[frame.image_path.name]
        np.testing.assert_allclose(frame.camera.cam_from_world, colmap.cam_from_world, atol=1e-9)  # float64 JSON
        assert frame.camera.intrinsics == colmap.intrinsics
    # the normalised frame: centred on the cameras, +z up, unit median depth
    centres = np.array([c.center for c in result.scene.cameras])
    ups = np.array([-c.cam_from_world[1, :3] for c in result.scene.cameras])
    assert np.abs(centres.mean(0)).max() < 1e-9  # exact by construction
    assert ups.mean(0) / np.linalg.norm(ups.mean(0)) @ [0, 0, 1] > 1 - 1e-9  # exact by construction
    assert np.median(np.linalg.norm(result.scene.points, axis=1)) == pytest.approx(1.0, rel=1e-3)  # PLY float32
    normalized_from_colmap = np.array(manifest["normalization"]["normalized_from_colmap"])
    scale = manifest["normalization"]["scale"]
    np.testing.assert_allclose(normalized_from_colmap[:3, :3] @ normalized_from_colmap[:3, :3].T,
                               scale**2 * np.eye(3), atol=1e-9)  # a similarity: scale x rotation


def test_transforms_json_round_trips_to_the_same_cameras(clips, tmp_path):
    scene = clips.reconstruction("orbit").scene
    cameras, entries, doc = read_transforms(scene.root / layout.TRANSFORMS)
    write_transforms(tmp_path / "t.json", cameras, [e["file_path"] for e in entries],
                     [e["source_frame"] for e in entries], extra={"normalization": doc["normalization"]})
    again, again_entries, _ = read_transforms(tmp_path / "t.json")
    for a, b in zip(cameras, again):
        np.testing.assert_allclose(a.cam_from_world, b.cam_from_world, atol=1e-12)  # JSON float64
        assert a.intrinsics == b.intrinsics
    assert [e["source_frame"] for e in again_entries] == [f.source_frame for f in scene.frames]


@pytest.mark.parametrize("name", ["orbit", "moving"])  # moving: the posed input has masks
def test_posed_input_skips_sfm_and_keeps_its_cameras(tmp_path, name):
    from scenes import write_ground_truth_scene

    truth = write_ground_truth_scene(name, tmp_path / "truth", frames=10, width=320, height=180, points=500)
    truth_scene = load_scene(truth)
    result = reconstruct(truth / layout.TRANSFORMS, tmp_path / "scene", sfm_only=True)
    assert result.report.input_kind == "posed" and result.report.mapper is None
    assert len(result.scene.frames) == 10
    est = np.stack([c.cam_from_world for c in result.scene.cameras])
    ref = np.stack([c.cam_from_world for c in truth_scene.cameras])
    errors = pose_errors(est, ref)
    # the same cameras, only normalised: a similarity apart, to rounding
    assert errors.centre_error_pct < 1e-6 and errors.rotation_error_deg < 1e-6
    assert result.report.points > 100 and not result.report.warnings  # triangulated with known poses
    assert result.scene.frames[0].camera.intrinsics.fx == pytest.approx(truth_scene.frames[0].camera.intrinsics.fx)
    for frame, true_frame in zip(result.scene.frames, truth_scene.frames):
        assert frame.source_frame == true_frame.source_frame
        assert (frame.mask_path is None) == (true_frame.mask_path is None)
        if frame.mask_path is not None:
            assert np.array_equal(read_image(frame.mask_path) == 255, read_image(true_frame.mask_path) >= 128)


@pytest.mark.parametrize("kind", ["empty", "text", "missing"])
def test_bad_files_raise_one_line_and_write_nothing(tmp_path, kind):
    shot = tmp_path / "shot.mp4"
    if kind == "empty":
        shot.write_bytes(b"")
    elif kind == "text":
        shot.write_text("this is not a video")
    with pytest.raises(InputError) as err:
        reconstruct(shot, tmp_path / "scene", sfm_only=True)
    assert str(shot) in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "scene").exists()
    assert [p.name for p in tmp_path.iterdir()] == ([] if kind == "missing" else ["shot.mp4"])  # no temp left


def test_existing_scene_is_kept_without_overwrite(clips):
    root = clips.scene_dir("orbit")
    clips.reconstruction("orbit")
    before = (root / layout.TRANSFORMS).read_text()
    with pytest.raises(InputError, match="already exists"):
        reconstruct(clips.clip("orbit").video_path, root, sfm_only=True)
    assert (root / layout.TRANSFORMS).read_text() == before


def test_the_same_clip_gives_the_same_cameras_in_another_process_and_environment(clips, tmp_path):
    """Seeds and thread counts are fixed inside splatcine: a fresh process with one OpenMP thread
    (pytest runs with two) gives the same cameras."""
    import os
    import subprocess
    import sys

    from splatcine.scene import load_scene

    first = clips.reconstruction("moving", masks=True)
    clip = clips.clip("moving")
    code = ("import sys; from splatcine.reconstruct import reconstruct; "
            "reconstruct(sys.argv[1], sys.argv[2], masks=sys.argv[3], sfm_only=True)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", code, str(clip.video_path), str(tmp_path / "again"), str(clip.masks_dir)],
                   env=env, check=True)
    again = load_scene(tmp_path / "again")
    assert [f.source_frame for f in again.frames] == [f.source_frame for f in first.scene.frames]
    for a, b in zip(first.scene.cameras, again.cameras):
        # fixed seeds and threads (PEERS.md saw 2/16 vs 16/16 registered between runs without them);
        # two threads still reorder float sums: measured spread 2e-4 scene units (unit = median depth)
        np.testing.assert_allclose(a.cam_from_world, b.cam_from_world, atol=2e-3)


def test_reconstruct_trains_unless_sfm_only(tmp_path):
    """The whole `reconstruct`: cameras, then a trained splat beside them in the same scene."""
    from scenes import write_ground_truth_scene

    from splatcine.io.ply import read_gaussians_ply
    from splatcine.train import resolve_config

    truth = write_ground_truth_scene("orbit", tmp_path / "truth", frames=9, width=160, height=90, points=400)
    config = resolve_config("preview", iterations=20, max_width=160)
    result = reconstruct(truth / layout.TRANSFORMS, tmp_path / "scene", train_config=config)
    assert result.training is not None and result.training.iterations == 20
    assert result.scene.splat_path == tmp_path / "scene" / layout.SPLAT_PLY
    assert len(read_gaussians_ply(result.scene.splat_path)) == len(result.training.gaussians)
    report = json.loads((tmp_path / "scene" / layout.REPORT).read_text())
    assert report["seconds"]["train"] > 0  # the report is rewritten with the training stage
    assert json.loads((tmp_path / "scene" / layout.MANIFEST).read_text())["train"]["iterations"] == 20


def test_colmap_prints_nothing_and_the_log_level_comes_back(clips, capfd):
    """`pycolmap.bundle_adjustment` resets COLMAP's log level to INFO and prints its heading: before
    the focal profile's refits went around it, every one of them printed glog lines on stderr."""
    import pycolmap

    from splatcine.sfm import SfmSettings, focal_profile
    from splatcine.sfm.runtime import quiet

    assert isinstance(clips.reconstruction("orbit"), Reconstruction)
    model = SparseModel.read(clips.scene_dir("orbit") / layout.SPARSE)
    capfd.readouterr()
    before = pycolmap.logging.minloglevel
    with quiet():
        focal_profile(model, SfmSettings())
    assert pycolmap.logging.minloglevel == before
    assert capfd.readouterr().err == ""


def test_run_sfm_prints_nothing_while_it_maps(clips, tmp_path, capfd):
    """Both mappers run inside `quiet()`: a refactor once left `run_sfm` outside it, and the
    global mapper's glog lines reached the user's terminal."""
    from dataclasses import replace

    from splatcine.sfm import SfmSettings, run_sfm

    assert isinstance(clips.reconstruction("orbit"), Reconstruction)
    capfd.readouterr()
    result = run_sfm(clips.scene_dir("orbit") / layout.IMAGES, tmp_path,
                     settings=replace(SfmSettings(), focal_profile=False))
    assert result.stats.registered >= 8
    assert capfd.readouterr().err == ""
