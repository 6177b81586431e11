"""`train_scene`: a scene directory in, a trained and evaluated Gaussian scene written into it."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from splatcine.atomic import atomic_file
from splatcine.errors import InputError, Interrupted
from splatcine.gaussians import Gaussians
from splatcine.io.ply import write_gaussians_ply
from splatcine.progress import Progress, ProgressCallback, silent
from splatcine.scene import Scene, load_scene
from splatcine.scene import layout
from splatcine.train.config import MCMCConfig, TrainConfig
from splatcine.train.data import View, split_views
from splatcine.train.evaluate import Evaluation, evaluate, write_contact_sheet
from splatcine.train.init import init_gaussians, remove_outliers, scene_extent, view_volume_points
from splatcine.train.trainer import TrainState, checkpoint_meta

CONTACT_SHEET = "contact_sheet.png"  # held-out ground truth beside render
TRAIN_CONFIG = "train_config.json"  # the resolved TrainConfig of the last run


@dataclass(frozen=True)
class TrainProgress(Progress):
    """A training step's report: the generic fields plus typed training figures."""

    iteration: int = 0
    loss: float = math.nan
    psnr: float = math.nan
    num_gaussians: int = 0
    its_per_s: float = 0.0


@dataclass
class TrainResult:
    scene_dir: Path
    splat_path: Path
    gaussians: Gaussians
    iterations: int
    evaluation: Evaluation
    train_seconds: float
    config: TrainConfig
    origin: torch.Tensor | None = None  # [N] index of the starting Gaussian each one descends from (None: resumed)


def train_scene(
    scene_dir: Path,
    config: TrainConfig | None = None,
    progress: ProgressCallback = silent,
    resume: bool = False,
    initial: Gaussians | None = None,
) -> TrainResult:
    """Train Gaussians on a scene directory's frames and write them, evaluated, into it.

    Writes `splat.ply`, `metrics.json`, `contact_sheet.png`, `train_config.json`,
    `checkpoints/` and a `train` entry in the manifest, each file atomically (the
    directory may itself be a temporary one that `reconstruct` renames later).
    Ctrl-C (or SIGTERM) stops after the current step, leaves a checkpoint and raises
    `Interrupted`; `resume=True` continues from the latest checkpoint, with its own config
    unless `config` is given, to the result an uninterrupted run gives.
    `initial` starts from given Gaussians instead of the scene's points (`extend` continues
    a trained splat this way).
    """
    root = Path(scene_dir)
    scene = load_scene(root)
    checkpoints = root / layout.CHECKPOINTS
    latest = latest_checkpoint(checkpoints) if resume else None
    if resume and latest is None:
        raise InputError(f"{checkpoints}: no checkpoint to resume from (training stopped before its "
                         f"first checkpoint?); `splatcine train {root}` starts it again")  # fmt: skip
    config = config or (checkpoint_meta(latest).config if latest is not None else TrainConfig())
    device = torch.device("cuda" if config.device == "cuda" or (
        config.device == "auto" and torch.cuda.is_available()) else "cpu")  # fmt: skip
    train_views, test_views = split_views(scene, config.max_width, config.holdout_every, device)
    extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
    if latest is not None:
        state = TrainState.load(latest, config, device)
    else:
        start = initial if initial is not None else initial_gaussians(scene, config, extent)
        state = TrainState(config, start, len(train_views), extent, device)

    mark_training_started(root, config)
    try:
        train_seconds = run_steps(state, train_views, checkpoints, progress)
    except KeyboardInterrupt:
        raise Interrupted(f"{root}: training stopped at step {state.step_index} of {config.iterations}; "
                          f"checkpoint saved: `splatcine train {root} --resume` continues it") from None
    save_checkpoint(state, checkpoints)  # lets a later `--resume --iterations M` train further

    progress(Progress("evaluate", 0, len(test_views)))
    gaussians = state.gaussians()
    evaluation = evaluate(gaussians, test_views, config.backend, config.antialiased)
    progress(Progress("evaluate", len(test_views), len(test_views),
                      {"psnr": evaluation.psnr or math.nan, "ssim": evaluation.ssim or math.nan}))
    summary = {"preset": config.preset, "iterations": state.step_index, "num_gaussians": len(gaussians),
               "train_seconds": round(train_seconds, 3), "train_frames": len(train_views),
               "held_out_every": config.holdout_every, **evaluation.to_json()}  # fmt: skip
    if state.robust is not None:
        summary["residual_masked_fraction"] = write_residual_masks(root, state, train_views)
    _write_outputs(root, gaussians, evaluation, test_views, summary, config)
    origin = None if latest is not None else state.params["origin"].data.cpu()
    return TrainResult(root, root / layout.SPLAT_PLY, gaussians.to("cpu"), state.step_index,
                       evaluation, train_seconds, config, origin)  # fmt: skip


def run_steps(state: TrainState, views: list[View], checkpoints: Path, progress: ProgressCallback) -> float:
    """Step until `config.iterations`, reporting each step; returns the seconds it took.

    Ctrl-C (or a KeyboardInterrupt from `progress`) ends the run at a step boundary
    with a checkpoint written, then propagates.
    """
    config = state.config
    started, first_step = time.perf_counter(), state.step_index
    with _interrupt_between_steps() as interrupted:
        try:
            while state.step_index < config.iterations:
                step = state.step(views[state.view_for(state.step_index, len(views))])
                done = state.step_index
                if config.checkpoint_every and done % config.checkpoint_every == 0:
                    save_checkpoint(state, checkpoints)
                rate = (done - first_step) / max(time.perf_counter() - started, 1e-9)
                progress(TrainProgress(
                    "train", done, config.iterations,
                    {"loss": step.loss, "psnr": step.psnr, "gaussians": step.num_gaussians, "it/s": rate},
                    iteration=done, loss=step.loss, psnr=step.psnr, num_gaussians=step.num_gaussians,
                    its_per_s=rate))  # fmt: skip
                if interrupted.is_set():
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            save_checkpoint(state, checkpoints)
            raise
    return time.perf_counter() - started


