"""`reconstruct`: from a shot to a scene directory (ingest -> SfM -> normalise -> write).

Everything is built inside `atomic_directory`, so a failure at any stage leaves
no scene behind, and a later stage (training) is one call added inside the same
block. An already-posed input (a nerfstudio / NeRF `transforms.json` with its
images) skips SfM: its cameras are kept and sparse points are triangulated.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from splatcine.atomic import SCENE_KIND, atomic_directory, atomic_file, check_output_dir
from splatcine.cameras import Camera
from splatcine.errors import InputError, Interrupted, NoParallaxError, ReconstructionError
from splatcine.ingest import IngestSettings, Ingested, ingest
from splatcine.ingest.alpha import alpha_png, check_alpha, composite
from splatcine.io.video import read_image, read_image_alpha, write_image
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.scene import Scene, layout, load_scene
from splatcine.scene.transforms import read_transforms, resolve_image_path, write_transforms
from splatcine.sfm import Normalization, SfmResult, SfmSettings, SparseModel, is_geometric_cut, run_sfm, triangulate_known_poses

from splatcine.train.config import TrainConfig  # pydantic only: no torch

if TYPE_CHECKING:
    from splatcine.train import TrainResult


# The smallest long side SfM is asked to work at. Measured on the procedural orbit, dolly and
# truck (32 frames, `--sfm-only`): at 48 px none registers (too few SIFT features: reported as
# "does not translate"), at 64 px the dolly fails, from 96 px up all three register every keyframe.
MIN_IMAGE_SIZE = 96


@dataclass(frozen=True)
class ReconstructSettings:
    """Every knob of a run, saved resolved in the manifest."""

    ingest: IngestSettings = IngestSettings()
    sfm: SfmSettings = SfmSettings()
    sfm_only: bool = False


@dataclass
class ReconstructReport:
    """The diagnosis of a run, written as report.json and shown by the CLI."""

    input_kind: str  # "video" | "frames" | "posed"
    frames_read: int
    frames_kept: int
    frames_registered: int
    mapper: str | None = None
    mean_reprojection_px: float | None = None
    mean_track_length: float | None = None
    parallax_deg: float | None = None  # median triangulation angle of the sparse points
    pair_parallax_deg: float | None = None  # before mapping: frame-pair motion no homography explains
    rotation_share: float | None = None  # before mapping: share of distant matches one rotation explains
    points: int = 0
    focal_px: float | None = None
    cuts: list[int] = field(default_factory=list)
    blurred: list[int] = field(default_factory=list)
    segment: tuple[int, int] | None = None  # [start, stop) source frames considered
    masks: str = "none"  # "auto" (found by splatcine.masks), "user" (--masks DIR) or "none"
    masked_fraction: dict[int, float] = field(default_factory=dict)  # source frame -> share masked
    masks_sfm_rerun: bool = False  # SfM ran a second time with the automatic masks
    # share of the keyframes (mean) the first SfM pass took no features from (`--masks auto`)
    masks_feature_fraction: float | None = None
    mapper_attempts: list[dict] = field(default_factory=list)
    mapper_reason: str | None = None  # why the kept model was chosen over the other mapper's
    focal_range_px: tuple[float, float] | None = None  # focal lengths that fit about as well
    focal_fit_px: dict[float, float] = field(default_factory=dict)  # focal held (px) -> reprojection error, refit
    mapper_agreement: dict | None = None  # the two mappers' cameras compared
    duplicates: list[int] = field(default_factory=list)  # source frames dropped as repeats
    jumps: list[int] = field(default_factory=list)  # suspected cuts that geometry links across
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return doc


@dataclass
class Reconstruction:
    """What `reconstruct` returns: the scene it wrote and the diagnosis."""

    scene: Scene
    report: ReconstructReport
    training: TrainResult | None = None  # None with sfm_only
    sfm: SfmResult | None = None  # SfM's own result (every trusted model, the comparison); None when posed


def reconstruct(
    shot: Path,
    out_dir: Path,
    *,
    masks: Path | Literal["auto", "none"] | None = "auto",
    max_frames: int = IngestSettings.max_frames,
    mapper: Literal["global", "incremental"] = "incremental",
    segment: int | None = None,
    frame_range: tuple[int, int | None] | None = None,
    max_image_size: int = IngestSettings.max_image_size,
    sfm_only: bool = False,
    train_config: TrainConfig | None = None,
    overwrite: bool = False,
    progress: ProgressCallback = silent,
) -> Reconstruction:
    """Reconstruct `shot` (video, image folder, or posed transforms.json) into scene directory `out_dir`.

    Cameras and sparse points first (written atomically), then, unless `sfm_only`, a
    Gaussian scene trained with `train_config` (default: the preview preset). `masks`:
    "auto" finds moving things in a video or frame folder (`splatcine.masks`), "none" (or
    None) uses whole frames, a path gives the user's own masks (they always win).

    Raises `InputError` for unreadable input, `ReconstructionError` (one line, with the
    reason) when no trustworthy cameras can be recovered; nothing is written then.
    """
    shot = Path(shot)
    if not shot.exists():
        raise InputError(f"{shot}: no such file or folder")
    if mapper not in ("global", "incremental"):
        raise InputError(f"--mapper must be 'global' or 'incremental', not {mapper!r}")
    if max_frames < 3:
        raise InputError(f"--max-frames must be at least 3 (got {max_frames})")
    if max_image_size < MIN_IMAGE_SIZE:
        raise InputError(f"--max-image-size {max_image_size}: frames under {MIN_IMAGE_SIZE} px on the long "
                         f"side keep too few features for SfM; give at least {MIN_IMAGE_SIZE} (default "
                         f"{IngestSettings.max_image_size})")  # fmt: skip
    settings = ReconstructSettings(
        IngestSettings(max_frames=max_frames, max_image_size=max_image_size, segment=segment,
                       frame_range=frame_range),
        SfmSettings(mapper=mapper),
        sfm_only,
    )
    posed = _posed_transforms(shot)
    auto = masks == "auto"
    masks = None if masks in ("auto", "none", None) else Path(masks)
    if posed is not None and masks is not None:
        raise InputError(f"{shot}: --masks is for videos and frame folders; give a posed input's masks "
                         "as mask_path in its transforms.json")
    inputs = [shot] + ([masks] if masks is not None else [])
    check_output_dir(out_dir, overwrite, SCENE_KIND, inputs)  # before any work: refuse early
    with atomic_directory(out_dir, overwrite=overwrite, kind=SCENE_KIND, inputs=inputs) as tmp, \
            tempfile.TemporaryDirectory() as work:
        sfm = None
        if posed is not None:
            report, normalization = _from_posed(posed, tmp, Path(work), settings, progress)
        else:
            report, normalization, sfm = _from_shot(shot, masks, auto, tmp, Path(work), settings, progress)
        _write_manifest(tmp, shot if posed is None else posed, masks, settings, normalization)
        (tmp / layout.REPORT).write_text(json.dumps(report.to_json(), indent=2))
        if not sfm_only:  # marked before the rename: a scene killed in training never looks --sfm-only
            (tmp / layout.TRAINING_MARKER).write_text("{}\n")
    training = None
    if not sfm_only:
        # Training runs on the renamed, complete SfM scene: an interrupted training leaves that
        # scene (valid on its own) and a checkpoint that `splatcine train --resume` continues.
        started = time.perf_counter()
        training = _train(out_dir, train_config, progress)
        report.seconds["train"] = time.perf_counter() - started
        with atomic_file(out_dir / layout.REPORT) as tmp_report:
            tmp_report.write_text(json.dumps(report.to_json(), indent=2))
    return Reconstruction(load_scene(out_dir), report, training, sfm)


def _train(scene_dir: Path, config: TrainConfig | None, progress: ProgressCallback) -> TrainResult:
    from splatcine.train import resolve_config, train_scene  # torch-heavy: only when training

    try:
        return train_scene(scene_dir, config or resolve_config("preview"), progress=progress)
    except Interrupted:  # stopped between steps: its message names the checkpoint
        raise
    except KeyboardInterrupt:  # stopped before the first step
        raise Interrupted(f"{scene_dir}: training interrupted before it started; the cameras are saved "
                          f"and `splatcine train {scene_dir}` trains it") from None


def _from_shot(shot: Path, masks: Path | None, auto: bool, root: Path, work: Path, settings: ReconstructSettings,
               progress: ProgressCallback) -> tuple[ReconstructReport, Normalization, SfmResult]:
    t = time.perf_counter()
    frames = ingest(shot, masks=masks, settings=settings.ingest, progress=progress, confirm_cut=is_geometric_cut)
    seconds = {"ingest": time.perf_counter() - t}
    t = time.perf_counter()
    names = _write_frames(root, work, frames, progress)
    seconds["write_frames"] = time.perf_counter() - t
    sfm_settings = replace(settings.sfm, unordered=frames.is_folder)
    mask_dir = work / "colmap_masks" if frames.masks is not None else None
    result, feature_share = None, None
    try:
        if auto and frames.masks is None and not frames.is_folder:
            result, feature_share = _sfm_without_movers(root, work, frames, names, sfm_settings, seconds,
                                                        progress)
        if result is None:
            result = run_sfm(root / layout.IMAGES, work / "colmap", settings=sfm_settings, progress=progress,
                             mask_dir=mask_dir)
    except ReconstructionError as err:  # name the shot: SfM only saw a folder of keyframes
        raise type(err)(f"{shot}: {err}") from None  # the same kind (a NoParallaxError stays one)
    seconds.update(result.seconds)
    found = None
    if auto and frames.masks is None:  # the user's masks win
        found, result = _auto_masks(shot, root, work, names, result, settings, progress)
        seconds.update(found.seconds)
    t = time.perf_counter()
    normalization = result.model.normalize()
    cameras = result.model.cameras()
    _drop_unregistered(root, names, cameras)
    has_masks = frames.masks is not None or (found is not None and found.mean_fraction > 0)
    _write_model(root, result.model, names, cameras, masked=set(cameras) if has_masks else set(),
                 with_alpha=set(cameras) if frames.alphas is not None else set(),
                 extra={"normalization": normalization.to_json()})
    seconds["write_scene"] = time.perf_counter() - t
    stats = result.stats
    report = ReconstructReport(
        input_kind="frames" if shot.is_dir() else "video",
        frames_read=frames.frames_read,
        frames_kept=len(frames.frames),
        frames_registered=stats.registered,
        mapper=result.mapper,
        mean_reprojection_px=stats.mean_reprojection_px,
        mean_track_length=stats.mean_track_length,
        parallax_deg=stats.median_triangulation_deg,
        pair_parallax_deg=result.pair_parallax_deg,
        rotation_share=result.rotation_share,
        points=stats.points,
        focal_px=stats.focal_px,
        cuts=frames.cuts,
        blurred=frames.blurred,
        segment=frames.considered,
        mapper_attempts=[a.to_json() for a in result.attempts],
        mapper_reason=result.mapper_reason,
        focal_range_px=result.focal_range_px,
        focal_fit_px=result.focal_fit_px,
        mapper_agreement=result.agreement,
        duplicates=frames.duplicates,
        jumps=frames.jumps,
        seconds=seconds,
        warnings=list(result.warnings),
        masks="user" if frames.masks is not None else "auto" if found is not None else "none",
        masked_fraction=_masked_fraction(root, names, cameras) if has_masks else {},
        masks_sfm_rerun=any(k.startswith("masked_") for k in seconds),
        masks_feature_fraction=feature_share,
    )
    if has_masks:
        _write_mask_sheet(root, names, cameras)
    if report.masks == "auto" and (warning := mostly_moving_warning(report.masked_fraction)):
        report.warnings.append(warning)
    if found is not None and (warning := found.unexplained_warning):
        report.warnings.append(warning)
    if frames.jumps:
        listed = ", ".join(str(j) for j in frames.jumps)
        report.warnings.append(f"a jump at frame(s) {listed}: the image changes at once, but matches link the "
                               "frames across it (one location), so it is posed as one shot")
    return report, normalization, result


def mostly_moving_warning(masked_fraction: dict[int, float]) -> str | None:
    """A warning when automatic masks (source frame -> share masked) cover most of the frames."""
    from splatcine.masks.auto import MOSTLY_MOVING

    share = float(np.mean(list(masked_fraction.values()))) if masked_fraction else 0.0
    if share <= MOSTLY_MOVING:
        return None
    return (f"the automatic masks cover {share:.0%} of the frames on average: most of the image disagrees with "
            "one static set (a mover filling the frame, or a generated set that changes), so the cameras and "
            f"masks may both be wrong; look at {layout.MASK_SHEET}, or pass --masks none or your own")


def _sfm_without_movers(root: Path, work: Path, frames: Ingested, names: dict[str, int],
                        sfm_settings: SfmSettings, seconds: dict[str, float],
                        progress: ProgressCallback) -> tuple[SfmResult | None, float | None]:
    """The first SfM pass of `--masks auto`, with no features where flow breaks two-view geometry
    (`splatcine.masks.write_feature_masks`), and the share masked; no result when it fails (whole
    frames are tried next), except when it finds that the camera does not move: the masks took
    away only what moves, so the parallax the whole frame adds would be the movers' (a still or
    turning camera filming a walking animal or a passing train)."""
    from splatcine.masks.auto import SFM_FEATURE_MASKS, write_feature_masks

    if not SFM_FEATURE_MASKS:
        return None, None
    t = time.perf_counter()
    share = write_feature_masks(frames.frames, list(names), work / "colmap_feature_masks", progress)
    seconds["masks_features"] = time.perf_counter() - t
    try:
        result = run_sfm(root / layout.IMAGES, work / "colmap_first", settings=sfm_settings, progress=progress,
                         mask_dir=work / "colmap_feature_masks")
    except NoParallaxError as err:
        raise NoParallaxError(f"with the moving things masked, {err}") from None
    except ReconstructionError:
        return None, share
    result.seconds = {f"first_{k}": v for k, v in result.seconds.items()}
    return result, share


def _auto_masks(shot: Path, root: Path, work: Path, names: dict[str, int], result, settings: ReconstructSettings,
                progress: ProgressCallback):
    """Masks of moving things from the first SfM pass; SfM again with them when they cover enough
    and `splatcine.masks.auto.SFM_RERUN_DEFAULT` allows (off for now: see there)."""
    from splatcine.masks import find_moving

    found = find_moving(root / layout.IMAGES, result.model.cameras(), result.model.points()[0],
                        progress=progress)
    found.seconds = {f"masks_{k}": v for k, v in found.seconds.items()}
    if found.mean_fraction == 0:
        return found, result
    for name in names:  # every kept frame gets a mask (an empty one where it was not registered)
        image_mask = found.masks.get(name)
        if image_mask is None:
            image_mask = np.zeros(read_image(root / layout.IMAGES / name).shape[:2], np.uint8)
        _write_mask(root, work, name, image_mask)
    from splatcine.masks.auto import SFM_RERUN_DEFAULT

    if SFM_RERUN_DEFAULT and found.worth_sfm_rerun:
        try:
            result = run_sfm(root / layout.IMAGES, work / "colmap_masked", settings=settings.sfm,
                             progress=progress, mask_dir=work / "colmap_masks")
        except ReconstructionError as err:
            raise ReconstructionError(f"{shot}: with the moving things masked: {err}") from None
        found.seconds.update({f"masked_{k}": v for k, v in result.seconds.items()})
    return found, result


def _masked_fraction(root: Path, names: dict[str, int], cameras: dict[str, Camera]) -> dict[int, float]:
    """Source frame -> share of the frame its mask ignores, for the frames the scene keeps."""
    return {names[n]: round(float((read_image(root / layout.MASKS / n) >= 128).mean()), 4)
            for n in sorted(cameras, key=names.get)}


def _write_mask_sheet(root: Path, names: dict[str, int], cameras: dict[str, Camera]) -> None:
    from splatcine.masks import write_mask_sheet

    order = sorted(cameras, key=names.get)
    write_mask_sheet(root / layout.MASK_SHEET, [read_image(root / layout.IMAGES / n) for n in order],
                     [read_image(root / layout.MASKS / n) for n in order])


def _write_frames(root: Path, work: Path, frames: Ingested, progress: ProgressCallback) -> dict[str, int]:
    """Kept frames to images/ (and their masks); returns image name -> source frame."""
    (root / layout.IMAGES).mkdir()
    names = {}
    for n, (image, source) in enumerate(zip(frames.frames, frames.source_frames)):
        name = f"frame_{source:05d}.png"
        write_image(root / layout.IMAGES / name, image)
        if frames.alphas is not None:
            (root / layout.ALPHA).mkdir(exist_ok=True)
            write_image(root / layout.ALPHA / name, frames.alphas[n])
        if frames.masks is not None:
            _write_mask(root, work, name, frames.masks[n])
        names[name] = source
        progress(Progress("frames", n + 1, len(frames.frames)))
    return names


def _write_mask(root: Path, work: Path, name: str, mask: np.ndarray) -> None:
    """A mask [H, W] (>= 128 = ignore) into the scene's masks/ and, inverted, where COLMAP reads it."""
    ignore = mask >= 128
    (root / layout.MASKS).mkdir(exist_ok=True)
    (work / "colmap_masks").mkdir(parents=True, exist_ok=True)
    write_image(root / layout.MASKS / name, np.where(ignore, layout.MASK_IGNORE, 0).astype(np.uint8))
    # COLMAP reads <image name>.png and takes no features where the mask is black
    write_image(work / "colmap_masks" / f"{name}.png", np.where(ignore, 0, 255).astype(np.uint8))


