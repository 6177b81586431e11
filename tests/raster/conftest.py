"""Fixtures for the rasterizer tests; scene builders live in raster_cases.py."""

from __future__ import annotations

import pytest

from splatcine.errors import MissingDependencyError


@pytest.fixture(scope="session")
def native_built() -> None:
    """Build the extension once per session (about a minute the first time); failing here is a real failure."""
    from splatcine.raster import _native

    try:
        _native.load()
    except MissingDependencyError as err:
        pytest.fail(f"native rasterizer does not build here: {err}")
