"""Scenes and one shared training run for the trainer's tests (session-scoped: training costs)."""

from __future__ import annotations

import pytest

from splatcine.train import TrainConfig, resolve_config, train_scene
from tests.train.synthetic import write_scene

# A short schedule at 96x54: densification every 40 steps, growth capped so the run stays
# around ten seconds on two cores. The synthetic set is rendered over black, so black empty
# space is part of its truth: it trains over black (the procedural room test uses random).
SHORT = dict(iterations=200, max_width=None, sh_degree=1, sh_degree_interval=100, checkpoint_every=0,
             random_background=False, init="sfm",  # the bars below were measured from the SfM points
             strategy={"kind": "adc", "refine_start": 40, "refine_every": 40, "refine_stop": 170,
                       "reset_every": 10_000, "max_gaussians": 4_000})


def short_config(**overrides) -> TrainConfig:
    return resolve_config("preview", **{**SHORT, **overrides})


@pytest.fixture(scope="session")
def mover_scene(tmp_path_factory):
    """12 frames of the synthetic set with a red square moving across, masked (255) in every frame."""
    return write_scene(tmp_path_factory.mktemp("mover") / "scene", frames=12, width=96, height=54,
                       mover=True)


@pytest.fixture(scope="session")
def trained(mover_scene):
    return train_scene(mover_scene, short_config())
