"""Outputs appear whole or not at all."""

from __future__ import annotations

import pytest

from splatcine.atomic import atomic_directory, atomic_file
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


def test_directory_refuses_to_clobber_unless_asked(tmp_path):
    target = tmp_path / "scene"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(InputError, match="already exists"):
        with atomic_directory(target):
            pass
    with atomic_directory(target, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene"]


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
