"""`splatcine reconstruct SHOT -o SCENE_DIR`: a shot to posed frames and sparse points."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from splatcine.cli._app import app, console, progress_bars, say, user_errors
from splatcine.cli.train import Preset, training_summary
from splatcine.errors import InputError
from splatcine.ingest import IngestSettings
from splatcine.reconstruct import ReconstructReport, reconstruct as reconstruct_scene
from splatcine.train import resolve_config


class MapperChoice(str, Enum):
    global_ = "global"
    incremental = "incremental"


@app.command()
@user_errors
def reconstruct(
    shot: Path = typer.Argument(
        ..., help="The shot: a video (mp4, mov, webm, gif, ...), a folder of frames, "
                  "or a posed nerfstudio/NeRF transforms.json (then SfM is skipped)."),
    output: Path = typer.Option(..., "-o", "--output", help="The scene directory to write."),
    masks: str = typer.Option(
        "auto", "--masks", help="Moving things to ignore: 'auto' finds them (the default), 'none' keeps "
                                "whole frames, or a video or folder with one mask per frame "
                                "(white (255) = ignore, black = the static set)."),
    max_frames: int = typer.Option(IngestSettings.max_frames, "--max-frames",
                                   help="At most this many keyframes go to SfM."),
    mapper: MapperChoice = typer.Option(MapperChoice.incremental, "--mapper",
                                        help="COLMAP mapper run first; both run and the better "
                                             "model is kept (report.json says which and why)."),
    segment: int | None = typer.Option(None, "--segment",
                                       help="For a shot with hard cuts: reconstruct segment K (0-based)."),
    frames: str | None = typer.Option(None, "--frames", help="Only source frames A:B (B excluded; A: to the end)."),
    max_image_size: int = typer.Option(IngestSettings.max_image_size, "--max-image-size",
                                       help="Resize frames so the long side is at most this many pixels."),
    sfm_only: bool = typer.Option(
        False, "--sfm-only", help="Stop after cameras and sparse points (train later with `splatcine train`)."),
    preset: Preset = typer.Option(
        Preset.preview, "--preset", help="Training preset: preview (CPU, minutes) or full (GPU, 30k steps)."),
    iterations: int | None = typer.Option(None, "--iterations", min=1, help="Training steps (default: the preset's)."),
    train_config: Path | None = typer.Option(
        None, "--train-config", help="A YAML file of training settings laid over the preset."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace SCENE_DIR if it exists."),
) -> None:
    """Reconstruct a shot into a scene directory: frames, cameras, sparse points, and a trained Gaussian scene."""
    config = None if sfm_only else resolve_config(preset.value, train_config, iterations=iterations)
    with progress_bars() as progress:
        result = reconstruct_scene(
            shot, output, masks=masks if masks in ("auto", "none") else Path(masks), max_frames=max_frames, mapper=mapper.value, segment=segment,
            frame_range=_frame_range(frames), max_image_size=max_image_size, sfm_only=sfm_only,
            train_config=config, overwrite=overwrite, progress=progress,
        )
    console.print(summary_table(result.report, output))
    if result.training is not None:
        say(training_summary(result.training))


def _frame_range(text: str | None) -> tuple[int, int | None] | None:
    if text is None:
        return None
    start, sep, stop = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start or 0), int(stop) if stop else None
    except ValueError:
        raise InputError(f"--frames {text!r}: expected A:B with integer frame indices (e.g. 0:48)") from None


def summary_table(report: ReconstructReport, scene_dir: Path) -> Table:
    """The diagnosis of a run as a rich table."""
    table = Table(title=escape(f"scene written to {scene_dir}"), show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")

    def num(value, fmt):
        return "-" if value is None else format(value, fmt)

    rows = [
        ("input", report.input_kind),
        ("frames read / kept / registered",
         f"{report.frames_read} / {report.frames_kept} / {report.frames_registered}"),
        ("mapper", report.mapper or "- (known cameras)"),
        ("mean reprojection error", f"{num(report.mean_reprojection_px, '.2f')} px"),
        ("mean track length", num(report.mean_track_length, ".1f")),
        ("parallax (median triangulation angle)", f"{num(report.parallax_deg, '.1f')} deg"),
        ("sparse points", str(report.points)),
        ("focal length", f"{num(report.focal_px, '.0f')} px"),
    ]
    if report.masked_fraction:
        shares = list(report.masked_fraction.values())
        rows.append((f"masks ({report.masks})", f"{sum(shares) / len(shares):.1%} of each frame on average, "
                     f"at most {max(shares):.1%}" + ("; SfM re-run with them" if report.masks_sfm_rerun else "")))
    elif report.masks == "auto":
        rows.append(("masks (auto)", "nothing moves: whole frames used"))
    if report.blurred:
        rows.append(("blurred frames dropped", str(len(report.blurred))))
    rows.append(("time per stage", ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())))
    rows += [("warning", w) for w in report.warnings]
    for what, value in rows:
        table.add_row(what, escape(value))
    return table
