"""A disagreement counts only where the splat resolves the set (`consistency.splat_sigma`).

The failure it guards against was found in `make demo`: an unchanged second shot that strays past
the edge of what the first shot saw failed the check with two "changed" regions, where training had
left needles, Gaussians stretched along the few source views' rays: end-on from those views (so the
splat fits them and the unseen mask counts the region as seen), smears tens of pixels long from the
new view. Here the set is a textured wall with a known splat, and the needles are made by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from splatcine.cameras import Camera, Intrinsics, look_at
from splatcine.check import consistency as cons
from splatcine.check.api import compare
from splatcine.gaussians import Gaussians, rgb_to_sh_dc

K = Intrinsics(100.0, 100.0, 80.0, 45.0, 160, 90)
WALL_Y, CENTRE = 2.0, np.array([0.0, 2.0, 1.0])  # the wall is the plane y = 2, filmed around this point
SPACING = 0.025  # m between the wall's Gaussians: 0.6 px from 4 m
NEEDLE_X = 1.2  # the wall right of this is the edge of what the shot saw: needles there
STRETCH = 150.0  # a needle's long axis, along its source ray, is this many times its width
PATCH_X = -1.8  # a patch painted here is a change (left of where the needles smear)
SOURCE_DEGREES = (-12.0, -10.0, -8.0)  # the first shot: a narrow cluster of views from 6 m, left of the wall's axis


def _gaussian(means: np.ndarray, colours: np.ndarray, scales: np.ndarray, quats: np.ndarray) -> Gaussians:
    n = len(means)
    return Gaussians(torch.tensor(means, dtype=torch.float32), torch.tensor(quats, dtype=torch.float32),
                     torch.tensor(np.log(scales), dtype=torch.float32), torch.full((n,), 4.0),
                     rgb_to_sh_dc(torch.tensor(colours, dtype=torch.float32))[:, None].contiguous())


def _wall(patch: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points [N, 3] on the wall (8 m x 4 m) and their colours [N, 3]: blocks of random paint 0.1 m wide
    (2.5 px from 4 m, finer than a needle's smear); with `patch`, a 0.5 m square at PATCH_X painted red."""
    x, z = np.meshgrid(np.arange(-4.0, 4.0, SPACING), np.arange(-1.0, 3.0, SPACING))
    x, z = x.ravel(), z.ravel()
    paint = np.random.default_rng(0).uniform(0.05, 0.95, (80, 40, 3))
    colours = paint[((x + 4.0) / 0.1).astype(int), ((z + 1.0) / 0.1).astype(int)]
    if patch:
        inside = (np.abs(x - PATCH_X) < 0.25) & (np.abs(z - 1.0) < 0.25)
        colours[inside] = (0.95, 0.1, 0.1)
    return np.stack([x, np.full_like(x, WALL_Y), z], 1), colours


def _around(degrees: float, distance: float) -> Camera:
    """A camera `distance` m from the wall's centre, turned `degrees` round it (0: facing the wall squarely)."""
    a = np.radians(degrees)
    return Camera(look_at(CENTRE + distance * np.array([np.sin(a), -np.cos(a), 0.0]), CENTRE), K)


def _splat(needles: bool, patch: bool = False) -> Gaussians:
    means, colours = _wall(patch)
    n = len(means)
    scales = np.full((n, 3), 0.6 * SPACING)
    quats = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    if needles:  # what training leaves where a narrow cluster of views saw the wall: long axis along their ray
        edge = means[:, 0] > NEEDLE_X
        ray = means[edge] - _around(SOURCE_DEGREES[1], 6.0).center
        ray /= np.linalg.norm(ray, axis=1, keepdims=True)
        q = np.stack([1.0 + ray[:, 0], np.zeros(len(ray)), -ray[:, 2], ray[:, 1]], 1)  # turns x onto the ray
        quats[edge] = q / np.linalg.norm(q, axis=1, keepdims=True)
        scales[edge, 0] *= STRETCH
    return _gaussian(means, colours, scales, quats)


