"""The training configuration: one pydantic definition for the CLI, YAML files and the API.

A run's configuration is resolved in layers: the named preset, then a YAML file,
then explicit overrides (the CLI's options or keyword arguments). The resolved
result is what the trainer uses and what it saves beside its outputs
(`train_config.json` and the scene manifest), so a run can be repeated exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from splatcine.errors import InputError
from splatcine.io.yaml_safe import load_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LearningRates(_Strict):
    """Adam step sizes per parameter, as in the reference 3DGS implementation."""

    means: float = 1.6e-4  # times the scene extent; decays exponentially to means_final
    means_final: float = 1.6e-6  # times the scene extent, reached at the last iteration
    log_scales: float = 5e-3
    quats: float = 1e-3
    opacity_logits: float = 5e-2
    sh0: float = 2.5e-3
    shN: float = 2.5e-3 / 20
    color_correction: float = 1e-3

    @model_validator(mode="after")
    def _non_negative(self) -> "LearningRates":
        for name, rate in self:
            if rate < 0:
                raise ValueError(f"{name} must be >= 0, got {rate}")
        return self


class ADCConfig(_Strict):
    """Adaptive density control (clone, split, prune, opacity reset) from the 3DGS paper."""

    kind: Literal["adc"] = "adc"
    grow_grad2d: float = Field(2e-4, gt=0)  # mean screen-space gradient (NDC units) above which to densify
    grow_scale3d: float = Field(0.01, gt=0)  # x scene extent: smaller Gaussians are cloned, larger split
    prune_opacity: float = Field(0.005, ge=0, lt=1)
    prune_scale3d: float = Field(0.1, gt=0)  # x scene extent: larger Gaussians are pruned after a reset
    refine_start: int = Field(500, ge=0)
    refine_stop: int = Field(15_000, ge=0)
    refine_every: int = Field(100, ge=1)
    reset_every: int = Field(3_000, ge=1)
    max_gaussians: int = Field(3_000_000, ge=1)  # growth stops here, a guard for small machines


class MCMCConfig(_Strict):
    """3DGS as MCMC: dead Gaussians relocated onto live ones, noise on positions, a fixed budget."""

    kind: Literal["mcmc"] = "mcmc"
    cap_max: int = Field(1_000_000, ge=1)  # the Gaussian budget
    noise_lr: float = Field(5e5, ge=0)  # position noise, times the current position learning rate
    min_opacity: float = Field(0.005, ge=0, lt=1)  # Gaussians below this are dead and get relocated
    refine_start: int = Field(500, ge=0)
    refine_stop: int = Field(25_000, ge=0)
    refine_every: int = Field(100, ge=1)
    grow_rate: float = Field(0.05, ge=0)  # add this fraction of Gaussians at each refinement, up to cap_max
    opacity_reg: float = Field(0.01, ge=0)
    scale_reg: float = Field(0.01, ge=0)


Strategy = Annotated[ADCConfig | MCMCConfig, Field(discriminator="kind")]


class TrainConfig(_Strict):
    """Everything a training run depends on (defaults are the `preview` preset)."""

    preset: Literal["preview", "full"] = "preview"  # the layer under the YAML file and overrides
    iterations: int = Field(2_000, ge=1)
    max_width: int | None = Field(480, ge=16)  # train on frames resized to at most this width
    sh_degree: int = Field(1, ge=0, le=3)
    sh_degree_interval: int = Field(500, ge=1)  # raise the SH degree by one this often
    ssim_lambda: float = Field(0.2, ge=0.0, le=1.0)  # loss = (1 - l) L1 + l (1 - SSIM)
    # auto: the SfM points, joined by random points in the cameras' shared view volume when SfM
    # gave fewer than `init_min_points` (a posed input without points). Measured
    # (benchmarks/results/quality.json; held-out PSNR): at 100x100 on the object capture (2.5k
    # SfM points) 15k random points joined to them gain ~1 dB at equal steps (28.8 dB at step 548
    # against 27.2 at 500 and 28.7 at 750), but at its real 400x400 they make the first steps
    # 4x dearer (step 100 after 1.7 CPU minutes at 8.1 dB, against 0.4 minutes and 19.7 dB from
    # the SfM points alone), a fog a 10-minute preview cannot afford; on the RealEstate10K clip
    # 0f47577 (698 points) they gain 0.5 dB at step 250 and then lose (22.9 against 25.3 dB at
    # 750). So a scene keeps its SfM points, however few, unless there are almost none.
    init: Literal["auto", "sfm", "random"] = "auto"
    init_min_points: int = Field(100, ge=0)
    init_random_count: int = Field(15_000, ge=1)  # capped at one per 2x2 pixels of a frame
    init_opacity: float = Field(0.1, gt=0.0, lt=1.0)
    init_scale: float = Field(1.0, gt=0.0)  # times the mean distance to the 3 nearest points
    outlier_neighbors: int = Field(20, ge=0)  # 0 turns statistical outlier removal off
    outlier_std_ratio: float = Field(2.0, gt=0.0)
    lr: LearningRates = LearningRates()
    # The 3DGS schedule, shortened. Its one opacity reset (step 1000) drops the object capture's
    # held-out PSNR by 4 dB at once, but the run ends no lower with it than without: 28.42
    # against 28.28 dB at step 2000 (27.88 against 27.72 at 1500; one run each, quality.json).
    strategy: Strategy = ADCConfig(refine_start=200, refine_stop=1_500, reset_every=1_000,
                                   max_gaussians=150_000)
    color_correction: bool = True  # per-frame affine colour, learned; never used for new views
    # a random background colour each step: against a fixed black one, black parts of the set
    # could be learned as transparent, leaving holes in alpha, depth and the unseen mask. On the
    # opaque orbit (robust off) it also ends higher: 30.16 dB held out at 10 CPU-minutes against
    # 29.10 over black (24.40 against 25.06 at 2 minutes)
    random_background: bool = True
    # Residual-based masks of transients geometry missed (flicker, reflections, small movers):
    # after `robust_start` x iterations, pixels that stayed clustered outliers on most recent
    # visits of their frame are left out of the loss (splatcine.train.loss.RobustWeights).
    # Off unless asked for: a region that is merely slow to fit (fine texture, thin parts) is
    # left out for good once masked, since it no longer trains. Measured: on the trainer test's
    # static set (200 steps) 21.8 dB held out with it, 24.8 dB without (and half the CPU time a
    # step at 96x54); on the walkers clip with a large unmasked mover it gained 0.07 dB.
    robust: bool = False
    robust_start: float = Field(0.3, ge=0.0, le=1.0)
    # An outlier's residual is at least this (mean absolute error in [0, 1] colour, 3x3 smoothed):
    # a mover painted over the set differs by 0.2-0.5, a converged preview's held-out error is
    # about 0.03 (PSNR ~29 dB). On the walkers clip (600 steps) a floor of 0.05 gave the same
    # held-out PSNR to the digit: there the median + 3 MAD test decides alone.
    robust_floor: float = Field(0.1, gt=0.0)
    color_reg: float = Field(1e-2, ge=0.0)  # pull of the colour correction toward identity
    holdout_every: int = Field(8, ge=0)  # every n-th kept frame is held out (0: none)
    checkpoint_every: int = Field(500, ge=0)  # 0: only on interruption
    seed: int = 0
    backend: str = "auto"  # rasterizer backend, see splatcine.raster.rasterize
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when present
    antialiased: bool = False


PRESETS: dict[str, dict[str, Any]] = {
    # CPU: a 480p shot of 49-81 frames in about ten minutes on two cores (TrainConfig's defaults).
    "preview": {"preset": "preview"},
    # GPU: the standard 3DGS schedule (ADCConfig's own defaults), full resolution, SH degree 3.
    "full": {
        "preset": "full",
        "iterations": 30_000,
        "max_width": None,
        "sh_degree": 3,
        "sh_degree_interval": 1_000,
        "checkpoint_every": 7_000,
        "init_random_count": 100_000,  # 3DGS's random start of the synthetic scenes
        "strategy": ADCConfig().model_dump(),
    },
}


def resolve_config(
    preset: str | None = None, path: Path | None = None, **overrides: Any
) -> TrainConfig:
    """Preset, then the YAML file at `path`, then `overrides` (None values are ignored)."""
    layers: dict[str, Any] = TrainConfig().model_dump()
    from_file = _read_yaml(path) if path is not None else {}
    name = preset or from_file.get("preset") or "preview"
    if name not in PRESETS:
        raise InputError(f"unknown preset '{name}' (choose from {', '.join(PRESETS)})")
    for layer in (PRESETS[name], from_file, {k: v for k, v in overrides.items() if v is not None}):
        layers = _merge(layers, layer)
    try:
        return TrainConfig.model_validate(layers)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        source = f"{path}: " if path is not None else ""
        raise InputError(f"{source}training config field '{where}': {first['msg']}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc, _ = load_yaml(Path(path).read_text(), str(path))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    except RecursionError:
        raise InputError(f"{path}: YAML nested too deeply") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"{path}: a training config must be a mapping of fields")
    return doc


def _merge(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    """Nested dict update; a strategy of another kind replaces the whole strategy block."""
    out = dict(base)
    for key, value in layer.items():
        old = out.get(key)
        if isinstance(value, BaseModel):
            value = value.model_dump()
        same_kind = not isinstance(old, dict) or not isinstance(value, dict) or \
            value.get("kind", old.get("kind")) == old.get("kind")
        if isinstance(old, dict) and isinstance(value, dict) and same_kind:
            out[key] = _merge(old, value)
        else:
            out[key] = value
    return out
