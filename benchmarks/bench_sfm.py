"""SfM benchmark: time per stage and pose accuracy of `splatcine.reconstruct`.

Cases: the procedural scenes (ground-truth cameras, from `scenes`), and when
present the real clips of /work/shared/data: RealEstate10K clips against their
published poses, generated CameraCtrl gifs against the poses they were told to
follow, the DimensionX capybara orbit (no poses: registration and reprojection).
Pose errors are measured after a Sim(3) alignment (`splatcine.sfm.pose_errors`).
Plain COLMAP figures (PEERS.md and the data README) are printed beside them.

    .venv/bin/python -m benchmarks.bench_sfm [--quick] [--mapper global|incremental]
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
from splatcine.reconstruct import reconstruct
from splatcine.sfm import pose_errors

DATA = Path("/work/shared/data")
RESULTS = Path(__file__).parent / "results" / "sfm.json"

# Plain COLMAP (pycolmap 4.2.1 defaults), from PEERS.md and data/README.md, on this kind of machine.
PLAIN_COLMAP = {
    "procedural 48 frames 480x270": "global 27 s, incremental 119 s, 48/48 registered",
    "re10k/0f47577ab3441480 (real)": "25/25 registered, 0.9% centre error, 0.14 deg rotation",
    "gif/0f47577ab3441480 (generated)": "25/25 registered, 1.9% centre error, 0.77 deg",
    "capybara": "69/69 registered (every 4th frame), 0.73 px",
}


def re10k_cameras(pose_file: Path, width: int, height: int) -> np.ndarray:
    """[N, 4, 4] cam_from_world of a RealEstate10K pose file (intrinsics are not needed for poses)."""
    rows = [line.split() for line in pose_file.read_text().splitlines()[1:] if line.strip()]
    out = np.tile(np.eye(4), (len(rows), 1, 1))
    for i, row in enumerate(rows):
        out[i, :3, :] = np.array(row[7:19], dtype=np.float64).reshape(3, 4)
    return out


def re10k_focal_px(pose_file: Path, width: int, height: int) -> float:
    """The published focal length in pixels of a clip resized to cover `width` x `height`, centre-cropped."""
    fx_normalised = float(pose_file.read_text().splitlines()[1].split()[1])
    scale = max(width / 16.0, height / 9.0)  # the original frames are 16:9
    return fx_normalised * 16.0 * scale


def run_case(name: str, shot: Path, out: Path, reference: np.ndarray | None, mapper: str, **kwargs) -> dict:
    t = time.perf_counter()
    row: dict = {"case": name, "shot": str(shot), "mapper_requested": mapper}
    try:
        result = reconstruct(shot, out, mapper=mapper, overwrite=True, **kwargs)
    except SplatcineError as err:
        row.update(seconds=time.perf_counter() - t, error=str(err))
        return row
    report = result.report
    row.update(
        seconds=time.perf_counter() - t,
        stages=report.seconds,
        mapper=report.mapper,
        frames_read=report.frames_read,
        kept=report.frames_kept,
        registered=report.frames_registered,
        reprojection_px=report.mean_reprojection_px,
        track_length=report.mean_track_length,
        parallax_deg=report.parallax_deg,
        focal_px=report.focal_px,
        attempts=report.mapper_attempts,
    )
    if reference is not None:
        frames = [f for f in result.scene.frames if f.source_frame < len(reference)]
        est = np.stack([f.camera.cam_from_world for f in frames])
        ref = reference[[f.source_frame for f in frames]]
        errors = pose_errors(est, ref)
        row.update(centre_error_pct=errors.centre_error_pct, rotation_error_deg=errors.rotation_error_deg,
                   max_centre_error_pct=errors.max_centre_error_pct,
                   max_rotation_error_deg=errors.max_rotation_error_deg)
    return row


def procedural_cases(tmp: Path, quick: bool) -> list[tuple[str, Path, np.ndarray | None, dict]]:
    try:
        from scenes import make_clip
    except ImportError:
        return []
    names = ["dolly", "orbit"] if quick else ["dolly", "truck", "orbit", "moving"]
    cases = []
    for name in names:
        clip = make_clip(name, tmp / "clips" / name, frames=48, width=480, height=270)
        ref = np.stack([c.cam_from_world for c in clip.cameras])
        extra = {"masks": clip.out_dir / "masks"} if name == "moving" else {}
        cases.append((f"procedural/{name}", clip.out_dir / "shot.mp4", ref, extra))
    return cases


def real_cases(quick: bool) -> list[tuple[str, Path, np.ndarray | None, dict]]:
    root = DATA / "re10k_cameractrl"
    if not root.is_dir():
        return []
    cases = []
    clips = sorted((root / "real").glob("*.mp4"))
    for clip in clips[:2] if quick else clips:
        pose = root / "poses" / clip.name.replace(".mp4", ".txt")
        cases.append((f"re10k/{clip.stem.split('_')[0]} (real)", clip, re10k_cameras(pose, 576, 320), {}))
    for gif in sorted((root / "generated").glob("*.gif"))[: 1 if quick else None]:
        clip_id = gif.name.split("_")[0]
        pose = root / "poses" / f"{clip_id}_svdxt.txt"
        cases.append((f"gif/{clip_id} (generated)", gif, re10k_cameras(pose, 576, 320), {}))
    capybara = DATA / "dimensionx_orbit" / "360_capybara.mp4"
    if capybara.is_file() and not quick:
        cases.append(("capybara (generated orbit)", capybara, None, {"max_frames": 70, "max_image_size": 640}))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases")
    parser.add_argument("--mapper", default="global", choices=["global", "incremental"])
    args, _ = parser.parse_known_args()
    console = Console()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = procedural_cases(tmp, args.quick) + real_cases(args.quick)
        if not (DATA / "re10k_cameractrl").is_dir():
            console.print(f"[yellow]{DATA} is absent: real clips skipped[/]")
        for n, (name, shot, ref, extra) in enumerate(cases):
            console.print(f"[{n + 1}/{len(cases)}] {name}", highlight=False)
            rows.append(run_case(name, shot, tmp / f"scene{n}", ref, args.mapper, **extra))
    table = Table(title=f"splatcine reconstruct (requested mapper: {args.mapper})")
    for col in ("case", "mapper", "read/kept/reg", "reproj px", "track", "parallax deg",
                "centre err %", "rot err deg", "features s", "matching s", "mapping s", "total s"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for row in rows:
        if "error" in row:
            table.add_row(row["case"], "-", "-", "-", "-", "-", "-", "-", "-", "-", "-",
                          f"{row['seconds']:.1f}", style="red")
            table.add_row("", f"[red]{row['error'][:150]}[/]")
            continue
        stages = row["stages"]
        mapping = sum(v for k, v in stages.items() if k.startswith("mapping"))
        table.add_row(
            row["case"], row["mapper"], f"{row['frames_read']}/{row['kept']}/{row['registered']}",
            f"{row['reprojection_px']:.2f}", f"{row['track_length']:.1f}", f"{row['parallax_deg']:.1f}",
            _fmt(row.get("centre_error_pct"), 2), _fmt(row.get("rotation_error_deg"), 2),
            f"{stages.get('features', 0):.1f}", f"{stages.get('matching', 0):.1f}", f"{mapping:.1f}",
            f"{row['seconds']:.1f}",
        )
    console.print(table)
    peers = Table(title="plain COLMAP on the same kind of machine (PEERS.md, data/README.md)")
    peers.add_column("case")
    peers.add_column("figures")
    for case, figures in PLAIN_COLMAP.items():
        peers.add_row(case, figures)
    console.print(peers)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"mapper": args.mapper, "quick": args.quick, "cases": rows,
                                   "plain_colmap": PLAIN_COLMAP}, indent=2, default=float))
    console.print(f"wrote {RESULTS}")


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    main()
