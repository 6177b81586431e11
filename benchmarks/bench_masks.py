"""Motion-mask benchmark: mask quality, SfM with and without masks, time per stage, pictures.

1. The procedural `walkers` clip (a person-sized walker, 15-30% of the frame, and a ball):
   - segmentation on the true geometry (true cameras, points from the true static depth):
     IoU per mover, false positives on the set, seconds per stage;
   - `splatcine reconstruct --sfm-only` with `--masks none`, the true masks, and `auto`:
     camera-centre error (% of path length, after Sim(3)), rotation error, focal length,
     and the automatic masks' IoU / false positives against the truth.
2. The dynamic clips of /work/shared/data when present (no ground truth): `reconstruct
   --sfm-only --masks auto`, the share masked (first pass and final masks), and the scene's
   mask sheet, copied small to benchmarks/results/masks_<clip>.png to look at.
3. The static RealEstate10K clips (and the pull-down copy of one): the same, where every
   masked pixel is a false positive.

    .venv/bin/python -m benchmarks.bench_masks [--quick]   # --quick: the procedural part only
    .venv/bin/python -m benchmarks.bench_masks --clips lady_running   # one real clip only
    .venv/bin/python -m benchmarks.bench_masks --quick --rows auto    # one row of the walkers' SfM table
    .venv/bin/python -m benchmarks.bench_masks --train     # held-out PSNR with each kind of mask

Results: benchmarks/results/masks.json. Times are wall seconds on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from scenes import back_project, make_clip
from splatcine.errors import SplatcineError
from splatcine.io.video import read_image
from splatcine.masks import motion_masks
from splatcine.reconstruct import reconstruct
from splatcine.scene import load_scene
from splatcine.sfm import pose_errors

DATA = Path("/work/shared/data")
RESULTS = Path(__file__).parent / "results"
CLIPS = {
    "tokyo_walk": DATA / "vda_examples/Tokyo-Walk_rgb.mp4",
    "lady_running": DATA / "davis_lady_running/lady-running.mp4",
    "motionctrl_dog": DATA / "motionctrl_videocrafter/MotionCtrl_dog_0.mp4",
    "rollercoaster": DATA / "vda_examples/davis_rollercoaster.mp4",
    "dynamicrafter_dolly": DATA / "dynamicrafter_dolly/springtime_landscape.gif",  # a still set: no mover
}
# Real footage in which nothing moves: every pixel the final masks take is a false positive
# (the bar: under 2% of the static set; a still shot should get empty masks).
STATIC_CLIPS = {
    **{f"re10k_{name[:7]}": DATA / f"re10k_cameractrl/real/{name}_svdxt.mp4"
       for name in ("0bf152ef84195293", "0c11dbe781b1c11c", "0c9b371cc6225682", "0f47577ab3441480",
                    "0f68374b76390082")},
    "re10k_0c11dbe_pulldown": DATA / "re10k_dupframes/0c11dbe781b1c11c_pulldown.mp4",
}


def mask_scores(masks: list[np.ndarray], labels: list[np.ndarray]) -> dict:
    """IoU per mover (labels: -1 static, i = mover i) and the share of static pixels masked."""
    m, t = np.stack(masks), np.stack(labels)
    out = {}
    for obj in range(int(t.max()) + 1):
        truth = t == obj
        region = truth | (t == -1)
        out[f"iou_mover_{obj}"] = round(float((m & truth).sum() / ((m & region) | truth).sum()), 3)
    out["false_positive_static"] = round(float((m & (t == -1)).sum() / (t == -1).sum()), 4)
    return out


def procedural(work: Path, frames: int, save, rows: list[str] | None = None) -> dict:
    """The walkers clip: segmentation on the true geometry, then SfM with each kind of mask
    (only the `rows` named, when given: the others keep their measured figures).

    `save(result)` is called after each part, so a run cut short keeps what it measured.
    """
    from splatcine.masks import auto as auto_masks

    clip = make_clip("walkers", work / "clip", frames=frames)
    world = clip.set
    labels, images, points = [], [], []
    rng = np.random.default_rng(0)
    for i, cam in enumerate(clip.cameras):
        layers = world.render_layers(cam, time=i / clip.fps)
        labels.append(np.where(layers.moving, layers.prop - len(world.props), -1))
        images.append(read_image(clip.frame_paths[i]))
        pick = rng.choice(np.flatnonzero(~layers.moving.ravel()), 150, replace=False)
        points.append(back_project(cam, layers.depth.astype(np.float64)).reshape(-1, 3)[pick])
    started = time.perf_counter()
    found = motion_masks(images, clip.cameras, np.concatenate(points))
    result = {"frames": frames, "size": "480x270",
              "mover_share_of_frame": {f"mover_{k}": round(float(max((l == k).mean() for l in labels)), 3)
                                       for k in range(2)},
              "true_geometry": {**mask_scores(found.masks, labels),
                                "seconds": {k: round(v, 2) for k, v in found.seconds.items()},
                                "seconds_total": round(time.perf_counter() - started, 2)},
              "reconstruct": {}}
    if rows:
        path = RESULTS / "masks.json"
        kept = json.loads(path.read_text()).get("walkers", {}).get("reconstruct", {}) if path.is_file() else {}
        result["reconstruct"] = {k: v for k, v in kept.items() if k not in rows}
    save(result)
    modes = (("none", "none", False), ("true masks", clip.masks_dir, False), ("auto", "auto", False),
             ("auto, SfM re-run with the masks", "auto", True))
    default = auto_masks.SFM_RERUN_DEFAULT
    for mode, masks, rerun in modes:
        if rows and mode not in rows:
            continue
        out = work / f"scene_{len(result['reconstruct'])}"
        auto_masks.SFM_RERUN_DEFAULT = rerun  # read by reconstruct at each call
        started = time.perf_counter()
        try:
            rec = reconstruct(clip.video_path, out, masks=masks, sfm_only=True, overwrite=True)
        except SplatcineError as err:
            result["reconstruct"][mode] = {"error": str(err)}
            continue
        scene = load_scene(out)
        est = [f.camera.cam_from_world for f in scene.frames]
        true = [clip.cameras[f.source_frame].cam_from_world for f in scene.frames]
        errors = pose_errors(est, true)
        row = {"registered": f"{rec.report.frames_registered}/{rec.report.frames_kept}",
               "centre_error_pct": round(errors.centre_error_pct, 3),
               "rotation_error_deg": round(errors.rotation_error_deg, 3),
               "focal_px": round(rec.report.focal_px or 0, 1), "true_focal_px": round(clip.cameras[0].intrinsics.fx, 1),
               "seconds": {k: round(v, 1) for k, v in rec.report.seconds.items()},
               "seconds_total": round(time.perf_counter() - started, 1),
               "load_average": round(os.getloadavg()[0], 1)}
        if masks == "auto":
            masks_found = [read_image(f.mask_path) >= 128 if f.mask_path else np.zeros(labels[0].shape, bool)
                           for f in scene.frames]
            row.update(mask_scores(masks_found, [labels[f.source_frame] for f in scene.frames]))
            row["sfm_rerun"] = rec.report.masks_sfm_rerun
            if rerun == default:  # the sheet shows what `reconstruct` does
                _small_sheet(out, "walkers")
        result["reconstruct"][mode] = row
        print(mode, json.dumps(row), flush=True)
        save(result)
        shutil.rmtree(out, ignore_errors=True)
    auto_masks.SFM_RERUN_DEFAULT = default
    return result


def training(work: Path, frames: int, iterations: int, out: dict) -> dict:
    """Held-out PSNR on the static set after a short preview training with each kind of mask.

    True cameras and depth-derived points (`scenes.write_ground_truth_scene`), so only the
    masks differ: the training frames get no masks, the true ones, or the automatic ones
    (`motion_masks` on the true geometry); the held-out frames always keep their true masks,
    so PSNR is measured on the static set alone. Robust training is on, and varied on the
    unmasked run: off, and its residual floor at 0.1 (the default) and 0.05.
    """
    from scenes import write_ground_truth_scene
    from splatcine.io.video import write_image
    from splatcine.scene.layout import MASK_IGNORE
    from splatcine.train import resolve_config, train_scene

    base = work / "train_base"
    write_ground_truth_scene("walkers", base, frames=frames, width=320, height=180, points=6000)
    scene = load_scene(base)
    held = {f.image_path.name for i, f in enumerate(scene.frames) if i % 8 == 0}
    truth = {f.image_path.name: read_image(f.mask_path) >= 128 for f in scene.frames}
    images = [read_image(f.image_path) for f in scene.frames]
    started = time.perf_counter()
    auto = motion_masks(images, [f.camera for f in scene.frames], scene.points)
    out["auto_masks_seconds"] = round(time.perf_counter() - started, 1)
    auto = {f.image_path.name: m for f, m in zip(scene.frames, auto.masks)}
    out["auto_masks"] = mask_scores([auto[n] for n in sorted(auto)],
                                    [np.where(truth[n], 0, -1) for n in sorted(auto)])
    # Robust training was on by default when these rows were first measured (it is off since
    # 2026-11-30, README "Quality per minute"): it stays on here so the rows keep their meaning.
    on = {"robust": True}
    runs = {"none": ("none", on), "true": ("true", on), "auto": ("auto", on),
            "none, robust off": ("none", {"robust": False}),
            "none, robust floor 0.05": ("none", {**on, "robust_floor": 0.05})}
    for label, (kind, overrides) in runs.items():
        scene_dir = work / f"train_{len(out.get('runs', {}))}"
        shutil.copytree(base, scene_dir)
        for name, mask in truth.items():
            use = mask if name in held or kind == "true" else auto[name] if kind == "auto" else np.zeros_like(mask)
            write_image(scene_dir / "masks" / name, np.where(use, MASK_IGNORE, 0).astype(np.uint8))
        config = resolve_config("preview", iterations=iterations, max_width=320, **overrides)
        started = time.perf_counter()
        result = train_scene(scene_dir, config)
        row = {"psnr_static": round(result.evaluation.psnr, 2), "ssim_static": round(result.evaluation.ssim, 4),
               "seconds": round(time.perf_counter() - started, 1)}
        residual = scene_dir / "masks_residual"
        if residual.is_dir() and kind == "none":  # what robust training itself found, against the movers
            names = [n for n in sorted(truth) if n not in held and (residual / n).is_file()]
            found = [read_image(residual / n) >= 128 for n in names]
            row["residual_masks"] = mask_scores(found, [np.where(truth[n], 0, -1) for n in names])
        out.setdefault("runs", {})[label] = row
        print(label, row, flush=True)
        shutil.rmtree(scene_dir, ignore_errors=True)
    return out


def real_clip(name: str, path: Path, work: Path) -> dict:
    out = work / f"real_{name}"
    started = time.perf_counter()
    try:
        rec = reconstruct(path, out, masks="auto", sfm_only=True, overwrite=True, max_frames=40,
                          max_image_size=640)
    except SplatcineError as err:
        return {"error": str(err), "seconds_total": round(time.perf_counter() - started, 1)}
    shares = list(rec.report.masked_fraction.values())
    row = {"registered": f"{rec.report.frames_registered}/{rec.report.frames_kept}",
           "first_pass_mean": round(rec.report.masks_feature_fraction or 0.0, 3),  # features kept from SfM
           "masked_mean": round(float(np.mean(shares)), 3) if shares else 0.0,
           "masked_max": round(float(np.max(shares)), 3) if shares else 0.0,
           "sfm_rerun": rec.report.masks_sfm_rerun,
           "seconds": {k: round(v, 1) for k, v in rec.report.seconds.items()},
           "seconds_total": round(time.perf_counter() - started, 1)}
    row["sheet"] = _small_sheet(out, name)
    return row


def _small_sheet(scene_dir: Path, name: str) -> str | None:
    sheet = scene_dir / "masks.png"
    if not sheet.is_file():
        return None
    target = RESULTS / f"masks_{name}.png"
    image = Image.open(sheet)
    image = image.convert("RGB")
    image.thumbnail((720, 720))
    image.quantize(128).save(target, optimize=True)  # a small picture to look at, not data
    return str(target.relative_to(RESULTS.parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the procedural clip only")
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--clips", nargs="*", choices=sorted({**CLIPS, **STATIC_CLIPS}),
                        help="only these real clips")
    parser.add_argument("--rows", nargs="*", help="only these rows of the walkers' SfM table (e.g. auto)")
    parser.add_argument("--train", action="store_true", help="only the held-out PSNR part (short trainings)")
    parser.add_argument("--iterations", type=int, default=1000)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "masks.json"
    doc = json.loads(path.read_text()) if path.is_file() else {}  # parts not run keep their figures
    doc["machine"] = f"2 shared cores, loaded by other work (load average {os.getloadavg()[0]:.1f} at the start)"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.train:
            doc["training"] = {"frames": 24, "size": "320x180", "iterations": args.iterations}
            training(work, 24, args.iterations, doc["training"])
            current = json.loads(path.read_text()) if path.is_file() else {}
            path.write_text(json.dumps({**current, "training": doc["training"]}, indent=1) + "\n")
            return
        def save(walkers: dict) -> None:  # other parts may have been written meanwhile: keep them
            current = json.loads(path.read_text()) if path.is_file() else {}
            path.write_text(json.dumps({**current, "machine": doc["machine"], "walkers": walkers}, indent=1) + "\n")
            doc["walkers"] = walkers

        if not args.clips:
            procedural(work, args.frames, save, args.rows)
        for name in ([] if args.quick else args.clips or [*CLIPS, *STATIC_CLIPS]):
            clip = {**CLIPS, **STATIC_CLIPS}[name]
            row = real_clip(name, clip, work) if clip.is_file() else {"error": f"{clip} not present"}
            print(name, json.dumps(row), flush=True)
            current = json.loads(path.read_text()) if path.is_file() else {}
            current.setdefault("real", {})[name] = row
            path.write_text(json.dumps(current, indent=1) + "\n")

if __name__ == "__main__":
    main()
