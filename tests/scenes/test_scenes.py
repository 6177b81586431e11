"""The procedural scenes tell the truth: depth, moves, files on disk and masks."""

from __future__ import annotations

import json

import numpy as np
import pytest

import scenes
from scenes.textures import Style, make_texture
from scenes.world import PAINT, ROOM, camera_rays
from splatcine.cameras import Camera, look_at
from splatcine.io.video import read_frames, read_image
from splatcine.scene import load_scene

W, H = 96, 54  # small frames keep the suite fast; geometry does not depend on size


@pytest.fixture(scope="session")
def world() -> scenes.ProceduralSet:
    return scenes.ProceduralSet(seed=0)


@pytest.fixture(scope="session")
def moving_clip(tmp_path_factory) -> scenes.Clip:
    out = tmp_path_factory.mktemp("clip") / "moving"
    return scenes.make_clip("moving", out, frames=6, width=W, height=H)


def test_floor_depth_matches_the_ray_plane_intersection(world):
    # Looking straight down from 1.5 m between the props: every pixel sees the floor.
    k = scenes.intrinsics(W, H)
    cam = Camera(look_at([-3.5, 0.0, 1.5], [-3.5, 0.0, 0.0], up=[1.0, 0.0, 0.0]), k)
    _, depth = world.render(cam)
    o, d = camera_rays(cam)
    expected = ((0.0 - o[2]) / d[2]).reshape(H, W)  # t at z = 0; d has camera z = 1
    np.testing.assert_allclose(depth, expected, rtol=1e-6)  # float32 storage of a float64 value
    assert np.allclose(depth, 1.5, rtol=1e-6)  # looking straight down, z-depth is the height


def test_wall_depth_and_points_lie_on_the_walls(world):
    # Any view: back-projected pixels of the room itself land on one of its six planes.
    cam = scenes.dolly(3, W, H)[1]
    layers = world.render_layers(cam)
    points = scenes.back_project(cam, layers.depth.astype(np.float64))[layers.prop == 0]
    gap = np.minimum(np.abs(points - ROOM.lo), np.abs(points - ROOM.hi)).min(axis=1)
    assert len(points) > 0.3 * W * H
    assert gap.max() < 1e-4  # float32 depth: ~1e-7 relative error over at most 12 m


def test_every_pixel_has_finite_depth_in_the_closed_room(world):
    for cam in (scenes.orbit(2, W, H)[0], scenes.pan(2, W, H)[1]):
        _, depth = world.render(cam)
        assert np.isfinite(depth).all() and (depth > 0).all()


def test_rendering_is_deterministic(world):
    cam = scenes.truck(3, W, H)[2]
    a, b = world.render(cam), world.render(cam)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_texture_synthesis_is_deterministic_and_seeded():
    style = Style(PAINT, tiles=0.25, posters=1)
    a = make_texture(1.2, 0.6, style, seed=(0, 3, 1))
    assert np.array_equal(a, make_texture(1.2, 0.6, style, seed=(0, 3, 1)))
    assert not np.array_equal(a, make_texture(1.2, 0.6, style, seed=(1, 3, 1)))
    assert a.shape == (60, 120, 3)  # 1 cm texels


def test_textures_are_detailed_and_not_flat(world):
    rgb, _ = world.render(scenes.dolly(2, 480, 270)[0])
    gray = rgb.mean(axis=2)
    # Strong local contrast over much of the frame: what SIFT needs to find features.
    grad = np.hypot(np.diff(gray, axis=0)[:, :-1], np.diff(gray, axis=1)[:-1])
    assert np.mean(grad > 8) > 0.2


def _centres(cams):
    return np.stack([c.center for c in cams])


def test_pan_rotates_in_place_and_static_does_not_move():
    pan = scenes.pan(12, W, H)
    assert np.ptp(_centres(pan), axis=0).max() < 1e-9
    angle = np.degrees(np.arccos(np.clip(pan[0].forward @ pan[-1].forward, -1, 1)))
    assert angle > 30
    static = scenes.static(5, W, H)
    assert all(np.array_equal(c.cam_from_world, static[0].cam_from_world) for c in static)


