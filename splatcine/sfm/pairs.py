"""Two-view geometry between frames: what links two frames, and how much parallax it holds.

Used before mapping: a suspected cut is confirmed when the frames on either side of it
share no verified matches (`is_geometric_cut`), and a shot that only rotates is told
apart from one that moves, twice: by the motion no homography explains (`pair_parallax`,
which a dominant plane such as a floor, a table or a wall does not fool), and by the share
of matches one camera rotation explains between distant frames (`rotation_share`, which
a mover in front of a panning camera does not fool: its motion is parallax to the first
test, but it is a minority of what the rotation leaves out).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycolmap
from scipy import ndimage

from splatcine.sfm.runtime import MATCHING_THREADS, extract_in_order, pinned, quiet

# Two frames are linked when COLMAP's verification keeps at least this many inlier matches.
# Measured (SIFT, 960 px, `count_verified_matches`): across the five hard cuts of cuts/bikes.mp4
# 0-24 (spurious RANSAC survivors of unrelated views; COLMAP's own floor is 15); consecutive frames
# of one shot in the corpus 150 and more; the 2-second jump of tokyo_jumpcut see the benchmark.
MIN_LINKING_MATCHES = 40
THREADS = 2  # as `SfmSettings.num_threads`: the count is fixed so the answer does not depend on the machine


def count_verified_matches(a: np.ndarray, b: np.ndarray, seed: int = 0) -> int:
    """Inlier matches COLMAP verifies between two uint8 RGB frames [H, W, 3] (SIFT, exhaustive)."""
    from splatcine.io.video import write_image

    with tempfile.TemporaryDirectory() as tmp, quiet():
        root = Path(tmp)
        (root / "images").mkdir()
        write_image(root / "images" / "a.png", a)
        write_image(root / "images" / "b.png", b)
        db_path = root / "database.db"
        extraction = pinned(pycolmap.FeatureExtractionOptions(), THREADS, seed)
        extraction.use_gpu = False
        extract_in_order(db_path, root / "images", ["a.png", "b.png"], pycolmap.CameraMode.PER_IMAGE,
                         pycolmap.ImageReaderOptions(), extraction)
        verification = pinned(pycolmap.TwoViewGeometryOptions(), MATCHING_THREADS, seed)
        matching = pinned(pycolmap.FeatureMatchingOptions(), MATCHING_THREADS, seed)
        matching.use_gpu = False
        pycolmap.match_exhaustive(str(db_path), matching, verification_options=verification,
                                  device=pycolmap.Device.cpu)
        db = pycolmap.Database.open(str(db_path))
        try:
            _, geometries = db.read_two_view_geometries()
            return max((len(g.inlier_matches) for g in geometries), default=0)
        finally:
            db.close()


def is_geometric_cut(a: np.ndarray, b: np.ndarray) -> bool:
    """True when nothing links frame `a` to frame `b` (the next one): a real cut, not a jump."""
    return count_verified_matches(a, b) < MIN_LINKING_MATCHES


# A match is off the dominant homography when its transfer error is over this many times the
# pair's typical error (the median, which the plane's matches set) and over OFF_PLANE_MIN_PX.
# For matches that do fit one homography errors are noise with heavy tails: on rotation_only_warp
# (an exact pan, resampled and H.264-encoded) 5-9% of a pair's matches are beyond 4x the median
# alone, 0.7-2.4% beyond both 4x and 2 px (`tests/sfm/test_pairs.py` has the noise-free case).
OFF_PLANE_FACTOR = 4.0
OFF_PLANE_MIN_PX = 2.0  # frames are at most 960 px wide here: 2 px is 0.1-0.4 degrees
# ... and the off-plane matches are structure, not stray mismatches, when they are at least this
# share of the pair's verified matches (and at least MIN_OFF_PLANE of them): twice the largest
# share the exact pan leaves (2.4%); an object over a dominant plane is 10% and more of the
# matches (the procedural tabletop; the synthetic pairs of the tests: 15%).
MIN_OFF_PLANE_SHARE = 0.05
MIN_OFF_PLANE = 12


@dataclass(frozen=True)
class PairParallax:
    """The parallax of one verified frame pair: the motion no homography explains."""

    median_deg: float  # median transfer error of all matches under their best homography
    off_plane_deg: float  # median error of the matches off that homography (0 when too few)
    off_plane_share: float  # share of the matches that are off it

    @property
    def parallax_deg(self) -> float:
        return max(self.median_deg, self.off_plane_deg)


def pair_parallax(xy1: np.ndarray, xy2: np.ndarray, focal_px: float) -> PairParallax:
    """Parallax of matched points [M, 2] -> [M, 2] of two frames, as angles at focal `focal_px`.

    Any rotation (and any lens) maps one frame onto another by a homography, as does a
    plane seen from anywhere: the transfer error left by the best homography is parallax.
    Its median alone (the dominant plane's) reads a move over a textured floor as a pan,
    so the matches well off the homography are measured too, when they are many.
    """
    estimate = pycolmap.estimate_homography_matrix(xy1, xy2)
    if estimate is None:
        return PairParallax(0.0, 0.0, 0.0)
    proj = np.c_[xy1, np.ones(len(xy1))] @ np.asarray(estimate["H"]).T
    error = np.linalg.norm(proj[:, :2] / proj[:, 2:3] - xy2, axis=1)
    median = float(np.median(error))
    off = error > max(OFF_PLANE_FACTOR * median, OFF_PLANE_MIN_PX)
    share = float(off.mean())
    off_error = float(np.median(error[off])) if off.sum() >= max(MIN_OFF_PLANE, MIN_OFF_PLANE_SHARE * len(error)) else 0.0
    to_deg = lambda px: float(np.degrees(np.arctan(px / focal_px)))  # noqa: E731
    return PairParallax(to_deg(median), to_deg(off_error), share)


# A match fits a camera rotation when the rotation maps it within this share of the long side (at
# least ROTATION_TOL_MIN_PX): 2.4 px on 960 px frames, where SIFT keypoints after H.264 sit within
# about 1 px; on rotation_only_warp (an exact pan, resampled and encoded) 94-98% of a distant pair's
# matches fit, and on the procedural pan (320 px, so 1 px) 98%.
ROTATION_TOL = 0.0025
ROTATION_TOL_MIN_PX = 1.0
ROTATION_FOCALS = np.geomspace(0.3, 4.0, 24)  # focal lengths tried, x the long side (the lens is unknown here)
ROTATION_PAIRS = 12  # distant pairs measured per shot (about 1 s each)
# An overlay (a logo, a watermark, a caption) holds still at the same pixels while the image
# moves. Its matches are left out of the rotation's evidence: on DAVIS lady running, a camera
# following a runner, the broadcaster's logo in a corner was the still part that made the
# report say "part of the frame holds still" (21% of the distant matches at 0.2 degrees).
# A match is on an overlay when it moves less than OVERLAY_PX between the two frames (the logo's
# matches move 0.1-0.3 px between frames 30 apart; a hand-held still camera's platform, the
# least still part of a still camera measured, 2-17 px on train running) and lies in a patch of
# such matches at most OVERLAY_CELLS cells of an OVERLAY_GRID x OVERLAY_GRID grid wide and high
# (the logo: 6-11% of the width, 1-5% of the height). A camera on a tripod holds a whole band of
# the set this still, which spans the frame (the procedural passing train: 95-98% of the width),
# so it stays evidence; and where most matches hold still the camera does, and nothing is left out
# (a still camera's set seen through sparse texture breaks into small still patches too).
OVERLAY_PX = 1.0
OVERLAY_GRID = 8
OVERLAY_CELLS = 2
# The outer band of the frame (this share of the width or the height from any side) where a
# still part that frames the view lies (`SfmSettings.still_edge_share`); 36% of the frame's area.
EDGE_BAND = 0.1


@dataclass(frozen=True)
class ShotGeometry:
    """What the verified matches of a shot say before mapping."""

    parallax_deg: float  # 90th percentile over matched pairs of `PairParallax.parallax_deg`
    rotation_share: float  # median over frames of `rotation_share` with their most distant matched partner
    pairs: list[PairParallax]
    rotation_deg: float = 0.0  # median over the same frames of the angle of that best rotation
    edge_share: float = 0.0  # median over the same frames of the share of its matches in the outer band


def rotation_share(xy1: np.ndarray, xy2: np.ndarray, size: tuple[int, int], hypotheses: int = 300,
                   max_points: int = 600, seed: int = 0) -> float:
    """The largest share of matched points [M, 2] -> [M, 2] of two frames of `size` (w, h) that one
    camera rotation maps onto each other (`best_rotation`)."""
    return best_rotation(xy1, xy2, size, hypotheses, max_points, seed)[0]


def best_rotation(xy1: np.ndarray, xy2: np.ndarray, size: tuple[int, int], hypotheses: int = 300,
                  max_points: int = 600, seed: int = 0) -> tuple[float, float]:
    """(share, degrees): the largest share of matched points [M, 2] -> [M, 2] of two frames of
    `size` (w, h) that one camera rotation maps onto each other, and the angle of that rotation
    (`_fit_rotation`)."""
    fits, _, degrees = _fit_rotation(xy1, xy2, size, hypotheses, max_points, seed)
    return (float(fits.mean()), degrees) if len(fits) else (0.0, 0.0)


def still_part(xy1: np.ndarray, xy2: np.ndarray, size: tuple[int, int]) -> tuple[float, float, float]:
    """(share, degrees, edge share) of matched points [M, 2] -> [M, 2] of two frames of `size` (w, h)
    once the matches on an overlay are left out (`overlay_matches`): `best_rotation`, and the
    share of the matches that rotation explains which lie in the frame's outer band (`EDGE_BAND`)."""
    keep = ~overlay_matches(xy1, xy2, size)
    fits, xy, degrees = _fit_rotation(xy1[keep], xy2[keep], size)
    if not fits.any():
        return 0.0, 0.0, 0.0
    w, h = size
    x, y = xy[fits].T
    edge = (np.minimum(x, w - x) < EDGE_BAND * w) | (np.minimum(y, h - y) < EDGE_BAND * h)
    return float(fits.mean()), degrees, float(edge.mean())


def overlay_matches(xy1: np.ndarray, xy2: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Which matched points [M, 2] -> [M, 2] of two frames of `size` (w, h) lie on an overlay: a
    small patch that holds still to the pixel (`OVERLAY_PX`, `OVERLAY_CELLS`); [M] bool."""
    still = np.linalg.norm(xy2 - xy1, axis=1) < OVERLAY_PX
    if still.mean() > 0.5:  # the camera holds still, not a patch on top of its picture
        return np.zeros(len(xy1), bool)
    cells = np.minimum((xy1 / np.asarray(size) * OVERLAY_GRID).astype(int), OVERLAY_GRID - 1)  # [M, 2] (col, row)
    grid = np.zeros((OVERLAY_GRID, OVERLAY_GRID), bool)
    grid[cells[still, 1], cells[still, 0]] = True
    patches, _ = ndimage.label(grid, structure=np.ones((3, 3)))
    small = [0] + [rows.stop - rows.start <= OVERLAY_CELLS and cols.stop - cols.start <= OVERLAY_CELLS
                   for rows, cols in ndimage.find_objects(patches)]
    return still & np.asarray(small, bool)[patches[cells[:, 1], cells[:, 0]]]


def _fit_rotation(xy1: np.ndarray, xy2: np.ndarray, size: tuple[int, int], hypotheses: int = 300,
                  max_points: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """The camera rotation that maps the most of matched points [M, 2] -> [M, 2] of two frames of
    `size` (w, h) onto each other, over the focal lengths `ROTATION_FOCALS` (principal point at
    the centre): RANSAC on two-match samples, each giving the rotation by Kabsch (Umeyama).
    Returns which matches fit it [K] and where they are in the first frame [K, 2] (K: a random
    subset of at most `max_points`), and its angle in degrees.

    A camera that turns about one spot, or stands still, explains every static match this way and
    leaves out only movers and mismatches; a camera that moves leaves out everything near enough
    to show parallax.
    """
    if len(xy1) < 8:
        return np.zeros(0, bool), np.zeros((0, 2)), 0.0
    w, h = size
    centre, tol = np.array([(w - 1) / 2, (h - 1) / 2]), max(ROTATION_TOL_MIN_PX, ROTATION_TOL * max(w, h))
    rng = np.random.default_rng(seed)
    if len(xy1) > max_points:  # the share of a random subset: within 2% (binomial) at this size
        keep = rng.choice(len(xy1), max_points, replace=False)
        xy1, xy2 = xy1[keep], xy2[keep]
    samples = rng.integers(0, len(xy1), size=(hypotheses, 2))
    samples = samples[samples[:, 0] != samples[:, 1]]

    def fit(focal: float) -> tuple[float, float, np.ndarray]:  # the best hypothesis here: (share, focal, fits [M])
        rays1, rays2 = _rays(xy1, centre, focal), _rays(xy2, centre, focal)
        a, b = rays1[samples], rays2[samples]  # [S, 2, 3]
        a = np.concatenate([a, np.cross(a[:, 0], a[:, 1])[:, None]], axis=1)
        b = np.concatenate([b, np.cross(b[:, 0], b[:, 1])[:, None]], axis=1)
        rotated = np.einsum("sij,mj->smi", _kabsch(a, b), rays1)  # [S, M, 3]
        depth = rotated[..., 2]
        xy = rotated[..., :2] / np.where(depth > 1e-6, depth, 1.0)[..., None] * focal + centre
        fits = (np.linalg.norm(xy - xy2, axis=-1) < tol) & (depth > 1e-6)
        best = int(fits.mean(axis=1).argmax())
        return float(fits[best].mean()), focal, fits[best]

    long_side = max(w, h)
    coarse = {f: fit(f * long_side) for f in ROTATION_FOCALS}
    step = ROTATION_FOCALS[1] / ROTATION_FOCALS[0]
    best = max(coarse, key=lambda f: coarse[f][0])  # then finer around the best: a focal 6% off misplaces the edges
    fine = [fit(f * long_side) for f in best * step ** np.linspace(-0.5, 0.5, 6)]
    share, focal, fits = max([coarse[best], *fine], key=lambda fitted: fitted[0])
    # the angle from all the matches that fit, not from the two that chose them: hypotheses a
    # little off fit as many matches (the still-camera test: 1.2 degrees from a pair, 0.05 refit)
    rotation = _kabsch(_rays(xy1[fits], centre, focal)[None], _rays(xy2[fits], centre, focal)[None])[0]
    cos = (np.trace(rotation) - 1.0) / 2.0
    return fits, xy1, float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def _kabsch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotations [S, 3, 3] taking each set of rays a [S, K, 3] closest onto b [S, K, 3] (b = R a)."""
    u, _, vt = np.linalg.svd(np.einsum("sni,snj->sij", b, a))
    u[:, :, 2] *= np.linalg.det(u @ vt)[:, None]  # a proper rotation, not a reflection
    return u @ vt


def _rays(xy: np.ndarray, centre: np.ndarray, focal: float) -> np.ndarray:
    """Unit viewing rays [M, 3] of pixels [M, 2] through a pinhole at `focal` and `centre`."""
    rays = np.c_[(xy - centre) / focal, np.ones(len(xy))]
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def shot_parallax(db_path: Path, min_matches: int = 30) -> ShotGeometry:
    """Parallax before mapping: the 90th percentile over matched frame pairs (not the max: one
    bad pair is no move), and the share of matches a rotation explains between distant frames
    (each frame and its most distant matched partner, before or after it in the order of the
    names: at the end of a shot the next frames are few and close). COLMAP's own
    two-view decomposition is no help here: a pan comes back as "planar" with a made-up translation."""
    db = pycolmap.Database.open(str(db_path))
    try:
        pair_ids, geometries = db.read_two_view_geometries()
        cams = {c.camera_id: c for c in db.read_all_cameras()}
        images = {im.image_id: im for im in db.read_all_images()}
        order = {i: k for k, i in enumerate(sorted(images, key=lambda i: images[i].name))}
        keypoints: dict[int, np.ndarray] = {}
        pairs, farthest = [], {}
        for pair_id, geometry in zip(pair_ids, geometries):
            matches = geometry.inlier_matches
            if len(matches) < min_matches:
                continue
            id1, id2 = pycolmap.pair_id_to_image_pair(pair_id)
            for i in (id1, id2):
                if i not in keypoints:
                    keypoints[i] = db.read_keypoints(i)[:, :2].astype(np.float64)
            camera = cams[images[id1].camera_id]
            xy1, xy2 = keypoints[id1][matches[:, 0]], keypoints[id2][matches[:, 1]]
            pairs.append(pair_parallax(xy1, xy2, camera.mean_focal_length()))
            gap = abs(order[id2] - order[id1])
            for frame in (order[id1], order[id2]):  # each frame's most distant partner, either way
                if camera.camera_id == images[id2].camera_id and gap > farthest.get(frame, (0,))[0]:
                    farthest[frame] = (gap, id1, id2, (camera.width, camera.height))
        # all the pair's matches, not only the verified inliers: verification keeps what fits the
        # model it chose, and on a pair it calls planar or panoramic that is a homography's inliers
        # (a rotation then explains most of them, even on an orbit)
        rotation = []  # (share, degrees, edge share) per frame measured (`still_part`)
        frames = sorted(farthest)
        for frame in frames[::max(1, len(frames) // ROTATION_PAIRS)]:  # spread over the shot
            _, id1, id2, size = farthest[frame]
            matches = db.read_matches(id1, id2)
            rotation.append(still_part(keypoints[id1][matches[:, 0]], keypoints[id2][matches[:, 1]], size))
    finally:
        db.close()
    share, degrees, edge = np.median(rotation, axis=0) if rotation else (0.0, 0.0, 0.0)
    return ShotGeometry(float(np.percentile([p.parallax_deg for p in pairs], 90)) if pairs else 0.0,
                        float(share), pairs, float(degrees), float(edge))
