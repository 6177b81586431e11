"""Motion-mask benchmark: mask quality, SfM with and without masks, time per stage, pictures.

1. The procedural `walkers` clip (a person-sized walker, 15-30% of the frame, and a ball):
   - segmentation on the true geometry (true cameras, points from the true static depth):
     IoU per mover, false positives on the set, seconds per stage;
   - `splatcine reconstruct --sfm-only` with `--masks none`, the true masks, and `auto`:
     camera-centre error (% of path length, after Sim(3)), rotation error, focal length,
     and the automatic masks' IoU / false positives against the truth.
2. The dynamic clips of /work/shared/data when present (no ground truth): `reconstruct
   --sfm-only --masks auto`, the share masked, and the scene's mask sheet, copied small
   to benchmarks/results/masks_<clip>.png to look at.

    .venv/bin/python -m benchmarks.bench_masks [--quick]   # --quick: the procedural part only

Results: benchmarks/results/masks.json. Times are wall seconds on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
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


def procedural(work: Path, frames: int) -> dict:
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
                                "seconds_total": round(time.perf_counter() - started, 2)}}
    runs = {}
    for mode, masks in (("none", "none"), ("true masks", clip.masks_dir), ("auto", "auto")):
        out = work / f"scene_{mode.replace(' ', '_')}"
        started = time.perf_counter()
        try:
            rec = reconstruct(clip.video_path, out, masks=masks, sfm_only=True, overwrite=True)
        except SplatcineError as err:
            runs[mode] = {"error": str(err)}
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
               "seconds_total": round(time.perf_counter() - started, 1)}
        if mode == "auto":
            masks_found = [read_image(f.mask_path) >= 128 if f.mask_path else np.zeros(labels[0].shape, bool)
                           for f in scene.frames]
            row.update(mask_scores(masks_found, [labels[f.source_frame] for f in scene.frames]))
            row["sfm_rerun"] = rec.report.masks_sfm_rerun
            _small_sheet(out, "walkers")
        runs[mode] = row
    result["reconstruct"] = runs
    return result


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
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    doc = {"machine": "2 shared cores, loaded by other work (load average 5-10)"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        doc["walkers"] = procedural(work, args.frames)
        print(json.dumps(doc["walkers"], indent=1))
        if not args.quick:
            doc["real"] = {}
            for name, path in CLIPS.items():
                if path.is_file():
                    doc["real"][name] = real_clip(name, path, work)
                    print(name, json.dumps(doc["real"][name]))
                else:
                    doc["real"][name] = {"error": f"{path} not present"}
    (RESULTS / "masks.json").write_text(json.dumps(doc, indent=1) + "\n")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
