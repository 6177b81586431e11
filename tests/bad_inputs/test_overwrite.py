"""Class 1: `--overwrite` replaces only splatcine's own output of the same kind, never an input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splatcine.atomic import SCENE_KIND, SHOT_KIND
from tests.bad_inputs.conftest import ROOT, assert_one_error, cli, snapshot

PATH_YAML = ROOT / "cameras" / "dolly.yaml"


def _fake_output(folder: Path, kind: str) -> Path:
    """A folder with a splatcine manifest of `kind` and something precious in it."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"kind": kind}))
    (folder / "transforms.json").write_text(json.dumps({"frames": []}))
    (folder / "splat.ply").write_bytes(b"trained for an hour")
    return folder


@pytest.fixture
def scene(tmp_path):
    return _fake_output(tmp_path / "scene", SCENE_KIND)


def test_render_never_replaces_the_scene_it_reads(scene, tmp_path):
    before = snapshot(tmp_path)
    result = cli("render", scene, PATH_YAML, "-o", scene, "--overwrite")
    assert_one_error(result, 2, str(scene), "input")
    assert snapshot(tmp_path) == before


def test_reconstruct_never_replaces_the_folder_holding_its_input(tmp_path):
    folder = _fake_output(tmp_path / "work", SCENE_KIND)
    video = folder / "shot.mp4"
    video.write_bytes(b"the only copy of the shot")
    before = snapshot(tmp_path)
    assert_one_error(cli("reconstruct", video, "-o", folder, "--overwrite"), 2, "input")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", ["reconstruct", "render"])
def test_unrelated_folders_and_other_kinds_are_refused(command, scene, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"precious")
    other = _fake_output(tmp_path / "other", SHOT_KIND if command == "reconstruct" else SCENE_KIND)
    (tmp_path / "a file").write_text("not a folder")
    shot = tmp_path / "shot.mp4"
    shot.write_bytes(b"x")
    before = snapshot(tmp_path)
    inputs = [shot] if command == "reconstruct" else [scene, PATH_YAML]
    for target, says in [(photos, "not written by splatcine"), (other, "not a splatcine"),
                         (tmp_path / "a file", "not a directory")]:
        assert_one_error(cli(command, *inputs, "-o", target, "--overwrite"), 2, says)
    assert_one_error(cli(command, *inputs, "-o", photos), 2, "already exists")
    assert snapshot(tmp_path) == before


def test_path_commands_refuse_to_replace_a_file_without_overwrite(tmp_path):
    mine = tmp_path / "notes.json"
    mine.write_text("my notes")
    folder = tmp_path / "folder"
    folder.mkdir()
    before = snapshot(tmp_path)
    for args in (["path", "export", PATH_YAML, "-f", "opencv", "-o", mine],
                 ["path", "preview", PATH_YAML, "-o", mine],
                 ["path", "import", mine, "-o", mine]):
        assert_one_error(cli(*args), 2, "already exists", "--overwrite")
    assert_one_error(cli("path", "export", PATH_YAML, "-f", "opencv", "-o", folder), 2, "is a directory")
    assert snapshot(tmp_path) == before  # and no temporary file left beside them
    result = cli("path", "export", PATH_YAML, "-f", "opencv", "-o", mine, "--overwrite")
    assert result.exit_code == 0, result.output
    assert json.loads(mine.read_text())  # replaced, as asked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.json"]


def test_generate_keeps_an_earlier_result(tmp_path):
    shot = _fake_output(tmp_path / "shot", SHOT_KIND)
    (shot / "generated").mkdir()
    (shot / "generated" / "seed-0.mp4").write_bytes(b"the take the director liked")
    before = snapshot(tmp_path)
    result = cli("generate", shot, "--model", tmp_path / "no-model", "--prompt", "x")
    assert_one_error(result, 2, "seed-0.mp4", "--overwrite")
    assert snapshot(tmp_path) == before
