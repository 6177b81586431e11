"""The public Python API: names users' pipelines import must not vanish, and stay cheap to import."""

from __future__ import annotations

import subprocess
import sys

import splatcine

PUBLIC = {
    "Camera", "Intrinsics", "Scene", "SplatcineError", "load_scene",  # conventions and scenes
    "reconstruct", "Reconstruction",  # shot -> scene
    "rasterize", "RasterOutput",  # the renderer
    "train_scene",  # scene -> splat
    "render_path",  # scene + path -> shot
}


def test_public_names_are_exported_and_resolve():
    assert PUBLIC <= set(splatcine.__all__)
    for name in PUBLIC:
        assert getattr(splatcine, name) is not None, name
    assert callable(splatcine.paths.load)


def test_stage_functions_keep_their_documented_signatures():
    import inspect

    assert list(inspect.signature(splatcine.reconstruct).parameters)[:2] == ["shot", "out_dir"]
    assert list(inspect.signature(splatcine.render_path).parameters)[:3] == ["scene", "path", "out_dir"]
    assert list(inspect.signature(splatcine.train_scene).parameters)[:2] == ["scene_dir", "config"]
    assert list(inspect.signature(splatcine.paths.load).parameters)[:2] == ["path_yaml", "scene"]


def test_import_splatcine_does_not_load_torch():
    # the CLI's --help and light scripts should not pay for torch; stages load it on first use
    code = "import sys, splatcine; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_cli_starts_without_torch():
    # `splatcine --help` and argument errors answer at once; torch loads when a stage runs
    code = "import sys, splatcine.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
