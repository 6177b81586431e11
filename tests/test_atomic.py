"""Outputs appear whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splatcine.atomic import SCENE_KIND, SHOT_KIND, atomic_directory, atomic_file, check_output_dir
from splatcine.errors import InputError


def test_directory_appears_only_on_success(tmp_path):
    target = tmp_path / "scene"
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary sibling is gone too
    with atomic_directory(target) as tmp:
        (tmp / "whole.txt").write_text("whole")
    assert (target / "whole.txt").read_text() == "whole"


def _output(directory, kind, extra="old"):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_text(json.dumps({"kind": kind}))
    (directory / f"{extra}.txt").write_text(extra)


def test_directory_refuses_to_clobber_unless_asked(tmp_path):
    target = tmp_path / "scene"
    _output(target, SCENE_KIND)
    with pytest.raises(InputError, match="already exists"):
        with atomic_directory(target, kind=SCENE_KIND):
            pass
    with atomic_directory(target, overwrite=True, kind=SCENE_KIND) as tmp:
        (tmp / "new.txt").write_text("new")
        (tmp / "manifest.json").write_text(json.dumps({"kind": SCENE_KIND}))
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


def test_overwrite_replaces_only_splatcines_own_output_of_the_same_kind(tmp_path):
    unrelated = tmp_path / "photos"
    unrelated.mkdir()
    (unrelated / "holiday.jpg").write_text("precious")
    shot = tmp_path / "shot"
    _output(shot, SHOT_KIND)
    for target, kind, match in [(unrelated, SCENE_KIND, "not written by splatcine"),
                                (shot, SCENE_KIND, "holds a splatcine shot, not a splatcine scene")]:
        with pytest.raises(InputError, match=match):
            with atomic_directory(target, overwrite=True, kind=kind):
                raise AssertionError("the work must not start")
    assert (unrelated / "holiday.jpg").read_text() == "precious"
    assert (shot / "old.txt").read_text() == "old"
    # without a declared kind, the new output's own manifest decides, and the old one is kept on refusal
    with pytest.raises(InputError, match="holds a splatcine shot"):
        with atomic_directory(shot, overwrite=True) as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"kind": SCENE_KIND}))
    assert sorted(p.name for p in shot.iterdir()) == ["manifest.json", "old.txt"]
    with pytest.raises(InputError, match="is not a directory"):
        check_output_dir(shot / "old.txt", overwrite=True)


def test_never_a_directory_holding_an_input(tmp_path):
    folder = tmp_path / "work"
    _output(folder, SCENE_KIND)
    video = folder / "shot.mp4"
    video.write_bytes(b"video")
    for inputs in ([video], [folder]):
        with pytest.raises(InputError, match="this run's input"):
            check_output_dir(folder, overwrite=True, kind=SCENE_KIND, inputs=inputs)
    check_output_dir(folder / "scene", inputs=[video])  # a new folder beside the input is fine
    assert video.read_bytes() == b"video"


def test_an_existing_empty_directory_keeps_its_inode(tmp_path, monkeypatch):
    """`-o .`: the finished output is moved into the directory, which is never renamed."""
    target = tmp_path / "here"
    target.mkdir()
    inode = target.stat().st_ino
    monkeypatch.chdir(target)
    with atomic_directory(Path(".")) as tmp:
        (tmp / "images").mkdir()
        (tmp / "manifest.json").write_text(json.dumps({"kind": SCENE_KIND}))
    assert target.stat().st_ino == inode
    assert sorted(p.name for p in target.iterdir()) == ["images", "manifest.json"]
    # replaced in place too: nothing of the old output and no hidden folder remains
    with atomic_directory(Path("."), overwrite=True, kind=SCENE_KIND) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"kind": SCENE_KIND, "v": 2}))
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json"]
    assert json.loads((target / "manifest.json").read_text())["v"] == 2


def test_a_failed_run_removes_the_folders_it_created(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "a" / "b" / "scene"):
            raise RuntimeError
    with pytest.raises(RuntimeError):
        with atomic_file(tmp_path / "c" / "d" / "x.json"):
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_unwritable_places_are_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (blocker / "scene", Path("/proc/splatcine-test/scene")):
        with pytest.raises(InputError, match="cannot write here"):
            with atomic_directory(target):
                pass
    with pytest.raises(InputError, match="is a directory"):
        with atomic_file(tmp_path):
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_file_replaced_only_on_success(tmp_path):
    target = tmp_path / "splat.ply"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(target) as tmp:
            tmp.write_text("partial")
            raise KeyboardInterrupt
    assert target.read_text() == "old"
    with atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["splat.ply"]


def test_outputs_get_the_usual_permissions(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "metrics.json") as tmp:
            tmp.write_text("{}")
        with atomic_directory(tmp_path / "scene") as tmp:
            (tmp / "a").write_text("a")
    finally:
        os.umask(mask)
    assert (tmp_path / "metrics.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "scene").stat().st_mode & 0o777 == 0o755
