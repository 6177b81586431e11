"""Class 6: degenerate input is refused up front, never trained or rendered into garbage.

The hypothesis strategies build files of valid structure with hostile values (NaN, inf,
huge, zero, negative, wrong types, coincident points) and check that each one is either
refused with one line naming the file, or gives finite, rigid cameras.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, event, given, settings, strategies as st

from splatcine.errors import InputError
from splatcine.scene import layout
from splatcine.scene.transforms import read_transforms
from tests.bad_inputs.conftest import ROOT, assert_one_error, cli, snapshot

PATH_YAML = ROOT / "cameras" / "dolly.yaml"


def _posed(tmp_path, fl_x=50.0, matrices=None) -> str:
    matrices = matrices or [np.eye(4), np.eye(4) + np.pad(np.eye(1), ((0, 3), (3, 0)))]
    frames = [{"file_path": f"images/{i}.png", "transform_matrix": np.asarray(m).tolist()}
              for i, m in enumerate(matrices)]
    path = tmp_path / "transforms.json"
    path.write_text(json.dumps({"fl_x": fl_x, "w": 64, "h": 36, "frames": frames}))
    return path


@pytest.mark.parametrize("fl_x,matrices,says", [
    (math.inf, None, "fl_x"),
    (-50.0, None, "fl_x"),
    (50.0, [np.diag([0.0, 0.0, 0.0, 1.0])] * 2, "not a rotation"),
    (50.0, [np.eye(4)] * 3, "same camera position"),
], ids=["infinite-focal", "negative-focal", "zero-rotation", "identical-poses"])
def test_degenerate_cameras_are_refused(tmp_path, fl_x, matrices, says):
    posed = _posed(tmp_path, fl_x, matrices)
    before = snapshot(tmp_path)
    assert_one_error(cli("reconstruct", posed, "-o", tmp_path / "scene"), 2, str(posed), says)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("n,log_scale,says", [(0, 0.0, "no Gaussians"), (50, 100.0, "infinitely large"),
                                              (50, 12.0, "size of the whole scene")])
def test_splats_that_would_render_nothing_are_refused(tiny_scene, tmp_path, n, log_scale, says):
    from splatcine.gaussians import Gaussians
    from splatcine.io.ply import write_gaussians_ply

    scene = shutil.copytree(tiny_scene, tmp_path / "scene")
    gaussians = Gaussians(means=torch.rand(n, 3), quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1),
                          log_scales=torch.full((n, 3), log_scale), opacity_logits=torch.zeros(n),
                          sh=torch.zeros(n, 1, 3))
    write_gaussians_ply(scene / layout.SPLAT_PLY, gaussians)
    before = snapshot(tmp_path)
    assert_one_error(cli("render", scene, PATH_YAML, "-o", tmp_path / "shot"), 2, "splat.ply", says)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("option,value", [("--frames", "0"), ("--height", "-16"), ("--width", "8"),
                                          ("--guidance", "nan"), ("--steps", "0")])
def test_generate_settings_the_model_would_change_silently(tmp_path, option, value):
    result = cli("generate", tmp_path, "--model", tmp_path, "--prompt", "x", option, value)
    assert_one_error(result, 2, option)


# -- hypothesis: valid structure, hostile values -------------------------------------------------

HOSTILE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-320, -1.0, 1e308, -1e308]),
)
NUMBERS = st.one_of(HOSTILE_FLOATS, st.integers(-10**20, 10**20), st.floats(-10, 10))
# mostly ordinary values, so that whole files get through to the end, with hostile ones mixed in
VALUE = st.one_of(st.floats(0.1, 3), st.floats(-3, 3), st.sampled_from([0.0, 1.0, 90.0]), NUMBERS)
ANYTHING = st.one_of(NUMBERS, st.text(max_size=5), st.none(), st.booleans(), st.lists(st.integers(), max_size=3))


def _matrix():
    rotation = st.sampled_from([np.eye(3), np.diag([1.0, -1.0, -1.0]), np.zeros((3, 3)),
                                np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])])
    return st.one_of(
        st.tuples(rotation, st.lists(VALUE, min_size=3, max_size=3)).map(
            lambda rt: np.vstack([np.hstack([rt[0], np.asarray(rt[1], dtype=object)[:, None]]),
                                  [0, 0, 0, 1]]).tolist()),
        st.lists(st.lists(NUMBERS, min_size=4, max_size=4), min_size=3, max_size=4),
        ANYTHING,
    )


FRAME = st.fixed_dictionaries({"file_path": st.one_of(st.just("images/a.png"), ANYTHING),
                               "transform_matrix": _matrix()},
                              optional={"fl_x": NUMBERS, "source_frame": ANYTHING, "mask_path": ANYTHING})
TRANSFORMS = st.fixed_dictionaries(
    {"frames": st.lists(FRAME, min_size=1, max_size=4), "fl_x": VALUE},
    optional={"fl_y": NUMBERS, "w": NUMBERS, "h": NUMBERS, "cx": NUMBERS,
              "camera_angle_x": NUMBERS},
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=TRANSFORMS)
def test_hostile_transforms_json(tmp_path, doc):
    path = tmp_path / "transforms.json"
    doc = {"w": 64, "h": 36, **doc}  # without a size the reader opens the image: not what is tested
    path.write_text(json.dumps(doc, default=str))
    try:
        cameras, _, _ = read_transforms(path)
    except InputError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        event("refused")
        return
    event("read")
    for camera in cameras:
        k = camera.intrinsics
        assert all(math.isfinite(v) and v > 0 for v in (k.fx, k.fy)) and k.width > 0 and k.height > 0
        assert np.isfinite(camera.cam_from_world).all()
        rotation = camera.cam_from_world[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=0.05)  # within the reader's 1e-2


VEC3 = st.lists(VALUE, min_size=3, max_size=3)
KEYFRAME = st.fixed_dictionaries({"position": VEC3, "look_at": VEC3},
                                 optional={"up": VEC3, "fov": VALUE, "time": VALUE})
MOVE = st.one_of(
    st.fixed_dictionaries({"duration": VALUE}, optional={
        key: VALUE for key in ("dolly", "truck", "pedestal", "crane", "pan", "tilt", "roll", "orbit", "zoom")}),
    st.fixed_dictionaries({"hold": VALUE}),
    st.fixed_dictionaries({"duration": VALUE, "dolly_zoom": st.fixed_dictionaries(
        {"distance": VALUE}, optional={"subject": VEC3})}),
)
# frames and fps stay small: how many frames a path may have is the memory estimate's business
TIMING = {"frames": st.integers(1, 24), "fps": st.sampled_from([8, 24])}
EXTRA = {"moves": st.lists(MOVE, max_size=3), "up": VEC3, "vfov": VALUE}
PATH = st.one_of(st.fixed_dictionaries({**TIMING, "start": KEYFRAME}, optional=EXTRA),
                 st.fixed_dictionaries({**TIMING, "keyframes": st.lists(KEYFRAME, min_size=1, max_size=3)},
                                       optional=EXTRA))


@settings(max_examples=150, deadline=None)
@given(doc=PATH)
def test_hostile_camera_paths(doc):
    from splatcine import paths

    text = yaml.safe_dump(doc)
    try:
        path = paths.loads(text, name="hostile.yaml")
    except InputError as err:
        assert "\n" not in str(err) and "hostile.yaml" in str(err)
        event("refused")
        return
    event("sampled")
    assert np.isfinite(path.cam_from_world).all()
    rotations = path.cam_from_world[:, :3, :3]
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rotations.shape),
                               atol=1e-6)  # float64 rotations: orthonormal to rounding
    assert all(math.isfinite(k.fx) and k.fx > 0 for k in path.intrinsics)