def _drop_unregistered(root: Path, names: dict[str, int], cameras: dict[str, Camera]) -> None:
    for name in names:
        if name not in cameras:
            (root / layout.IMAGES / name).unlink()
            (root / layout.MASKS / name).unlink(missing_ok=True)
            (root / layout.ALPHA / name).unlink(missing_ok=True)


def _write_model(root: Path, model: SparseModel, names: dict[str, int], cameras: dict[str, Camera],
                 masked: set[str], extra: dict, with_alpha: set[str] = frozenset()) -> None:
    from splatcine.io.ply import write_points_ply  # here: it loads torch, which `import splatcine` avoids

    model.write(root / layout.SPARSE)
    xyz, rgb = model.points()
    write_points_ply(root / layout.POINTS_PLY, xyz, rgb)
    order = sorted(cameras, key=lambda name: names[name])
    write_transforms(
        root / layout.TRANSFORMS,
        [cameras[name] for name in order],
        [f"{layout.IMAGES}/{name}" for name in order],
        [names[name] for name in order],
        mask_paths=[f"{layout.MASKS}/{name}" if name in masked else None for name in order],
        alpha_paths=[f"{layout.ALPHA}/{name}" for name in order] if with_alpha else None,
        extra=extra,
    )


def _posed_transforms(shot: Path) -> Path | None:
    """The transforms.json of an already-posed input, or None for a video / frame folder."""
    if shot.is_file() and shot.suffix.lower() == ".json":
        return shot
    if shot.is_dir() and (shot / layout.TRANSFORMS).is_file():
        return shot / layout.TRANSFORMS
    return None


