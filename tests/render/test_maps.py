"""The per-pixel maps on geometry whose answer is known: planes, hand-made source views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splatcine.cameras import Intrinsics, look_at
from splatcine.render import maps
from splatcine.render.shot import RenderedShot, pick_sources

K = torch.tensor(Intrinsics.from_vfov(60.0, 64, 48).K, dtype=torch.float32)


def test_backprojected_points_project_to_their_pixel_centres():
    depth = torch.rand(48, 64) * 3 + 1
    points = maps.backproject(depth, K)
    uv = points[..., :2] / points[..., 2:] * K.diagonal()[:2] + K[:2, 2]
    v, u = np.mgrid[0:48, 0:64] + 0.5
    np.testing.assert_allclose(uv[..., 0], u, atol=1e-4)  # float32 pixel coordinates
    np.testing.assert_allclose(uv[..., 1], v, atol=1e-4)
    np.testing.assert_allclose(points[..., 2], depth)


@pytest.mark.parametrize("normal", [(0.0, 0.0, -1.0), (0.4, -0.3, -0.866), (-0.6, 0.0, -0.8)])
def test_normals_from_depth_recover_a_plane(normal):
    n = torch.tensor(normal, dtype=torch.float64)
    n = n / n.norm()
    # plane n . X = -2 (2 units in front, facing the camera); depth along each pixel ray
    rays = maps.pixel_rays(K, 64, 48).double()
    depth = (-2.0 / (rays @ n)).float()
    valid = torch.ones(48, 64, dtype=torch.bool)
    normals = maps.normals_from_depth(depth, K, valid)
    np.testing.assert_allclose(normals[5:-5, 5:-5].numpy(), np.broadcast_to(n.numpy(), (38, 54, 3)), atol=2e-3)
    # float32 depth differences over one pixel: about 1e-3 of angle


def test_normals_are_zero_at_silhouettes():
    depth = torch.full((48, 64), 2.0)
    valid = torch.ones(48, 64, dtype=torch.bool)
    valid[:, 32:] = False
    normals = maps.normals_from_depth(depth, K, valid)
    assert (normals[:, 31:] == 0).all() and (normals[:, :31].norm(dim=-1) > 0.99).all()


def _wall_view(eye, target, size=(64, 48), wall_y=0.0, occluder=None) -> maps.SourceView:
    """A source view of the plane y = wall_y (depth by ray casting); `occluder` = (col0, col1, depth)."""
    intr = Intrinsics.from_vfov(60.0, *size)
    cam_from_world = look_at(np.array(eye, float), np.array(target, float), up=(0, 0, 1))
    world_from_cam = np.linalg.inv(cam_from_world)
    rays_cam = maps.pixel_rays(torch.tensor(intr.K, dtype=torch.float32), *size).double().numpy()
    rays_world = rays_cam @ world_from_cam[:3, :3].T
    t = (wall_y - world_from_cam[1, 3]) / rays_world[..., 1]  # z-depth, since rays have z = 1
    depth = np.where(t > 0, t, 0.0)
    if occluder is not None:
        c0, c1, d = occluder
        depth[:, c0:c1] = d
    alpha = (depth > 0).astype(np.float32)
    return maps.SourceView(torch.tensor(cam_from_world, dtype=torch.float32),
                           torch.tensor(intr.K, dtype=torch.float32),
                           torch.tensor(depth, dtype=torch.float32), torch.tensor(alpha))  # fmt: skip


def test_coverage_counts_views_that_saw_a_point_and_not_occluded_ones():
    points = torch.tensor([[[0.0, 0.0, 1.0], [-3.5, 0.0, 1.0], [100.0, 0.0, 1.0]]])  # [1, 3, 3] on the wall
    center = torch.tensor([0.0, -4.0, 1.0])
    front = _wall_view([0, -4, 1], [0, 0, 1])
    shifted = _wall_view([1, -4, 1], [1, 0, 1])
    blocked = _wall_view([0, -4, 1], [0, 0, 1], occluder=(24, 40, 1.0))  # a post in front of the middle
    cov = maps.coverage(points, center, [front, shifted, blocked])
    # the middle point: front and shifted see it, the post hides it from the third view;
    # the point 3.5 units left is outside every view's 75 degree horizontal field (4 tan 37.6 = 3.1);
    # the point 100 units away is outside every view
    assert cov.count.tolist() == [[2, 0, 0]]
    assert cov.per_source.tolist() == [1, 1, 0]
    # the best of the seeing views looks along the new ray (the shifted one is 14 degrees off)
    assert cov.min_angle_deg[0, 0] == pytest.approx(0.0, abs=0.1)  # float32 arccos near 1
    assert cov.min_angle_deg[0, 1] == 180.0  # no view: no angle


def _random_views(gen: torch.Generator) -> list[maps.SourceView]:
    """Views of two depth-map sizes, in mixed order, some with a mover's mask."""

    def view(n, h, w):
        cam_from_world = torch.eye(4)
        cam_from_world[:3, 3] = torch.randn(3, generator=gen) * 0.1
        K = torch.tensor([[w * 0.8, 0, w / 2], [0, w * 0.8, h / 2], [0, 0, 1]])
        ignored = torch.rand(h, w, generator=gen) > 0.8 if n % 3 == 0 else None
        return maps.SourceView(cam_from_world, K, 1 + 2 * torch.rand(h, w, generator=gen),
                               torch.rand(h, w, generator=gen), ignored)  # fmt: skip

    return [view(n, 34, 60) for n in range(7)] + [view(n, 20, 30) for n in range(3)] + [view(0, 34, 60)]


