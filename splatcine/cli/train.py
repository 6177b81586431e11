"""`splatcine train SCENE_DIR`: train (or resume training) the Gaussian scene of a scene directory."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from splatcine.cli._app import app, progress_bars, say, user_errors
from splatcine.train import resolve_config

if TYPE_CHECKING:
    from splatcine.train import TrainResult


class Preset(str, Enum):
    preview = "preview"
    full = "full"


class Init(str, Enum):
    auto = "auto"
    sfm = "sfm"
    random = "random"


@app.command()
@user_errors
def train(
    scene_dir: Path = typer.Argument(..., help="A scene directory written by `splatcine reconstruct`."),
    preset: Preset | None = typer.Option(
        None, "--preset", help="preview: CPU, minutes, reduced resolution; full: GPU, 30k iterations. "
                               "Default: the config file's preset, else preview."),
    iterations: int | None = typer.Option(None, "--iterations", min=1, help="Train for this many steps."),
    config: Path | None = typer.Option(
        None, "--config", help="A YAML file of training settings (any TrainConfig field) "
                               "laid over the preset."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in "
                                                        "SCENE_DIR/checkpoints."),
    init: Init | None = typer.Option(None, "--init", help="Start from the SfM points (sfm), from random "
                                                         "points in the cameras' shared view (random), "
                                                         "or both when SfM gave few (auto, the default)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of every random choice in the run."),
) -> None:
    """Train 3D Gaussians on a scene's frames; write splat.ply, metrics.json and a contact sheet.

    With --resume the checkpoint's own settings are used; --iterations may extend them.
    """
    overrides = {"iterations": iterations, "init": init.value if init else None, "seed": seed}
    if resume and preset is None and config is None:
        cfg = None if all(v is None for v in overrides.values()) else _checkpoint_config(scene_dir, overrides)
    else:
        cfg = resolve_config(preset.value if preset else None, config, **overrides)
    from splatcine.train import train_scene  # torch and kornia: only when training

    with progress_bars() as progress:
        result = train_scene(scene_dir, cfg, progress=progress, resume=resume)
    say(training_summary(result))


def _checkpoint_config(scene_dir: Path, overrides: dict):
    """The latest checkpoint's config with the options given laid over it (None: no checkpoint)."""
    from splatcine.scene import layout
    from splatcine.train.run import latest_checkpoint
    from splatcine.train.trainer import checkpoint_meta

    latest = latest_checkpoint(scene_dir / layout.CHECKPOINTS)
    if latest is None:
        return None  # train_scene says there is nothing to resume
    saved = checkpoint_meta(latest).config
    given = {k: v for k, v in overrides.items() if v is not None}  # already checked by typer
    return saved.model_validate({**saved.model_dump(), **given})


def training_summary(result: TrainResult) -> str:
    """One line: what was written, how big, how good on the held-out frames."""
    ev = result.evaluation
    held_out = (f"held-out PSNR {ev.psnr:.2f} dB, SSIM {ev.ssim:.3f} over {len(ev.frames)} frames"
                if ev.psnr is not None else "no held-out frames")  # fmt: skip
    return (f"{result.splat_path}: {len(result.gaussians)} Gaussians after {result.iterations} "
            f"iterations ({result.train_seconds:.0f} s); {held_out}")  # fmt: skip
