"""The editor's state model without a browser: keyframes, moves, target, undo, save and load."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from splatcine import paths
from splatcine.cameras import invert_rigid, look_at
from splatcine.errors import InputError
from splatcine.paths import Editor

TWO_KEYS = """\
# two keyframes and a pan
target: none
fps: 10
resolution: [96, 64]
keyframes:
  - time: 0
    position: [0, -4, 1.2]
    look_at: [0, 0, 0.5]   # the box
  - time: 2
    position: [1, -3.5, 1.2]
    look_at: [0, 0, 0.5]
moves:
  - pan: 20
    duration: 1
"""


def centers(path) -> np.ndarray:  # [F, 3]
    return invert_rigid(path.cam_from_world)[:, :3, 3]


def wxyz(world_from_cam_R: np.ndarray) -> np.ndarray:
    x, y, z, w = Rotation.from_matrix(world_from_cam_R).as_quat()
    return np.array([w, x, y, z])


def test_opened_file_samples_like_the_cli(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text(TWO_KEYS)
    ed = Editor(file)
    assert ed.error is None and not ed.dirty
    np.testing.assert_array_equal(ed.path.cam_from_world, paths.load(file).cam_from_world)
    assert [k["time"] for k in ed.keyframes] == [0, 2] and ed.moves == [{"pan": 20, "duration": 1}]


def test_add_keyframe_from_a_view_goes_where_the_view_is(tmp_path):
    ed = Editor(text=TWO_KEYS)
    cam_from_world = look_at(np.array([2.0, -3.0, 1.5]), np.array([0.0, 0.0, 0.4]))
    world_from_cam = invert_rigid(cam_from_world)
    index = ed.add_keyframe(world_from_cam[:3, 3], rotation=wxyz(world_from_cam[:3, :3]), fov=40)
    assert index == 2 and ed.error is None
    assert ed.keyframes[2]["time"] == 3.0  # KEYFRAME_GAP after the last keyframe
    (cam,) = [k for k in ed.keyframe_cameras() if k.index == 2]
    # rotation written with 6 decimals (~1e-4 degrees), position with 4
    np.testing.assert_allclose(cam.cam_from_world, cam_from_world, atol=1e-4)
    assert cam.vfov == pytest.approx(40.0)
    # the pan now starts from the new keyframe, one second later
    assert ed.path.seconds == pytest.approx(4.0)


def test_a_keyframe_between_others_is_inserted_in_time_order():
    ed = Editor(text=TWO_KEYS)
    assert ed.add_keyframe([0.5, -4, 1.2], look_at=[0, 0, 0.5], time=1.0) == 1
    assert [k["time"] for k in ed.keyframes] == [0, 1.0, 2]
    assert ed.error is None


def test_start_becomes_keyframe_zero_and_comments_survive(path_file, editor_scene):
    ed = Editor(path_file, scene=editor_scene)
    first = ed.path.cam_from_world[0]
    ed.add_keyframe([0.0, -2.0, 1.4], look_at=[0.0, 1.0, 1.0])
    text = ed.text
    assert "start:" not in text and text.count("- time:") == 2
    for comment in ("# Push in and arc round the room", "# sides a multiple of 16",
                    "# the source shot's first camera", "# forward, scene units"):  # fmt: skip
        assert comment in text
    np.testing.assert_allclose(ed.path.cam_from_world[0], first, atol=1e-9)  # the start did not move


def test_move_rotate_and_delete_a_keyframe():
    ed = Editor(text=TWO_KEYS)
    before = centers(ed.path)[0]
    ed.move_keyframe(0, [0.0, -5.0, 1.0], rotation=[1.0, 0.0, 0.0, 0.0])
    kf = ed.keyframes[0]
    assert kf["position"] == [0.0, -5.0, 1.0] and kf["rotation"] == [1.0, 0.0, 0.0, 0.0]
    assert "look_at" not in kf and "time" in kf
    np.testing.assert_allclose(centers(ed.path)[0], [0.0, -5.0, 1.0])
    np.testing.assert_allclose(ed.path.cam_from_world[0, :3, :3], np.eye(3), atol=1e-12)
    assert not np.allclose(centers(ed.path)[0], before)
    ed.delete_keyframe(0)
    assert len(ed.keyframes) == 1 and ed.error is None  # one keyframe and a pan still make a path


def test_time_fov_easing_hold_of_a_keyframe():
    ed = Editor(text=TWO_KEYS)
    ed.set_keyframe(1, fov=30, easing="ease-in", hold=0.5)
    assert ed.keyframes[1] | {} == ed.keyframes[1] and ed.keyframes[1]["fov"] == 30
    assert ed.path.key_vfov.min() == pytest.approx(30.0)
    assert ed.path.seconds == pytest.approx(3.5)
    # a time past a later keyframe re-orders the list; the keyframe's new index comes back
    ed.add_keyframe([2, -3, 1.2], look_at=[0, 0, 0.5], time=4.0)
    assert ed.set_keyframe(0, time=5.0) == 2
    assert [k["time"] for k in ed.keyframes] == [2, 4.0, 5.0] and ed.error is None
    ed.set_keyframe(0, fov=None)
    assert "fov" not in ed.keyframes[0]


def test_moves_with_parameters():
    ed = Editor(text=TWO_KEYS)
    assert ed.add_move("orbit", {"angle": 45, "pivot": [0, 0, 0.5]}, duration=2, easing="linear") == 1
    ed.add_move("hold", 0.5)
    ed.add_move("zoom", {"fov": 30}, duration=1)
    assert ed.error is None and ed.path.seconds == pytest.approx(2 + 1 + 2 + 0.5 + 1)
    assert ed.path.vfov[-1] == pytest.approx(30.0)
    assert "orbit: {angle: 45, pivot: [0, 0, 0.5]}" in ed.text  # flow style, as the examples
    ed.set_move(1, orbit={"angle": -45}, duration=3)
    assert ed.moves[1] == {"orbit": {"angle": -45}, "duration": 3, "easing": "linear"}
    ed.delete_move(0)
    assert [next(iter(m)) for m in ed.moves] == ["orbit", "hold", "zoom"]
    with pytest.raises(InputError, match="'spin' is not a move"):
        ed.add_move("spin", 3)


def test_target_change_enforces_the_models_rules():
    ed = Editor(text=TWO_KEYS.replace("fps: 10", "fps: 10\nframes: 50").replace("[96, 64]", "[100, 60]"))
    assert ed.error is None  # target none: anything goes
    ed.set_target("wan")
    assert ed.target == "wan" and ed.error is None
    assert yaml.safe_load(ed.text)["frames"] == 49 and yaml.safe_load(ed.text)["resolution"] == [96, 64]
    assert any("frames 50 -> 49" in n for n in ed.notices)
    assert len(ed.path) == 49 and (ed.path.width, ed.path.height) == (96, 64)
    ed.set_target("ltx")
    assert yaml.safe_load(ed.text)["frames"] == 49 and len(ed.path) == 49  # 8n+1: 49 fits
    assert yaml.safe_load(ed.text)["resolution"] == [96, 64]
    assert "8n+1" in ed.target_rules() and "32" in ed.target_rules()
    ed.set_target("cogvideox")
    assert len(ed.path) == 49
    with pytest.raises(InputError, match="not one of"):
        ed.set_target("sora")


def test_invalid_edit_shows_the_cli_error_and_blocks_save(tmp_path):
    file = tmp_path / "p.yaml"
    file.write_text(TWO_KEYS)
    ed = Editor(file)
    ed.set("frames", 50)
    ed.set_target("wan")  # enforcement moves frames to 49: valid
    assert ed.error is None
    ed.set("frames", 50)  # written by hand, not fitted: the CLI's own error
    assert ed.error is not None and ed.path is None
    bad = tmp_path / "bad.yaml"
    bad.write_text(ed.text)
    with pytest.raises(InputError) as cli:
        paths.load(bad)
    assert ed.error == str(cli.value).replace(str(bad), str(file))
    assert ed.error.startswith(f"{file}:") and "frames: 50 does not fit target wan" in ed.error
    with pytest.raises(InputError, match="not saved: .*frames"):
        ed.save()
    assert file.read_text() == TWO_KEYS  # nothing written
    ed.set_keyframe(0, fov=190)
    assert "keyframes[0].fov: 190 is outside 1-170 degrees" in ed.error


def test_undo_and_redo_walk_the_edits():
    ed = Editor(text=TWO_KEYS)
    texts = [ed.text]
    ed.add_keyframe([2, -3, 1.2], look_at=[0, 0, 0.5])
    texts.append(ed.text)
    ed.add_move("dolly", 0.5, duration=1)
    texts.append(ed.text)
    ed.set_target("wan")
    assert ed.undo() and ed.text == texts[2]
    assert ed.undo() and ed.text == texts[1]
    assert ed.undo() and ed.text == texts[0] and not ed.undo()
    assert ed.redo() and ed.text == texts[1]
    ed.delete_keyframe(0)  # a new edit forgets what could be redone
    assert not ed.redo()
    ed.undo()
    assert ed.text == texts[1] and ed.error is None


def test_failed_edit_changes_nothing():
    ed = Editor(text=TWO_KEYS)
    before = ed.text
    with pytest.raises(InputError):
        ed.move_keyframe(7, [0, 0, 0], rotation=[1, 0, 0, 0])
    with pytest.raises(InputError):
        ed.add_keyframe([0, 0, 0])  # no orientation
    assert ed.text == before and not ed.undo()


def test_save_and_load_round_trip(tmp_path, editor_scene):
    out = tmp_path / "next.yaml"
    ed = Editor(out, scene=editor_scene)  # a new file: it starts on the source shot's first camera
    assert ed.keyframes == [{"time": 0.0, "from_frame": 0}]
    assert "no length" in ed.error
    cam = invert_rigid(look_at(np.array([-1.5, -1.5, 1.5]), np.array([0.0, 0.0, 0.8])))
    ed.add_keyframe(cam[:3, 3], rotation=wxyz(cam[:3, :3]), time=2.0)
    ed.add_move("crane", 0.3, duration=1)
    ed.set("fps", 12)
    assert ed.error is None
    assert ed.save() == out and not ed.dirty
    loaded = paths.load(out, editor_scene)
    np.testing.assert_array_equal(loaded.cam_from_world, ed.path.cam_from_world)  # the same cameras
    np.testing.assert_array_equal(loaded.vfov, ed.path.vfov)
    assert (loaded.width, loaded.height, loaded.fps) == (ed.path.width, ed.path.height, ed.path.fps)
    # reopened, the file edits on as before
    again = Editor(out, scene=editor_scene)
    assert again.text == ed.text and again.error is None


def test_save_does_not_replace_a_file_it_did_not_open(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("# the user's notes\n")
    ed = Editor(text=TWO_KEYS)
    with pytest.raises(InputError, match="give a file name"):
        ed.save()
    with pytest.raises(InputError, match="already exists"):
        ed.save(mine)
    assert mine.read_text() == "# the user's notes\n"
    ed.save(mine, overwrite=True)
    assert paths.load(mine).cam_from_world.shape == ed.path.cam_from_world.shape
    ed.add_move("tilt", 5, duration=1)
    ed.save()  # the file it saved is now its own
    assert "tilt: 5" in mine.read_text()


def test_quick_render_colours_the_path_by_what_the_set_has_seen(path_file, editor_scene):
    ed = Editor(path_file, scene=editor_scene)
    render = ed.quick_render(max_side=64, max_frames=5)
    assert render.color.shape == (5, 35, 64, 3) and render.color.dtype == np.uint8
    assert render.frames.tolist() == [0, 6, 12, 18, 24]
    # frame 0 is the source camera the splat was made from; the arc turns off what it saw
    assert render.unseen_fraction[0] < 0.2
    assert render.unseen_fraction[-1] > render.unseen_fraction[0] + 0.1
    video = ed.write_preview(path_file.parent / "preview.mp4", max_side=64)
    assert video.stat().st_size > 1000
