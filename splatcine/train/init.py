"""The Gaussians a run starts from: the scene's SfM points, random ones in the cameras' shared view, or both."""

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


# A random point belongs to the shared view volume when at least this share of the cameras see
# it (inside the frame, in front, nearer than `FAR_EXTENTS` scene extents). 3DGS samples the
# NeRF-synthetic scenes' known bounding cube; here the cameras themselves bound the volume, so
# an orbit round an object gets the ball every camera sees and a forward move the wedge ahead.
SHARED_VIEW_SHARE = 0.75
FAR_EXTENTS = 3.0


def view_volume_points(
    cam_from_world: np.ndarray,  # [C, 4, 4] OpenCV
    K: np.ndarray,  # [C, 3, 3]
    sizes: np.ndarray,  # [C, 2] (width, height) in pixels
    count: int,
    extent: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`count` random points in the volume most cameras see, with random colours: [count, 3], uint8.

    Candidates are drawn in the frustum of a random camera (a random pixel, depth uniform up to
    `FAR_EXTENTS` x `extent`) and kept where at least `SHARED_VIEW_SHARE` of the cameras see
    them. Where the cameras share too little (under 1% of the candidates kept after several
    draws), the share is halved, down to a single camera.
    """
    rng = np.random.default_rng(seed)
    cam_from_world, K = np.asarray(cam_from_world, np.float64), np.asarray(K, np.float64)
    sizes = np.asarray(sizes, np.float64)
    far = FAR_EXTENTS * extent
    share, kept, drawn = SHARED_VIEW_SHARE, [], 0
    batch = max(4 * count, 4096)
    for _ in range(256):
        pick = rng.integers(len(K), size=batch)
        k, w, h = K[pick], sizes[pick, 0], sizes[pick, 1]
        z = far * rng.uniform(1e-3, 1.0, size=batch)
        x = (rng.uniform(0.0, 1.0, size=batch) * w - k[:, 0, 2]) / k[:, 0, 0] * z
        y = (rng.uniform(0.0, 1.0, size=batch) * h - k[:, 1, 2]) / k[:, 1, 1] * z
        R, t = cam_from_world[pick, :3, :3], cam_from_world[pick, :3, 3]
        candidates = np.einsum("nji,nj->ni", R, np.stack([x, y, z], 1) - t)  # world = R^T (cam - t)
        inside = candidates[seen_share(candidates, cam_from_world, K, sizes, far) >= share]
        kept.append(inside)
        drawn += batch
        total = sum(map(len, kept))
        if total >= count:
            break
        if drawn >= 8 * batch and total < 0.01 * drawn and share * len(K) > 1.0:
            share, kept, drawn = share / 2.0, [], 0  # the cameras share too little: accept fewer
    points = np.concatenate(kept)[:count]
    return points, rng.integers(0, 256, size=(len(points), 3), dtype=np.uint8)


def seen_share(points: np.ndarray, cam_from_world: np.ndarray, K: np.ndarray, sizes: np.ndarray,
               far: float) -> np.ndarray:  # fmt: skip
    """Share [P] of the cameras that see each point [P, 3] inside their frame, at depth (0, far]."""
    seen = np.zeros(len(points))
    for view, k, (w, h) in zip(cam_from_world, K, sizes):
        cam = points @ view[:3, :3].T + view[:3, 3]
        z = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = k[0, 0] * cam[:, 0] / z + k[0, 2]
            y = k[1, 1] * cam[:, 1] / z + k[1, 2]
        seen += (z > 1e-6) & (z <= far) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
    return seen / len(cam_from_world)