def test_orbit_keeps_its_distance_to_the_pivot_and_faces_it():
    cams = scenes.orbit(12, W, H)
    offsets = _centres(cams) - scenes.PIVOT
    dist = np.linalg.norm(offsets, axis=1)
    assert np.ptp(dist) < 1e-9
    facing = np.einsum("ij,ij->i", np.stack([c.forward for c in cams]), -offsets / dist[:, None])
    assert np.allclose(facing, 1.0)
    ends = offsets[[0, -1], :2] / np.linalg.norm(offsets[[0, -1], :2], axis=1, keepdims=True)
    sweep = np.degrees(np.arccos(ends[0] @ ends[1]))
    assert sweep == pytest.approx(90.0)


@pytest.mark.parametrize("name, sideways", [("dolly", False), ("truck", True)])
def test_dolly_moves_along_the_view_and_truck_across_it(world, name, sideways):
    cams = getattr(scenes, name)(9, W, H)
    travel = cams[-1].center - cams[0].center
    along = abs(travel @ cams[4].forward) / np.linalg.norm(travel)
    assert (along < 0.05) if sideways else (along > 0.95)
    # Parallax for SfM: the move is a good fraction of the depth the camera looks across ...
    _, depth = world.render(cams[0])
    assert np.linalg.norm(travel) > 0.2 * np.median(depth)
    # ... and the view turns a little, or the focal length would be undetermined.
    turn = np.degrees(np.arccos(np.clip(cams[0].forward @ cams[-1].forward, -1, 1)))
    assert 15 < turn < 45


def test_depth_is_consistent_between_views(world):
    # Pixels of one frame, lifted with its depth and projected into another frame, land where
    # that frame sees the same surface at the same depth (except where something occludes them).
    a, b = scenes.dolly(9, 2 * W, 2 * H)[::4][:2]
    depth_a = world.render(a)[1].astype(np.float64)
    depth_b = world.render(b)[1]
    points = scenes.back_project(a, depth_a).reshape(-1, 3)
    cam = points @ b.cam_from_world[:3, :3].T + b.cam_from_world[:3, 3]
    k = b.intrinsics
    x, y = k.fx * cam[:, 0] / cam[:, 2] + k.cx, k.fy * cam[:, 1] / cam[:, 2] + k.cy
    inside = (cam[:, 2] > 0) & (x >= 0) & (x < k.width) & (y >= 0) & (y < k.height)
    seen = depth_b[y[inside].astype(int), x[inside].astype(int)]
    gap = np.abs(seen - cam[inside, 2]) / cam[inside, 2]
    # Most points agree to 0.5% (what is left is the depth slope across the pixel they fall in);
    # a focal length 1% off already drops this fraction to about 0.65.
    assert inside.mean() > 0.5 and np.mean(gap < 0.005) > 0.75


def test_cut_clip_records_its_cuts():
    cams, cuts = scenes.cameras_for("cut", 12, W, H)
    assert len(cams) == 12 and cuts == [4, 8]
    centres = _centres(cams)
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    jumps = sorted(np.argsort(steps)[-2:] + 1)
    assert jumps == cuts  # the two largest jumps of the camera are exactly the cuts
    assert steps[[c - 1 for c in cuts]].min() > 3 * np.delete(steps, [c - 1 for c in cuts]).max()


def test_clip_files_decode_and_round_trip(moving_clip):
    video = read_frames(moving_clip.video_path)
    assert len(video) == 6 and video[0].shape == (H, W, 3)
    png = read_image(moving_clip.frame_paths[3])
    # H.264 is lossy; the decoded frame still follows the lossless one closely.
    assert np.abs(video[3].astype(float) - png).mean() < 12
    depth = moving_clip.depth()
    assert depth.shape == (6, H, W) and depth.dtype == np.float32
    loaded = scenes.load_clip(moving_clip.root)
    assert loaded.cuts == [] and loaded.fps == 24 and loaded.name == "moving"
    for a, b in zip(loaded.cameras, moving_clip.cameras):
        # JSON keeps every digit of a float64.
        np.testing.assert_allclose(a.cam_from_world, b.cam_from_world, atol=1e-12)
        assert a.intrinsics == b.intrinsics
    doc = json.loads(moving_clip.cameras_path.read_text())
    assert len(doc["frames"]) == 6