def test_splat_sigma_is_the_size_of_the_gaussians_on_screen():
    """Against the pinhole's closed form: a Gaussian of standard deviation s at depth z is f s / z pixels."""
    camera = Camera(np.eye(4), K)

    def sigma(scales, quat=(1.0, 0.0, 0.0, 0.0)):
        g = _gaussian(np.array([[0.0, 0.0, 4.0]]), np.full((1, 3), 0.5), np.array([scales]), np.array([quat]))
        return cons.splat_sigma(g, camera)[45, 80]

    # 3%: the rasterizer's 0.3 px^2 low-pass, added at half the resolution, widens 5 px to 5.1
    assert sigma([0.2, 0.2, 0.2]) == pytest.approx(100 * 0.2 / 4, rel=0.03)
    assert sigma([0.8, 0.2, 0.2]) == pytest.approx(100 * 0.8 / 4, rel=0.03)  # the major axis counts
    end_on = (np.cos(np.pi / 4), 0.0, -np.sin(np.pi / 4), 0.0)  # the 0.8 axis turned onto the view ray
    assert sigma([0.8, 0.2, 0.2], end_on) == pytest.approx(100 * 0.2 / 4, rel=0.03)  # a needle end-on is small


def test_needles_at_the_edge_of_what_the_shot_saw_are_not_a_change_but_a_repaint_beside_them_is():
    # the second shot comes in to 4 m and 20-28 degrees round from the first (inside what the first saw,
    # from directions the unseen mask still accepts): the needles are smears wider than MAX_SPLAT_SIGMA_PX
    sources = [_around(a, 6.0) for a in SOURCE_DEGREES]
    shot = [_around(a, 4.0) for a in (12.0, 14.0, 16.0)]
    truth = _splat(needles=False)  # the generated frames: the set as it is
    frames = [(np.clip(_render(truth, c), 0, 1) * 255 + 0.5).astype(np.uint8) for c in shot]
    scene = _splat(needles=True)

    unchanged = compare(scene, shot, frames, sources)
    assert unchanged.changes == [], [(c.first, c.last, c.boxes) for c in unchanged.changes]
    for score in unchanged.scores.values():
        assert score.coarse > 0.2  # the needles: 24-36% of each frame, counted, not compared
        assert score.compared > 0.2  # the wall left of them is compared (28-52% of a frame)

    # what the check did before it asked the splat's resolution: the needles were a change
    before = cons.splat_sigma
    try:
        cons.splat_sigma = lambda *args, **kwargs: None
        blind = compare(scene, shot, frames, sources)
    finally:
        cons.splat_sigma = before
    assert blind.changes, "the needles no longer disagree: this test would not catch the false change"
    needles_x = [_project(shot[c.first], np.array([NEEDLE_X, WALL_Y, 1.0]))[0] for c in blind.changes]
    assert all(c.boxes[c.first][2] > x for c, x in zip(blind.changes, needles_x))  # right of the edge: needles

    repainted = [(np.clip(_render(_splat(False, patch=True), c), 0, 1) * 255 + 0.5).astype(np.uint8) for c in shot]
    found = compare(scene, shot, repainted, sources)
    assert len(found.changes) == 1 and (found.changes[0].first, found.changes[0].last) == (0, 2)
    x0, y0, x1, y1 = found.changes[0].boxes[1]
    u, v = _project(shot[1], np.array([PATCH_X, WALL_Y, 1.0]))  # the patch's centre
    assert x0 < u < x1 and y0 < v < y1


def _render(g: Gaussians, camera: Camera) -> np.ndarray:  # [H, W, 3] float
    from splatcine.raster import rasterize

    k = camera.intrinsics
    out = rasterize(g.means, g.quats, g.scales, g.opacities, g.sh, torch.tensor(camera.cam_from_world,
                    dtype=torch.float32), torch.tensor(k.K, dtype=torch.float32), k.width, k.height, sh_degree=0)
    return out.rgb.numpy()


def _project(camera: Camera, point: np.ndarray) -> tuple[float, float]:
    p = camera.cam_from_world[:3, :3] @ point + camera.cam_from_world[:3, 3]
    k = camera.intrinsics
    return k.fx * p[0] / p[2] + k.cx, k.fy * p[1] / p[2] + k.cy
