"""Native kernels: not landed yet."""

from __future__ import annotations

from splatcine.errors import MissingDependencyError


def ops_for(device):
    raise MissingDependencyError("the native rasterizer kernels are not built yet")
