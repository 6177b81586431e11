"""The residual-based transient mask of training, and masked source pixels in the unseen mask."""

from __future__ import annotations

import torch

from splatcine.render import maps
from splatcine.train.loss import RobustWeights


def _frames(seed: int = 0):
    """A target [32, 48, 3] and a render that fits it up to small noise, except for a transient blob."""
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(32, 48, 3, generator=g)
    render = (target + 0.02 * torch.randn(32, 48, 3, generator=g)).clamp(0, 1)
    blob = torch.zeros(32, 48, dtype=torch.bool)
    blob[8:20, 10:26] = True  # a transient the set cannot explain
    render[blob] = 1.0 - target[blob]
    speckle = torch.rand(32, 48, generator=g) < 0.03  # scattered badly fit pixels: texture, not a mover
    render[speckle & ~blob] = 1.0 - target[speckle & ~blob]
    return render, target, blob


def test_clustered_outliers_are_found_and_scattered_ones_are_not():
    render, target, blob = _frames()
    outliers = RobustWeights(start=0, floor=0.1).outliers(render, target, None)
    near = torch.nn.functional.max_pool2d(blob[None, None].float(), 5, 1, 2)[0, 0] > 0
    inside = outliers[blob].float().mean()
    outside = outliers[~near].float().mean()  # the 3x3 smoothing may widen the blob by a pixel
    assert inside > 0.85  # the blob's rim loses a pixel or two to the 7x7 majority
    assert outside < 0.01  # isolated bad pixels do not form clusters


def test_a_view_is_masked_only_after_repeated_visits_and_after_the_start():
    render, target, blob = _frames()
    robust = RobustWeights(start=3, floor=0.1)
    kept = [robust.valid(0, render, target, None, step) for step in range(6)]
    assert kept[0] is None and kept[2] is None  # before `start` the loss keeps every pixel
    ignored = ~kept[5]
    near = torch.nn.functional.max_pool2d(blob[None, None].float(), 9, 1, 4)[0, 0] > 0
    # the map is kept at 1/4 resolution: its edge may fall up to a cell outside the blob
    assert ignored[blob].float().mean() > 0.8 and ignored[~near].float().mean() < 0.01
    # a view whose transient went away is trusted again within a few visits
    for step in range(6, 12):
        kept = robust.valid(0, target, target, None, step)
    assert kept.all()


def test_masked_source_pixels_vouch_for_nothing():
    K = torch.tensor([[20.0, 0, 8], [0, 20.0, 8], [0, 0, 1]])
    depth, alpha = torch.full((16, 16), 2.0), torch.ones(16, 16)
    ignored = torch.zeros(16, 16, dtype=torch.bool)
    ignored[:, :8] = True  # a mover covered the left half of this source frame
    free = maps.SourceView(torch.eye(4), K, depth, alpha)
    masked = maps.SourceView(torch.eye(4), K, depth, alpha, ignored)
    points = maps.backproject(depth, K).reshape(-1, 3)  # the surface the source view saw
    left = (torch.arange(16 * 16) % 16) < 8
    assert maps._seen_by(points, [free]).all()
    seen_free, seen_masked = maps._seen_by(points, [free, masked])  # one batch, masked and not
    assert seen_free.all()
    assert not seen_masked[left].any() and seen_masked[~left].all()