def _write_outputs(root: Path, gaussians: Gaussians, evaluation: Evaluation, test_views: list[View],
                   summary: dict, config: TrainConfig) -> None:  # fmt: skip
    """splat.ply, contact sheet, metrics.json, train_config.json and the manifest entry, each atomically."""
    with atomic_file(root / layout.SPLAT_PLY) as tmp:
        write_gaussians_ply(tmp, gaussians)
    if test_views:
        with atomic_file(root / CONTACT_SHEET) as tmp:
            write_contact_sheet(tmp, evaluation, test_views)
    _write_json(root / layout.METRICS, summary)
    _write_json(root / TRAIN_CONFIG, config.model_dump(mode="json"))
    manifest = json.loads((root / layout.MANIFEST).read_text())
    manifest["train"] = {"config": config.model_dump(mode="json"),
                         **{k: summary[k] for k in ("iterations", "num_gaussians", "psnr", "ssim")}}
    _write_json(root / layout.MANIFEST, manifest)
    (root / layout.TRAINING_MARKER).unlink(missing_ok=True)


def mark_training_started(root: Path, config: TrainConfig) -> None:
    """Leave `training.incomplete` in the scene until `_write_outputs` has finished."""
    _write_json(Path(root) / layout.TRAINING_MARKER,
                {"iterations": config.iterations, "preset": config.preset,
                 "resume": f"splatcine train {root} --resume"})  # fmt: skip


def write_residual_masks(root: Path, state: TrainState, views: list[View]) -> dict[int, float]:
    """The robust loss's masks of the training frames into `masks_residual/` (255 = left out at the
    end of training, at the training resolution); returns source frame -> share left out."""
    from splatcine.io.video import write_image

    folder = root / layout.RESIDUAL_MASKS
    folder.mkdir(exist_ok=True)
    shares = {}
    for view in views:
        ignored = state.robust.mask(view.index, view.height, view.width).cpu().numpy()
        with atomic_file(folder / f"{view.name}.png") as tmp:
            write_image(tmp, np.where(ignored, layout.MASK_IGNORE, 0).astype(np.uint8))
        shares[view.source_frame] = round(float(ignored.mean()), 4)
    return shares


def initial_gaussians(scene: Scene, config: TrainConfig, extent: float) -> Gaussians:
    """From the scene's SfM points (outliers removed), random points in the cameras' shared view
    volume, or (init auto) the SfM points joined by random ones when SfM gave too few (see
    `TrainConfig.init`)."""
    points, colors = np.zeros((0, 3)), np.zeros((0, 3), np.uint8)
    if config.init != "random" and len(scene.points):
        kept = remove_outliers(scene.points, config.outlier_neighbors, config.outlier_std_ratio)
        points, colors = scene.points[kept], scene.point_colors[kept]
    if config.init == "sfm" and len(points) < 4:
        raise InputError(f"{scene.root / layout.POINTS_PLY}: the scene has {len(points)} sparse points to "
                         f"initialise from with init 'sfm'; use init 'auto' or 'random' (`splatcine train "
                         f"--init auto`, or `init: auto` in a --train-config file)")  # fmt: skip
    if config.init == "random" or (config.init == "auto" and len(points) < config.init_min_points):
        cams = scene.cameras
        sizes = np.array([(c.intrinsics.width, c.intrinsics.height) for c in cams])
        # At most one random Gaussian per 2x2 pixels of a training frame: enough to cover a view
        # with 2-pixel footprints; more only slows the first steps (and a small test scene down).
        scale = min(1.0, config.max_width / sizes[:, 0].max()) if config.max_width else 1.0
        count = min(config.init_random_count, max(4, int((sizes.prod(1).max() * scale**2) // 4)))
        more, more_colors = view_volume_points(np.stack([c.cam_from_world for c in cams]),
                                               np.stack([c.intrinsics.K for c in cams]), sizes, count, extent,
                                               config.seed)  # fmt: skip
        points, colors = np.concatenate([points, more]), np.concatenate([colors, more_colors])
    if isinstance(config.strategy, MCMCConfig) and len(points) > config.strategy.cap_max:
        pick = np.random.default_rng(config.seed).choice(len(points), config.strategy.cap_max, replace=False)
        points, colors = points[np.sort(pick)], colors[np.sort(pick)]
    return init_gaussians(points, colors, config.sh_degree, config.init_opacity, config.init_scale)


def latest_checkpoint(directory: Path) -> Path | None:
    found = sorted(Path(directory).glob("step_*.safetensors"))
    return found[-1] if found else None


def save_checkpoint(state: TrainState, directory: Path) -> Path:
    """Write `step_NNNNNNN.safetensors` and drop the older ones."""
    path = Path(directory) / f"step_{state.step_index:07d}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    state.save(path)
    for old in Path(directory).glob("step_*.safetensors"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def _write_json(path: Path, doc: dict) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")


@contextlib.contextmanager
def _interrupt_between_steps() -> Iterator[threading.Event]:
    """Ctrl-C (or SIGTERM, as `kill` and schedulers send) sets an event the loop checks between
    steps, so the checkpoint is never half a step.

    A second signal interrupts at once. Outside the main thread signals cannot be
    caught and the event simply stays clear.
    """
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in stops}

    def on_stop(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    for sig in stops:
        signal.signal(sig, on_stop)
    try:
        yield event
    finally:
        for sig in stops:
            signal.signal(sig, previous[sig])