def test_masks_cover_the_moving_object_and_its_blended_rim(moving_clip):
    from scipy import ndimage

    static_set = scenes.ProceduralSet(seed=0)
    seen = 0
    for i, (cam, path) in enumerate(zip(moving_clip.cameras, moving_clip.mask_paths)):
        mask = read_image(path) == 255
        depth = moving_clip.depth()[i]
        _, depth_without = static_set.render(cam)
        in_front = depth < depth_without - 1e-4  # where the ball hides the set at pixel centres
        # The mask holds every pixel the ball hides, plus rim pixels anti-aliasing blended it into.
        assert (mask >= in_front).all()
        assert (mask <= ndimage.binary_dilation(in_front, np.ones((3, 3), bool))).all()
        seen += in_front.sum()
    assert seen > 0.01 * 6 * W * H  # the ball is really in the shot


def test_ground_truth_scene_loads(tmp_path):
    out = scenes.write_ground_truth_scene(
        "moving", tmp_path / "scene", frames=4, width=W, height=H, points=800
    )
    scene = load_scene(out)
    truth = scenes.moving(4, W, H)
    assert [f.source_frame for f in scene.frames] == [0, 1, 2, 3]
    for frame, cam in zip(scene.frames, truth):
        np.testing.assert_allclose(frame.camera.cam_from_world, cam.cam_from_world, atol=1e-9)
        assert frame.image_path.is_file()
        assert frame.mask_path is not None and frame.mask_path.is_file()
    assert scene.points.shape == (800, 3) and scene.point_colors.shape == (800, 3)
    # Every point is a pixel centre of a frame lifted to its true depth, with that pixel's colour.
    depth = np.load(out / "ground_truth" / "depth.npz")["depth"]
    found = np.zeros(len(scene.points), bool)
    for frame, d in zip(scene.frames, depth):
        k = frame.camera.intrinsics
        cam_from_world = frame.camera.cam_from_world
        cam = scene.points @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
        x, y = k.fx * cam[:, 0] / cam[:, 2] + k.cx - 0.5, k.fy * cam[:, 1] / cam[:, 2] + k.cy - 0.5
        xi, yi = np.round(x).astype(int), np.round(y).astype(int)
        ok = (cam[:, 2] > 0) & (xi >= 0) & (xi < k.width) & (yi >= 0) & (yi < k.height)
        ok[ok] &= np.hypot(x[ok] - xi[ok], y[ok] - yi[ok]) < 1e-3  # on a pixel centre (float32 PLY)
        ok[ok] &= np.abs(d[yi[ok], xi[ok]] - cam[ok, 2]) < 1e-4 * cam[ok, 2]
        image = read_image(frame.image_path)
        ok[ok] &= (image[yi[ok], xi[ok]] == scene.point_colors[ok]).all(axis=1)
        mask = read_image(frame.mask_path) == 255
        assert not mask[yi[ok], xi[ok]].any()  # no point on the moving ball
        found |= ok
    assert found.all()


def test_cli_makes_a_clip_and_every_command_has_help(tmp_path):
    from typer.testing import CliRunner

    from scenes.__main__ import app

    runner = CliRunner()
    result = runner.invoke(app, ["make", "static", "-o", str(tmp_path / "c"), "--frames", "2",
                                 "--width", "32", "--height", "18"])
    assert result.exit_code == 0, result.output
    assert len(read_frames(tmp_path / "c" / "shot.mp4")) == 2
    result = runner.invoke(app, ["make", "zoom", "-o", str(tmp_path / "d")])
    assert result.exit_code != 0 and "unknown scene 'zoom'" in result.output
    assert not (tmp_path / "d").exists()
    import typer

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        assert command.help, name
        assert all(param.help for param in command.params if param.name != "help"), name
        assert runner.invoke(app, [name, "--help"]).exit_code == 0


