"""End to end on the CPU: a tiny, randomly initialised WanVACEPipeline built from configs, never downloaded."""

from __future__ import annotations

import json
import sys

import pytest
from shot_helpers import synthetic_shot
from typer.testing import CliRunner

from scenes.tiny_models import save_tiny_wan_vace
from splatcine.cli import app
from splatcine.condition import Bundle
from splatcine.errors import InputError, MissingDependencyError
from splatcine.io.video import probe_video
from splatcine.render import files

pytest.importorskip("diffusers")  # the diffusion extra; the error without it is tested below

runner = CliRunner()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Wan VACE at toy sizes (as diffusers' own tests build it), saved like a real model directory."""
    return save_tiny_wan_vace(tmp_path_factory.mktemp("models") / "tiny-wan-vace")


@pytest.fixture
def shot_dir(shot, tmp_path):
    folder = tmp_path / "shot"
    folder.mkdir()
    files.write_shot(shot, folder, {"kind": "test"})
    return folder


def test_tiny_pipeline_consumes_to_wan_vace(tiny_model, shot):
    from splatcine.diffusion import load_wan_vace

    pipe = load_wan_vace(tiny_model, device="cpu")
    kwargs = Bundle(shot).to_wan_vace()
    out = pipe(prompt="a room", num_inference_steps=2, output_type="np", max_sequence_length=16, **kwargs)
    assert out.frames[0].shape == (kwargs["num_frames"], kwargs["height"], kwargs["width"], 3)


def test_generate_command_writes_the_video_and_its_settings(tiny_model, shot_dir):
    result = runner.invoke(app, ["generate", str(shot_dir), "--model", str(tiny_model), "--prompt",
                                 "a dolly shot of the room", "--steps", "2", "--seed", "7",
                                 "--frames", "7", "--height", "40", "--width", "50"])  # fmt: skip
    assert result.exit_code == 0, result.output
    video = shot_dir / "generated" / "seed-7.mp4"
    info = probe_video(video)
    assert (info.frame_count, info.width, info.height) == (5, 48, 32)  # quantised to 4n+1 and x16
    settings = json.loads((shot_dir / "generated" / "seed-7.json").read_text())
    assert settings["seed"] == 7 and settings["steps"] == 2 and settings["prompt"] == "a dolly shot of the room"
    assert settings["references"] == ["frame_00003"]


def test_generate_takes_a_121_frame_shot(tiny_model, tmp_path):
    """The length `render` writes by default and the GPU check generates: the tiny model's
    rotary table must cover its 31 latent frames beside the references, and 34 patches across
    (544 px; 832 px, the GPU check's width, is 52)."""
    folder = tmp_path / "long-shot"
    folder.mkdir()
    files.write_shot(synthetic_shot(frames=121, width=544, height=32), folder, {"kind": "test"})
    args = ["generate", str(folder), "--model", str(tiny_model), "--prompt", "a room", "--steps", "1",
            "--frames", "121", "--height", "32", "--width", "544"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert probe_video(next((folder / "generated").glob("*.mp4"))).frame_count == 121


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def test_missing_model_directory_is_one_line(shot_dir, tmp_path):
    args = ["generate", str(shot_dir), "--model", str(tmp_path / "nowhere"), "--prompt", "x"]
    assert "no such model directory" in _one_line_error(runner.invoke(app, args), InputError.exit_code)


def test_model_of_the_wrong_kind_is_one_line(shot_dir, tmp_path):
    model = tmp_path / "sd"
    model.mkdir()
    (model / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    args = ["generate", str(shot_dir), "--model", str(model), "--prompt", "x"]
    assert "not a WanVACEPipeline" in _one_line_error(runner.invoke(app, args), InputError.exit_code)
    (model / "model_index.json").unlink()
    assert "no model_index.json" in _one_line_error(runner.invoke(app, args), InputError.exit_code)


def test_model_directory_with_missing_parts_is_one_line(shot_dir, tiny_model, tmp_path):
    model = tmp_path / "half-copied"
    model.mkdir()
    (model / "model_index.json").write_bytes((tiny_model / "model_index.json").read_bytes())
    args = ["generate", str(shot_dir), "--model", str(model), "--prompt", "x"]
    assert "could not be loaded" in _one_line_error(runner.invoke(app, args), InputError.exit_code)


def test_not_a_shot_directory_is_one_line(tiny_model, tmp_path):
    args = ["generate", str(tmp_path), "--model", str(tiny_model), "--prompt", "x"]
    assert "not a rendered shot" in _one_line_error(runner.invoke(app, args), InputError.exit_code)


def test_diffusers_not_installed(monkeypatch, tiny_model):
    from splatcine.diffusion import load_wan_vace

    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers now raises ImportError
    with pytest.raises(MissingDependencyError, match="needs diffusers"):
        load_wan_vace(tiny_model)


def test_commands_and_options_have_help():
    import typer

    commands = typer.main.get_command(app).commands
    for name in ("render", "generate"):
        assert commands[name].help, name
        for param in commands[name].params:
            assert getattr(param, "help", None), f"{name} {param.name}"
        assert runner.invoke(app, [name, "--help"]).exit_code == 0
