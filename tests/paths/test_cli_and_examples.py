"""The `splatcine path` commands through typer's runner, and every example in cameras/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splatcine import paths
from splatcine.cli import app

CAMERAS = Path(__file__).parents[2] / "cameras"
EXAMPLES = sorted(CAMERAS.glob("*.yaml"))
MOVES = [
    "dolly",
    "truck",
    "pedestal",
    "pan",
    "tilt",
    "roll",
    "orbit",
    "crane",
    "zoom",
    "dolly-zoom",
    "keyframes",
    "from-frame",
    "combined",
]
runner = CliRunner()


def test_there_is_an_example_per_move():
    assert {p.stem for p in EXAMPLES} >= set(MOVES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_parses_into_a_valid_path(example, scene):
    path = paths.load(example, scene)
    R = path.cam_from_world[:, :3, :3]
    assert np.isfinite(path.cam_from_world).all() and len(path) > 1
    assert np.allclose(
        R @ R.transpose(0, 2, 1), np.eye(3), atol=1e-9
    )  # orthonormal from construction
    assert (
        not np.allclose(path.cam_from_world[0], path.cam_from_world[-1])
        or path.vfov[0] != path.vfov[-1]
    )


def test_show_prints_the_sampled_cameras(scene_dir):
    result = runner.invoke(app, ["path", "show", str(CAMERAS / "dolly.yaml"), "--every", "16"])
    assert result.exit_code == 0, result.output
    assert "49 frames" in result.output and "832x480" in result.output
    assert "-4.000" in result.output  # the start position's y


def test_preview_writes_a_png(scene_dir, tmp_path):
    out = tmp_path / "preview.png"
    result = runner.invoke(
        app,
        [
            "path",
            "preview",
            str(CAMERAS / "from-frame.yaml"),
            "--scene",
            str(scene_dir),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    from splatcine.io.video import image_size

    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image_size(out)[0] > 1000  # two views side by side at a readable size


@pytest.mark.parametrize(
    "fmt", ["nerfstudio", "opencv", "opengl", "re10k", "plucker", "recammaster"]
)
def test_export_writes_each_format(fmt, tmp_path):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(
        app,
        [
            "path",
            "export",
            str(CAMERAS / "roll.yaml"),
            "--format",
            fmt,
            "-o",
            str(out),
            *(["--downsample", "8"] if fmt == "plucker" else []),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 100


def test_an_option_of_another_format_is_a_one_line_error(tmp_path):
    args = ["path", "export", str(CAMERAS / "roll.yaml"), "-f", "re10k", "-o", str(tmp_path / "p.txt")]
    result = runner.invoke(app, [*args, "--downsample", "8"])
    assert result.exit_code == 2 and "--downsample applies to plucker only, not re10k" in result.output
    assert not (tmp_path / "p.txt").exists()


def test_import_then_show(tmp_path):
    exported = tmp_path / "camera_path.json"
    assert (
        runner.invoke(
            app,
            ["path", "export", str(CAMERAS / "pan.yaml"), "-f", "nerfstudio", "-o", str(exported)],
        ).exit_code
        == 0
    )
    result = runner.invoke(app, ["path", "import", str(exported), "-o", str(tmp_path / "pan.yaml")])
    assert result.exit_code == 0, result.output
    assert np.allclose(
        paths.load(tmp_path / "pan.yaml").cam_from_world,
        paths.load(CAMERAS / "pan.yaml").cam_from_world,
        atol=1e-8,
    )


def test_user_errors_are_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("start: {position: [0, 0, 0], look_at: [0, 0, 1]}\nduration: 1\nfsp: 3\n")
    result = runner.invoke(app, ["path", "show", str(bad)])
    assert result.exit_code == 2
    assert (
        "error:" in result.output
        and "bad.yaml:3 fsp: unknown key 'fsp'; did you mean 'fps'?" in result.output
    )
    result = runner.invoke(
        app, ["path", "export", str(CAMERAS / "roll.yaml"), "-f", "gif", "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "unknown export format 'gif'" in result.output


@pytest.mark.parametrize("command", ["preview", "show", "export", "import"])
def test_every_command_has_help(command):
    result = runner.invoke(app, ["path", command, "--help"])
    assert result.exit_code == 0
    assert len(result.output.split("Usage:")[1].strip()) > 60


def test_the_readme_example_is_a_valid_path():
    import re

    readme = (CAMERAS.parent / "README.md").read_text()
    section = readme.split("<!-- section: camera-paths -->")[1].split("<!-- section:")[0]
    block = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    path = paths.loads(block)
    assert len(path) == 65 and (path.width, path.height) == (832, 480)  # Wan: 4 s at 16 fps
