"""Training: a scene directory's posed frames -> a 3D Gaussian scene, evaluated on held-out frames.

`train_scene` is the public entry; `TrainConfig` (with `resolve_config` for presets
and YAML files) is the one definition of its settings.
"""

from __future__ import annotations

from splatcine.train.config import ADCConfig, MCMCConfig, PRESETS, TrainConfig, resolve_config
from splatcine.train.evaluate import Evaluation, evaluate
from splatcine.train.run import TrainProgress, TrainResult, train_scene

__all__ = ["ADCConfig", "Evaluation", "MCMCConfig", "PRESETS", "TrainConfig", "TrainProgress",
           "TrainResult", "evaluate", "resolve_config", "train_scene"]
