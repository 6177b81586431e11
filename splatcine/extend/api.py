"""`extend`: fold a new shot of the set into a copy of the scene, so the set remembers what it showed.

    localise   the shot's frames registered into the scene (as `check` does); none placed: refuse
    check      the same verdict `check` gives; a failing shot is refused unless `force`
    copy       the scene into a new directory, the placed frames added as shot K (every `every`-th;
               not the frames the check found placed off the shot's path)
    points     new sparse points triangulated from the new frames with their cameras (also added, with
               the frames, to the COLMAP model in sparse/0), kept for training where
               the old splat has nothing near them (parts of the set it had not seen)
    train      from the old splat plus Gaussians on the new points, on old and new frames together
               (no opacity reset, so what the set already held stays as it was)
    record     the manifest lists every shot (source, sha256, frame range); frames carry their shot;
               splat.ply gives each Gaussian the shot that created it (`shot` property; clones and
               splits inherit it from their parent)

The new scene appears whole or not at all; the old one is never touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from splatcine.atomic import atomic_directory
from splatcine.cameras import Camera
from splatcine.check import CheckResult, CheckSettings, assess, localise
from splatcine.errors import InputError, SplatcineError
from splatcine.io.video import write_image
from splatcine.progress import ProgressCallback, silent
from splatcine.scene import Scene, layout, load_scene
from splatcine.scene.transforms import write_transforms

ITERATIONS = 1_000  # training steps of an extension (the preview preset trains a scene in 2,000)
# A triangulated point is new when no old Gaussian lies within this share of the scene's extent:
# on the procedural set an old part's points sit within 0.3% of a Gaussian, a newly seen wall 5%+.
NEW_POINT_DISTANCE = 0.01
KEYFRAMES_FOR_POINTS = 8  # old frames triangulated beside the new ones (nearest to them)


class CheckFailed(SplatcineError):
    """The shot failed the check and `force` was not given."""

    exit_code = 5


@dataclass
class ShotMetrics:
    shot: int
    frames: int  # held-out frames of this shot
    psnr_before: float | None  # the old splat on them
    psnr_after: float | None


@dataclass
class ExtendResult:
    scene: Scene  # the new scene
    shot: int  # the number the folded-in shot got
    frames_added: list[int]  # indices into the new shot of the frames added
    unplaced: list[int]
    new_points: int
    gaussians_by_shot: dict[int, int]
    held_out: list[ShotMetrics]
    check: CheckResult
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def extend(
    scene: Scene | Path | str,
    shot: Path | str,
    out_dir: Path | str,
    *,
    every: int = 1,
    iterations: int = ITERATIONS,
    train_config=None,
    settings: CheckSettings = CheckSettings(),
    force: bool = False,
    overwrite: bool = False,
    progress: ProgressCallback = silent,
) -> ExtendResult:
    """Fold `shot` (a video or frame folder of the set in `scene`) into a copy of it at `out_dir`.

    Trains `iterations` steps without opacity resets, or as `train_config` (a TrainConfig) says.
    Raises ReconstructionError when no frame of the shot can be placed in the set and
    CheckFailed when it fails the check (unless `force`); nothing is written then.
    """
    from splatcine.io.ply import read_gaussian_shots, read_gaussians_ply

    out_dir = Path(out_dir)
    scene = scene if isinstance(scene, Scene) else load_scene(Path(scene))
    if out_dir.exists() and not overwrite and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InputError(f"{out_dir}: already exists (pass --overwrite to replace it)")
    if every < 1:
        raise InputError(f"--every must be at least 1 (got {every})")
    if scene.splat_path is None:
        raise InputError(f"{scene.root}: the scene has no splat.ply yet (run `splatcine train` first)")
    old = read_gaussians_ply(scene.splat_path)
    old_shots = read_gaussian_shots(scene.splat_path)
    old_shots = np.ones(len(old), np.int64) if old_shots is None else old_shots
    number = max(f.shot for f in scene.frames) + 1
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="splatcine-extend-") as work:
        work = Path(work)
        t = time.perf_counter()
        located = localise(scene, Path(shot), work, settings=settings.register, progress=progress)
        verdict = assess(scene, old, located, None, settings, progress)
        seconds["check"] = time.perf_counter() - t
        warnings = [f"check: {f.message}" for f in verdict.findings]
        if not verdict.passed and not force:
            first = verdict.findings[0].message
            raise CheckFailed(f"{shot}: the shot fails the check ({first}; {len(verdict.findings)} finding(s)); "
                              "pass --force to fold it in anyway")
        cameras = located.registration.cameras
        added = [i for i in located.registration.placed if i % every == 0 and i not in verdict.doubtful]
        with atomic_directory(out_dir, overwrite=overwrite) as tmp:
            t = time.perf_counter()
            names = _copy_scene(scene, tmp, located.frames, cameras, added, number, Path(shot))
            seconds["copy"] = time.perf_counter() - t
            t = time.perf_counter()
            new = load_scene(tmp)
            points, colors = _new_points(new, names, old, work / "points", settings)
            seconds["points"] = time.perf_counter() - t
            t = time.perf_counter()
            metrics, counts = _train(tmp, new, old, old_shots, points, colors, number,
                                    train_config or _config(iterations, old), progress)
            seconds["train"] = time.perf_counter() - t
    return ExtendResult(load_scene(out_dir), number, added, located.registration.unplaced, len(points), counts,
                        metrics, verdict, warnings, seconds)


def _copy_scene(scene: Scene, root: Path, frames: list[np.ndarray], cameras: list[Camera | None],
                added: list[int], number: int, shot: Path) -> list[str]:
    """The old scene's files (not its checkpoints) and the added frames as shot `number`; their names."""
    for item in scene.root.iterdir():
        if item.name == layout.CHECKPOINTS or item.name.startswith("."):
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, root / item.name)
    names = []
    for i in added:
        name = f"shot{number}_{i:05d}.png"
        write_image(root / layout.IMAGES / name, frames[i])
        names.append(name)
    old = scene.frames
    all_cameras = [f.camera for f in old] + [cameras[i] for i in added]
    files = [str(f.image_path.relative_to(scene.root)) for f in old] + [f"{layout.IMAGES}/{n}" for n in names]
    sources = [f.source_frame for f in old] + added
    masks = [str(f.mask_path.relative_to(scene.root)) if f.mask_path else None for f in old] + [None] * len(added)
    doc = json.loads((scene.root / layout.TRANSFORMS).read_text())
    extra = {k: v for k, v in doc.items() if k not in ("frames", "camera_model", "fl_x", "fl_y", "cx", "cy",
                                                       "w", "h", "k1", "k2", "p1", "p2")}
    alphas = [str(f.alpha_path.relative_to(scene.root)) if f.alpha_path else None for f in old] + [None] * len(added)
    write_transforms(root / layout.TRANSFORMS, all_cameras, files, sources, masks, extra=extra,
                     alpha_paths=alphas)
    doc = json.loads((root / layout.TRANSFORMS).read_text())
    for frame, shot_of in zip(doc["frames"], [f.shot for f in old] + [number] * len(added)):
        frame["shot"] = shot_of
    (root / layout.TRANSFORMS).write_text(json.dumps(doc, indent=2))
    manifest = json.loads((scene.root / layout.MANIFEST).read_text())
    manifest["shots"] = _shots(manifest, scene) + [
        {"shot": number, "source": str(shot.resolve()), "sha256": _sha256(shot),
         "frames": [min(added), max(added)] if added else None, "frames_added": len(added)}]
    manifest["extended_by"] = "splatcine extend"
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=2))
    return names


