"""COLMAP's SfM pipeline with the checks that make its answer trustworthy.

SIFT on every keyframe (masked pixels excluded), sequential matching in video
order, one shared SIMPLE_PINHOLE camera (square pixels, centred principal point)
with a focal prior of 1.2 x the long side. Generated video has no lens distortion,
so undistortion is the identity and frames are written as they are.

Rotation-only shots are caught before mapping. The global mapper runs first; its
model is checked (focal plausibility, registered fraction, point count, track
length, reprojection error), since a model coming back is not success; when only
the focal length ran away the mapper runs again with it held at the prior, then
the incremental mapper is tried. Seeds and thread counts are fixed, so a clip
registers the same frames every run, with poses equal to about 1e-4 of the
scene's size (two threads may still sum in a different order).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pycolmap

from splatcine.cameras import Camera
from splatcine.errors import ReconstructionError
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.sfm.model import ModelStats, SparseModel

Mapper = Literal["global", "incremental"]


@dataclass(frozen=True)
class SfmSettings:
    mapper: Mapper = "global"  # tried first; the other one is the fallback
    focal_prior: float = 1.2  # initial focal length, x the long image side
    max_num_features: int = 8192
    overlap: int = 10  # sequential matching: each frame against the next `overlap` (quadratic)
    num_threads: int = 2
    seed: int = 0
    min_pair_parallax_deg: float = 0.07  # residual motion after a homography (pan ~0.03, moves 0.15+)
    min_parallax_deg: float = 1.0  # median triangulation angle of a trustworthy model
    min_registered_fraction: float = 0.75  # of the keyframes
    min_points: int = 100
    min_track_length: float = 2.5
    max_reprojection_px: float = 2.0
    focal_ratio_range: tuple[float, float] = (0.3, 3.0)  # focal / long side: 19-118 degree field of view


@dataclass(frozen=True)
class MapperAttempt:
    mapper: str
    seconds: float
    stats: ModelStats | None  # None when the mapper returned no model
    problems: list[str]  # why the model is not trusted; empty when accepted
    focal_refined: bool = True  # False: the focal length was held at the prior

    def to_json(self) -> dict:
        return {"mapper": self.mapper, "seconds": round(self.seconds, 2), "focal_refined": self.focal_refined,
                "stats": self.stats.to_json() if self.stats else None, "problems": self.problems}


@dataclass
class SfmResult:
    model: SparseModel
    mapper: str  # the mapper whose model was kept
    stats: ModelStats
    pair_parallax_deg: float  # residual motion after a homography, 90th percentile over frame pairs
    attempts: list[MapperAttempt]
    seconds: dict[str, float] = field(default_factory=dict)  # per stage


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """COLMAP prints nothing while splatcine calls it, and the caller's log level comes back after.

    Even its ERROR lines ("Failed to create any sparse model") only repeat, on stderr and
    in glog's format, what splatcine reports as one line; FATAL (an abort) still prints.
    """
    previous = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = 3
    try:
        yield
    finally:
        pycolmap.logging.minloglevel = previous


@_quiet()
def run_sfm(
    image_dir: Path,
    work_dir: Path,
    *,
    mask_dir: Path | None = None,
    settings: SfmSettings = SfmSettings(),
    progress: ProgressCallback = silent,
) -> SfmResult:
    """Pose the images of `image_dir` (one video's frames, named in order). Raises ReconstructionError."""
    pycolmap.set_random_seed(settings.seed)
    names = sorted(p.name for p in Path(image_dir).iterdir() if p.is_file())
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / "database.db"
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    progress(Progress("features", 0, len(names)))
    _extract(db, image_dir, names, mask_dir, settings)
    seconds["features"] = time.perf_counter() - t
    progress(Progress("features", len(names), len(names)))

    t = time.perf_counter()
    progress(Progress("matching", 0, 1))
    _match(db, settings, sequential=True)
    parallax = _pair_parallax_deg(db)
    seconds["matching"] = time.perf_counter() - t
    progress(Progress("matching", 1, 1, {"parallax_deg": parallax}))
    if parallax < settings.min_pair_parallax_deg:
        raise ReconstructionError(
            f"the camera does not translate: {parallax:.2f} degrees of parallax between frames "
            "(a pan, tilt or zoom from one spot); SfM needs the camera to move through the set"
        )

    model, attempts = _map_with_fallback(db, Path(image_dir), work_dir, len(names), settings, progress)
    seconds.update({f"mapping_{i}_{a.mapper.split()[0]}": a.seconds for i, a in enumerate(attempts)})
    if model is None:
        raise ReconstructionError(_failure_message(attempts, len(names), parallax, settings))
    stats = attempts[-1].stats
    assert stats is not None
    if stats.median_triangulation_deg < settings.min_parallax_deg:
        raise ReconstructionError(
            f"the camera does not translate: {stats.median_triangulation_deg:.1f} degrees of "
            "parallax in the model (median triangulation angle); SfM needs the camera to move"
        )
    return SfmResult(model, attempts[-1].mapper, stats, parallax, attempts, seconds)


def _map_with_fallback(db: Path, image_dir: Path, work_dir: Path, n_images: int, settings: SfmSettings,
                       progress: ProgressCallback) -> tuple[SparseModel | None, list[MapperAttempt]]:
    """The first trusted model of: the chosen mapper, the same with the focal length held at the
    prior when only the focal ran away, the other mapper (likewise). None if none is trusted."""
    plan = [(settings.mapper, True)] + [(m, True) for m in ("global", "incremental") if m != settings.mapper]
    attempts: list[MapperAttempt] = []
    step = 0
    while step < len(plan):
        mapper, refine_focal = plan[step]
        label = mapper if refine_focal else f"{mapper} (focal fixed at the prior)"
        progress(Progress("mapping", step, len(plan), {"mapper": label}))
        t = time.perf_counter()
        model = _map(mapper, db, image_dir, work_dir / f"sparse_{step}", settings, refine_focal)
        stats = model.stats() if model is not None else None
        problems = _problems(stats, n_images, settings)
        attempts.append(MapperAttempt(label, time.perf_counter() - t, stats, problems, refine_focal))
        if not problems:
            progress(Progress("mapping", len(plan), len(plan)))
            return model, attempts
        if refine_focal and problems == [_focal_problem(stats)]:
            # Only the focal length ran away: a shot moving along the optical axis (a dolly)
            # does not constrain it. Keep the plausible prior and map again before anything else.
            plan.insert(step + 1, (mapper, False))
        step += 1
    return None, attempts


@_quiet()
def triangulate_known_poses(
    image_dir: Path,
    cameras: dict[str, Camera],  # image name -> known camera
    work_dir: Path,
    *,
    mask_dir: Path | None = None,
    settings: SfmSettings = SfmSettings(),
) -> SparseModel:
    """Sparse points for images whose cameras are known (features, matching, triangulation)."""
    pycolmap.set_random_seed(settings.seed)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    db_path = work_dir / "database.db"
    names = sorted(cameras)
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = "PINHOLE"
    if mask_dir is not None:
        reader.mask_path = str(mask_dir)  # COLMAP convention: <name>.png, black = ignore
    extraction = _extraction_options(settings)
    pycolmap.extract_features(str(db_path), str(image_dir), image_names=names,
                              camera_mode=pycolmap.CameraMode.PER_IMAGE, reader_options=reader,
                              extraction_options=extraction, device=pycolmap.Device.cpu)
    _match(db_path, settings, sequential=len(names) > 60)
    db = pycolmap.Database.open(str(db_path))
    try:
        ids = {image.name: (image.image_id, image.camera_id) for image in db.read_all_images()}
        model = SparseModel.from_cameras(cameras, ids)
        for camera in model.reconstruction.cameras.values():
            db.update_camera(camera)  # the known intrinsics, not the reader's guess
    finally:
        db.close()
    options = pycolmap.IncrementalPipelineOptions()
    options.num_threads = settings.num_threads
    options.random_seed = settings.seed
    (work_dir / "sparse").mkdir(exist_ok=True)
    rec = pycolmap.triangulate_points(model.reconstruction, str(db_path), str(image_dir),
                                      str(work_dir / "sparse"), options=options)
    return SparseModel(rec)


@_quiet()
def plain_colmap(image_dir: Path, work_dir: Path, mapper: Mapper = "incremental") -> SparseModel | None:
    """COLMAP with pycolmap's defaults (one shared SIMPLE_RADIAL camera, no focal prior, no checks):
    the baseline that the benchmark measures splatcine against. The largest model, or None."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    db = work_dir / "database.db"
    pycolmap.extract_features(str(db), str(image_dir), camera_mode=pycolmap.CameraMode.SINGLE,
                              device=pycolmap.Device.cpu)
    pycolmap.match_sequential(str(db), device=pycolmap.Device.cpu)
    (work_dir / "sparse").mkdir(exist_ok=True)
    try:
        if mapper == "global":
            models = pycolmap.global_mapping(str(db), str(image_dir), str(work_dir / "sparse"))
        else:
            models = pycolmap.incremental_mapping(str(db), str(image_dir), str(work_dir / "sparse"))
    except Exception:  # the baseline failing is a result to report, not a crash
        return None
    return SparseModel(max(models.values(), key=lambda rec: rec.num_reg_images())) if models else None



def _extraction_options(settings: SfmSettings) -> pycolmap.FeatureExtractionOptions:
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = settings.num_threads
    extraction.use_gpu = False
    extraction.sift.max_num_features = settings.max_num_features
    return extraction


def _extract(db: Path, image_dir: Path, names: list[str], mask_dir: Path | None, settings: SfmSettings):
    from splatcine.io.video import image_size

    width, height = image_size(Path(image_dir) / names[0])
    focal = settings.focal_prior * max(width, height)
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model = "SIMPLE_PINHOLE"  # one focal: with two, BA trades fy against fx
    reader.camera_params = f"{focal},{width / 2},{height / 2}"
    if mask_dir is not None:
        reader.mask_path = str(mask_dir)  # COLMAP convention: <name>.png, black = ignore
    pycolmap.extract_features(str(db), str(image_dir), image_names=names,
                              camera_mode=pycolmap.CameraMode.SINGLE, reader_options=reader,
                              extraction_options=_extraction_options(settings), device=pycolmap.Device.cpu)


def _match(db: Path, settings: SfmSettings, sequential: bool) -> None:
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = settings.num_threads
    matching.use_gpu = False
    verification = pycolmap.TwoViewGeometryOptions()
    verification.ransac.random_seed = settings.seed
    if sequential:
        pairing = pycolmap.SequentialPairingOptions()
        pairing.overlap = settings.overlap
        pairing.num_threads = settings.num_threads
        pycolmap.match_sequential(str(db), matching, pairing, verification, device=pycolmap.Device.cpu)
    else:
        pycolmap.match_exhaustive(str(db), matching, verification_options=verification,
                                  device=pycolmap.Device.cpu)


def _pair_parallax_deg(db_path: Path) -> float:
    """Parallax before mapping: 90th percentile over matched frame pairs of their residual motion.

    A pair's residual is the median distance of its inlier matches from the best
    homography between the two frames, as an angle (pixels / focal). Any rotation, and
    any lens, is a homography, so a pan or a static camera leaves ~0 whatever the focal
    length; depth-dependent motion (parallax, what SfM triangulates from) is what remains.
    COLMAP's own two-view decomposition is no help here: a pan comes back as "planar"
    with a made-up translation.
    """
    db = pycolmap.Database.open(str(db_path))
    try:
        pair_ids, geometries = db.read_two_view_geometries()
        cams = {c.camera_id: c for c in db.read_all_cameras()}
        images = {im.image_id: im for im in db.read_all_images()}
        keypoints: dict[int, np.ndarray] = {}
        angles = []
        for pair_id, geometry in zip(pair_ids, geometries):
            matches = geometry.inlier_matches
            if len(matches) < 30:
                continue
            id1, id2 = pycolmap.pair_id_to_image_pair(pair_id)
            for i in (id1, id2):
                if i not in keypoints:
                    keypoints[i] = db.read_keypoints(i)[:, :2].astype(np.float64)
            residual = _homography_residual_px(keypoints[id1][matches[:, 0]], keypoints[id2][matches[:, 1]])
            angles.append(np.degrees(np.arctan(residual / cams[images[id1].camera_id].mean_focal_length())))
    finally:
        db.close()
    return float(np.percentile(angles, 90)) if angles else 0.0  # not the max: one bad pair is no move


def _homography_residual_px(xy1: np.ndarray, xy2: np.ndarray) -> float:
    """Median transfer error (pixels) of matches [M, 2] -> [M, 2] under their best (RANSAC) homography."""
    estimate = pycolmap.estimate_homography_matrix(xy1, xy2)
    if estimate is None:
        return 0.0
    proj = np.c_[xy1, np.ones(len(xy1))] @ np.asarray(estimate["H"]).T
    proj = proj[:, :2] / proj[:, 2:3]
    return float(np.median(np.linalg.norm(proj - xy2, axis=1)))


def _map(mapper: str, db: Path, image_dir: Path, out: Path, settings: SfmSettings,
         refine_focal: bool = True) -> SparseModel | None:
    out.mkdir(parents=True, exist_ok=True)
    try:
        if mapper == "global":
            options = pycolmap.GlobalPipelineOptions()
            options.num_threads = settings.num_threads
            options.random_seed = settings.seed
            options.mapper.num_threads = settings.num_threads
            options.mapper.random_seed = settings.seed
            options.mapper.rotation_averaging.random_seed = settings.seed
            options.mapper.global_positioning.random_seed = settings.seed
            options.mapper.global_positioning.use_gpu = False
            options.mapper.bundle_adjustment.ceres.use_gpu = False
            options.mapper.retriangulation.random_seed = settings.seed
            options.mapper.bundle_adjustment.refine_focal_length = refine_focal
            models = pycolmap.global_mapping(str(db), str(image_dir), str(out), options)
        else:
            options = pycolmap.IncrementalPipelineOptions()
            options.num_threads = settings.num_threads
            options.random_seed = settings.seed
            options.min_model_size = 3
            options.ba_refine_focal_length = refine_focal
            options.mapper.abs_pose_refine_focal_length = refine_focal
            models = pycolmap.incremental_mapping(str(db), str(image_dir), str(out), options)
    except Exception:  # a mapper that gives up raises; that is a failed attempt, not a crash
        return None
    if not models:
        return None
    largest = max(models.values(), key=lambda rec: rec.num_reg_images())
    return SparseModel(largest)


def _problems(stats: ModelStats | None, n_images: int, settings: SfmSettings) -> list[str]:
    if stats is None:
        return ["no model"]
    out = []
    lo, hi = settings.focal_ratio_range
    if not lo <= stats.focal_ratio <= hi:
        out.append(_focal_problem(stats))
    if stats.registered < max(3, settings.min_registered_fraction * n_images):
        out.append(f"{stats.registered}/{n_images} frames registered")
    if stats.points < settings.min_points:
        out.append(f"{stats.points} points")
    elif stats.mean_track_length < settings.min_track_length:
        out.append(f"mean track length {stats.mean_track_length:.1f}")
    if not stats.mean_reprojection_px <= settings.max_reprojection_px:
        out.append(f"reprojection error {stats.mean_reprojection_px:.2f} px")
    return out


def _focal_problem(stats: ModelStats | None) -> str:
    return f"implausible focal length {stats.focal_px:.0f} px" if stats else ""


def _failure_message(attempts: list[MapperAttempt], n_images: int, parallax: float, settings) -> str:
    best = max((a.stats.registered for a in attempts if a.stats), default=0)
    head = ("too few registered frames" if best < settings.min_registered_fraction * n_images
            else "no trustworthy camera model")
    detail = "; ".join(f"{a.mapper} mapper: {', '.join(a.problems)}" for a in attempts)
    return f"{head} ({detail}; {parallax:.2f} degrees of parallax between frames)"
