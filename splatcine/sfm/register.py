"""Place the frames of a new shot into an existing COLMAP model, in the model's own frame and scale.

The scene's keyframes and the new frames are described with SIFT in one database; every
new frame is matched against the keyframes (exhaustive, or sequential + spatial: a sparse
set of anchor frames against every keyframe, the frames between them against the keyframes
nearest their anchors' poses) and verified two-view. A match to a keyframe keypoint that
observes one of the model's 3D points gives a 2D-3D correspondence; the model's points are
never moved. Each frame's pose is found by LO-RANSAC P3P and refined with its points held
fixed; one focal length is shared by the whole shot (a generated shot has one lens): the
median of the per-frame estimates, then refined by a 1-D search on the summed reprojection
error of all frames. Frames with too few inliers are left unplaced and listed, not guessed.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pycolmap
from scipy.spatial import cKDTree

from splatcine.cameras import Camera, Intrinsics
from splatcine.errors import InputError
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.sfm.colmap import SfmSettings, _extraction_options
from splatcine.sfm.runtime import MATCHING_THREADS, extract_in_order, pinned, quiet
from splatcine.sfm.model import SparseModel

KEY, NEW = "key", "new"  # sub-folders of the work image folder: the scene's keyframes, the new shot


@dataclass(frozen=True)
class RegisterSettings:
    matching: Literal["exhaustive", "sequential"] = "exhaustive"
    max_keyframes: int = 32  # keyframes matched against, evenly spaced over the scene's shot
    anchor_every: int = 6  # sequential: every n-th new frame is matched against all keyframes
    spatial_neighbours: int = 8  # sequential: the others against this many keyframes near their anchors
    focal_prior: float = 1.2  # x the long side, before the shot's own focal is estimated
    # A placed frame needs this many RANSAC inliers: on the procedural set a correct pose had
    # 150+ at 320x180 and wrong ones (moved object, wrong keyframes) under 20.
    min_inliers: int = 30
    min_inlier_ratio: float = 0.25  # and this share of its 2D-3D matches
    max_error_px: float = 4.0  # RANSAC inlier threshold, at the shot's resolution
    point_match_px: float = 0.5  # a re-detected keyframe keypoint is the model's observation within this
    max_num_features: int = 4096
    num_threads: int = 2
    seed: int = 0


@dataclass
class Registration:
    """Where each frame of the new shot sits in the scene (None: could not be placed)."""

    cameras: list[Camera | None]  # [F], scene frame
    inliers: list[int]  # [F] RANSAC inliers of the 2D-3D matches
    correspondences: list[int]  # [F] 2D-3D matches found
    reprojection_px: list[float | None]  # [F] mean inlier reprojection error
    point_ids: list[np.ndarray]  # [F] ids of the model's 3D points among the inliers (empty: unplaced)
    focal_px: float  # the shot's one focal length
    database: Path  # the COLMAP database of the run (keyframes under key/, new frames under new/)
    image_dir: Path  # its image folder
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def placed(self) -> list[int]:
        return [i for i, c in enumerate(self.cameras) if c is not None]

    @property
    def unplaced(self) -> list[int]:
        return [i for i, c in enumerate(self.cameras) if c is None]


@quiet()
def register_frames(
    model_dir: Path,
    keyframe_dir: Path,
    frame_dir: Path,
    work_dir: Path,
    *,
    settings: RegisterSettings = RegisterSettings(),
    progress: ProgressCallback = silent,
) -> Registration:
    """Register every image of `frame_dir` (one shot, named in order) into the COLMAP model at
    `model_dir` whose images are in `keyframe_dir`. Raises InputError for an unusable model."""
    pycolmap.set_random_seed(settings.seed)
    model = _read_model(Path(model_dir))
    work_dir = Path(work_dir)
    images = work_dir / "images"
    images.mkdir(parents=True, exist_ok=True)
    _link(images / KEY, Path(keyframe_dir))
    _link(images / NEW, Path(frame_dir))
    key_names = _pick_keyframes(model, settings.max_keyframes)
    new_names = sorted(p.name for p in Path(frame_dir).iterdir() if p.is_file())
    if not new_names:
        raise InputError(f"{frame_dir}: no frames to register")
    db_path = work_dir / "database.db"
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    progress(Progress("features", 0, 2))
    _extract(db_path, images, [f"{KEY}/{n}" for n in key_names], None, settings)
    progress(Progress("features", 1, 2))
    width, height = _image_size(Path(frame_dir) / new_names[0])
    prior = settings.focal_prior * max(width, height)
    _extract(db_path, images, [f"{NEW}/{n}" for n in new_names], f"{prior},{width / 2},{height / 2}", settings)
    progress(Progress("features", 2, 2))
    seconds["features"] = time.perf_counter() - t

    db = pycolmap.Database.open(str(db_path))
    try:
        ids = {im.name: im.image_id for im in db.read_all_images()}
        key_points = {n: _keyframe_point_ids(db, ids[f"{KEY}/{n}"], model, n, settings) for n in key_names}
    finally:
        db.close()

    t = time.perf_counter()
    if settings.matching == "exhaustive" or len(new_names) <= settings.anchor_every:
        pairs = [(f"{NEW}/{n}", f"{KEY}/{k}") for n in new_names for k in key_names]
        _match_pairs(db_path, work_dir / "pairs.txt", pairs, settings)
        anchors = None
    else:
        anchors = new_names[:: settings.anchor_every]
        if anchors[-1] != new_names[-1]:
            anchors.append(new_names[-1])
        pairs = [(f"{NEW}/{n}", f"{KEY}/{k}") for n in anchors for k in key_names]
        _match_pairs(db_path, work_dir / "pairs_anchors.txt", pairs, settings)
    progress(Progress("matching", 1, 2 if anchors else 1))
    seconds["matching"] = time.perf_counter() - t

    t = time.perf_counter()
    camera = pycolmap.Camera.create_from_model_name(1, "SIMPLE_PINHOLE", prior, width, height)
    if anchors is None:
        matches = _correspondences(db_path, ids, new_names, key_points, model)
        result = _solve(matches, camera, settings)
    else:
        matches = _correspondences(db_path, ids, anchors, key_points, model)
        anchor_result = _solve(matches, camera, settings)
        key_cams = model.cameras()
        near = _spatial_pairs(new_names, anchors, anchor_result, {k: key_cams[k] for k in key_names},
                              settings.spatial_neighbours)
        seconds["matching"] += _timed(_match_pairs, db_path, work_dir / "pairs_spatial.txt", near, settings)
        progress(Progress("matching", 2, 2))
        matches = _correspondences(db_path, ids, new_names, key_points, model)
        result = _solve(matches, camera, settings)
    seconds["pose"] = time.perf_counter() - t
    poses, inliers, errors, used, focal = result
    cameras = []
    for name in new_names:
        pose = poses.get(name)
        if pose is None:
            cameras.append(None)
            continue
        m = np.eye(4)
        m[:3] = pose
        cameras.append(Camera(m, Intrinsics(focal, focal, width / 2, height / 2, width, height)))
    return Registration(
        cameras=cameras,
        inliers=[inliers.get(n, 0) for n in new_names],
        correspondences=[len(matches.get(n, ([], []))[0]) for n in new_names],
        reprojection_px=[errors.get(n) for n in new_names],
        point_ids=[used.get(n, np.zeros(0, np.int64)) for n in new_names],
        focal_px=focal,
        database=db_path,
        image_dir=images,
        seconds=seconds,
    )


def _timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def _read_model(model_dir: Path) -> SparseModel:
    if not (model_dir / "images.bin").is_file() and not (model_dir / "images.txt").is_file():
        raise InputError(f"{model_dir}: no COLMAP model (images.bin) to register into")
    model = SparseModel.read(model_dir)
    if model.reconstruction.num_points3D() == 0:
        raise InputError(f"{model_dir}: the scene's COLMAP model has no 3D points to register against")
    return model


def _link(link: Path, target: Path) -> None:
    if not link.exists():
        os.symlink(target.resolve(), link, target_is_directory=True)


def _image_size(path: Path) -> tuple[int, int]:
    from splatcine.io.video import image_size

    return image_size(path)


def _pick_keyframes(model: SparseModel, limit: int) -> list[str]:
    """At most `limit` registered images with observations, evenly spaced in name (= shot) order."""
    names = [n for n, obs in sorted(model.observations().items()) if len(obs)]
    if len(names) <= limit:
        return names
    return [names[int(round(i))] for i in np.linspace(0, len(names) - 1, limit)]


def _extract(db: Path, images: Path, names: list[str], params: str | None, settings: RegisterSettings) -> None:
    reader = pycolmap.ImageReaderOptions()
    if params is None:  # keyframes: their known cameras are read from the model, not from here
        reader.camera_model = "PINHOLE"
        mode = pycolmap.CameraMode.PER_IMAGE
    else:
        reader.camera_model = "SIMPLE_PINHOLE"
        reader.camera_params = params
        mode = pycolmap.CameraMode.SINGLE
    options = _extraction_options(SfmSettings(max_num_features=settings.max_num_features,
                                              num_threads=settings.num_threads))
    extract_in_order(db, images, names, mode, reader, options)


def _keyframe_point_ids(db, image_id: int, model: SparseModel, name: str, settings: RegisterSettings) -> np.ndarray:
    """For each keypoint detected on a keyframe: the id of the model's 3D point it observes, or -1.

    The model's observations are keypoints of an earlier detection on the same image; the same
    detector finds the same corners, so a keypoint within `point_match_px` is that observation.
    """
    keypoints = db.read_keypoints(image_id)[:, :2].astype(np.float64)
    image = model.reconstruction.find_image_with_name(name)
    obs = [(p.xy, p.point3D_id) for p in image.points2D if p.has_point3D()]
    out = np.full(len(keypoints), -1, np.int64)
    if not obs or not len(keypoints):
        return out
    xy = np.array([o[0] for o in obs])
    pid = np.array([o[1] for o in obs], np.int64)
    dist, nearest = cKDTree(xy).query(keypoints, distance_upper_bound=settings.point_match_px)
    found = np.isfinite(dist)
    out[found] = pid[nearest[found]]
    return out


def _match_pairs(db: Path, pairs_file: Path, pairs: list[tuple[str, str]], settings: RegisterSettings) -> None:
    pairs_file.write_text("".join(f"{a} {b}\n" for a, b in pairs))
    matching = pinned(pycolmap.FeatureMatchingOptions(), MATCHING_THREADS, settings.seed)
    matching.use_gpu = False
    pairing = pinned(pycolmap.ImportedPairingOptions(), MATCHING_THREADS, settings.seed)
    pairing.match_list_path = str(pairs_file)
    verification = pinned(pycolmap.TwoViewGeometryOptions(), MATCHING_THREADS, settings.seed)
    pycolmap.match_image_pairs(str(db), matching, pairing, verification, device=pycolmap.Device.cpu)


def _correspondences(db_path: Path, ids: dict[str, int], new_names: list[str], key_points: dict[str, np.ndarray],
                     model: SparseModel) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per new frame: its keypoints xy [M, 2], the model's 3D points [M, 3] they match (one each) and
    those points' ids [M]."""
    by_id = {ids[f"{KEY}/{k}"]: k for k in key_points}
    wanted = {ids[f"{NEW}/{n}"]: n for n in new_names}
    votes: dict[str, dict[int, dict[int, int]]] = {n: {} for n in new_names}  # frame -> keypoint -> point -> votes
    db = pycolmap.Database.open(str(db_path))
    try:
        pair_ids, geometries = db.read_two_view_geometries()
        keypoints = {i: db.read_keypoints(i)[:, :2].astype(np.float64) for i in wanted}
    finally:
        db.close()
    for pair_id, geometry in zip(pair_ids, geometries):
        a, b = pycolmap.pair_id_to_image_pair(pair_id)
        matches = geometry.inlier_matches
        if a in by_id and b in wanted:
            a, b, matches = b, a, matches[:, ::-1]
        if a not in wanted or b not in by_id or not len(matches):
            continue
        point_ids = key_points[by_id[b]][matches[:, 1]]
        frame_votes = votes[wanted[a]]
        for kp, pid in zip(matches[:, 0], point_ids):
            if pid >= 0:
                counts = frame_votes.setdefault(int(kp), {})
                counts[int(pid)] = counts.get(int(pid), 0) + 1
    points3D = model.reconstruction.points3D
    out = {}
    for image_id, name in wanted.items():
        chosen = [(kp, max(counts, key=counts.get)) for kp, counts in votes[name].items()]
        if not chosen:
            out[name] = (np.zeros((0, 2)), np.zeros((0, 3)), np.zeros(0, np.int64))
            continue
        xy = keypoints[image_id][[kp for kp, _ in chosen]]
        xyz = np.array([points3D[pid].xyz for _, pid in chosen])
        out[name] = (xy, xyz, np.array([pid for _, pid in chosen], np.int64))
    return out


