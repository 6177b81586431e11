"""Fixtures for the path tests: a small scene directory (see path_helpers.write_test_scene)."""

from __future__ import annotations

from pathlib import Path

import pytest
from path_helpers import write_test_scene

from splatcine.scene import load_scene


@pytest.fixture(scope="session")
def scene_dir(tmp_path_factory) -> Path:
    return write_test_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="session")
def scene(scene_dir):
    return load_scene(scene_dir)
