"""Similarity (Sim(3)) alignment of camera paths and pose errors: how SfM is judged.

Used by the tests and the benchmark to compare recovered cameras with known ones.
SfM recovers poses up to a similarity, so centres are aligned with Umeyama's
closed form before errors are measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PoseErrors:
    centre_error_pct: float  # mean camera-centre error after alignment, % of the reference path length
    max_centre_error_pct: float
    rotation_error_deg: float  # mean over frame pairs of the error of their relative rotation
    max_rotation_error_deg: float
    scale: float  # reference units per estimated unit
    step_rotation_error_deg: float  # mean over consecutive frames (as data/README.md)


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) minimising sum |dst - (s R src + t)|^2 for point sets [N, 3] (N >= 3, not collinear)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    U, S, Vt = np.linalg.svd(cov)
    D = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    var_s = (xs**2).sum() / len(src)
    s = float(np.trace(np.diag(S) @ D) / var_s)
    t = mu_d - s * R @ mu_s
    return s, R, t


def path_length(centres: np.ndarray) -> float:
    """Length of the polyline through camera centres [N, 3]."""
    return float(np.linalg.norm(np.diff(centres, axis=0), axis=1).sum())


def pose_errors(
    est_cam_from_world: np.ndarray,  # [N, 4, 4] recovered cameras
    ref_cam_from_world: np.ndarray,  # [N, 4, 4] known cameras of the same frames
) -> PoseErrors:
    """Camera-centre error after a Sim(3) (Umeyama) alignment of the centres, and relative rotation error.

    The rotation error compares every pair's relative rotation R_i R_j^T, so it needs no
    alignment (a straight dolly path leaves the roll of a centre alignment undetermined).
    Over all pairs it measures drift across the whole shot; over consecutive frames only
    (`step_rotation_error_deg`) it is the frame-to-frame error that plain COLMAP's figures
    in data/README.md use. A generated shot that turns more or less than it was told to
    differs a lot between the two.
    """
    est, ref = np.asarray(est_cam_from_world), np.asarray(ref_cam_from_world)
    c_est, c_ref = _centres(est), _centres(ref)
    s, R, t = umeyama(c_est, c_ref)
    aligned = (s * (R @ c_est.T)).T + t
    err = np.linalg.norm(aligned - c_ref, axis=1) / max(path_length(c_ref), 1e-12) * 100.0
    ang = _relative_rotation_error_deg(est, ref, *np.triu_indices(len(est), k=1))
    step = _relative_rotation_error_deg(est, ref, np.arange(len(est) - 1), np.arange(1, len(est)))
    return PoseErrors(float(err.mean()), float(err.max()), float(ang.mean()), float(ang.max()), s,
                      float(step.mean()))


def _relative_rotation_error_deg(est: np.ndarray, ref: np.ndarray,  # [N, 4, 4] each
                                 i: np.ndarray, j: np.ndarray) -> np.ndarray:  # [P] indices -> [P]
    """Angle (degrees) between estimated and reference rotation of cam_i from cam_j, per pair."""
    rel_est = est[i, :3, :3] @ np.swapaxes(est[j, :3, :3], 1, 2)  # cam_i from cam_j
    rel_ref = ref[i, :3, :3] @ np.swapaxes(ref[j, :3, :3], 1, 2)
    diff = rel_ref @ np.swapaxes(rel_est, 1, 2) - np.eye(3)
    # |R - I|_F = 2 sqrt(2) sin(angle / 2): exact near zero, where arccos of the trace is not
    chord = np.linalg.norm(diff, axis=(1, 2)) / (2.0 * np.sqrt(2.0))
    return np.degrees(2.0 * np.arcsin(np.clip(chord, 0.0, 1.0))) if len(i) else np.zeros(1)


def _centres(cam_from_world: np.ndarray) -> np.ndarray:
    R, t = cam_from_world[:, :3, :3], cam_from_world[:, :3, 3]
    return -np.einsum("nji,nj->ni", R, t)
