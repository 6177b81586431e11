"""End to end on the synthetic set: it learns, honours masks, writes its outputs, resumes exactly."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from splatcine.errors import InputError
from splatcine.io.ply import read_gaussians_ply
from splatcine.io.video import read_image
from splatcine.scene import load_scene, layout
from splatcine.train import train_scene
from splatcine.train.evaluate import evaluate
from splatcine.train.data import split_views
from splatcine.train.evaluate import render_view
from splatcine.train.init import scene_extent
from splatcine.train.run import CONTACT_SHEET, TRAIN_CONFIG, initial_gaussians
from tests.train.conftest import short_config
from tests.train.synthetic import ground_truth_gaussians, render_rgb, write_scene

# Measured on 2026-11-30: 200 steps reach 24.8 dB held out (the initialisation is at 17.1 dB).
# The first version of this test measured 25.3 dB; robust training, when it was on by default,
# cost 3.0 dB of it (21.8 dB: what it masks on a static set no longer trains),
# the C++ SSIM's float32 rounding and the alpha-aware trainer 0.3 dB each. 23.5 dB fails a
# regression of that size and leaves 1.3 dB for rounding and thread-count differences.
PSNR_BAR = 23.5


def test_learns_beyond_its_initialisation(trained, mover_scene):
    scene = load_scene(mover_scene)
    config = trained.config
    _, held_out = split_views(scene, config.max_width, config.holdout_every)
    extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
    initial = evaluate(initial_gaussians(scene, config, extent), held_out)
    assert [f.source_frame for f in trained.evaluation.frames] == [0, 8]  # every 8th kept frame
    assert trained.evaluation.psnr > PSNR_BAR
    assert trained.evaluation.psnr > initial.psnr + 4.0  # 8 dB measured; training did the work
    assert trained.evaluation.ssim > initial.ssim


def test_masked_moving_object_is_not_learned(trained, mover_scene):
    """The red square is in every frame's pixels but masked: renders show the set behind it."""
    scene = load_scene(mover_scene)
    views, _ = split_views(scene, None, 8)
    truth = ground_truth_gaussians()
    errors, reds = [], []
    for view, frame in zip(views, [f for i, f in enumerate(scene.frames) if i % 8]):
        hidden = ~view.valid
        render = render_view(trained.gaussians, view).rgb.detach().clamp(0, 1)
        clean = torch.from_numpy(render_rgb(truth, frame.camera))
        errors.append((render - clean).abs()[hidden].mean())
        reds.append((render[..., 0] - render[..., 1:].amax(-1))[hidden].mean())
    # Measured per frame with the masks: error <= 0.12, red excess <= -0.04; the same run with
    # the masks left out learns the square: error >= 0.19, red excess >= 0.30.
    assert max(errors) < 0.16, errors
    assert max(reds) < 0.1, reds


def test_writes_splat_metrics_contact_sheet_and_config(trained, mover_scene):
    splat = read_gaussians_ply(mover_scene / layout.SPLAT_PLY)
    assert torch.equal(splat.means, trained.gaussians.means)
    metrics = json.loads((mover_scene / layout.METRICS).read_text())
    assert metrics["psnr"] == pytest.approx(np.mean([f["psnr"] for f in metrics["frames"]]))
    assert metrics["num_gaussians"] == len(splat) and metrics["iterations"] == 200
    assert metrics["lpips"] is None or metrics["lpips_status"] == "ok"
    sheet = read_image(mover_scene / CONTACT_SHEET)
    assert sheet.shape[1] > 2 * 96 and sheet.shape[0] > 2 * 54  # two frames, truth beside render
    saved = json.loads((mover_scene / TRAIN_CONFIG).read_text())
    assert saved == trained.config.model_dump(mode="json")
    manifest = json.loads((mover_scene / layout.MANIFEST).read_text())
    assert manifest["train"]["config"] == saved and manifest["source"]  # added, nothing lost


