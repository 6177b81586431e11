"""`splatcine check SCENE SHOT -o REPORT_DIR`: score a generated shot against the set (exit 5: it fails)."""

from __future__ import annotations

from pathlib import Path

import typer

from splatcine.cli._app import app, console, progress_bars, user_errors

FAILED = 5  # the exit code of a shot that fails the check: a pipeline can regenerate it


@app.command()
@user_errors
def check(
    scene: Path = typer.Argument(..., help="Scene directory (with a trained splat.ply)."),
    shot: Path = typer.Argument(..., help="The generated shot: a video or a folder of frames."),
    out: Path = typer.Option(..., "-o", "--out", help="Report directory to write."),
    render: Path | None = typer.Option(
        None, "--render", help="The shot directory `splatcine render` wrote to condition this shot: "
                               "its cameras are the path the shot was asked to follow."),
    min_psnr: float | None = typer.Option(
        None, "--min-psnr", help="Fail below this masked PSNR (dB) against the set (default 15)."),
    max_camera_error: float | None = typer.Option(
        None, "--max-camera-error", help="Fail when a frame's camera is further than this % of the path's "
                                         "length from the requested one, with --render (default 5)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report directory."),
) -> None:
    """Localise the shot's frames in the set, compare cameras and pictures; exit 5 when it fails."""
    from splatcine.check import CheckSettings, check as check_shot

    limits = {"min_psnr": min_psnr, "max_camera_error": max_camera_error}
    settings = CheckSettings(**{k: v for k, v in limits.items() if v is not None})
    with progress_bars() as progress:
        result = check_shot(scene, shot, out, render=render, settings=settings, overwrite=overwrite,
                            progress=progress)  # fmt: skip
    placed = len(result.frames) - len(result.unplaced)
    psnr = "n/a" if result.psnr is None else f"{result.psnr:.1f} dB"
    line = f"{placed}/{len(result.frames)} frames placed, masked PSNR {psnr}"
    if result.adherence is not None and result.adherence.max_centre_error is not None:
        line += (f", camera within {result.adherence.max_centre_error:.2f} {result.adherence.unit} "
                 f"and {result.adherence.max_rotation_error_deg:.2f} deg")
    console.print(f"{line} -> {result.out_dir}", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if result.passed:
        console.print("[bold green]pass[/]")
        return
    for finding in result.findings:
        console.print(f"[bold red]fail:[/] {finding.message}", highlight=False)
    raise typer.Exit(FAILED)
