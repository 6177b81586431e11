"""`splatcine path ...`: check, preview and convert camera-path YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from splatcine.atomic import check_output_file
from splatcine.cli._app import app, say, user_errors

path_app = typer.Typer(
    help="Camera paths in YAML: edit, preview, inspect, export and import.", no_args_is_help=True
)
app.add_typer(path_app, name="path")

PATH_ARG = typer.Argument(..., help="Camera-path YAML file (see cameras/ for examples).")
SCENE_OPT = typer.Option(
    None, "--scene", "-s", help="Scene directory (for from_frame, the lens, metres, the preview)."
)
OVERWRITE_OPT = typer.Option(False, "--overwrite", help="Replace the output file if it exists.")


@path_app.command()
@user_errors
def preview(
    path_yaml: Path = PATH_ARG,
    scene: Optional[Path] = SCENE_OPT,
    out: Path = typer.Option(Path("preview.png"), "--out", "-o", help="PNG to write."),
    overwrite: bool = OVERWRITE_OPT,
) -> None:
    """Draw the path over the scene from above and from the side."""
    check_output_file(out, overwrite)
    from splatcine import paths
    from splatcine.paths.preview import write_preview
    from splatcine.scene import load_scene

    loaded = load_scene(scene) if scene is not None else None
    write_preview(paths.load(path_yaml, loaded), out, loaded)
    say(f"wrote {out}")


@path_app.command()
@user_errors
def show(
    path_yaml: Path = PATH_ARG,
    scene: Optional[Path] = SCENE_OPT,
    every: int = typer.Option(
        0, "--every", help="Show every Nth frame (default: about 20 rows).", min=0
    ),
) -> None:
    """Print the sampled cameras as a table."""
    from splatcine import paths
    from splatcine.paths.convert import frame_table

    path = paths.load(path_yaml, scene)
    headers, rows = frame_table(path, every or max(1, len(path) // 20))
    table = Table(
        title=escape(f"{path_yaml}: {len(path)} frames, {path.fps:g} fps, {path.width}x{path.height}")
    )
    for header in headers:
        table.add_column(header, justify="right")
    for row in rows:
        table.add_row(*row)
    out = Console()
    out.width = max(out.width, 110)  # the rows are wider than a default 80-column pipe
    out.print(table)


@path_app.command()
@user_errors
def export(
    path_yaml: Path = PATH_ARG,
    format: str = typer.Option(
        ..., "--format", "-f", help="nerfstudio | opencv | opengl | re10k | plucker | recammaster"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    scene: Optional[Path] = SCENE_OPT,
    downsample: int = typer.Option(
        1, "--downsample", help="plucker only: ray grid = image size / N (8 = latent grid).", min=1
    ),
    dataparser_transforms: Optional[Path] = typer.Option(
        None, "--dataparser-transforms",
        help="nerfstudio only: the trained model's dataparser_transforms.json (cameras in its frame).",
    ),  # fmt: skip
    overwrite: bool = OVERWRITE_OPT,
) -> None:
    """Write the sampled cameras in another tool's format."""
    check_output_file(out, overwrite)
    from splatcine import paths
    from splatcine.paths.convert import export as export_path

    export_path(paths.load(path_yaml, scene), format, out, downsample=downsample,
                dataparser_transforms=dataparser_transforms)  # fmt: skip
    say(f"wrote {out}")


@path_app.command("import")
@user_errors
def import_(
    camera_path: Path = typer.Argument(
        ..., help="nerfstudio camera_path.json (from its viewer or Blender add-on)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Path YAML to write."),
    overwrite: bool = OVERWRITE_OPT,
) -> None:
    """Turn a nerfstudio camera_path.json into a path YAML."""
    check_output_file(out, overwrite)
    from splatcine.paths.convert import import_nerfstudio

    import_nerfstudio(camera_path, out)
    say(f"wrote {out}")


@path_app.command()
@user_errors
def edit(
    scene: Path = typer.Argument(..., help="Scene directory (with a trained splat.ply)."),
    path_yaml: Optional[Path] = typer.Argument(
        None, help="Path YAML to open, or to create (default: next-shot.yaml)."
    ),
    port: int = typer.Option(8080, "--port", "-p", help="Port of the page on localhost."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (keep localhost; reach it over ssh -L)."
    ),
) -> None:
    """Edit a camera path in the browser, over the set (Ctrl-C to stop)."""
    import time

    from splatcine.paths import Editor
    from splatcine.viewer import serve

    app = serve(Editor(path_yaml or Path("next-shot.yaml"), scene), host=host, port=port)
    say(f"editing {app.editor.name} at {app.url} (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    finally:
        app.stop()
