"""Check and extend benchmark: the figures the tests assert, with the time of each stage.

The set: the procedural `orbit` shot's scene, built from its true cameras the way `reconstruct`
builds a posed input (COLMAP SIFT points, normalised frame), with a ground-truth splat
(`scenes.shots.ground_truth_splat`). Its second shots (`scenes.shots`) come back unchanged, with
the box on the table moved, with the crate repainted, or with the camera drifting off the
requested path; `check` must pass the first and fail each other one for its own reason.

Per variant: the verdict and its findings; registration against the true cameras (max centre
error as % of path length, max rotation error, focal ratio); masked PSNR/SSIM; IoU of the
reported change boxes with the true change; seconds per stage (localise, render, compare, write).
Extend: a shot round the far side of the room folded in (every 2nd frame), then the unseen share
of a survey path, PSNR of the newly seen part on frames it did not train on, and the first
shot's held-out PSNR, each before and after; a third shot of the far side registered into the
set before and after (frames placed, inliers); seconds per stage. `--real-paths`: how far the
published cameras of the real RealEstate10K clips in ../shared/data lie off their own fitted
paths (`consistency.path_jumps`), the real-footage side of the doubtful-placement bar.

    .venv/bin/python -m benchmarks.bench_check [--quick] [--extend-only] [--real-paths]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import splatcine
from scenes import shots
from splatcine.check.adherence import adherence
from splatcine.render import render_path
from splatcine.sfm.register import register_frames

RESULTS = Path(__file__).parent / "results" / "check.json"


def run_variant(scene: Path, m: np.ndarray, variant: str, root: Path, frames: int, width: int, height: int) -> dict:
    shot = shots.make_shot(variant, root / variant / "shot", frames=frames, width=width, height=height)
    render_path(scene, shots.in_scene_frame(shot.requested, m), root / variant / "render")
    started = time.perf_counter()
    result = splatcine.check(scene, shot.video_path, root / variant / "report", render=root / variant / "render")
    seconds = time.perf_counter() - started
    truth = adherence(result.cameras, shots.in_scene_frame(shot.cameras, m))
    return {
        "variant": variant,
        "passed": result.passed,
        "findings": sorted(result.kinds()),
        "placed": len(result.frames) - len(result.unplaced),
        "frames": len(result.frames),
        "centre_error_pct_vs_truth": truth.max_centre_error,
        "rotation_error_deg_vs_truth": truth.max_rotation_error_deg,
        "focal_ratio_vs_truth": truth.focal_ratio,
        "camera_error_pct_vs_requested": result.adherence.max_centre_error,
        "psnr": result.psnr,
        "ssim": result.ssim,
        "changes": len(result.changes),
        "change_iou": shots.change_iou(result.changes, shot.changed()) if variant in ("moved", "repainted") else None,
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()} | {"total": round(seconds, 2)},
    }


def run_extend(root: Path, width: int, height: int, frames: int, iterations: int) -> dict:
    scene, m = shots.known_set(root / "set", 16, width, height, views=3, block=2)  # 43k Gaussians, as the test
    beyond = shots.make_shot("unchanged", root / "beyond", frames=frames, width=width, height=height, path="beyond")
    started = time.perf_counter()
    result = splatcine.extend(scene, beyond.video_path, root / "scene2", every=2, iterations=iterations, force=True)
    seconds = time.perf_counter() - started
    figures = shots.extension_figures(scene, result, beyond, m)
    third = shots.make_shot("unchanged", root / "third", frames=6, width=width, height=height, path="third")
    placed = {}
    for name, where in (("before", scene), ("after", result.scene.root)):  # a third shot, into each
        reg = register_frames(Path(where) / "sparse" / "0", Path(where) / "images", third.root / "frames",
                              root / f"third_{name}")
        placed[f"third_shot_placed_{name}"] = len(reg.placed)
        placed[f"third_shot_inliers_{name}"] = int(np.sum(reg.inliers))
    return {"frames_added": len(result.frames_added), "unplaced": result.unplaced, "new_points": result.new_points,
            "gaussians_by_shot": result.gaussians_by_shot, "check_findings": sorted(result.check.kinds()),
            **{k: round(v, 4) for k, v in figures.items()}, **placed, "third_shot_frames": len(third.cameras),
            "seconds": {k: round(v, 2) for k, v in result.seconds.items()} | {"total": round(seconds, 2)},
            "load": [round(x, 1) for x in os.getloadavg()]}


def real_paths() -> list[dict]:
    """Per RealEstate10K clip with published poses: its frames' jumps off their fitted path (px, and per
    320 px of width) and the frames the check would doubt, with the depth set to 0.5, 1 and 2 times
    the path's length (the poses' scale is arbitrary; indoor walk-throughs see a few metres)."""
    from benchmarks.bench_sfm import DATA, re10k_cameras, re10k_focal_ratio
    from splatcine.cameras import Camera, Intrinsics
    from splatcine.check import consistency

    rows = []
    for pose in sorted((DATA / "re10k_cameractrl" / "poses").glob("*.txt")):
        f = re10k_focal_ratio(pose) * 576  # the clips are 576x320
        cameras = [Camera(m, Intrinsics(f, f, 288.0, 160.0, 576, 320)) for m in re10k_cameras(pose)]
        centres = np.stack([c.center for c in cameras])
        length = float(np.linalg.norm(np.diff(centres, axis=0), axis=1).sum())
        for factor in (0.5, 1.0, 2.0):
            jumps = consistency.path_jumps(cameras, factor * length)
            rows.append({"clip": pose.stem, "depth_per_path_length": factor, "frames": len(cameras),
                         "max_jump_px": round(float(np.nanmax(jumps)), 2),
                         "max_jump_px_per_320": round(float(np.nanmax(jumps)) * 320 / 576, 2),
                         "median_jump_px": round(float(np.nanmedian(jumps)), 2),
                         "doubtful": sorted(consistency.doubtful_placements(cameras, factor * length))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer frames (the tests' sizes).")
    parser.add_argument("--extend-only", action="store_true",
                        help="Only the extension (kept beside the variants already in the results file).")
    parser.add_argument("--real-paths", action="store_true",
                        help="Only the real clips' paths against the doubtful-placement bar (kept beside the rest).")
    args = parser.parse_args()
    width, height = 320, 180
    frames = 8 if args.quick else 16
    console = Console()
    doc = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                      f"load {os.getloadavg()[0]:.1f} at start",
           "size": [width, height], "shot_frames": frames, "variants": [], "extend": None}
    if args.extend_only and RESULTS.is_file():
        doc = json.loads(RESULTS.read_text()) | {"extend_machine": doc["machine"]}
    if args.real_paths:
        doc = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        doc["real_paths"] = real_paths()
        for row in doc["real_paths"]:
            console.print(row)
        _write(doc)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.extend_only:
            doc["extend"] = run_extend(root / "extend", width, height, 9 if args.quick else 13,
                                       300 if args.quick else 1000)
            doc["extend"]["iterations"] = 300 if args.quick else 1000
            console.print(doc["extend"])
            _write(doc)
            return
        t = time.perf_counter()
        scene, m = shots.known_set(root / "set", 16, width, height, views=5)
        doc["set_seconds"] = round(time.perf_counter() - t, 2)
        for variant in shots.VARIANTS:
            row = run_variant(scene, m, variant, root, frames, width, height)
            doc["variants"].append(row)
            console.print(row)
            _write(doc)  # as it goes: the extension below is the slow part
        doc["extend"] = run_extend(root / "extend", width, height, 9 if args.quick else 13,
                                   300 if args.quick else 1000)
        console.print(doc["extend"])
    table = Table(title=f"check on the procedural set ({width}x{height}, {frames} frames)")
    for col in ("variant", "verdict", "findings", "placed", "centre %", "rot deg", "PSNR", "IoU", "seconds"):
        table.add_column(col)
    for r in doc["variants"]:
        f = lambda v, n=2: "-" if v is None else f"{v:.{n}f}"  # noqa: E731
        table.add_row(r["variant"], "pass" if r["passed"] else "fail", ",".join(r["findings"]) or "-",
                      f"{r['placed']}/{r['frames']}", f(r["centre_error_pct_vs_truth"], 3),
                      f(r["rotation_error_deg_vs_truth"], 3), f(r["psnr"], 1), f(r["change_iou"]),
                      f(r["seconds"]["total"], 1))  # fmt: skip
    console.print(table)
    _write(doc)
    console.print(f"wrote {RESULTS}")


def _write(doc: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
