"""The standard 3DGS PLY: exact round trip, the reference property layout, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from plyfile import PlyData

from splatcine.errors import InputError
from splatcine.gaussians import Gaussians
from splatcine.io.ply import read_gaussians_ply, write_gaussians_ply


def random_gaussians(n: int, degree: int, seed: int = 0) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=g),
        quats=torch.randn(n, 4, generator=g),
        log_scales=torch.randn(n, 3, generator=g) - 3,
        opacity_logits=torch.randn(n, generator=g),
        sh=torch.randn(n, (degree + 1) ** 2, 3, generator=g),
    )


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_round_trip_is_exact(tmp_path, degree):
    g = random_gaussians(257, degree)
    write_gaussians_ply(tmp_path / "splat.ply", g)
    back = read_gaussians_ply(tmp_path / "splat.ply")
    for name, value in g.tensors().items():
        assert torch.equal(getattr(back, name), value), name  # float32 stored as float32: bit-exact


def test_standard_property_names_and_channel_major_rest(tmp_path):
    g = random_gaussians(5, 3)
    write_gaussians_ply(tmp_path / "splat.ply", g)
    vertex = PlyData.read(str(tmp_path / "splat.ply"))["vertex"]
    expected = (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
                + [f"f_rest_{i}" for i in range(45)]
                + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])
    assert list(vertex.data.dtype.names) == expected
    # The reference stores all 15 red coefficients first, then green, then blue.
    np.testing.assert_array_equal(vertex["f_rest_0"], g.sh[:, 1, 0].numpy())
    np.testing.assert_array_equal(vertex["f_rest_14"], g.sh[:, 15, 0].numpy())
    np.testing.assert_array_equal(vertex["f_rest_15"], g.sh[:, 1, 1].numpy())
    np.testing.assert_array_equal(vertex["f_rest_44"], g.sh[:, 15, 2].numpy())
    np.testing.assert_array_equal(vertex["opacity"], g.opacity_logits.numpy())  # logit, not sigmoid
    np.testing.assert_array_equal(vertex["scale_1"], g.log_scales[:, 1].numpy())  # log, not exp
    np.testing.assert_array_equal(vertex["rot_0"], g.quats[:, 0].numpy())  # w first


def test_corrupt_ply_is_a_one_line_input_error(tmp_path):
    path = tmp_path / "broken.ply"
    path.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\n")
    with pytest.raises(InputError) as err:
        read_gaussians_ply(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_point_cloud_is_not_a_splat(tmp_path):
    from splatcine.io.ply import write_points_ply

    write_points_ply(tmp_path / "points.ply", np.zeros((4, 3)))
    with pytest.raises(InputError, match="f_dc_0"):
        read_gaussians_ply(tmp_path / "points.ply")
