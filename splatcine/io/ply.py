"""PLY files: the only module that imports plyfile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from plyfile import PlyData, PlyElement

from splatcine.errors import InputError


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
    try:
        vertex = PlyData.read(str(path))["vertex"]
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as err:
        raise InputError(f"{path}: not a readable PLY point cloud ({err})") from None
    xyz = np.stack([vertex["x"], vertex["y"], vertex["z"]], axis=1).astype(np.float64)
    names = vertex.data.dtype.names
    rgb = None
    if {"red", "green", "blue"} <= set(names):
        rgb = np.stack([vertex["red"], vertex["green"], vertex["blue"]], axis=1).astype(np.uint8)
    return xyz, rgb
