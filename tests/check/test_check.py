"""`check` end to end on second shots of the procedural set whose truth is known (scenes.shots)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import splatcine
from scenes import shots
from splatcine.check.adherence import adherence
from splatcine.errors import ReconstructionError
from splatcine.render import render_path
from check_helpers import H, SHOT_FRAMES, W, turned

pytestmark = pytest.mark.slow  # SIFT, registration and rendering for four shots: about a minute idle


@pytest.fixture(scope="module")
def checked(test_set, tmp_path_factory):
    """variant -> (the shot with its truth, the check's result), each made once."""
    done = {}

    def run(variant: str):
        if variant not in done:
            root = tmp_path_factory.mktemp(variant)
            shot = shots.make_shot(variant, root / "shot", frames=SHOT_FRAMES, width=W, height=H)
            render_path(test_set.scene, test_set.to_scene(shot.requested), root / "render")
            result = splatcine.check(test_set.scene, shot.video_path, root / "report", render=root / "render")
            done[variant] = (shot, result)
        return done[variant]

    return run


def test_the_unchanged_shot_passes_with_its_true_cameras(checked, test_set):
    shot, result = checked("unchanged")
    assert result.passed, result.findings
    assert not result.unplaced
    truth = adherence(result.cameras, test_set.to_scene(shot.cameras))
    # the limits: registration must land within 1% of the path length and 0.5 degrees
    assert truth.max_centre_error < 1.0 and truth.max_rotation_error_deg < 0.5
    assert abs(truth.focal_ratio - 1.0) < 0.01
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["passed"] and report["overall"]["placed"] == SHOT_FRAMES
    assert (result.out_dir / "contact_sheet.png").is_file() and (result.out_dir / "error.mp4").is_file()


@pytest.mark.parametrize("variant", ["moved", "repainted"])
def test_a_changed_set_fails_where_it_changed(checked, variant):
    shot, result = checked(variant)
    assert not result.passed
    assert "changed" in result.kinds() and "camera" not in result.kinds(), result.findings
    iou = shots.change_iou(result.changes, shot.changed())
    print(f"{variant}: change box IoU {iou:.2f}")
    assert iou > 0.3  # boxes outline the change (measured 0.5-0.8); 0 would be a region elsewhere


def test_a_camera_off_the_requested_path_fails_for_the_camera(checked):
    _, result = checked("off-path")
    assert "camera" in result.kinds() and "changed" not in result.kinds(), result.findings
    assert result.adherence.max_centre_error > 10.0  # the drift is 25% of the path at the end


def test_sequential_matching_places_the_frames_as_exhaustive_does_with_fewer_pairs(checked, test_set, tmp_path):
    """For long generated shots: every 3rd frame (and the last) against all keyframes, the others
    against the 4 keyframes nearest each placed neighbour anchor."""
    from splatcine.sfm.register import RegisterSettings, register_frames

    shot, exhaustive = checked("unchanged")
    settings = RegisterSettings(matching="sequential", anchor_every=3, spatial_neighbours=4)
    reg = register_frames(test_set.scene / "sparse" / "0", test_set.scene / "images", shot.root / "frames",
                          tmp_path, settings=settings)
    assert reg.placed == [f.index for f in exhaustive.frames if f.camera is not None]
    for mine, theirs in zip(reg.cameras, exhaustive.cameras):  # same frames, same answer
        assert np.linalg.norm(mine.center - theirs.center) < 0.01 * np.linalg.norm(
            exhaustive.cameras[0].center - exhaustive.cameras[-1].center)  # 1%: the camera bar
    pairs = sum(len(f.read_text().splitlines()) for f in tmp_path.glob("pairs_*.txt"))
    n, keyframes, anchors = len(reg.cameras), len(list((reg.image_dir / "key").iterdir())), 4  # 0, 3, 6, 7
    print(f"sequential: {pairs} pairs matched, exhaustive {n * keyframes}")
    assert pairs <= anchors * keyframes + (n - anchors) * 2 * 4 < n * keyframes


def test_a_shot_of_another_set_is_refused_in_one_line(test_set, tmp_path):
    from splatcine.cli import app

    other = scenes_other_set(tmp_path)
    with pytest.raises(ReconstructionError, match="could be placed"):
        splatcine.check(test_set.scene, other, tmp_path / "report")
    assert not (tmp_path / "report").exists()
    result = CliRunner().invoke(app, ["extend", str(test_set.scene), str(other), "-o", str(tmp_path / "s2")])
    assert result.exit_code == 3 and result.output.count("error:") == 1, result.output
    assert not (tmp_path / "s2").exists() and not list(tmp_path.glob(".s2*"))  # nothing left behind


def scenes_other_set(root):
    """Four frames of a room with other textures everywhere (another seed): nothing matches the set."""
    from scenes.world import ProceduralSet
    from splatcine.io.video import write_video

    world = ProceduralSet(seed=7)
    frames = [world.render(cam)[0] for cam in shots.second_path(4, W, H)]
    write_video(root / "other.mp4", frames, fps=24)
    return root / "other.mp4"


def test_a_second_check_replaces_its_own_report_but_never_a_users_folder(checked, test_set, tmp_path):
    """A second `make demo` stopped at `check -o build/demo/check --overwrite`: the report had no
    manifest, so splatcine did not know it as its own."""
    from splatcine.errors import InputError

    shot, result = checked("unchanged")
    again = splatcine.check(test_set.scene, shot.video_path, result.out_dir, overwrite=True)
    assert again.passed and (again.out_dir / "report.json").is_file()
    assert json.loads((again.out_dir / "manifest.json").read_text())["kind"] == "splatcine check report"
    users = tmp_path / "notes"
    users.mkdir()
    (users / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="not written by splatcine"):
        splatcine.check(test_set.scene, shot.video_path, users, overwrite=True)
    assert (users / "mine.txt").read_text() == "keep me"


def test_frames_placed_off_the_path_are_left_out_instead_of_called_changes(test_set, monkeypatch):
    """As `make demo`'s check once placed frames 1.3 degrees off: compared, they made a false change."""
    from splatcine.check import consistency
    from splatcine.check.api import compare
    from splatcine.io.ply import read_gaussians_ply
    from splatcine.render import render_cameras

    scene = splatcine.load_scene(test_set.scene)
    gaussians = read_gaussians_ply(scene.splat_path)
    # 16 frames from the middle of a 24-frame path: one smooth enough at this frame rate to judge
    path = test_set.to_scene(shots.beyond_path(24, W, H)[4:20])
    frames = list(render_cameras(gaussians, path, scene.cameras).color)  # the set itself, unchanged
    placed = [turned(c, 1.3) if i in (7, 8, 9) else c for i, c in enumerate(path)]
    result = compare(gaussians, placed, frames, scene.cameras)
    # three frames off alike look like a path of their own in the middle: the ends are found (measured
    # 7 and 9), and a change can no longer run through three frames in a row
    assert len(set(result.doubtful) & {7, 8, 9}) >= 2 and set(result.doubtful) <= {6, 7, 8, 9, 10}
    assert not result.changes and not set(result.doubtful) & set(result.scores)
    monkeypatch.setattr(consistency, "doubtful_placements", lambda cameras, depth: {})
    assert compare(gaussians, placed, frames, scene.cameras).changes  # compared, they look like a change