def _solve(matches: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], camera: pycolmap.Camera,
           settings: RegisterSettings):
    """Poses [3, 4] cam_from_world, inlier counts, mean errors, inlier point ids and the shot's one focal."""
    estimation = pinned(pycolmap.AbsolutePoseEstimationOptions(), settings.num_threads, settings.seed)
    estimation.ransac.max_error = settings.max_error_px
    enough = {n: m for n, m in matches.items() if len(m[0]) >= settings.min_inliers}
    # 1. Each frame alone, its focal free: the median is the shot's first focal estimate.
    estimation.estimate_focal_length = True
    refine = pycolmap.AbsolutePoseRefinementOptions()
    refine.refine_focal_length = True
    focals = []
    for xy, xyz, _ in enough.values():
        cam = _copy(camera, camera.params[0])
        result = pycolmap.estimate_and_refine_absolute_pose(xy, xyz, cam, estimation, refine)
        if result is not None and _accepted(result["num_inliers"], len(xy), settings):
            focals.append(cam.params[0])
    focal = float(np.median(focals)) if focals else float(camera.params[0])
    # 2. The focal shared: poses with it held, then a 1-D search on the total reprojection error.
    estimation.estimate_focal_length = False
    fixed = pycolmap.AbsolutePoseRefinementOptions()
    fixed.refine_focal_length = False
    first = {}
    for name, (xy, xyz, _) in enough.items():
        result = pycolmap.estimate_and_refine_absolute_pose(xy, xyz, _copy(camera, focal), estimation, fixed)
        if result is not None and _accepted(result["num_inliers"], len(xy), settings):
            first[name] = result
    if first:
        focal = _shared_focal(first, enough, camera, focal, fixed)
    poses, inliers, errors, used = {}, {}, {}, {}
    for name, (xy, xyz, pids) in enough.items():
        cam = _copy(camera, focal)
        result = pycolmap.estimate_and_refine_absolute_pose(xy, xyz, cam, estimation, fixed)
        if result is None or not _accepted(result["num_inliers"], len(xy), settings):
            inliers[name] = 0 if result is None else int(result["num_inliers"])
            continue
        mask = np.asarray(result["inlier_mask"], bool).reshape(-1)
        pose = result["cam_from_world"]
        poses[name] = pose.matrix()
        inliers[name] = int(mask.sum())
        errors[name] = float(_reprojection(pose, cam, xy[mask], xyz[mask]).mean())
        used[name] = pids[mask]
    return poses, inliers, errors, used, focal


