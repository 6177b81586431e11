"""`splatcine generate SHOT_DIR --model PATH --prompt "..."`: run Wan VACE on a rendered shot."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from splatcine.cli._app import app, progress_bars, say, user_errors


@app.command()
@user_errors
def generate(
    shot: Path = typer.Argument(..., help="Shot directory written by `splatcine render`."),
    model: Path = typer.Option(..., "--model", help="Local WanVACEPipeline directory (never downloaded)."),
    prompt: str = typer.Option(..., "--prompt", help="What the generated shot shows."),
    negative_prompt: str = typer.Option("", "--negative-prompt", help="What it must not show."),
    seed: int = typer.Option(0, "--seed", help="Random seed (recorded beside the video)."),
    steps: int = typer.Option(30, "--steps", help="Denoising steps."),
    guidance: float = typer.Option(5.0, "--guidance", help="Classifier-free guidance scale."),
    frames: Optional[int] = typer.Option(None, "--frames", help="Frames to make (cut to 4n+1); default all."),
    height: Optional[int] = typer.Option(None, "--height", help="Height (down to x16); default the shot's."),
    width: Optional[int] = typer.Option(None, "--width", help="Width (down to x16); default the shot's."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device; default CUDA when present."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier result of the same seed."),
) -> None:
    """Generate the next shot with a Wan VACE model conditioned on the shot's renders."""
    from splatcine.diffusion import generate as run

    with progress_bars() as progress:
        result = run(shot, model, prompt, negative_prompt=negative_prompt, seed=seed, steps=steps,
                     guidance_scale=guidance, num_frames=frames, height=height, width=width, device=device,
                     overwrite=overwrite, progress=progress)  # fmt: skip
    say(f"{result.num_frames} frames {result.width}x{result.height} (seed {result.seed}) -> {result.video_path}")
