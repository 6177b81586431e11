"""SfM benchmark: time per stage and pose accuracy of `splatcine.reconstruct`, beside plain COLMAP.

Cases: procedural moves (ground-truth cameras, from `scenes`), and when present the
real clips of /work/shared/data: RealEstate10K clips against their published poses,
generated CameraCtrl gifs against the poses they were told to follow, and (with
`--full`) the DimensionX capybara orbit (no poses: registration and reprojection).
Pose errors: camera-centre error after a Sim(3) alignment, % of path length, and the
relative rotation error, as a mean over all frame pairs (drift across the shot) and over
consecutive frames (the figure data/README.md quotes for plain COLMAP; `splatcine.sfm.pose_errors`).
Plain COLMAP (pycolmap defaults: every frame, SIMPLE_RADIAL, no focal prior,
incremental) runs on the same clips in the same run, so the time and error ratios
do not depend on the machine.

    .venv/bin/python -m benchmarks.bench_sfm [--quick | --full] [--mapper global|incremental]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from splatcine.errors import SplatcineError
from splatcine.io.video import iter_frames, write_image
from splatcine.reconstruct import reconstruct
from splatcine.sfm import plain_colmap, pose_errors

DATA = Path("/work/shared/data")
RESULTS = Path(__file__).parent / "results" / "sfm.json"

# Published plain-COLMAP figures (PEERS.md, data/README.md), for reference beside the measured ones.
PUBLISHED = {
    "procedural 48 frames 480x270": "global 27 s, incremental 119 s, 48/48 registered",
    "re10k/0f47577ab3441480 (real)": "25/25 registered, 0.9% centre error, 0.14 deg rotation",
    "gif/0f47577ab3441480 (generated)": "25/25 registered, 1.9% centre error, 0.77 deg",
    "capybara": "69/69 registered (every 4th frame), 0.73 px",
}
BASELINE_CASES = ("re10k/0f47577ab3441480 (real)", "gif/0f47577ab3441480 (generated)")


def re10k_cameras(pose_file: Path) -> np.ndarray:
    """[N, 4, 4] cam_from_world of a RealEstate10K pose file (3x4 after 7 numbers per line)."""
    rows = [line.split() for line in pose_file.read_text().splitlines()[1:] if line.strip()]
    out = np.tile(np.eye(4), (len(rows), 1, 1))
    for i, row in enumerate(rows):
        out[i, :3, :] = np.array(row[7:19], dtype=np.float64).reshape(3, 4)
    return out


def re10k_focal_px(pose_file: Path, width: int, height: int) -> float:
    """The published focal length in pixels for frames resized to cover `width` x `height` and centre-cropped."""
    fx_normalised = float(pose_file.read_text().splitlines()[1].split()[1])
    return fx_normalised * 16.0 * max(width / 16.0, height / 9.0)  # normalised by the original 16:9 width


def _errors(row: dict, cameras: list, sources: list[int], reference: np.ndarray | None) -> None:
    if reference is None:
        return
    use = [i for i, s in enumerate(sources) if s < len(reference)]
    errors = pose_errors(np.stack([cameras[i].cam_from_world for i in use]), reference[[sources[i] for i in use]])
    row.update(centre_error_pct=errors.centre_error_pct, rotation_error_deg=errors.rotation_error_deg,
               step_rotation_error_deg=errors.step_rotation_error_deg)


def run_splatcine(name: str, shot: Path, out: Path, reference, focal, mapper: str, **kwargs) -> dict:
    t = time.perf_counter()
    row: dict = {"case": name, "method": "splatcine", "shot": str(shot), "true_focal_px": focal}
    try:
        result = reconstruct(shot, out, mapper=mapper, sfm_only=True, overwrite=True, **kwargs)
    except SplatcineError as err:
        row.update(seconds=time.perf_counter() - t, error=str(err))
        return row
    report = result.report
    row.update(seconds=time.perf_counter() - t, stages=report.seconds, mapper=report.mapper,
               frames_read=report.frames_read, kept=report.frames_kept, registered=report.frames_registered,
               reprojection_px=report.mean_reprojection_px, track_length=report.mean_track_length,
               parallax_deg=report.parallax_deg, focal_px=report.focal_px, attempts=report.mapper_attempts)
    frames = result.scene.frames
    _errors(row, [f.camera for f in frames], [f.source_frame for f in frames], reference)
    return row


def run_plain(name: str, shot: Path, work: Path, reference, focal) -> dict:
    """Plain COLMAP on every frame of the shot."""
    images = work / "images"
    images.mkdir(parents=True)
    count = 0
    for i, frame in enumerate(iter_frames(shot)):
        write_image(images / f"frame_{i:05d}.png", frame)
        count += 1
    t = time.perf_counter()
    model = plain_colmap(images, work / "colmap")
    row: dict = {"case": name, "method": "plain COLMAP", "seconds": time.perf_counter() - t,
                 "frames_read": count, "kept": count, "true_focal_px": focal}
    if model is None:
        row["error"] = "no model"
        return row
    stats = model.stats()
    cameras = model.cameras()
    names = sorted(cameras)
    row.update(registered=stats.registered, reprojection_px=stats.mean_reprojection_px,
               track_length=stats.mean_track_length, parallax_deg=stats.median_triangulation_deg,
               focal_px=stats.focal_px, mapper="incremental")
    _errors(row, [cameras[n] for n in names], [int(n[6:11]) for n in names], reference)
    return row


def procedural_cases(tmp: Path, quick: bool) -> list[tuple]:
    try:
        from scenes import make_clip
    except ImportError:
        return []
    cases = []
    for name in ["dolly", "orbit"] if quick else ["dolly", "orbit", "truck", "moving"]:
        clip = make_clip(name, tmp / "clips" / name, frames=32, width=320, height=180)
        ref = np.stack([c.cam_from_world for c in clip.cameras])
        extra = {"masks": clip.masks_dir} if clip.has_masks else {}
        cases.append((f"procedural/{name} 32x320", clip.video_path, ref, clip.cameras[0].intrinsics.fx, extra))
    return cases


def real_cases(quick: bool, full: bool) -> list[tuple]:
    root = DATA / "re10k_cameractrl"
    if not root.is_dir():
        return []
    cases = []
    clips = sorted((root / "real").glob("*.mp4"))
    gifs = sorted((root / "generated").glob("*.gif"))
    for clip in [c for c in clips if c.name.startswith("0f47577")] if quick else clips:
        pose = root / "poses" / clip.name.replace(".mp4", ".txt")
        cases.append((f"re10k/{clip.stem.split('_')[0]} (real)", clip, re10k_cameras(pose),
                      re10k_focal_px(pose, 576, 320), {}))
    for gif in [g for g in gifs if g.name.startswith("0f47577")] if quick else gifs:
        pose = root / "poses" / f"{gif.name.split('_')[0]}_svdxt.txt"
        cases.append((f"gif/{gif.name.split('_')[0]} (generated)", gif, re10k_cameras(pose),
                      re10k_focal_px(pose, 576, 320), {}))
    capybara = DATA / "dimensionx_orbit" / "360_capybara.mp4"
    if capybara.is_file() and full:
        cases.append(("capybara (generated orbit)", capybara, None, None, {"max_frames": 70, "max_image_size": 640}))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases")
    parser.add_argument("--full", action="store_true", help="also the 273-frame capybara orbit (minutes)")
    parser.add_argument("--mapper", default="global", choices=["global", "incremental"])
    args, _ = parser.parse_known_args()
    console = Console(width=170)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = procedural_cases(tmp, args.quick) + real_cases(args.quick, args.full)
        if not (DATA / "re10k_cameractrl").is_dir():
            console.print(f"[yellow]{DATA} is absent: real clips skipped[/]")
        for n, (name, shot, ref, focal, extra) in enumerate(cases):
            console.print(f"[{n + 1}/{len(cases)}] {name}", highlight=False)
            rows.append(run_splatcine(name, shot, tmp / f"scene{n}", ref, focal, args.mapper, **extra))
            if name in BASELINE_CASES:
                rows.append(run_plain(name, shot, tmp / f"plain{n}", ref, focal))
    console.print(_table(rows, args.mapper))
    published = Table(title="published plain COLMAP figures (PEERS.md, data/README.md)")
    published.add_column("case")
    published.add_column("figures")
    for case, figures in PUBLISHED.items():
        published.add_row(case, figures)
    console.print(published)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"mapper": args.mapper, "quick": args.quick, "full": args.full, "cases": rows,
                                   "ratios": _ratios(rows), "published_plain_colmap": PUBLISHED},
                                  indent=2, default=float))
    console.print(f"wrote {RESULTS}")


def _ratios(rows: list[dict]) -> dict:
    """splatcine / plain COLMAP on the cases both ran, for time and errors (below 1: splatcine better)."""
    out = {}
    for case in BASELINE_CASES:
        ours = next((r for r in rows if r["case"] == case and r["method"] == "splatcine"), None)
        plain = next((r for r in rows if r["case"] == case and r["method"] == "plain COLMAP"), None)
        if not ours or not plain or "error" in ours or "error" in plain:
            continue
        keys = ("seconds", "centre_error_pct", "rotation_error_deg", "step_rotation_error_deg")
        out[case] = {key: ours[key] / plain[key] for key in keys
                     if ours.get(key) and plain.get(key)}
    return out


def _table(rows: list[dict], mapper: str) -> Table:
    table = Table(title=f"SfM: splatcine reconstruct (mapper {mapper} first) and plain COLMAP")
    columns = ("case", "method", "read/kept/reg", "focal px (true)", "reproj px", "centre err %",
               "rot err deg", "step rot deg", "features s", "matching s", "mapping s", "total s")
    for col in columns:
        table.add_column(col, justify="left" if col in ("case", "method") else "right", overflow="fold")
    for row in rows:
        if "error" in row:
            table.add_row(row["case"], row["method"], "-", "-", "-", "-", "-", "-", "-", "-", "-",
                          f"{row['seconds']:.1f}", style="red")
            table.add_row("", f"[red]{row['error'][:160]}[/]")
            continue
        stages = row.get("stages", {})
        mapping = sum(v for k, v in stages.items() if k.startswith("mapping"))
        true_focal = f" ({row['true_focal_px']:.0f})" if row.get("true_focal_px") else ""
        table.add_row(
            row["case"], row["method"], f"{row['frames_read']}/{row['kept']}/{row['registered']}",
            f"{row['focal_px']:.0f}{true_focal}", f"{row['reprojection_px']:.2f}",
            _fmt(row.get("centre_error_pct")), _fmt(row.get("rotation_error_deg")),
            _fmt(row.get("step_rotation_error_deg")),
            _fmt(stages.get("features"), 1), _fmt(stages.get("matching"), 1), _fmt(mapping or None, 1),
            f"{row['seconds']:.1f}",
        )
    return table


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
