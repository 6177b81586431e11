"""Exports to other tools' camera formats, checked by reading them back independently."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from path_helpers import load_text
from scipy.spatial.transform import Rotation
from safetensors.torch import load_file

from splatcine import paths
from splatcine.cameras import GL_FROM_CV, invert_rigid
from splatcine.errors import InputError
from splatcine.paths import convert

ROUND_TRIP = 1e-9  # JSON keeps 17 significant digits: only float rounding is lost


@pytest.fixture(scope="module")
def path():
    return load_text(
        """
        fps: 8
        resolution: [320, 192]
        keyframes:
          - {time: 0, position: [-2, -3, 1], look_at: [0, 0, 0.5], fov: 50}
          - {time: 1, position: [0, -3.5, 1.4], look_at: [0, 0, 0.5]}
        moves:
          - orbit: 40
            zoom: 1.5
            duration: 1
        """,
        name="orbit.yaml",
    )


def test_opencv_and_opengl_json_round_trip(path, tmp_path):
    for convention in ("opencv", "opengl"):
        out = convert.export(path, convention, tmp_path / f"{convention}.json")
        back = convert.read_cameras_json(out)
        assert np.allclose(back.cam_from_world, path.cam_from_world, atol=ROUND_TRIP)
        assert [k.fx for k in back.intrinsics] == pytest.approx([k.fx for k in path.intrinsics])
    gl = json.loads((tmp_path / "opengl.json").read_text())["frames"][3]["world_from_cam"]
    cv = path.cameras[3]
    assert np.allclose(np.asarray(gl)[:3, 2], -cv.forward)  # OpenGL cameras look down -z
    assert np.allclose(np.asarray(gl)[:3, 3], cv.center)


def ns_render_cameras(doc: dict) -> tuple[torch.Tensor, torch.Tensor, float]:
    """What `ns-render camera-path` makes of a camera_path.json (nerfstudio 50e0e3c):
    nerfstudio/cameras/camera_paths.py, get_path_from_json (camera_to_world.view(4, 4)[:3], focal
    from the vertical fov by viewer_legacy/server/utils.py, three_js_perspective_camera_focal_length)
    and scripts/render.py, _render_trajectory_video (fps = len(cameras) / seconds)."""
    image_height = doc["render_height"]
    c2ws = torch.stack([torch.tensor(c["camera_to_world"]).view(4, 4)[:3] for c in doc["camera_path"]])
    focal = torch.tensor([image_height / 2.0 / np.tan(c["fov"] * (np.pi / 180.0) / 2.0) for c in doc["camera_path"]])
    return c2ws, focal, len(c2ws) / doc["seconds"]


def test_nerfstudio_camera_path_plays_at_the_paths_fps_with_its_cameras(path):
    doc = convert.to_nerfstudio(path)
    c2ws, focal, fps = ns_render_cameras(doc)
    assert fps == pytest.approx(path.fps) and len(c2ws) == len(path)  # seconds = F / fps, not (F - 1) / fps
    assert (doc["render_width"], doc["render_height"]) == (320, 192)
    np.testing.assert_allclose(focal.numpy(), [k.fy for k in path.intrinsics], rtol=1e-6)
    # OpenGL camera-to-world: the camera sits at the path's centre and looks down its -z
    for i in (0, 5, len(path) - 1):
        np.testing.assert_allclose(c2ws[i].numpy(), (invert_rigid(path.cam_from_world[i]) @ GL_FROM_CV)[:3], atol=1e-6)
        assert np.allclose(-c2ws[i, :3, 2].numpy(), path.cameras[i].forward, atol=1e-6)
    assert len(doc["keyframes"]) == len(path.key_times) == 3  # two keyframes and the end of the orbit


def test_a_one_frame_nerfstudio_path_has_a_finite_fps():
    one = load_text("fps: 24\nframes: 1\nresolution: [64, 48]\nstart: {position: [0, -2, 0], look_at: [0, 0, 0]}\n")
    assert ns_render_cameras(convert.to_nerfstudio(one))[2] == pytest.approx(24.0)


def test_nerfstudio_cameras_land_in_the_trained_models_frame(path, tmp_path):
    """A world point seen by a path camera projects to the same pixel once both are in the model's
    frame: the point moved as nerfstudio moves its data (transform, then scale), the camera read by
    ns-render from the exported file."""
    rotation = Rotation.from_euler("zyx", [30, -20, 10], degrees=True).as_matrix()
    transform, scale = np.hstack([rotation, [[0.3], [-1.2], [0.5]]]), 0.37
    (tmp_path / "dataparser_transforms.json").write_text(json.dumps({"transform": transform.tolist(), "scale": scale}))
    doc = convert.to_nerfstudio(path, tmp_path / "dataparser_transforms.json")
    c2ws, focal, _ = ns_render_cameras(doc)
    point = np.array([0.2, 0.1, 0.6])  # near the orbit's subject
    point_model = scale * (transform[:, :3] @ point + transform[:, 3])
    for i in (0, 9):
        k = path.intrinsics[i]
        x = path.cam_from_world[i] @ np.append(point, 1.0)
        pixel = [k.fx * x[0] / x[2] + k.cx, k.fy * x[1] / x[2] + k.cy]
        c2w = np.vstack([c2ws[i].numpy().astype(np.float64), [0, 0, 0, 1]]) @ GL_FROM_CV  # OpenCV axes
        xm = invert_rigid(c2w) @ np.append(point_model, 1.0)
        f = float(focal[i])
        np.testing.assert_allclose([f * xm[0] / xm[2] + k.cx, f * xm[1] / xm[2] + k.cy], pixel, atol=1e-3)


def test_nerfstudio_round_trips_through_import(path, tmp_path):
    exported = convert.export(path, "nerfstudio", tmp_path / "camera_path.json")
    direct = convert.read_nerfstudio(exported)
    assert np.allclose(direct.cam_from_world, path.cam_from_world, atol=ROUND_TRIP)
    yaml_path = convert.import_nerfstudio(exported, tmp_path / "imported.yaml")
    again = paths.load(yaml_path)
    assert len(again) == len(path)
    assert np.allclose(
        again.cam_from_world, path.cam_from_world, atol=1e-8
    )  # YAML keeps 9-12 decimals
    assert np.allclose(again.vfov, path.vfov, atol=1e-8)
    assert np.allclose(again.times, path.times, atol=1e-9)


def test_re10k_pose_text(path, tmp_path):
    out = convert.export(path, "re10k", tmp_path / "poses.txt")
    lines = out.read_text().splitlines()
    assert len(lines) == len(path) + 1 and lines[0].startswith("splatcine://")
    values = np.array(lines[2].split(), dtype=np.float64)
    k = path.intrinsics[1]
    assert values[0] == round(path.times[1] * 1e6)  # microseconds
    assert values[1:5] == pytest.approx([k.fx / 320, k.fy / 192, 0.5, 0.5])
    assert np.allclose(
        values[7:].reshape(3, 4), path.cam_from_world[1, :3]
    )  # cam_from_world, row-major
    back = convert.read_re10k(out, 320, 192)
    assert np.allclose(back.cam_from_world, path.cam_from_world, atol=ROUND_TRIP)


def test_plucker_matches_an_independent_ray_computation(tmp_path):
    path = load_text("""
        fps: 1
        resolution: [32, 16]
        vfov: 60
        keyframes:
          - {time: 0, position: [1, 2, 3], look_at: [1, 8, 3]}
          - {time: 1, position: [2, 2, 3.5], look_at: [0, 7, 3]}
        """)
    out = convert.export(path, "plucker", tmp_path / "rays.safetensors")
    tensors = load_file(str(out))
    plucker = tensors["plucker"].double().numpy()
    assert plucker.shape == (2, 6, 16, 32)
    assert np.allclose(plucker[0, :3], 0.0, atol=1e-6)  # frame 0 rays start at the origin
    # By hand: pixel (u, v) of frame 1 in frame 0's camera coordinates.
    cam0_from_cam1 = path.cam_from_world[0] @ invert_rigid(path.cam_from_world[1])
    k = path.intrinsics[1]
    for u, v in [(0, 0), (31, 15), (10, 7)]:
        ray = cam0_from_cam1[:3, :3] @ [(u + 0.5 - k.cx) / k.fx, (v + 0.5 - k.cy) / k.fy, 1.0]
        d = ray / np.linalg.norm(ray)
        origin = cam0_from_cam1[:3, 3]
        assert np.allclose(plucker[1, 3:, v, u], d, atol=1e-6)  # float32 storage
        assert np.allclose(plucker[1, :3, v, u], np.cross(origin, d), atol=1e-5)
        point = origin + 7.0 * d  # the moment is the same for every point on the ray
        assert np.allclose(plucker[1, :3, v, u], np.cross(point, d), atol=1e-5)
    assert torch.allclose(tensors["cam_from_world"][0], torch.eye(4), atol=1e-6)
    small = convert.plucker_embeddings(path, downsample=4)[0]
    assert small.shape == (2, 6, 4, 8)


def test_recammaster_extrinsics_read_back_with_its_loader(path, tmp_path):
    out = convert.export(path, "recammaster", tmp_path / "camera_extrinsics.json")
    doc = json.loads(out.read_text())
    assert list(doc)[:2] == ["frame0", "frame1"] and len(doc) == len(path)
    for i in (0, 7):
        # ReCamMaster's own parsing: rows of the string, transposed, axes reordered, cm -> m.
        rows = [
            [float(x) for x in r.strip("[]").split()]
            for r in doc[f"frame{i}"]["cam01"].split("] [")
        ]
        c2w = np.array(rows).T[:, [1, 2, 0, 3]]
        c2w[:3, 1] *= -1.0
        c2w[:3, 3] /= 100.0
        assert np.allclose(c2w, invert_rigid(path.cam_from_world[i]), atol=1e-9)


NUMBERS = st.one_of(st.floats(), st.integers(-10, 10), st.sampled_from([0, 1, 24, 320, 1e400]))
FIELDS = st.one_of(NUMBERS, st.text(max_size=4), st.none(), st.lists(NUMBERS, max_size=17))


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["render_width", "render_height", "fps", "seconds"]), FIELDS, max_size=2
    ),
    st.lists(
        st.one_of(
            st.dictionaries(st.sampled_from(["camera_to_world", "fov", "aspect"]), FIELDS),
            st.builds(
                lambda c2w, fov: {"camera_to_world": c2w, "fov": fov},
                st.lists(st.floats(-2, 2), min_size=16, max_size=16),
                st.one_of(st.floats(1, 170), NUMBERS),
            ),
        ),
        max_size=3,
    ),
)
def test_importing_broken_nerfstudio_files_is_a_clean_error(tmp_path_factory, doc, frames):
    """Whatever comes in either imports into a path that loads again, or fails with one line."""
    folder = tmp_path_factory.mktemp("fuzz")
    file = folder / "camera_path.json"
    base = {"render_width": 320, "render_height": 192, "fps": 24}
    file.write_text(json.dumps({**base, **doc, "camera_path": frames}))
    try:
        out = convert.import_nerfstudio(file, folder / "path.yaml")
    except InputError as err:
        assert "\n" not in str(err)
        return
    path = paths.load(out)
    assert np.isfinite(path.cam_from_world).all() and len(path) == len(frames)


def test_a_plucker_export_that_would_not_fit_in_memory_is_refused_up_front(path):
    from splatcine.paths.convert import plucker

    need = plucker.HELD_COPIES * plucker.embedding_bytes(path, 1)  # 17 x 6 x 192 x 320 float32, twice
    plucker.check_memory(path, 1, available=2 * need)  # fits: no error
    with pytest.raises(InputError, match=r"needs about .* GiB, .* is available: pass --downsample 2$"):
        plucker.check_memory(path, 1, available=need)  # a quarter of the pixels at --downsample 2 fits
