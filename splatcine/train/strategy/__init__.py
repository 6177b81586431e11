"""Densification strategies: pluggable objects the training loop calls (see `base.Strategy`)."""

from __future__ import annotations

from splatcine.train.config import ADCConfig, MCMCConfig
from splatcine.train.strategy.adc import ADCStrategy
from splatcine.train.strategy.base import StepInfo, Strategy
from splatcine.train.strategy.mcmc import MCMCStrategy


def make_strategy(config: ADCConfig | MCMCConfig, scene_extent: float) -> Strategy:
    if isinstance(config, MCMCConfig):
        return MCMCStrategy(config, scene_extent)
    return ADCStrategy(config, scene_extent)


__all__ = ["ADCStrategy", "MCMCStrategy", "StepInfo", "Strategy", "make_strategy"]
