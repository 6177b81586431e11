"""The Gaussians a run starts from: the scene's SfM points, or random ones inside the camera bounds."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree

from splatcine.errors import InputError
from splatcine.gaussians import Gaussians, rgb_to_sh_dc


def scene_extent(camera_centers: np.ndarray, points: np.ndarray) -> float:
    """The length that scales position learning rates and size thresholds.

    As in 3DGS: 1.1 x the largest distance of a camera from the cameras' mean centre.
    A shot whose camera barely moves (a slow dolly, a pan) would make that tiny, so it
    is floored at half the median distance from the cameras to the points.
    """
    centers = np.asarray(camera_centers, dtype=np.float64).reshape(-1, 3)
    radius = 1.1 * float(np.linalg.norm(centers - centers.mean(0), axis=1).max(initial=0.0))
    if len(points):
        depth = np.linalg.norm(np.asarray(points)[:, None] - centers.mean(0), axis=-1)
        radius = max(radius, 0.5 * float(np.median(depth)))
    return radius if radius > 0 else 1.0


def remove_outliers(points: np.ndarray, neighbors: int, std_ratio: float) -> np.ndarray:
    """Indices of the points that open3d's statistical outlier removal keeps."""
    if neighbors <= 0 or len(points) <= neighbors:
        return np.arange(len(points))
    import open3d as o3d  # slow to import; only initialisation needs it

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    _, kept = cloud.remove_statistical_outlier(nb_neighbors=neighbors, std_ratio=std_ratio)
    return np.asarray(kept, dtype=np.int64)


def init_gaussians(
    points: np.ndarray,  # [P, 3]
    colors: np.ndarray,  # [P, 3] uint8
    sh_degree: int,
    opacity: float = 0.1,
    scale: float = 1.0,
) -> Gaussians:
    """One isotropic Gaussian per point, sized by the mean distance to its 3 nearest neighbours."""
    points = np.asarray(points, dtype=np.float64)
    if len(points) < 4:
        raise InputError(f"{len(points)} points are too few to initialise Gaussians from (need 4)")
    dist, _ = cKDTree(points).query(points, k=4)  # the first neighbour is the point itself
    mean_dist = np.sqrt(np.mean(dist[:, 1:] ** 2, axis=1)).clip(min=1e-7)
    n = len(points)
    sh = torch.zeros(n, (sh_degree + 1) ** 2, 3)
    sh[:, 0] = rgb_to_sh_dc(torch.from_numpy(np.asarray(colors, np.float32) / 255.0))
    return Gaussians(
        means=torch.from_numpy(points).float(),
        quats=torch.tensor([1.0, 0.0, 0.0, 0.0]).repeat(n, 1),
        log_scales=torch.from_numpy(np.log(scale * mean_dist)).float()[:, None].repeat(1, 3),
        opacity_logits=torch.full((n,), math.log(opacity / (1.0 - opacity))),
        sh=sh,
    )


def random_points(
    camera_centers: np.ndarray, count: int, extent: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`count` points uniform in a cube of half-size `extent` around the cameras' mean centre,
    with random colours (gsplat's and 3DGS's random initialisation)."""
    rng = np.random.default_rng(seed)
    center = np.asarray(camera_centers, dtype=np.float64).reshape(-1, 3).mean(0)
    points = center + extent * rng.uniform(-1.0, 1.0, size=(count, 3))
    return points, rng.integers(0, 256, size=(count, 3), dtype=np.uint8)
