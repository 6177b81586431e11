"""`python -m scenes make NAME -o DIR` writes a clip, `... scene NAME -o DIR` a scene directory."""

from __future__ import annotations

from pathlib import Path

import typer

from splatcine.cli._app import console, user_errors
from scenes.clip import make_clip, write_ground_truth_scene
from scenes.moves import NAMES
from scenes.shots import VARIANTS, make_shot

app = typer.Typer(
    help="Procedural test scenes with known cameras and depth.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
NAME_HELP = f"The camera move: {', '.join(NAMES)}."


@app.command()
@user_errors
def make(
    name: str = typer.Argument(..., help=NAME_HELP),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Clip directory to write (an earlier one splatcine wrote is replaced; any other folder is refused)."
    ),
    frames: int = typer.Option(48, help="Number of frames."),
    width: int = typer.Option(480, help="Image width in pixels (even)."),
    height: int = typer.Option(270, help="Image height in pixels (even)."),
    fps: int = typer.Option(24, help="Frames per second of the video."),
) -> None:
    """Render a clip: shot.mp4, frames/, depth.npz, cameras.json (and masks/ for 'moving')."""
    clip = make_clip(name, out, frames=frames, width=width, height=height, fps=fps)
    console.print(f"wrote {clip.video_path} ({frames} frames, {width}x{height})", highlight=False)


@app.command()
@user_errors
def scene(
    name: str = typer.Argument(..., help=NAME_HELP),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Scene directory to write (an earlier one splatcine wrote is replaced; any other folder is refused)."
    ),
    frames: int = typer.Option(24, help="Number of frames."),
    width: int = typer.Option(480, help="Image width in pixels (even)."),
    height: int = typer.Option(270, help="Image height in pixels (even)."),
    points: int = typer.Option(
        20000, help="Points back-projected from the true depth into points.ply."
    ),
) -> None:
    """Write a ground-truth splatcine scene directory (true cameras, no SfM)."""
    path = write_ground_truth_scene(
        name, out, frames=frames, width=width, height=height, points=points
    )
    console.print(f"wrote {path}", highlight=False)


@app.command()
@user_errors
def shot(
    variant: str = typer.Argument("unchanged", help=f"What the shot shows: {', '.join(VARIANTS)}."),
    out: Path = typer.Option(..., "-o", "--out", help="Shot directory to write (an earlier one splatcine wrote is replaced; any other folder is refused)."),
    path: str = typer.Option("second", help="The move: second (inside what the orbit saw), beyond (round the "
                                            "far side of the room), third (the far side again), survey (both)."),
    frames: int = typer.Option(16, help="Number of frames."),
    width: int = typer.Option(320, help="Image width in pixels (even)."),
    height: int = typer.Option(180, help="Image height in pixels (even)."),
) -> None:
    """A second shot of the orbit's set, as a video model might return it, with its true cameras."""
    made = make_shot(variant, out, frames=frames, width=width, height=height, path=path)
    console.print(f"wrote {made.video_path} ({variant}, {path} path, {frames} frames)", highlight=False)


@app.command("object")
@user_errors
def object_capture(
    out: Path = typer.Option(..., "-o", "--out", help="Capture directory to write (an earlier one splatcine wrote is replaced; any other folder is refused)."),
    views: int = typer.Option(96, help="Number of views round the object."),
    size: int = typer.Option(400, help="Image width and height in pixels."),
) -> None:
    """An object capture with alpha, NeRF-synthetic style: transforms.json and RGBA images/."""
    from scenes.object import write_object_capture

    path = write_object_capture(out, views=views, size=size)
    console.print(f"wrote {path} ({views} RGBA views, {size}x{size})", highlight=False)


if __name__ == "__main__":
    app()
