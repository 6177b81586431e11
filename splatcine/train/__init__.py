"""Training: a scene directory's posed frames -> a 3D Gaussian scene, evaluated on held-out frames.

`train_scene` is the public entry; `TrainConfig` (with `resolve_config` for presets
and YAML files) is the one definition of its settings. The config is light (pydantic);
everything else loads torch and kornia, so it is imported on first use: the CLI resolves
a config (and shows `--help`) without paying for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from splatcine.train.config import ADCConfig, MCMCConfig, PRESETS, TrainConfig, resolve_config

if TYPE_CHECKING:
    from splatcine.train.evaluate import Evaluation
    from splatcine.train.run import TrainProgress, TrainResult, train_scene

# `evaluate` is not re-exported: the function shares its submodule's name, which the import
# system binds on the package once `splatcine.train.evaluate` loads.
__all__ = ["ADCConfig", "Evaluation", "MCMCConfig", "PRESETS", "TrainConfig", "TrainProgress",
           "TrainResult", "resolve_config", "train_scene"]

_LAZY = {"Evaluation": "evaluate", "TrainProgress": "run", "TrainResult": "run", "train_scene": "run"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"splatcine.train.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'splatcine.train' has no attribute {name!r}")
