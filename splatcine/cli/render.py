"""`splatcine render SCENE PATH.yaml -o SHOT_DIR`: render a camera path into conditioning."""

from __future__ import annotations

from pathlib import Path

import typer

from splatcine.cli._app import app, progress_bars, say, user_errors


@app.command()
@user_errors
def render(
    scene: Path = typer.Argument(..., help="Scene directory (with a trained splat.ply)."),
    path: Path = typer.Argument(..., help="Camera path YAML (see cameras/ for examples)."),
    out: Path = typer.Option(..., "-o", "--out", help="Shot directory to write."),
    formats: list[str] = typer.Option(
        ["frames"], "--format", "-f",
        help="Conditioning format to write, repeatable: wan-vace, voyager, gen3c, cameractrl, recammaster, frames.",
    ),  # fmt: skip
    fit: bool = typer.Option(False, "--fit", help="Resample the shot for formats whose model takes another "
                             "frame count or size (otherwise that is an error naming the target to use)."),
    backend: str = typer.Option("auto", help="Rasterizer backend: auto, cpu, cuda, gsplat, reference."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing shot directory."),
) -> None:
    """Render the scene along a camera path: colour, depth, normals, unseen mask, conditioning."""
    from splatcine.render import render_path

    with progress_bars() as progress:
        result = render_path(scene, path, out, formats=formats, fit=fit, backend=backend, overwrite=overwrite,
                             progress=progress)  # fmt: skip
    for warning in result.warnings:
        say(f"warning: {warning}")
    say(f"{result.num_frames} frames {result.width}x{result.height}, "
        f"{result.unseen_fraction:.0%} unseen on average -> {result.out_dir}")
