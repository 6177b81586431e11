"""Class 5: `--resume` continues the run that was stopped, with that run's settings."""

from __future__ import annotations

import json
import shutil

import pytest

from splatcine.errors import Interrupted
from splatcine.scene import layout
from splatcine.train import resolve_config, train_scene
from tests.bad_inputs.conftest import assert_one_error, cli, train_config


@pytest.fixture
def stopped(tiny_scene, tmp_path):
    """A scene whose 12-step training (not the preset's settings) was stopped after step 6."""
    scene = shutil.copytree(tiny_scene, tmp_path / "scene")

    def stop_at_6(event):
        if event.stage == "train" and event.done == 6:
            raise KeyboardInterrupt  # what Ctrl-C does, at a step boundary

    with pytest.raises(Interrupted, match="--resume"):
        train_scene(scene, resolve_config(None, train_config(tmp_path, 12)), progress=stop_at_6)
    return scene


def test_resume_takes_the_checkpoints_settings(stopped):
    result = cli("train", stopped, "--resume")  # no --config: the preset's would differ (ssim_lambda)
    assert result.exit_code == 0, result.output
    assert json.loads((stopped / layout.METRICS).read_text())["iterations"] == 12  # not the preset's 2000
    assert not (stopped / layout.TRAINING_MARKER).exists()


def test_resume_may_train_longer_but_not_stop_before_the_checkpoint(stopped):
    assert_one_error(cli("train", stopped, "--resume", "--iterations", "3"), 2, "step 6", "at least 6")
    assert not (stopped / layout.SPLAT_PLY).exists()
    result = cli("train", stopped, "--resume", "--iterations", "8")
    assert result.exit_code == 0, result.output
    assert json.loads((stopped / layout.METRICS).read_text())["iterations"] == 8


def test_resume_refuses_other_settings_and_missing_checkpoints(stopped, tiny_scene, tmp_path):
    assert_one_error(cli("train", stopped, "--resume", "--seed", "5"), 2, "different training config", "seed")
    fresh = shutil.copytree(tiny_scene, tmp_path / "fresh")
    assert_one_error(cli("train", fresh, "--resume"), 2, "no checkpoint", f"splatcine train {fresh}")


def test_reconstruct_stopped_in_training_exits_130_with_a_hint_that_works(tiny_scene, tmp_path, monkeypatch):
    from splatcine.train.trainer import TrainState

    step = TrainState.step

    def ctrl_c_at_step_3(self, view):
        if self.step_index == 3:
            raise KeyboardInterrupt
        return step(self, view)

    monkeypatch.setattr(TrainState, "step", ctrl_c_at_step_3)
    out = tmp_path / "scene"
    result = cli("reconstruct", tiny_scene / layout.TRANSFORMS, "-o", out,
                 "--train-config", train_config(tmp_path, 10))
    assert result.exit_code == 130, result.output
    assert "Traceback" not in result.output and "error:" not in result.output
    assert (out / layout.TRAINING_MARKER).is_file()
    monkeypatch.undo()
    resumed = cli("train", out, "--resume")  # the hint it printed
    assert f"splatcine train {out} --resume" in result.output
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((out / layout.METRICS).read_text())["iterations"] == 10