def test_coverage_tests_views_in_batches_as_it_would_one_by_one(monkeypatch):
    # batches must keep the views' order and never mix sizes, and a batch must count what the
    # views counted alone (the torch path, which runs off the CPU)
    gen = torch.Generator().manual_seed(0)
    views = _random_views(gen)
    points = (torch.randn(17, 23, 3, generator=gen) * 0.5 + torch.tensor([0.0, 0.0, 2.0])).reshape(-1, 3)
    center = torch.zeros(3)
    monkeypatch.setattr(maps, "BATCH_PAIRS", 1)  # one view a batch
    alone = maps.coverage_torch(points, center, views)
    monkeypatch.setattr(maps, "BATCH_PAIRS", 17 * 23 * 4)  # four a batch: 4 + 3 | 3 | 1 by size
    assert [len(b) for b in maps._batches(views, 17 * 23)] == [4, 3, 3, 1]
    batched = maps.coverage_torch(points, center, views)
    assert alone[0].sum() > 0 and (alone[0] < len(views)).any()  # the case means something
    for a, b in zip(batched, alone):
        assert torch.equal(a, b)


@pytest.mark.parametrize("seed", [0, 1])
def test_coverage_on_the_cpu_kernel_matches_the_torch_test(seed):
    # every part of the test is exercised: points behind views, outside them, off their depth,
    # on pixels the splat did not cover, under masks, and seen by a few views
    gen = torch.Generator().manual_seed(seed)
    views = _random_views(gen)
    points = (torch.randn(60, 80, 3, generator=gen) * 0.7 + torch.tensor([0.0, 0.0, 2.0])).reshape(-1, 3)
    points[::97] = torch.tensor([0.0, 0.0, -1.0])  # behind every view
    points[::89] = float("nan")  # a depth of 0 backprojects to garbage: it must count as unseen
    center = torch.tensor([0.05, -0.02, 0.0])
    count, best_cos, per_source = maps._coverage_native(points, center, views)
    ref_count, ref_cos, ref_per_source = maps.coverage_torch(points, center, views)
    assert (ref_count > 0).float().mean() > 0.2 and (ref_count > 1).any() and (ref_count == 0).any()
    # the two may disagree where float rounding puts a point on the other side of a source
    # pixel's edge or of the 5% depth tolerance: a few points in 4800 (0 or 1 here)
    differ = count != ref_count
    assert differ.sum() <= 3 and (count - ref_count).abs().max() <= 1
    assert (per_source - ref_per_source).abs().max() <= 3
    torch.testing.assert_close(best_cos[~differ], ref_cos[~differ], rtol=0, atol=1e-6)  # float32 cosines