@pytest.fixture(scope="module")
def small_scene(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("small") / "scene", frames=8, width=64, height=36)


@pytest.mark.parametrize("strategy", [
    {"kind": "adc", "refine_start": 10, "refine_every": 10, "reset_every": 20},
    {"kind": "mcmc", "refine_start": 10, "refine_every": 10, "cap_max": 900},
], ids=["adc", "mcmc"])
def test_resume_after_interrupt_equals_an_uninterrupted_run(small_scene, tmp_path, strategy):
    # robust training on (off by default): its per-frame maps are part of the resumed state
    config = short_config(iterations=40, strategy=strategy, sh_degree_interval=15, robust=True)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    shutil.copytree(small_scene, whole)
    shutil.copytree(small_scene, parts)
    expected = train_scene(whole, config).gaussians
    assert len(list((whole / layout.RESIDUAL_MASKS).iterdir())) == 7  # 8 frames, the first held out

    def stop_at_25(event):
        if event.stage == "train" and event.done == 25:
            raise KeyboardInterrupt  # what Ctrl-C does, at a step boundary

    with pytest.raises(KeyboardInterrupt):
        train_scene(parts, config, progress=stop_at_25)
    assert (parts / layout.CHECKPOINTS / "step_0000025.safetensors").is_file()
    assert not (parts / layout.SPLAT_PLY).exists()
    resumed = train_scene(parts, config, resume=True)
    assert len(resumed.gaussians) == len(expected)
    for name, value in expected.tensors().items():
        # Same seed, same steps, restored Adam/strategy/RNG state: equal up to float32 summation
        # order in the kernels (measured: bit-identical).
        torch.testing.assert_close(getattr(resumed.gaussians, name), value, rtol=1e-5, atol=1e-6)


def test_resume_without_checkpoint_or_with_other_settings_is_refused(small_scene, tmp_path):
    scene = shutil.copytree(small_scene, tmp_path / "scene")
    with pytest.raises(InputError, match="no checkpoint"):
        train_scene(scene, short_config(iterations=2), resume=True)
    train_scene(scene, short_config(iterations=2))
    with pytest.raises(InputError, match="ssim_lambda"):
        train_scene(scene, short_config(iterations=4, ssim_lambda=0.5), resume=True)
    assert train_scene(scene, short_config(iterations=4), resume=True).iterations == 4


def test_not_a_scene_is_a_one_line_error(tmp_path):
    with pytest.raises(InputError) as err:
        train_scene(tmp_path, short_config(iterations=1))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)


def test_learns_the_procedural_room(tmp_path):
    """The same on frames ray-cast by `scenes` (not rendered by our rasterizer, so not circular)."""
    from scenes import write_ground_truth_scene

    root = write_ground_truth_scene("orbit", tmp_path / "orbit", frames=16, width=128, height=72,
                                    points=3000)  # fmt: skip
    result = train_scene(root, short_config(random_background=True))
    scene = load_scene(root)
    _, held_out = split_views(scene, None, 8)
    extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
    initial = evaluate(initial_gaussians(scene, result.config, extent), held_out)
    # A closed room covers every pixel, so the splat should be opaque, black texture included.
    # Measured after 200 steps: alpha < 0.5 on 2.1% of held-out pixels (mean alpha 0.93) over
    # random backgrounds, 5.7% (0.85) over a fixed black one; the bars sit between the two.
    alpha = torch.stack([render_view(result.gaussians, v).alpha for v in held_out])
    assert (alpha < 0.5).float().mean() < 0.035 and alpha.mean() > 0.9
    # Measured: 18.4 dB held out after 200 steps, 12.4 dB at initialisation (a textured room
    # seen by 14 training frames at 128x72 has detail 200 steps cannot all fit).
    assert result.evaluation.psnr > 16.0
    assert result.evaluation.psnr > initial.psnr + 3.0