def _shared_focal(first: dict, matches: dict, camera: pycolmap.Camera, focal: float,
                  options: pycolmap.AbsolutePoseRefinementOptions) -> float:
    """The focal minimising the summed squared inlier reprojection error over the frames (poses refit
    at each focal): golden-section search over +-20% of the starting value."""

    def cost(f: float) -> float:
        total = 0.0
        for name, result in first.items():
            xy, xyz, _ = matches[name]
            mask = np.asarray(result["inlier_mask"], bool).reshape(-1)
            cam = _copy(camera, f)
            refined = pycolmap.refine_absolute_pose(result["cam_from_world"], xy, xyz, mask, cam, options)
            pose = refined["cam_from_world"] if refined is not None else result["cam_from_world"]
            err = _reprojection(pose, cam, xy[mask], xyz[mask])
            total += float(np.sum(np.minimum(err, 4.0) ** 2))  # truncated: a stray inlier does not steer
        return total

    lo, hi = np.log(focal / 1.2), np.log(focal * 1.2)
    g = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    ca, cb = cost(np.exp(a)), cost(np.exp(b))
    for _ in range(14):  # 0.618^14 of a 0.36 log-range: 0.04% in focal
        if ca < cb:
            hi, b, cb = b, a, ca
            a = hi - g * (hi - lo)
            ca = cost(np.exp(a))
        else:
            lo, a, ca = a, b, cb
            b = lo + g * (hi - lo)
            cb = cost(np.exp(b))
    return float(np.exp(0.5 * (lo + hi)))


