"""Each conditioning format: the layout, sizes, frame counts, value ranges and dtypes its consumer reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.ndimage import distance_transform_edt

from splatcine.cameras import invert_rigid
from splatcine.condition import FORMATS, Bundle, voyager, wan_vace, write_formats
from splatcine.io.video import read_frames, read_image
from splatcine.render import files


@pytest.mark.parametrize(("count", "expected"), [(1, 1), (4, 1), (5, 5), (11, 9), (81, 81), (84, 81)])
def test_wan_frame_count_is_longest_4n_plus_1(count, expected):
    assert wan_vace.wan_num_frames(count) == expected


def test_wan_vace_files(shot, tmp_path):
    write_formats(shot, tmp_path, ["wan-vace"])
    folder = tmp_path / "wan-vace"
    settings = json.loads((folder / "wan_vace.json").read_text())
    assert (settings["num_frames"], settings["height"], settings["width"]) == (9, 32, 64)
    controls = sorted((folder / "control").glob("*.png"))
    masks = sorted((folder / "mask").glob("*.png"))
    assert len(controls) == len(masks) == 9
    control, mask = read_image(controls[0]), read_image(masks[0])
    assert control.shape == (32, 64, 3) and control.dtype == np.uint8
    assert mask.shape == (32, 64) and set(np.unique(mask)) == {0, 255}
    assert (control[mask == 255] == wan_vace.GREY).all()  # unseen regions are neutral grey
    assert len(read_frames(folder / "control.mp4")) == 9
    assert len(read_frames(folder / "mask.mp4")) == 9
    assert read_image(folder / "reference_00.png").shape == (32, 64, 3)


def test_wan_vace_mask_is_unseen_dilated_by_the_documented_margin(shot):
    data = wan_vace.prepare(shot)
    unseen = shot.unseen[0, :, :] >= 0.5
    # the unseen columns start at 3/4 of the width: resized to 64 px wide they start at 48
    first_unseen = int(np.argmax(unseen[0])) * 64 // shot.width
    mask = data["mask"][0] > 0
    dist_to_unseen = distance_transform_edt(~(np.arange(64) >= first_unseen)[None].repeat(32, 0))
    assert (mask == (dist_to_unseen <= wan_vace.MASK_DILATION_PX)).all()


def test_to_wan_vace_gives_the_pipeline_keywords(shot):
    kwargs = Bundle(shot).to_wan_vace()
    assert set(kwargs) == {"video", "mask", "reference_images", "height", "width", "num_frames"}
    assert len(kwargs["video"]) == len(kwargs["mask"]) == kwargs["num_frames"] == 9
    assert kwargs["video"][0].size == (kwargs["width"], kwargs["height"]) == (64, 32)
    assert kwargs["video"][0].mode == "RGB" and kwargs["mask"][0].mode == "L"
    assert kwargs["reference_images"][0].size == (64, 32)


def test_to_wan_vace_quantises_requested_sizes(shot):
    kwargs = Bundle(shot).to_wan_vace(num_frames=7, height=40, width=70)
    assert (kwargs["num_frames"], kwargs["height"], kwargs["width"]) == (5, 32, 64)


def test_voyager_files(shot, tmp_path):
    write_formats(shot, tmp_path, ["voyager"])
    folder = tmp_path / "voyager"
    rng = json.loads((folder / "depth_range.json").read_text())
    covered_depth = shot.depth[shot.unseen < 0.5]
    assert rng["near"] == pytest.approx(covered_depth.min()) and rng["far"] == pytest.approx(covered_depth.max())
    for i in (0, len(shot) - 1):
        render = read_image(folder / "video_input" / f"render_{i:04d}.png")
        mask = read_image(folder / "video_input" / f"mask_{i:04d}.png")
        inv = voyager.read_exr(folder / "video_input" / f"depth_{i:04d}.exr")
        assert render.shape == (shot.height, shot.width, 3) and mask.dtype == np.uint8 and inv.dtype == np.float32
        assert set(np.unique(mask)) == {0, 255}
        assert ((mask == 255) == (shot.unseen[i] < 0.5)).all()
        assert (render[mask == 0] == 0).all() and (inv[mask == 0] == 0).all()
        assert 0.0 <= inv.min() and inv.max() <= 1.0
        # the normalisation undoes to the depth: 1/d = inv * (1/near - 1/far) + 1/far
        d = 1.0 / (inv * (1 / rng["near"] - 1 / rng["far"]) + 1 / rng["far"])
        np.testing.assert_allclose(d[mask == 255], shot.depth[i][mask == 255], rtol=1e-5)  # float32 round trip
    assert (folder / "ref_image.png").is_file() and voyager.read_exr(folder / "ref_depth.exr").shape == (shot.height, shot.width)


def test_gen3c_buffers(shot, tmp_path):
    write_formats(shot, tmp_path, ["gen3c"])
    images = torch.load(tmp_path / "gen3c" / "rendered_warp_images.pt")
    masks = torch.load(tmp_path / "gen3c" / "rendered_warp_masks.pt")
    assert images.shape == (1, len(shot), 1, 3, shot.height, shot.width) and images.dtype == torch.float32
    assert masks.shape == (1, len(shot), 1, 1, shot.height, shot.width) and masks.dtype == torch.float32
    assert set(masks.unique().tolist()) == {0.0, 1.0}
    assert images.min() >= -1.0 and images.max() <= 1.0
    valid = masks[0, :, 0, 0] > 0
    assert (images[0, :, 0].permute(0, 2, 3, 1)[~valid] == -1.0).all()
    back = ((images[0, :, 0].permute(0, 2, 3, 1) + 1) * 127.5).round().to(torch.uint8)
    assert (back[valid] == torch.from_numpy(shot.color)[valid]).all()
    cams = np.load(tmp_path / "gen3c" / "cameras.npz")
    np.testing.assert_allclose(cams["w2c"][3], shot.cameras[3].cam_from_world, atol=1e-6)  # float32 storage


def test_cameractrl_pose_text_parses_back_to_the_cameras(shot, tmp_path):
    write_formats(shot, tmp_path, ["cameractrl"])
    lines = (tmp_path / "cameractrl" / "poses.txt").read_text().splitlines()
    assert len(lines) == len(shot) + 1
    for cam, line in zip(shot.cameras, lines[1:]):
        entry = [float(v) for v in line.split()]
        assert len(entry) == 19
        fx, fy, cx, cy = entry[1:5]  # CameraCtrl's Camera(entry): normalised intrinsics, then w2c
        k = cam.intrinsics
        assert fx * k.width == pytest.approx(k.fx) and cy * k.height == pytest.approx(k.cy)
        np.testing.assert_allclose(np.reshape(entry[7:], (3, 4)), cam.cam_from_world[:3], atol=1e-8)
    assert int(lines[2].split()[0]) == round(1e6 / shot.fps)


def test_plucker_embedding_matches_rays_of_the_relative_cameras(shot, tmp_path):
    write_formats(shot, tmp_path, ["cameractrl"])
    plucker = np.load(tmp_path / "cameractrl" / "plucker.npy")
    assert plucker.shape == (len(shot), 6, shot.height, shot.width) and plucker.dtype == np.float32
    moment, direction = plucker[:, :3], plucker[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(direction, axis=1), 1.0, atol=1e-5)  # unit rays
    np.testing.assert_allclose(moment[0], 0.0, atol=1e-6)  # the first camera sits at the origin
    # frame 5 sits at the relative centre c = w2c_0 @ centre_5; every ray's moment is c x d
    c = (shot.cameras[0].cam_from_world @ np.append(shot.cameras[5].center, 1.0))[:3]
    expected = np.cross(c, direction[5].transpose(1, 2, 0)).transpose(2, 0, 1)
    np.testing.assert_allclose(moment[5], expected, atol=1e-5)  # float32 rays
    # the centre pixel's ray of frame 5 is its camera's forward axis in the first camera's frame
    rel = shot.cameras[0].cam_from_world @ invert_rigid(shot.cameras[5].cam_from_world)
    centre = direction[5][:, shot.height // 2, shot.width // 2]
    assert np.dot(centre, rel[:3, 2]) > np.cos(np.radians(2))  # within the half-pixel offset


def test_frames_png_sequences(shot, tmp_path):
    write_formats(shot, tmp_path, ["frames"])
    folder = tmp_path / "frames"
    doc = json.loads((folder / "frames.json").read_text())
    for name in ("color", "depth", "alpha", "normal", "unseen", "unseen_binary"):
        assert len(list((folder / name).glob("*.png"))) == len(shot)
    depth = read_image(folder / "depth" / "00004.png")
    assert depth.dtype == np.uint16
    # depth = value * depth_scale within half a 16-bit step
    np.testing.assert_allclose(depth * doc["depth_scale"], shot.depth[4], atol=doc["depth_scale"] / 2 + 1e-6)
    binary = read_image(folder / "unseen_binary" / "00004.png")
    assert ((binary == 255) == (shot.unseen[4] >= 0.5)).all()
    normal = read_image(folder / "normal" / "00004.png")
    assert normal.dtype == np.uint8 and abs(int(normal[0, 0, 2]) - 0) <= 1  # z = -1 -> 0


def test_every_format_is_registered_and_written(shot, tmp_path):
    write_formats(shot, tmp_path, list(FORMATS))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FORMATS)


def test_bundle_loads_a_written_shot(shot, tmp_path):
    files.write_shot(shot, tmp_path, {"kind": "test"})
    bundle = Bundle.load(tmp_path)
    assert bundle.shot.reference_names == shot.reference_names
    np.testing.assert_array_equal(bundle.shot.color, shot.color)
    np.testing.assert_array_equal(bundle.shot.unseen, shot.unseen)
    np.testing.assert_allclose(bundle.shot.cameras[2].cam_from_world, shot.cameras[2].cam_from_world)
    assert bundle.to_wan_vace()["num_frames"] == 9