def _shots(manifest: dict, scene: Scene) -> list[dict]:
    """The manifest's shot list, or the first shot described from what `reconstruct` recorded."""
    if "shots" in manifest:
        return list(manifest["shots"])
    source = manifest.get("inputs", {}).get("shot", {})
    first = [f.source_frame for f in scene.frames if f.shot == 1]
    return [{"shot": 1, "source": source.get("path"), "sha256": source.get("sha256"),
             "frames": [min(first), max(first)] if first else None, "frames_added": len(first)}]


def _sha256(path: Path) -> str:
    """Of a file; of a folder, of its files' digests in name order."""
    if path.is_dir():
        inner = "".join(_sha256(p) for p in sorted(path.iterdir()) if p.is_file())
        return hashlib.sha256(inner.encode()).hexdigest()
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _new_points(scene: Scene, names: list[str], old, work: Path, settings: CheckSettings
                ) -> tuple[np.ndarray, np.ndarray]:
    """Points triangulated from the added frames (and the old frames nearest them) that no old Gaussian
    lies near: xyz [P, 3], rgb [P, 3] uint8. The added frames, their keypoints and all the points they
    see also go into the scene's COLMAP model (sparse/0) and points.ply, so the next shot registers
    against them and a retraining starts from them."""
    from scipy.spatial import cKDTree

    from splatcine.errors import ReconstructionError
    from splatcine.io.ply import write_points_ply
    from splatcine.sfm import SparseModel, triangulate_known_poses
    from splatcine.sfm.register import add_shot
    from splatcine.train.init import scene_extent

    added = [f for f in scene.frames if f.image_path.name in set(names)]
    if not added:
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    olds = [f for f in scene.frames if f.image_path.name not in set(names)]
    centres = np.array([f.camera.center for f in added])
    distance = np.array([np.linalg.norm(centres - f.camera.center, axis=1).min() for f in olds])
    near = [olds[i] for i in np.argsort(distance)[:KEYFRAMES_FOR_POINTS]]
    cameras = {f.image_path.name: f.camera for f in added + near}
    try:
        model = triangulate_known_poses(scene.root / layout.IMAGES, cameras, work)
    except (ReconstructionError, RuntimeError, ValueError):  # pycolmap gives up on some inputs
        return np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    add_shot(scene.root / layout.SPARSE, model, [f.image_path.name for f in added])
    write_points_ply(scene.root / layout.POINTS_PLY, *SparseModel.read(scene.root / layout.SPARSE).points())
    xyz, rgb = model.points()
    if not len(xyz):
        return xyz, rgb
    extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
    gap, _ = cKDTree(old.means.numpy()).query(xyz)
    keep = gap > NEW_POINT_DISTANCE * extent
    return xyz[keep], rgb[keep]


