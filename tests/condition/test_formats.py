"""Each conditioning format: the layout, sizes, frame counts, value ranges and dtypes its consumer reads."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from splatcine.condition import FORMATS, Bundle, wan_vace, write_formats
from splatcine.errors import InputError
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


def test_every_format_is_registered_and_written_when_fitted(shot, tmp_path):
    small = [f for f in FORMATS if f != "gen3c"]  # gen3c fitted is 121 frames at 1280x704: its own tests
    write_formats(shot, tmp_path, small, fit=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(small)


@pytest.mark.parametrize(("fmt", "target"), [("voyager", "voyager"), ("gen3c", "gen3c"),
                                             ("cameractrl", "cameractrl"), ("recammaster", "recammaster")])
def test_a_shot_that_breaks_a_models_rules_is_a_one_line_error_naming_its_target(shot, tmp_path, fmt, target):
    with pytest.raises(InputError, match=rf"--format {fmt} needs .*this shot.*`target: {target}`.*--fit") as err:
        write_formats(shot, tmp_path, [fmt])
    assert "\n" not in str(err.value) and not any(tmp_path.iterdir())  # nothing written


def test_bundle_loads_a_written_shot(shot, tmp_path):
    files.write_shot(shot, tmp_path, {"kind": "test"})
    bundle = Bundle.load(tmp_path)
    assert bundle.shot.reference_names == shot.reference_names
    np.testing.assert_array_equal(bundle.shot.color, shot.color)
    np.testing.assert_array_equal(bundle.shot.unseen, shot.unseen)
    np.testing.assert_allclose(bundle.shot.cameras[2].cam_from_world, shot.cameras[2].cam_from_world)
    assert bundle.to_wan_vace()["num_frames"] == 9
