"""`render_path` and `splatcine render` end to end: the shot directory, its cameras, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from splatcine import paths
from splatcine.cameras import gl_world_from_cam
from splatcine.cli import app
from splatcine.condition import FORMATS
from splatcine.errors import InputError
from splatcine.io.video import probe_video, read_image
from splatcine.render import UnseenWarning, render_path

runner = CliRunner()


@pytest.fixture(scope="module")
def rendered(splat_scene, truck_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("shots") / "shot"
    events = []
    result = render_path(splat_scene, truck_path, out, formats=WRITTEN, fit=True,
                         progress=events.append)  # fmt: skip
    return result, out, events


WRITTEN = [f for f in FORMATS if f != "gen3c"]  # gen3c fitted is 121 frames at 1280x704 (tests/condition)


def test_shot_directory_layout(rendered):
    result, out, _ = rendered
    assert (result.num_frames, result.width, result.height, result.fps) == (9, 96, 64, 8.0)
    for name in ("manifest.json", "report.json", "cameras.json", "contact_sheet.png"):
        assert (out / name).is_file(), name
    for fmt in WRITTEN:
        assert (out / fmt).is_dir(), fmt
    # --fit: the 9-frame shot resampled to each model's frame count
    assert len(list((out / "voyager" / "video_input").glob("render_*.png"))) == 49
    assert read_image(out / "voyager" / "video_input" / "render_0048.png").shape == (64, 96, 3)
    assert len((out / "cameractrl" / "poses.txt").read_text().splitlines()) == 1 + 16
    color = np.load(out / "maps" / "color.npy")
    depth, alpha, unseen = (np.load(out / "maps" / f"{n}.npy") for n in ("depth", "alpha", "unseen"))
    normals = np.load(out / "maps" / "normals.npy")
    assert color.shape == (9, 64, 96, 3) and color.dtype == np.uint8
    assert depth.dtype == alpha.dtype == unseen.dtype == np.float32 and normals.shape == (9, 64, 96, 3)
    assert (depth[alpha == 0] == 0).all() and 0 <= unseen.min() and unseen.max() <= 1
    assert (unseen[alpha < 0.2] == 1).all()  # empty pixels are unseen by definition
    for name in ("color", "depth", "unseen"):
        info = probe_video(out / "previews" / f"{name}.mp4")
        assert (info.frame_count, info.width, info.height) == (9, 96, 64)
    sheet = read_image(out / "contact_sheet.png")
    assert sheet.ndim == 3 and sheet.shape[0] == 3 * (64 + 4)  # three rows of bordered thumbnails
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["path"].endswith("truck.yaml") and manifest["scene"].endswith("scene")
    assert manifest["settings"]["unseen_threshold"] == 0.5 and "torch" in manifest["versions"]
    references = sorted((out / "references").glob("*.png"))
    assert 1 <= len(references) <= 2 and read_image(references[0]).shape == (64, 96, 3)


def test_cameras_json_holds_the_path_in_opencv_and_opengl(rendered, splat_scene, truck_path):
    _, out, _ = rendered
    doc = json.loads((out / "cameras.json").read_text())
    sampled = paths.load(truck_path, scene=splat_scene)
    assert len(doc["frames"]) == len(sampled) == 9
    for frame, cam in zip(doc["frames"], sampled.cameras):
        np.testing.assert_allclose(frame["cam_from_world_opencv"], cam.cam_from_world, atol=1e-12)
        np.testing.assert_allclose(frame["world_from_cam_opengl"], gl_world_from_cam(cam.cam_from_world), atol=1e-12)
        np.testing.assert_allclose(frame["K"], cam.intrinsics.K)


def test_frames_that_see_past_the_set_are_reported(rendered):
    result, out, events = rendered
    report = json.loads((out / "report.json").read_text())
    fractions = report["unseen_fraction"]
    assert fractions[0] < 0.5 < fractions[-1]  # starts on the set, trucks off its end
    first_bad = next(i for i, f in enumerate(fractions) if f > 0.5)
    assert result.warnings == tuple(report["warnings"])
    assert result.warnings[0].startswith(f"frames {first_bad}-8 look at parts of the set")
    assert [e.message for e in events if isinstance(e, UnseenWarning)] == list(result.warnings)


def test_unknown_format_is_an_input_error(splat_scene, truck_path, tmp_path):
    with pytest.raises(InputError, match="--format 'sora' is not one of"):
        render_path(splat_scene, truck_path, tmp_path / "x", formats=["sora"])
    assert not (tmp_path / "x").exists()


def test_scene_without_a_splat_is_an_input_error(splat_scene, truck_path, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("transforms.json", "manifest.json"):
        (bare / name).write_bytes((splat_scene / name).read_bytes())
    with pytest.raises(InputError, match="no splat.ply"):
        render_path(bare, truck_path, tmp_path / "x")


def test_a_failing_format_leaves_no_shot_directory(splat_scene, truck_path, tmp_path, monkeypatch):
    from splatcine import condition

    def broken(shot, folder):
        raise RuntimeError("disk full")

    monkeypatch.setitem(condition.FORMATS, "wan-vace", broken)
    with pytest.raises(RuntimeError):
        render_path(splat_scene, truck_path, tmp_path / "shot", formats=["frames", "wan-vace"])
    assert list(tmp_path.iterdir()) == []


def test_render_command(splat_scene, truck_path, tmp_path):
    out = tmp_path / "shot"
    args = ["render", str(splat_scene), str(truck_path), "-o", str(out)]
    refused = runner.invoke(app, [*args, "--format", "wan-vace", "--format", "voyager"])
    assert refused.exit_code == InputError.exit_code and not out.exists()  # before rendering anything
    errors = [line for line in refused.output.splitlines() if line.strip()]
    assert errors == ["error: --format voyager needs 49 frames (this shot has 9): render a path with "
                      "`target: voyager`, or pass --fit to resample the shot for it"]  # fmt: skip
    result = runner.invoke(app, [*args, "--format", "wan-vace", "--format", "voyager", "--fit"])
    assert result.exit_code == 0, result.output
    assert (out / "wan-vace" / "wan_vace.json").is_file() and (out / "voyager" / "depth_range.json").is_file()
    assert not (out / "frames").exists()
    assert "warning: frames" in result.output  # the unseen warning reaches the terminal
    again = runner.invoke(app, args)  # the shot exists and --overwrite was not given
    assert again.exit_code == InputError.exit_code
    errors = [line for line in again.output.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("error:") and "already exists" in errors[0]
    assert "render ..." not in again.output  # refused before rendering anything
    bad = runner.invoke(app, [*args, "--overwrite", "--format", "sora"])
    assert bad.exit_code == InputError.exit_code and "not one of" in bad.output


def test_public_names():
    import splatcine
    import splatcine.condition
    import splatcine.render

    assert splatcine.render_path is render_path
    for name in ("render_path", "render_cameras", "RenderResult", "RenderedShot", "UnseenWarning", "UNSEEN_THRESHOLD"):
        assert hasattr(splatcine.render, name), name
    assert set(splatcine.condition.FORMATS) == {"wan-vace", "voyager", "gen3c", "cameractrl", "recammaster", "frames"}
    assert callable(splatcine.condition.Bundle.load) and callable(splatcine.condition.Bundle.to_wan_vace)
