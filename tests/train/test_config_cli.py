"""One configuration for CLI, YAML and API; the `splatcine train` command is a thin door onto it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import splatcine.train.run as train_run
from splatcine.cli import app
from splatcine.errors import InputError
from splatcine.train import MCMCConfig, TrainConfig, resolve_config


def test_layers_preset_then_yaml_then_overrides(tmp_path):
    cfg_file = tmp_path / "train.yaml"
    cfg_file.write_text("preset: full\nssim_lambda: 0.3\nstrategy: {kind: mcmc, cap_max: 5000}\n"
                        "iterations: 100\n")
    cfg = resolve_config(None, cfg_file, iterations=7)
    assert cfg.preset == "full" and cfg.max_width is None  # from the preset named in the file
    assert cfg.ssim_lambda == 0.3 and cfg.iterations == 7  # the file, then the override
    assert isinstance(cfg.strategy, MCMCConfig) and cfg.strategy.cap_max == 5000
    assert TrainConfig.model_validate(cfg.model_dump(mode="json")) == cfg  # saved form reloads


def test_presets_differ_where_they_should():
    preview, full = resolve_config("preview"), resolve_config("full")
    assert full.iterations == 30_000 and full.strategy.refine_stop == 15_000  # the 3DGS schedule
    assert preview.iterations < full.iterations and preview.max_width == 480


@pytest.mark.parametrize("text, field", [
    ("iterations: -3\n", "iterations"),
    ("itrations: 5\n", "itrations"),
    ("strategy: {kind: bogus}\n", "strategy"),
])
def test_bad_yaml_is_a_one_line_error_naming_file_and_field(tmp_path, text, field):
    cfg_file = tmp_path / "bad.yaml"
    cfg_file.write_text(text)
    with pytest.raises(InputError) as err:
        resolve_config(None, cfg_file)
    message = str(err.value)
    assert str(cfg_file) in message and field in message and "\n" not in message


def test_cli_resolves_options_and_calls_train_scene(tmp_path, monkeypatch):
    calls = []

    def fake_train_scene(scene_dir, config, progress, resume):
        calls.append((scene_dir, config, resume))
        raise InputError(f"{scene_dir}: stop here")  # the library's error reaches the user as one line

    monkeypatch.setattr(train_run, "train_scene", fake_train_scene)  # the CLI imports it on use
    cfg_file = tmp_path / "cfg.yaml"
    cfg_file.write_text("strategy: {kind: mcmc}\n")
    result = CliRunner().invoke(app, ["train", str(tmp_path), "--preset", "full", "--iterations", "12",
                                      "--config", str(cfg_file), "--init", "random", "--resume"])
    assert result.exit_code == InputError.exit_code, result.output
    (scene_dir, config, resume), = calls
    assert scene_dir == tmp_path and resume
    assert config.preset == "full" and config.iterations == 12 and config.init == "random"
    assert isinstance(config.strategy, MCMCConfig)


def test_cli_errors_and_help(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["train", str(tmp_path / "missing")])
    assert result.exit_code == InputError.exit_code
    assert "error:" in result.output and "Traceback" not in result.output
    help_text = runner.invoke(app, ["train", "--help"]).output
    for option in ("--preset", "--iterations", "--config", "--resume", "--init", "--seed"):
        assert option in help_text
