"""`splatcine reconstruct` through typer's runner, and help text for every command."""

from __future__ import annotations

import click
import numpy as np
import pytest
import typer
from scipy import ndimage
from typer.testing import CliRunner

import splatcine.cli.reconstruct as cli_reconstruct
from splatcine.cli import app
from splatcine.io.video import write_video
from splatcine.reconstruct import ReconstructReport, Reconstruction

runner = CliRunner()


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_and_option_has_help_text():
    root = typer.main.get_command(app)
    commands = list(_commands(root))
    assert ("reconstruct",) in [path for path, _ in commands]
    for path, command in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert (command.help or "").strip(), f"splatcine {' '.join(path)} has no help text"
        for param in command.params:
            if param.name != "help":
                assert (getattr(param, "help", None) or "").strip(), f"{' '.join(path)} {param.name}: no help"


@pytest.fixture
def observed(monkeypatch, tmp_path):
    """Replace the library call with a recorder that returns a small fake result."""
    calls = []

    def fake(shot, out_dir, **kwargs):
        calls.append((shot, out_dir, kwargs))
        report = ReconstructReport(input_kind="video", frames_read=48, frames_kept=20, frames_registered=20,
                                   mapper="global", mean_reprojection_px=0.4, mean_track_length=5.0,
                                   parallax_deg=4.0, points=1000, focal_px=300.0, seconds={"features": 1.0})
        return Reconstruction(scene=None, report=report)

    monkeypatch.setattr(cli_reconstruct, "reconstruct_scene", fake)
    return calls


def test_options_reach_the_library_call(observed, tmp_path):
    shot, out, masks = tmp_path / "shot.mp4", tmp_path / "scene", tmp_path / "masks"
    result = runner.invoke(app, ["reconstruct", str(shot), "-o", str(out), "--masks", str(masks),
                                 "--max-frames", "25", "--mapper", "global", "--frames", "5:40",
                                 "--segment", "1", "--max-image-size", "640", "--sfm-only", "--overwrite"])
    assert result.exit_code == 0, result.output
    (got_shot, got_out, kwargs), = observed
    assert (got_shot, got_out) == (shot, out)
    assert kwargs["masks"] == masks and kwargs["max_frames"] == 25 and kwargs["mapper"] == "global"
    assert kwargs["frame_range"] == (5, 40) and kwargs["segment"] == 1 and kwargs["max_image_size"] == 640
    assert kwargs["overwrite"] is True and kwargs["sfm_only"] is True and kwargs["train_config"] is None
    assert "20 / 20" in result.output or "20 / 20" in result.stderr  # the summary table


def test_defaults_and_a_bad_frame_range(observed, tmp_path):
    assert runner.invoke(app, ["reconstruct", "s.mp4", "-o", str(tmp_path / "x")]).exit_code == 0
    kwargs = observed[0][2]
    assert kwargs["mapper"] == "incremental" and kwargs["frame_range"] is None and kwargs["overwrite"] is False
    assert kwargs["sfm_only"] is False and kwargs["train_config"].preset == "preview"  # trains by default
    result = runner.invoke(app, ["reconstruct", "s.mp4", "-o", str(tmp_path / "x"), "--frames", "five"])
    assert result.exit_code == 2 and "--frames 'five'" in result.output
    assert len(observed) == 1  # the bad range never reached the library


def test_training_options_reach_the_config(observed, tmp_path):
    result = runner.invoke(app, ["reconstruct", "s.mp4", "-o", str(tmp_path / "x"), "--preset", "full",
                                 "--iterations", "123"])
    assert result.exit_code == 0, result.output
    config = observed[0][2]["train_config"]
    assert (config.preset, config.iterations) == ("full", 123)


@pytest.mark.parametrize("kind", ["empty", "text", "missing"])
def test_bad_input_is_one_error_line_and_no_scene(tmp_path, kind):
    shot = tmp_path / "shot.mp4"
    if kind == "empty":
        shot.write_bytes(b"")
    elif kind == "text":
        shot.write_text("not a video")
    result = runner.invoke(app, ["reconstruct", str(shot), "-o", str(tmp_path / "scene")])
    assert result.exit_code == 2  # InputError
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output
    assert not (tmp_path / "scene").exists()


def test_a_shot_with_a_cut_exits_with_the_cut_listed(tmp_path, rng):
    texture = ndimage.gaussian_filter(rng.random((180, 900)), 2.0)
    texture = (255 * (texture - texture.min()) / np.ptp(texture)).astype(np.uint8)
    shot = tmp_path / "shot.mp4"  # a video: a folder of photos is a capture, with no cuts
    shifts = list(range(0, 48, 4)) + list(range(450, 498, 4))  # two shots of one set: a cut at 12
    write_video(shot, [np.repeat(texture[:, s:s + 320, None], 3, axis=2) for s in shifts], fps=24)
    result = runner.invoke(app, ["reconstruct", str(shot), "-o", str(tmp_path / "scene")])
    assert result.exit_code == 3  # ReconstructionError
    assert "at frame(s) 12;" in result.output and "--segment" in result.output
    assert not (tmp_path / "scene").exists()


def test_masks_are_automatic_unless_none_or_a_folder(observed, tmp_path):
    shot, out = tmp_path / "shot.mp4", tmp_path / "scene"
    for extra, expected in (([], "auto"), (["--masks", "none"], "none"), (["--masks", "auto"], "auto")):
        result = runner.invoke(app, ["reconstruct", str(shot), "-o", str(out), "--sfm-only", *extra])
        assert result.exit_code == 0, result.output
        assert observed[-1][2]["masks"] == expected