def _config(iterations: int, old):
    """The preview preset for `iterations` steps at the old splat's SH degree, without opacity resets
    (they would wipe what the set already held) and with room to grow past its Gaussians."""
    from splatcine.train import ADCConfig, resolve_config

    strategy = ADCConfig(refine_start=min(100, iterations), refine_stop=int(0.8 * iterations),
                         reset_every=10 * iterations, max_gaussians=max(150_000, int(1.3 * len(old))))
    return resolve_config("preview", iterations=iterations, sh_degree=old.sh_degree,
                          strategy=strategy.model_dump())


def _train(root: Path, scene: Scene, old, old_shots: np.ndarray, points: np.ndarray, colors: np.ndarray,
           number: int, config, progress: ProgressCallback) -> tuple[list[ShotMetrics], dict[int, int]]:
    """Continue training from the old splat plus Gaussians on the new points; held-out PSNR per shot
    before and after; the Gaussians' shots written into splat.ply."""
    import torch

    from splatcine.atomic import atomic_file
    from splatcine.gaussians import Gaussians
    from splatcine.io.ply import write_gaussians_ply
    from splatcine.train import train_scene
    from splatcine.train.data import split_views
    from splatcine.train.evaluate import evaluate
    from splatcine.train.init import init_gaussians

    start, shots = old, old_shots
    if len(points) >= 4:
        fresh = init_gaussians(points, colors, old.sh_degree, config.init_opacity, config.init_scale)
        start = Gaussians(*(torch.cat([a, b]) for a, b in zip(old.tensors().values(), fresh.tensors().values())))
        shots = np.concatenate([old_shots, np.full(len(fresh), number)])
    (root / layout.SPLAT_PLY).unlink(missing_ok=True)
    _, test_views = split_views(scene, config.max_width, config.holdout_every)
    before = evaluate(old, test_views, config.backend)
    result = train_scene(root, config, progress=progress, initial=start)
    final_shots = shots[result.origin.numpy()]  # densification's children keep their parent's shot
    with atomic_file(root / layout.SPLAT_PLY) as tmp:
        write_gaussians_ply(tmp, result.gaussians, shots=final_shots)
    shot_of = {f.name: f.shot for f in scene.frames}
    metrics = []
    for s in sorted(set(shot_of.values())):
        b = [m.psnr for m in before.frames if shot_of[m.name] == s]
        a = [m.psnr for m in result.evaluation.frames if shot_of[m.name] == s]
        metrics.append(ShotMetrics(s, len(a), float(np.mean(b)) if b else None, float(np.mean(a)) if a else None))
    counts = {int(s): int((final_shots == s).sum()) for s in np.unique(final_shots)}
    return metrics, counts