def test_the_moving_ball_never_passes_through_a_prop(world):
    from scenes.geometry import Box, Cylinder, Sphere

    mover = scenes.Mover.crossing(duration=2.0)
    for time in np.linspace(0.0, 2.0, 41):
        ball = mover.at(time)
        c = np.array(ball.center)
        for prop in world.props[1:]:  # the room itself is [0]
            shape = prop.shape
            if isinstance(shape, Box):
                gap = np.linalg.norm(c - np.clip(c, shape.lo, shape.hi))
            elif isinstance(shape, Cylinder):
                radial = max(np.hypot(*(c[:2] - shape.center)) - shape.radius, 0.0)
                gap = np.hypot(radial, max(shape.z0 - c[2], c[2] - shape.z1, 0.0))
            else:
                assert isinstance(shape, Sphere)
                gap = np.linalg.norm(c - shape.center) - shape.radius
            assert gap >= ball.radius, (time, prop)
        assert (c - ball.radius >= ROOM.lo).all() and (c + ball.radius <= ROOM.hi).all()


def test_bad_requests_are_one_line_input_errors(tmp_path):
    from splatcine.errors import InputError

    with pytest.raises(InputError, match="needs at least 3 frames"):
        scenes.make_clip("cut", tmp_path / "a", frames=2, width=W, height=H)
    with pytest.raises(InputError, match="even"):
        scenes.write_ground_truth_scene("dolly", tmp_path / "b", frames=2, width=W + 1, height=H)
    with pytest.raises(InputError, match="cameras.json"):
        scenes.load_clip(tmp_path)
    (tmp_path / "cameras.json").write_text('{"scene": "dolly"}')
    with pytest.raises(InputError, match="'frames'"):
        scenes.load_clip(tmp_path)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_clip_replaces_its_own_earlier_clip_but_never_a_users_folder(tmp_path):
    """A second `make demo` rewrites its clip; a folder splatcine did not write is left alone."""
    from splatcine.errors import InputError

    first = scenes.make_clip("orbit", tmp_path / "clip", frames=3, width=W, height=H)
    again = scenes.make_clip("pan", tmp_path / "clip", frames=3, width=W, height=H)
    assert again.video_path.is_file() and json.loads((tmp_path / "clip" / "cameras.json").read_text())["scene"] == "pan"
    assert first.video_path == again.video_path
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="not written by splatcine"):
        scenes.make_clip("orbit", user, frames=3, width=W, height=H)
    assert [p.name for p in user.iterdir()] == ["notes.txt"]


def test_public_names_stay():
    # Other areas import these names; renaming one breaks their tests, not ours.
    for name in ("ProceduralSet", "Clip", "make_clip", "load_clip", "write_ground_truth_scene",
                 "dolly", "truck", "orbit", "pan", "static", "moving", "cut", "NAMES"):
        assert hasattr(scenes, name), name
    assert set(scenes.NAMES) == {"dolly", "truck", "orbit", "pan", "static", "moving", "walkers", "chase", "passing", "follow", "cut"}


def test_antialiasing_follows_a_supersampled_reference(world):
    # A 2x render averaged over 2x2 blocks is the supersampled truth; anti-aliasing only touches
    # silhouettes and creases, and brings them much closer to it than point sampling does.
    cam = scenes.orbit(3, W, H)[1]
    big = world.render_layers(Camera(cam.cam_from_world, cam.intrinsics.resized(2 * W, 2 * H)),
                              antialias=False)
    reference = big.rgb.astype(float).reshape(H, 2, W, 2, 3).mean(axis=(1, 3))
    blocks = big.prop.reshape(H, 2, W, 2)
    silhouette = blocks.max(axis=(1, 3)) != blocks.min(axis=(1, 3))  # two props inside a pixel
    smooth = world.render(cam)[0].astype(float)
    sharp = world.render(cam, antialias=False)[0].astype(float)
    touched = (smooth != sharp).any(axis=2)
    assert touched[silhouette].all() and touched.mean() < 0.3  # every silhouette, not everything
    interior = np.abs(smooth - reference)[~touched].mean()
    # Not zero even inside surfaces: the 2x render reads a finer mip level of every texture.
    assert np.abs(smooth - reference)[silhouette].mean() < 1.5 * interior
    assert np.abs(sharp - reference)[silhouette].mean() > 3 * interior