def _from_posed(path: Path, root: Path, work: Path, settings: ReconstructSettings,
                progress: ProgressCallback) -> tuple[ReconstructReport, Normalization]:
    t = time.perf_counter()
    cameras_in, entries, _ = read_transforms(path)
    (root / layout.IMAGES).mkdir()
    names, cameras, masked, with_alpha = {}, {}, set(), set()
    for i, (camera, entry) in enumerate(zip(cameras_in, entries)):
        source = int(entry.get("source_frame", i))
        name = f"frame_{source:05d}.png"
        if name in names:
            raise InputError(f"{path}: frames[{i}].source_frame {source} is used by another frame too")
        image, alpha = read_image_alpha(resolve_image_path(path.parent, entry["file_path"]))
        if image.shape[:2] != (camera.intrinsics.height, camera.intrinsics.width):
            raise InputError(f"{path}: frames[{i}]: the image size differs from the file's w/h")
        if i == 0:
            first_has_alpha = alpha is not None
        check_alpha(f"{path}: frames[{i}].file_path", alpha, "frames[0].file_path", first_has_alpha)
        if alpha is not None:  # composited on the known background; alpha kept beside it
            image = composite(image, alpha)
            (root / layout.ALPHA).mkdir(exist_ok=True)
            write_image(root / layout.ALPHA / name, alpha_png(alpha))
            with_alpha.add(name)
        write_image(root / layout.IMAGES / name, image)
        names[name] = source
        cameras[name] = camera
        if entry.get("mask_path"):
            mask = read_image(path.parent / entry["mask_path"])
            _write_mask(root, work, name, mask.max(axis=2) if mask.ndim == 3 else mask)
            masked.add(name)
        progress(Progress("frames", i + 1, len(entries)))
    seconds = {"ingest": time.perf_counter() - t}
    t = time.perf_counter()
    warnings = []
    try:
        model = triangulate_known_poses(root / layout.IMAGES, cameras, work / "colmap", settings=settings.sfm,
                                        mask_dir=work / "colmap_masks" if masked else None)
    except Exception as err:  # pycolmap gives up on some inputs; cameras are still good
        warnings.append(f"no sparse points: triangulation with the known cameras failed ({type(err).__name__})")
        model = SparseModel.from_cameras(cameras)
    seconds["triangulation"] = time.perf_counter() - t
    stats = model.stats()
    if stats.points == 0 and not warnings:
        warnings.append("no sparse points: no features could be triangulated with the known cameras")
    normalization = model.normalize()
    _write_model(root, model, names, model.cameras(), masked=masked, with_alpha=with_alpha,
                 extra={"normalization": normalization.to_json()})
    if with_alpha:
        warnings.append(f"frames with alpha: composited on black ({layout.ALPHA}/ keeps the alpha; "
                        "training puts them over a random background each step)")
    elif stats.points < TrainConfig.model_fields["init_min_points"].default:
        warnings.append("few sparse points: training adds random points in the cameras' shared view (init auto)")
    report = ReconstructReport(
        input_kind="posed",
        frames_read=len(entries),
        frames_kept=len(entries),
        frames_registered=len(entries),
        mean_reprojection_px=stats.mean_reprojection_px if stats.points else None,
        mean_track_length=stats.mean_track_length if stats.points else None,
        parallax_deg=stats.median_triangulation_deg if stats.points else None,
        points=stats.points,
        seconds=seconds,
        warnings=warnings,
    )
    return report, normalization


def _write_manifest(root: Path, source: Path, masks: Path | None, settings: ReconstructSettings,
                    normalization: Normalization) -> None:
    inputs = {"shot": _describe(source)}
    if masks is not None:
        inputs["masks"] = _describe(Path(masks))
    manifest = {
        "kind": SCENE_KIND,
        "splatcine_scene": 1,
        "created_by": "splatcine reconstruct",
        "inputs": inputs,
        "settings": _jsonable(asdict(settings)),
        "versions": {name: _version(name) for name in ("splatcine", "pycolmap", "torch", "numpy")}
        | {"python": platform.python_version()},
        "normalization": normalization.to_json(),
    }
    (root / layout.MANIFEST).write_text(json.dumps(manifest, indent=2))


def _describe(path: Path) -> dict[str, Any]:
    """Path and sha256 of an input file, or of every file of an input folder."""
    path = Path(path).resolve()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    if path.is_file():
        return {"path": str(path), "sha256": _sha256(path)}
    return {"path": str(path), "files": {str(p.relative_to(path)): _sha256(p) for p in files}}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