def test_unseen_score_formula():
    alpha = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0, 1.0]])
    count = torch.tensor([[0, 1, 2, 1, 3, 1]], dtype=torch.int32)
    angle = torch.tensor([[180.0, 0.0, 0.0, 90.0, 0.0, 40.0]])
    score = maps.unseen_score(alpha, maps.Coverage(count, angle, torch.zeros(1)))
    # never seen -> 1; one view head on -> 0.25; two views -> 0.0625; seen only from 90 degrees
    # off -> 1; empty pixel -> 1; one view 40 degrees off -> 1 - 0.75 * (1 - smoothstep(0.5)) = 0.625
    np.testing.assert_allclose(score[0].numpy(), [1.0, 0.25, 0.0625, 1.0, 1.0, 0.625], atol=1e-6)
    assert maps.unseen_binary(score).tolist() == [[True, False, False, True, True, True]]


def _shot_with_unseen(fractions: list[float]) -> RenderedShot:
    F_ = len(fractions)
    unseen = np.zeros((F_, 10, 10), np.float32)
    for i, f in enumerate(fractions):
        unseen[i].reshape(-1)[: int(round(f * 100))] = 1.0
    z = np.zeros((F_, 10, 10), np.float32)
    return RenderedShot([], np.zeros((F_, 10, 10, 3), np.uint8), z, z, np.zeros((F_, 10, 10, 3)), unseen)


def test_warning_names_the_runs_of_mostly_unseen_frames():
    shot = _shot_with_unseen([0.1, 0.6, 0.9, 0.7, 0.2, 0.5, 0.8])
    assert shot.warnings() == [
        "frames 1-3 look at parts of the set the source shot never saw",
        "frame 6 looks at parts of the set the source shot never saw",
    ]
    assert _shot_with_unseen([0.0, 0.5]).warnings() == []  # exactly half is not "most"


def test_source_views_are_spread_over_the_shot():
    assert pick_sources(5) == [0, 1, 2, 3, 4]
    picked = pick_sources(200, limit=48)
    assert len(picked) == 48 and picked[0] == 0 and picked[-1] == 199


def test_render_cameras_agree_with_the_reference_rasterizer(device):
    """The maps on `device` (native CPU or CUDA kernels) against plain-PyTorch reference renders."""
    from splatcine.cameras import Camera
    from splatcine.gaussians import Gaussians, rgb_to_sh_dc
    from splatcine.render import render_cameras

    rng = np.random.default_rng(0)
    n = 400
    points = np.c_[rng.uniform(-1, 1, n), np.full(n, 1.0), rng.uniform(0, 1, n)]  # a wall at y = 1
    g = Gaussians(torch.tensor(points, dtype=torch.float32), torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                  torch.full((n, 3), float(np.log(0.08))), torch.full((n,), 3.0),
                  rgb_to_sh_dc(torch.tensor(rng.uniform(0, 1, (n, 3)), dtype=torch.float32))[:, None])  # fmt: skip
    intr = Intrinsics.from_vfov(50.0, 40, 28)
    sources = [Camera(look_at([x, -2.0, 0.5], [x, 1.0, 0.5]), intr) for x in (-0.3, 0.3)]
    cameras = [Camera(look_at([x, -2.0, 0.6], [x + 0.4, 1.0, 0.5]), intr) for x in (0.0, 0.8)]
    ours = render_cameras(g, cameras, sources, device=device, backend="cuda" if device == "cuda" else "cpu")
    ref = render_cameras(g, cameras, sources, device="cpu", backend="reference")
    # uint8 colours within 2 levels (float summation order); maps within float32 noise, except
    # where a depth sits on the 5% depth-test boundary (a handful of pixels at most)
    assert np.abs(ours.color.astype(int) - ref.color.astype(int)).max() <= 2
    np.testing.assert_allclose(ours.alpha, ref.alpha, atol=1e-4)
    np.testing.assert_allclose(ours.depth, ref.depth, rtol=1e-3, atol=1e-4)
    assert (np.abs(ours.unseen - ref.unseen) > 1e-3).mean() < 0.01
