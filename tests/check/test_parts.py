"""The check's parts on inputs whose answer is known by construction (no SfM, no rendering)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import splatcine
from scenes import shots
from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.check import adherence as adh
from splatcine.check import consistency as cons
from splatcine.gaussians import Gaussians
from splatcine.io.ply import read_gaussian_shots, read_gaussians_ply, write_gaussians_ply
from check_helpers import turned

K = Intrinsics(100.0, 100.0, 64.0, 36.0, 128, 72)


def _truck(n: int, length: float = 2.0) -> list[Camera]:
    return [Camera(look_at([x, -3.0, 1.0], [x, 0.0, 1.0]), K) for x in np.linspace(0.0, length, n)]


def test_adherence_measures_a_known_offset_and_turn():
    requested = _truck(5)
    moved = []
    for cam in requested:
        world_from_cam = cam.world_from_cam
        eye = world_from_cam[:3, 3] + np.array([0.0, 0.0, 0.1])  # 0.1 up: 5% of the 2 m path
        moved.append(Camera(look_at(eye, eye + np.array([np.sin(np.radians(3)), np.cos(np.radians(3)), 0.0])),
                            Intrinsics(110.0, 110.0, 64.0, 36.0, 128, 72)))
    moved[2] = None  # an unplaced frame is skipped, not guessed
    a = adh.adherence(moved, requested)
    assert a.unit == "% of path length" and a.path_length == pytest.approx(2.0)
    assert a.max_centre_error == pytest.approx(5.0, rel=1e-9)
    assert a.max_rotation_error_deg == pytest.approx(3.0, abs=1e-6)
    assert a.focal_ratio == pytest.approx(1.1)
    assert a.centre_error[2] is None


def test_adherence_of_a_still_path_is_in_scene_units():
    requested = [_truck(1)[0]] * 4
    recovered = [Camera(look_at([0.0, -3.0, 1.3], [0.0, 0.0, 1.3]), K)] * 4
    a = adh.adherence(recovered, requested)
    assert a.unit == "scene units" and a.max_centre_error == pytest.approx(0.3)


def test_requested_cameras_are_resampled_in_time():
    requested = _truck(9)
    picked = adh.requested_for(requested, 5)
    assert [c.center[0] for c in picked] == pytest.approx([requested[i].center[0] for i in (0, 2, 4, 6, 8)])


def test_colour_fit_recovers_a_grade_despite_a_changed_patch():
    rng = np.random.default_rng(0)
    render = rng.uniform(0.1, 0.9, (60, 80, 3))
    generated = (render - 0.05) / 1.2  # graded: render = 1.2 * generated + 0.05
    generated[:12, :16] = rng.uniform(0, 1, (12, 16, 3))  # 4% of the frame changed
    fitted, gain, offset = cons.fit_colours(generated, render, np.ones((60, 80), bool))
    np.testing.assert_allclose(gain, 1.2, atol=1e-6)  # exact on the 70% that agree
    np.testing.assert_allclose(offset, 0.05, atol=1e-6)
    assert np.abs(fitted - render)[12:, 16:].max() < 1e-6


def _frame_with_patch(shift: int, size=(90, 160)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    base = (ndimage_smooth(rng.uniform(0, 255, (*size, 3))) ).astype(np.uint8)
    generated = base.copy()
    generated[30:60, 40 + shift:80 + shift] = (250, 20, 20)  # a red board where the set has none
    return generated, base


def ndimage_smooth(x: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    return ndimage.gaussian_filter(x, (3, 3, 0))


def test_a_painted_patch_is_found_where_it_is_and_nowhere_else():
    generated, render = _frame_with_patch(0)
    alpha, unseen = np.ones(render.shape[:2], np.float32), np.zeros(render.shape[:2], np.float32)
    score, error, mask = cons.score_frame(render, render, alpha, unseen)
    assert score.psnr > 100 and score.disagree == 0.0  # identical up to the colour fit's rounding
    assert score.disagree == 0.0 and cons.frame_regions(error) == []
    score, error, _ = cons.score_frame(generated, render, alpha, unseen)
    (box, _), = cons.frame_regions(error)
    assert cons.box_iou(box, (40, 30, 80, 60)) > 0.7  # the blur widens the box by a few pixels
    assert score.psnr < 20


def test_unseen_or_uncovered_pixels_are_not_compared():
    generated, render = _frame_with_patch(0)
    alpha = np.ones(render.shape[:2], np.float32)
    unseen = np.zeros(render.shape[:2], np.float32)
    unseen[20:70, 30:90] = 1.0  # the set never saw where the patch is: nothing to disagree with
    score, error, mask = cons.score_frame(generated, render, alpha, unseen)
    assert cons.frame_regions(error) == [] and not mask[30:60, 40:80].any()
    assert 0.5 < score.compared < 0.9


def test_what_lies_outside_the_compared_pixels_does_not_bleed_into_their_error():
    generated, render = _frame_with_patch(0, size=(180, 320))  # the patch: x 40-80, y 30-60
    alpha = np.ones(render.shape[:2], np.float32)
    observed = np.ones(render.shape[:2], bool)
    observed[30:, :] = False  # the ray to the floor passes space no source saw: the patch may stand there
    score, error, mask = cons.score_frame(generated, render, alpha, np.zeros_like(alpha), observed)
    assert not mask[28:].any() and mask[2:28, 2:-2].all()  # eroded by EDGE_PX at every edge
    # A plain blur (sigma 3 px here) carried the patch's error, 0.4, up to 0.06 into the compared rows
    # above it; over the compared pixels only, what is left is the colour fit's rounding.
    assert error.max() < 0.01 and cons.frame_regions(error) == []


def test_space_no_source_frame_saw_is_not_observed():
    """The demo's false change: a camera where the shot's was, looking lower, sees near its bottom
    edge a prop the shot never filmed; the floor the splat renders there is vouched for by other views."""
    k = Intrinsics(100.0, 100.0, 80.0, 45.0, 160, 90)  # vertical field of view 48 degrees
    eye, target = np.array([0.0, -3.0, 1.0]), np.array([0.0, 0.0, 0.6])
    sources = [Camera(look_at(eye + [x, 0.0, 0.0], target + [x, 0.0, 0.2]), k) for x in (-0.4, 0.0, 0.4)]
    camera = Camera(look_at(eye, target), k)  # 4 degrees lower than the sources
    # a floor (z = 0) and a back wall (y = 2): z-depth of each pixel's ray where it first hits them
    rays = np.stack(np.meshgrid((np.arange(160) + 0.5 - 80) / 100, (np.arange(90) + 0.5 - 45) / 100), -1)
    dirs = np.concatenate([rays, np.ones((90, 160, 1))], -1) @ camera.world_from_cam[:3, :3].T
    with np.errstate(divide="ignore"):
        floor = np.where(dirs[..., 2] < 0, camera.center[2] / -dirs[..., 2], np.inf)
        wall = (2.0 - camera.center[1]) / dirs[..., 1]
    depth = np.minimum(floor, wall).astype(np.float32)
    observed = cons.observed_space(depth, camera, sources)
    # where the ray leaves every source frustum before the floor: its bottom rows, found by hand
    # (the sources' lowest ray, 24 degrees under their axis, is 20 degrees under the camera's axis)
    hidden = np.zeros((90, 160), bool)
    for row in range(90):
        angle = np.degrees(np.arctan((row + 0.5 - 45) / 100))
        hidden[row] = angle > 20.0 + 1.5  # the +-0.4 m sources see a little wider near the floor
    assert observed[:60].all()  # up to 8 degrees below the axis: every source sees it all
    assert not observed[-4:].any()  # the bottom rows (23-24 degrees down) were seen by none
    assert (observed[hidden]).mean() < 0.2


def test_regions_are_changes_only_when_they_last():
    box = lambda x: (x, 10, x + 20, 30)  # noqa: E731  a region drifting right as the camera moves
    per_frame = [[(box(10), 0.3)], [(box(14), 0.3)], [(box(18), 0.3)], [], [(box(60), 0.2)], [(box(62), 0.2)],
                 None, [(box(64), 0.2)]]
    changes = cons.changed_regions(per_frame, min_frames=3)
    assert [(c.first, c.last) for c in changes] == [(0, 2)]  # 4-5 lasts two frames; frame 6 was not placed
    assert changes[0].boxes[1] == box(14)
    assert [(c.first, c.last) for c in cons.changed_regions(per_frame, min_frames=2)] == [(0, 2), (4, 5)]


def test_cameras_move_into_the_scene_frame_keeping_what_they_see():
    rng = np.random.default_rng(2)
    R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = 0.37 * R, [0.2, -1.0, 0.5]
    cam = _truck(2)[1]
    (moved,) = shots.in_scene_frame([cam], m)
    point = np.array([0.7, 0.4, 1.2])
    project = lambda c, p: (c.cam_from_world[:3, :3] @ p + c.cam_from_world[:3, 3])  # noqa: E731
    a, b = project(cam, point), project(moved, m[:3, :3] @ point + m[:3, 3])
    np.testing.assert_allclose(a[:2] / a[2], b[:2] / b[2], atol=1e-12)  # same pixel
    np.testing.assert_allclose(b, 0.37 * a, atol=1e-12)  # camera-space lengths scale with the scene


def test_ply_keeps_each_gaussians_shot_and_plain_readers_ignore_it(tmp_path):
    n = 50
    g = Gaussians(torch.randn(n, 3), torch.randn(n, 4), torch.randn(n, 3), torch.randn(n), torch.randn(n, 4, 3))
    shots_in = np.r_[np.ones(30, int), np.full(20, 2)]
    write_gaussians_ply(tmp_path / "s.ply", g, shots=shots_in)
    np.testing.assert_array_equal(read_gaussian_shots(tmp_path / "s.ply"), shots_in)
    back = read_gaussians_ply(tmp_path / "s.ply")
    for name, tensor in g.tensors().items():
        assert torch.equal(getattr(back, name), tensor), name  # float32 round trip: exact
    from plyfile import PlyData

    names = PlyData.read(str(tmp_path / "s.ply"))["vertex"].data.dtype.names
    assert names[-1] == "shot" and names[:3] == ("x", "y", "z")  # after the standard properties
    write_gaussians_ply(tmp_path / "plain.ply", g)
    assert read_gaussian_shots(tmp_path / "plain.ply") is None


def test_densified_gaussians_keep_the_origin_of_their_parent():
    """What makes the PLY's `shot` exact after extend: clones, splits, relocations and prunes move the
    training state's `origin` tag with the rows (each Gaussian's colour here is its index)."""
    from splatcine.train import TrainConfig
    from splatcine.train.strategy import ops
    from splatcine.train.trainer import TrainState

    n = 6
    g = Gaussians(torch.randn(n, 3), torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), torch.full((n, 3), -2.0),
                  torch.zeros(n), torch.arange(n, dtype=torch.float32)[:, None, None].repeat(1, 1, 3))
    state = TrainState(TrainConfig(sh_degree=0), g, 1, 1.0)
    p, opt, rng = state.params, state.optimizers, torch.Generator().manual_seed(0)
    ops.duplicate(p, opt, torch.tensor([1, 0, 0, 1, 0, 0], dtype=torch.bool))
    ops.split(p, opt, torch.tensor([0, 0, 1, 0, 0, 0, 0, 1], dtype=torch.bool), rng)
    ops.remove(p, opt, torch.arange(len(p["means"])) % 4 == 0)
    ops.relocate(p, opt, torch.arange(len(p["means"])) == 1, rng, 0.005)
    ops.sample_add(p, opt, 3, rng, 0.005)
    colour = p["sh0"].data[:, 0, 0].long()
    assert len(p["origin"]) == len(p["means"]) == 6 + 2 + 2 - 3 + 3  # cloned, split, pruned, added
    assert torch.equal(p["origin"].data, colour)


def test_check_cli_exits_5_when_the_shot_fails_and_0_when_it_passes(monkeypatch, tmp_path):
    import splatcine.check.api as api
    from splatcine.cli import app

    calls = []

    def fake(scene, shot, out, **kwargs):
        calls.append((scene, shot, out, kwargs))
        findings = [] if "good" in str(shot) else [api.Finding("changed", "the set changed here: frames 2-5")]
        return api.CheckResult(shot, not findings, findings, [], [], None, 300.0, 25.0, 0.8, out_dir=out)

    monkeypatch.setattr(api, "check", fake)
    monkeypatch.setattr(splatcine.check, "check", fake)
    runner = CliRunner()
    ok = runner.invoke(app, ["check", "scene", "good.mp4", "-o", str(tmp_path / "r"), "--min-psnr", "22"])
    assert ok.exit_code == 0, ok.output
    assert calls[-1][3]["settings"].min_psnr == 22 and calls[-1][3]["settings"].max_camera_error == 5.0
    bad = runner.invoke(app, ["check", "scene", "bad.mp4", "-o", str(tmp_path / "r")])
    assert bad.exit_code == 5 and "the set changed here" in bad.output


def test_check_and_extend_are_public():
    assert callable(splatcine.check) and callable(splatcine.extend)
    assert splatcine.check.CheckResult is splatcine.CheckResult


def test_frames_placed_off_the_shots_path_are_doubtful():
    path = shots.beyond_path(24, 384, 216)  # the demo's second shot: up to 60 px of motion a frame
    depth = 3.0  # the procedural room's scale: its cameras look at the set from about 3 m
    assert cons.doubtful_placements(path, depth) == {}  # measured: 0.3-0.8 px off the fitted path
    misplaced = list(path)
    for i in (15, 16):  # as `make demo`'s check placed them: 1.3 degrees off (~7.5 px at 333 px focal)
        misplaced[i] = turned(path[i], 1.3)
    misplaced[3] = None  # unplaced frames are skipped, not guessed
    assert sorted(cons.doubtful_placements(misplaced, depth)) == [15, 16]
    for i, degrees in ((13, 0.44), (14, 0.27), (17, 0.36)):  # and their neighbours, as placed there
        misplaced[i] = turned(path[i], degrees)
    doubtful = cons.doubtful_placements(misplaced, depth)
    assert {15} <= set(doubtful) <= {13, 14, 15, 16, 17}  # measured: 14, 15, 16
    # an 8-frame shot steps too far between frames for its path to tell such a slip
    coarse = shots.beyond_path(8, 384, 216)
    assert cons.doubtful_placements([turned(c, 1.3) if i == 4 else c for i, c in enumerate(coarse)], depth) == {}
