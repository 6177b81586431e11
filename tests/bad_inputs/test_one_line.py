"""Class 4: what used to end in a traceback is one `error:` line naming the file and the field."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import typer

from splatcine.errors import Interrupted
from splatcine.scene import layout
from tests.bad_inputs.conftest import ROOT, assert_one_error, cli, snapshot

PATH_YAML = ROOT / "cameras" / "dolly.yaml"
EYE = np.eye(4).tolist()
GOOD_FRAME = {"file_path": "images/a.png", "transform_matrix": EYE}


@pytest.mark.parametrize("doc,says", [
    ({"fl_x": "wide", "w": 64, "h": 36, "frames": [GOOD_FRAME]}, "fl_x"),
    ({"fl_x": 50, "w": 64, "h": 36, "frames": [{**GOOD_FRAME, "transform_matrix": "eye(4)"}]},
     "frames[0].transform_matrix"),
    ({"fl_x": 50, "w": 64, "h": 36, "frames": [{**GOOD_FRAME, "file_path": 7}]}, "frames[0].file_path"),
    ({"fl_x": 50, "w": 64, "h": 36, "frames": ["images/a.png"]}, "frames[0]"),
    ([GOOD_FRAME], "the file"),
    ({"fl_x": 50, "w": 64, "h": 36, "frames": [{**GOOD_FRAME, "transform_matrix": [[1, 2, 3, 4]] * 3}]},
     "not a rotation"),
], ids=["string-focal", "string-matrix", "int-file-path", "string-frame", "list-root", "sheared"])
def test_transforms_json_of_the_wrong_types(tmp_path, doc, says):
    posed = tmp_path / "transforms.json"
    posed.write_text(json.dumps(doc))
    before = snapshot(tmp_path)
    assert_one_error(cli("reconstruct", posed, "-o", tmp_path / "scene"), 2, str(posed), says)
    assert snapshot(tmp_path) == before


def test_outputs_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("x")
    before = snapshot(tmp_path)
    for out in (blocker / "preview.png", "/proc/splatcine/preview.png"):
        assert_one_error(cli("path", "preview", PATH_YAML, "-o", out), 2, "preview.png", "cannot write")
    assert_one_error(cli("path", "export", PATH_YAML, "-f", "opencv", "-o", "/proc/x.json"), 2, "cannot write")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("manifest", ["[1, 2]", "{not json", '{"normalization": 5}'])
def test_an_invalid_scene_manifest(tiny_scene, tmp_path, manifest):
    scene = shutil.copytree(tiny_scene, tmp_path / "scene")
    (scene / layout.MANIFEST).write_text(manifest)
    assert_one_error(cli("path", "show", PATH_YAML, "--scene", scene), 2, "manifest.json")


def test_a_checkpoint_missing_tensors(tiny_scene, tmp_path):
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open

    from splatcine.train import resolve_config, train_scene
    from tests.bad_inputs.conftest import train_config

    scene = shutil.copytree(tiny_scene, tmp_path / "scene")
    train_scene(scene, resolve_config(None, train_config(tmp_path, 2)))
    (checkpoint,) = (scene / layout.CHECKPOINTS).glob("*.safetensors")
    with safe_open(str(checkpoint), "pt") as f:
        meta = f.metadata()
    tensors = load_file(str(checkpoint))
    del tensors["param.quats"]
    save_file(tensors, str(checkpoint), metadata=meta)
    assert_one_error(cli("train", scene, "--resume", "--iterations", "3"), 2, checkpoint.name, "param.quats")
    checkpoint.write_bytes(b"\x00" * 16)
    assert_one_error(cli("train", scene, "--resume", "--iterations", "3"), 2, checkpoint.name)


def test_training_config_out_of_range(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("strategy: {kind: mcmc, cap_max: -5}\n")
    assert_one_error(cli("train", tmp_path, "--config", config), 2, str(config), "strategy.mcmc.cap_max")


def test_too_small_frames_are_named(tmp_path):
    shot = tmp_path / "shot.mp4"
    shot.write_bytes(b"x")
    for size in ("0", "8"):
        assert_one_error(cli("reconstruct", shot, "-o", tmp_path / "s", "--max-image-size", size), 2,
                         f"--max-image-size {size}", "at least 96")


def test_generate_devices_are_checked_before_the_model_loads(tmp_path):
    import torch

    for device, says in [("banana", "not a torch device"), ("cuda:7", "cuda")]:
        if device.startswith("cuda") and torch.cuda.device_count() > 7:
            continue
        result = cli("generate", tmp_path, "--model", tmp_path / "nothing", "--prompt", "x", "--device", device)
        assert_one_error(result, 2, f"--device {device!r}", says)


def test_a_model_index_that_is_a_list(tmp_path):
    from splatcine.diffusion import load_wan_vace
    from splatcine.errors import InputError

    (tmp_path / "model_index.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="model_index.json: a JSON object"):
        load_wan_vace(tmp_path, device="cpu")


@pytest.mark.parametrize("name", ["a[/x].mp4", "shot[final].mp4", "[bold]loud[/bold].mp4"])
def test_square_brackets_in_paths_are_printed_as_written(tmp_path, name):
    shot = tmp_path / name
    if "/" not in name:
        shot.write_bytes(b"")
    line = assert_one_error(cli("reconstruct", shot, "-o", tmp_path / "scene"), 2)
    assert name in line


def test_option_errors_are_one_line():
    for args in (["reconstruct"], ["reconstruct", "x.mp4", "-o", "y", "--bogus"],
                 ["render", "s", "p.yaml", "-o", "o", "--backend"], ["train", "s", "--iterations", "zero"]):
        line = assert_one_error(cli(*args), 2)
        assert "--help" in line


def test_ctrl_c_before_the_command_starts_is_one_line(monkeypatch, capsys):
    from splatcine.cli import _app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the command line is parsed

    monkeypatch.setattr(typer.core.TyperGroup, "main", interrupted)
    with pytest.raises(SystemExit) as exit_:
        _app.app(["reconstruct", "x.mp4", "-o", "y"])
    assert exit_.value.code == Interrupted.exit_code
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("interrupted: stopped before the command started")
