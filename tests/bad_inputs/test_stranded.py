"""Class 3: work is never stranded in a hidden folder or mislabelled, and signals stop cleanly."""

from __future__ import annotations

import shutil
import signal

import pytest

from splatcine.scene import layout
from tests.bad_inputs.conftest import ROOT, assert_one_error, cli, cli_process, snapshot, train_config


def test_reconstruct_into_the_current_directory(tiny_scene, tmp_path):
    """`-o .` in an empty folder: the scene lands in it (it used to end in EBUSY and a hidden folder)."""
    here = tmp_path / "here"
    here.mkdir()
    result = cli("reconstruct", tiny_scene / layout.TRANSFORMS, "-o", ".", "--sfm-only", cwd=here)
    assert result.exit_code == 0, result.output
    assert layout.is_scene_dir(here)
    assert not [p.name for p in here.iterdir() if p.name.startswith(".")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]


def test_a_failed_run_leaves_no_folders_behind(tmp_path):
    junk = tmp_path / "shot.mp4"
    junk.write_bytes(b"\x00" * 4096)
    before = snapshot(tmp_path)
    assert_one_error(cli("reconstruct", junk, "-o", tmp_path / "a" / "b" / "scene"), 2, str(junk))
    assert snapshot(tmp_path) == before


def _start_training(scene, tmp_path):
    """`splatcine train` in its own process; returns it once its first step is done."""
    process = cli_process("train", scene, "--config", train_config(tmp_path, 1_000_000))
    for line in process.stderr:
        if line.startswith("train"):
            return process
    pytest.fail(f"training never started: {process.wait()} {process.stdout.read()}")


def test_sigterm_stops_training_like_ctrl_c(tiny_scene, tmp_path):
    scene = shutil.copytree(tiny_scene, tmp_path / "scene")
    process = _start_training(scene, tmp_path)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "error:" not in stderr, stderr
    assert [line for line in stderr.splitlines() if line.startswith("interrupted:")], stderr
    assert "--resume" in stderr
    assert list((scene / layout.CHECKPOINTS).glob("step_*.safetensors"))
    assert not (scene / layout.SPLAT_PLY).exists()


def test_a_killed_training_is_marked_unfinished(tiny_scene, tmp_path):
    """SIGKILL cannot be caught: the marker written before training says what happened."""
    scene = shutil.copytree(tiny_scene, tmp_path / "scene")
    process = _start_training(scene, tmp_path)
    process.kill()
    process.wait(timeout=60)
    assert (scene / layout.TRAINING_MARKER).is_file()
    result = cli("render", scene, ROOT / "cameras" / "dolly.yaml", "-o", tmp_path / "shot")
    assert_one_error(result, 2, "never finished", "--resume")
    assert not (tmp_path / "shot").exists()
