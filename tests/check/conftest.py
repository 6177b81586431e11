"""The set check and extend are tested on, built once per session (see check_helpers)."""

from __future__ import annotations

import pytest
from check_helpers import KnownSet, build_set


@pytest.fixture(scope="session")
def test_set(tmp_path_factory) -> KnownSet:
    return build_set(tmp_path_factory.mktemp("check_set"))
