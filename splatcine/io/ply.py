"""PLY files: the only module that imports plyfile."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from splatcine.errors import InputError
from splatcine.gaussians import Gaussians


def write_points_ply(path: Path, xyz: np.ndarray, rgb: np.ndarray | None = None) -> None:
    """Coloured point cloud: xyz [P, 3] float, rgb [P, 3] uint8 (binary little-endian)."""
    fields = [("x", "f4"), ("y", "f4"), ("z", "f4")]
    if rgb is not None:
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
    data = np.empty(len(xyz), dtype=fields)
    data["x"], data["y"], data["z"] = np.asarray(xyz, dtype=np.float32).T
    if rgb is not None:
        data["red"], data["green"], data["blue"] = np.asarray(rgb, dtype=np.uint8).T
    PlyData([PlyElement.describe(data, "vertex")]).write(str(path))


def read_points_ply(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """xyz [P, 3] float64 and rgb [P, 3] uint8 (None when the file has no colours)."""
    vertex = _read_vertex(path, "PLY point cloud")
    xyz = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1).astype(np.float64)
    names = vertex.data.dtype.names
    rgb = None
    if {"red", "green", "blue"} <= set(names):
        rgb = np.stack([vertex["red"], vertex["green"], vertex["blue"]], axis=1).astype(np.uint8)
    return xyz, rgb


def _gaussian_fields(n_rest: int) -> list[tuple[str, str]]:
    """Vertex properties of the standard 3DGS PLY, in the reference implementation's order."""
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(n_rest)]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    return [(name, "f4") for name in names]


SHOT = "shot"  # extra vertex property: the shot that created each Gaussian (splatcine extend)


def write_gaussians_ply(path: Path, gaussians: Gaussians, shots: np.ndarray | None = None) -> None:
    """The standard 3DGS PLY (SuperSplat, web viewers, nerfstudio and gsplat read it).

    Stored as the reference implementation stores it: opacity as a logit, scales as
    logs, rotations as (w, x, y, z), and the higher SH bands channel-major (all red
    coefficients, then green, then blue) in `f_rest_*`. `shots` [N] (ints), when given, is
    one more vertex property, `shot`, after the standard ones; readers that pick properties by
    name ignore it. It is float32 like the rest, since some web viewers assume every property is.
    """
    g = gaussians.detach().to("cpu")
    sh = g.sh.float().numpy()  # [N, K, 3]
    n, k = sh.shape[0], sh.shape[1]
    rest = sh[:, 1:].transpose(0, 2, 1).reshape(n, 3 * (k - 1))  # channel-major: R.., G.., B..
    columns = [g.means.float().numpy(), np.zeros((n, 3), np.float32), sh[:, 0], rest,
               g.opacity_logits.float().numpy()[:, None], g.log_scales.float().numpy(),
               g.quats.float().numpy()]
    fields = _gaussian_fields(3 * (k - 1))
    if shots is not None:
        if len(shots) != n:
            raise ValueError(f"{len(shots)} shots for {n} Gaussians")
        columns.append(np.asarray(shots, np.float32)[:, None])
        fields.append((SHOT, "f4"))
    table = np.concatenate(columns, axis=1).astype(np.float32)
    data = np.empty(n, dtype=fields)
    for i, name in enumerate(data.dtype.names):
        data[name] = table[:, i]
    PlyData([PlyElement.describe(data, "vertex")]).write(str(path))


def read_gaussians_ply(path: Path) -> Gaussians:
    """Read a standard 3DGS PLY (from splatcine or another trainer) into `Gaussians`."""
    vertex = _read_vertex(path, "PLY file")
    names = set(vertex.data.dtype.names)
    n_rest = sum(1 for name in names if name.startswith("f_rest_"))
    missing = [name for name, _ in _gaussian_fields(n_rest) if name not in names and name[0] != "n"]
    if missing:
        raise InputError(f"{path}: not a 3DGS splat (vertex property '{missing[0]}' is missing)")
    k = n_rest // 3 + 1
    if n_rest % 3 or math.isqrt(k) ** 2 != k:
        raise InputError(f"{path}: {n_rest} f_rest_* properties is not a whole number of SH bands")

    def cols(*keys: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(vertex[key], np.float32) for key in keys], axis=1))

    n = len(vertex.data)
    rest = torch.zeros(n, 0)
    if n_rest:
        rest = cols(*(f"f_rest_{i}" for i in range(n_rest)))
    rest = rest.reshape(n, 3, k - 1).transpose(1, 2)
    sh = torch.cat([cols("f_dc_0", "f_dc_1", "f_dc_2")[:, None], rest], dim=1)
    gaussians = Gaussians(
        means=cols("x", "y", "z"),
        quats=cols("rot_0", "rot_1", "rot_2", "rot_3"),
        log_scales=cols("scale_0", "scale_1", "scale_2"),
        opacity_logits=cols("opacity")[:, 0],
        sh=sh.contiguous(),
    )
    if not all(torch.isfinite(t).all() for t in gaussians.tensors().values()):
        raise InputError(f"{path}: the splat holds non-finite values")
    _check_sizes(path, gaussians)
    return gaussians


# Median Gaussian size over the diagonal of the box their centres span. Four splats measured
# here (procedural sets, 29k-346k Gaussians): median 0.0008-0.0024, largest 0.0032. A median
# above 100, five orders higher, means every Gaussian dwarfs the scene: nothing renders sensibly.
MAX_MEDIAN_SCALE_OVER_EXTENT = 100.0


def _check_sizes(path: Path, gaussians: Gaussians) -> None:
    """Refuse splats that would render as nothing: no Gaussians, or absurd scales."""
    if len(gaussians) == 0:
        raise InputError(f"{path}: the splat holds no Gaussians")
    if gaussians.log_scales.max() > 80:  # exp(88) overflows float32; 80 is e^80 ~ 5e34 units already
        raise InputError(f"{path}: scale_* (log scales) reach {float(gaussians.log_scales.max()):.3g}: "
                         f"the Gaussians would be infinitely large")  # fmt: skip
    diagonal = float(torch.linalg.norm(gaussians.means.amax(0) - gaussians.means.amin(0)))
    median = float(gaussians.log_scales.amax(1).median().exp())
    if diagonal > 0 and median > MAX_MEDIAN_SCALE_OVER_EXTENT * diagonal:
        raise InputError(f"{path}: the median Gaussian ({median:.3g}) is {median / diagonal:.3g}x the size "
                         f"of the whole scene ({diagonal:.3g}); scale_* must be log scales")  # fmt: skip


def read_gaussian_shots(path: Path) -> np.ndarray | None:
    """The `shot` of every Gaussian of a splat PLY [N] int, or None when the file records none."""
    vertex = _read_vertex(path, "PLY file")
    if SHOT not in vertex.data.dtype.names:
        return None
    return np.rint(np.asarray(vertex[SHOT], np.float64)).astype(np.int64)


def _read_vertex(path: Path, what: str):
    """The `vertex` element of a PLY file; InputError naming the file when it cannot be read."""
    try:
        return PlyData.read(str(path))["vertex"]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as err:  # plyfile raises several types for a malformed file
        raise InputError(f"{path}: not a readable {what} ({err})") from None
