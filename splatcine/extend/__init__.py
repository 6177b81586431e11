"""Fold a generated shot into the set: `extend(scene, shot, out_dir)` (see `api` for the stages)."""

import sys
import types

from splatcine.extend.api import CheckFailed, ExtendResult, ShotMetrics, extend

__all__ = ["CheckFailed", "ExtendResult", "ShotMetrics", "extend"]


class _CallablePackage(types.ModuleType):
    """`splatcine.extend(...)` calls the function though `splatcine.extend` is also this package
    (importing a submodule binds the package on its parent; see `splatcine.check`)."""

    def __call__(self, *args, **kwargs) -> ExtendResult:
        return extend(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
