"""`splatcine extend SCENE SHOT -o SCENE2`: fold a generated shot into a copy of the set."""

from __future__ import annotations

from pathlib import Path

import typer

from splatcine.cli._app import app, console, progress_bars, user_errors


@app.command()
@user_errors
def extend(
    scene: Path = typer.Argument(..., help="Scene directory (with a trained splat.ply)."),
    shot: Path = typer.Argument(..., help="The new shot of the same set: a video or a folder of frames."),
    out: Path = typer.Option(..., "-o", "--out", help="The extended scene directory to write."),
    every: int = typer.Option(1, "--every", help="Add every n-th placed frame of the shot (1: all)."),
    iterations: int = typer.Option(1000, "--iterations", help="Training steps of the extension."),
    force: bool = typer.Option(False, "--force", help="Fold the shot in even when it fails the check."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output directory."),
) -> None:
    """Register the shot, add its frames and new points to a copy of the scene, continue training."""
    from splatcine.extend import extend as extend_scene

    with progress_bars() as progress:
        result = extend_scene(scene, shot, out, every=every, iterations=iterations, force=force,
                              overwrite=overwrite, progress=progress)  # fmt: skip
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if result.unplaced:
        console.print(f"[yellow]note:[/] {len(result.unplaced)} frames could not be placed and were left out",
                      highlight=False)
    console.print(f"shot {result.shot}: {len(result.frames_added)} frames added, {result.new_points} new points, "
                  f"Gaussians by shot {result.gaussians_by_shot} -> {result.scene.root}", highlight=False)
    for m in result.held_out:
        before = "n/a" if m.psnr_before is None else f"{m.psnr_before:.1f}"
        after = "n/a" if m.psnr_after is None else f"{m.psnr_after:.1f}"
        console.print(f"  shot {m.shot}: held-out PSNR {before} -> {after} dB ({m.frames} frames)", highlight=False)
