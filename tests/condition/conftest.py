"""The synthetic shot fixture (`shot_helpers.synthetic_shot`)."""

from __future__ import annotations

import pytest
from shot_helpers import synthetic_shot

from splatcine.render.shot import RenderedShot


@pytest.fixture
def shot() -> RenderedShot:
    return synthetic_shot()