def _accepted(num_inliers: int, num_matches: int, settings: RegisterSettings) -> bool:
    return num_inliers >= settings.min_inliers and num_inliers >= settings.min_inlier_ratio * num_matches


def _copy(camera: pycolmap.Camera, focal: float) -> pycolmap.Camera:
    cam = pycolmap.Camera.create_from_model_name(camera.camera_id, "SIMPLE_PINHOLE", focal, camera.width,
                                                 camera.height)
    cam.params = [focal, camera.params[1], camera.params[2]]
    return cam


def _reprojection(pose: pycolmap.Rigid3d, cam: pycolmap.Camera, xy: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    m = pose.matrix()
    p = xyz @ m[:3, :3].T + m[:3, 3]
    f, cx, cy = cam.params
    uv = p[:, :2] / np.maximum(p[:, 2:3], 1e-9) * f + np.array([cx, cy])
    return np.linalg.norm(uv - xy, axis=1)


def _spatial_pairs(new_names: list[str], anchors: list[str], anchor_result, key_cams: dict[str, Camera],
                   neighbours: int) -> list[tuple[str, str]]:
    """Each new frame against the keyframes nearest (in centre and view direction) to the placed anchors
    on either side of it; frames with no placed anchor near them go against every keyframe."""
    poses = anchor_result[0]
    placed = [new_names.index(a) for a in anchors if a in poses]
    key_names = list(key_cams)
    centres = np.array([key_cams[k].center for k in key_names])
    forwards = np.array([key_cams[k].forward for k in key_names])
    spread = max(float(np.ptp(centres, axis=0).max()), 1e-6)
    pairs = []
    for i, name in enumerate(new_names):
        if name in anchors:
            continue
        near_anchors = sorted(placed, key=lambda a: abs(a - i))[:2]
        if not near_anchors:
            pairs += [(f"{NEW}/{name}", f"{KEY}/{k}") for k in key_names]
            continue
        chosen: set[str] = set()
        for a in near_anchors:
            m = np.eye(4)
            m[:3] = poses[new_names[a]]
            cam = Camera(m, key_cams[key_names[0]].intrinsics)
            score = np.linalg.norm(centres - cam.center, axis=1) / spread + (1.0 - forwards @ cam.forward)
            chosen |= {key_names[j] for j in np.argsort(score)[:neighbours]}
        pairs += [(f"{NEW}/{name}", f"{KEY}/{k}") for k in sorted(chosen)]
    return pairs


def add_shot(model_dir: Path, shot_model: SparseModel, names: list[str], *,
             point_match_px: float = RegisterSettings.point_match_px) -> tuple[int, int]:
    """Fold the images `names` of `shot_model` (posed and triangulated beside some of the model's own
    images, `triangulate_known_poses`) into the COLMAP model at `model_dir`, rewritten in place.

    The new images keep their keypoints and poses and share one camera (a shot has one lens). Each of
    `shot_model`'s points seen in a new image is either the model's own point (when one of its old
    images' keypoints, matched within `point_match_px` as in registration, already observes one:
    the new observations join that point's track, which is not moved) or a new point whose track is
    its new observations plus the free old keypoints it matches. Returns (points added, observations
    added to old points), so a later shot registers against what this one saw.
    """
    rec = pycolmap.Reconstruction(str(model_dir))
    names = sorted(set(names))
    if any(rec.find_image_with_name(n) is not None for n in names):
        raise InputError(f"{model_dir}: the COLMAP model already has images named like the new shot's")
    shot = shot_model.reconstruction
    first = shot.find_image_with_name(names[0]).camera
    camera = pycolmap.Camera.create_from_model_name(max(rec.cameras, default=0) + 1, "PINHOLE",
                                                    first.focal_length_x, first.width, first.height)
    camera.params = list(first.params)
    rec.add_camera_with_trivial_rig(camera)
    new_ids: dict[int, int] = {}  # shot image id -> model image id
    next_id = max(rec.images, default=0) + 1
    for name in names:
        image = shot.find_image_with_name(name)
        keypoints = np.array([p.xy for p in image.points2D]).reshape(-1, 2)
        rec.add_image_with_trivial_frame(pycolmap.Image(name, keypoints, camera.camera_id, next_id),
                                         image.cam_from_world())
        new_ids[image.image_id] = next_id
        next_id += 1
    old_points = _old_keypoints(rec, shot, set(new_ids), point_match_px)
    added = joined = 0
    taken: set[tuple[int, int]] = set()  # old keypoints given to a new point (the lookups predate it)
    for point in shot.points3D.values():
        elements = point.track.elements
        new = [pycolmap.TrackElement(new_ids[e.image_id], e.point2D_idx) for e in elements if e.image_id in new_ids]
        if not new:
            continue
        old = [old_points[e.image_id](e.point2D_idx) for e in elements if e.image_id in old_points]
        owned = [pid for _, _, pid in filter(None, old) if pid >= 0]
        if owned:  # already in the model: the new images observe it too
            for element in new:
                rec.add_observation(owned[0], element)
            joined += len(new)
            continue
        free = {(image_id, idx) for image_id, idx, _ in filter(None, old)} - taken
        if len(new) + len(free) < 2:
            continue
        taken |= free
        free = [pycolmap.TrackElement(image_id, idx) for image_id, idx in sorted(free)]
        track = pycolmap.Track()
        track.add_elements(new + free)
        rec.add_point3D(point.xyz, track, point.color)
        added += 1
    rec.update_point_3d_errors()  # the new points' reprojection errors, as COLMAP's own tools keep them
    rec.write_binary(str(model_dir))
    return added, joined


def _old_keypoints(rec: pycolmap.Reconstruction, shot: pycolmap.Reconstruction, new_ids: set[int],
                   match_px: float) -> dict:
    """Shot image id -> a lookup from its keypoint index to (model image id, keypoint index, point id
    or -1) of the same corner in the model's image of that name (None where none is within `match_px`)."""
    lookups = {}
    for image_id, image in shot.images.items():
        mine = None if image_id in new_ids else rec.find_image_with_name(image.name)
        if mine is None or not mine.num_points2D():
            continue
        xy = np.array([p.xy for p in mine.points2D])
        pid = np.array([p.point3D_id if p.has_point3D() else -1 for p in mine.points2D], np.int64)
        theirs = np.array([p.xy for p in image.points2D]).reshape(-1, 2)
        dist, nearest = cKDTree(xy).query(theirs, distance_upper_bound=match_px)

        def lookup(idx, dist=dist, nearest=nearest, pid=pid, mine_id=mine.image_id):
            return (mine_id, int(nearest[idx]), int(pid[nearest[idx]])) if np.isfinite(dist[idx]) else None

        lookups[image_id] = lookup
    return lookups
