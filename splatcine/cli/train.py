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
    init: Init | None = typer.Option(None, "--init", help="Start from the SfM points (sfm) or from "
                                                         "random points inside the camera bounds."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of every random choice in the run."),
) -> None:
    """Train 3D Gaussians on a scene's frames; write splat.ply, metrics.json and a contact sheet."""
    cfg = resolve_config(preset.value if preset else None, config, iterations=iterations,
                         init=init.value if init else None, seed=seed)  # fmt: skip
    from splatcine.train import train_scene  # torch and kornia: only when training

    with progress_bars() as progress:
        result = train_scene(scene_dir, cfg, progress=progress, resume=resume)
    say(training_summary(result))


def training_summary(result: TrainResult) -> str:
    """One line: what was written, how big, how good on the held-out frames."""
    ev = result.evaluation
    held_out = (f"held-out PSNR {ev.psnr:.2f} dB, SSIM {ev.ssim:.3f} over {len(ev.frames)} frames"
                if ev.psnr is not None else "no held-out frames")  # fmt: skip
    return (f"{result.splat_path}: {len(result.gaussians)} Gaussians after {result.iterations} "
            f"iterations ({result.train_seconds:.0f} s); {held_out}")  # fmt: skip
