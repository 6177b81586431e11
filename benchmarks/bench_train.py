"""Training benchmark: a shot to an evaluated splat, stage by stage, and the step time beside OpenSplat.

End to end per case (each in its own process, so peak memory is the case's own):
decode + SfM through `splatcine.reconstruct` (ground-truth cameras when it is absent),
training with the `preview` preset (iterations capped so the default run stays
short: the full-preset time is projected from the measured seconds per step),
export of the 3DGS PLY, held-out PSNR/SSIM. Cases: the procedural orbit (48 frames, 480x270),
and the DimensionX capybara orbit when /work/shared/data has it (not with --quick).

Step time: one training step (render, loss, backward, Adam) at the resolutions and
Gaussian counts of OpenSplat's CPU figures in PEERS.md, densification off. With an OpenSplat
build (`scripts/build_opensplat.sh`; `--opensplat BINARY`) each row also times OpenSplat
itself on the same scene right after ours, so the speed-up is measured on this machine in one
run; PEERS.md's figures, from another machine of this kind, stay beside it.

--preview-e2e adds the real thing, not a projection: `splatcine reconstruct` with the
full `preview` preset (2000 steps) on a 49-frame 480x270 orbit made by
`python -m scenes make orbit --frames 49`, timed end to end in its own process
(the issue's target: <= 10 minutes on 2 cores).

    .venv/bin/python -m benchmarks.bench_train [--quick] [--iterations N] [--preview-e2e]
    .venv/bin/python -m benchmarks.bench_train --only step-time   # keeps the other rows
    .venv/bin/python -m benchmarks.bench_train --only step-time --against ../main   # beside another checkout

--against DIR times each step-time row with the checkout at DIR as well, right after this
one's, in a subprocess running this file with PYTHONPATH=DIR (as bench_quality does): on a
shared machine the ratio of the two, measured minutes apart, is the figure to trust.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import splatcine  # noqa: F401  (first: it sets passive OpenMP waits before torch loads libgomp)
import torch
from rich.console import Console
from rich.table import Table

DATA = Path("/work/shared/data")
CAPYBARA = DATA / "dimensionx_orbit" / "360_capybara.mp4"
RESULTS = Path(__file__).parent / "results" / "train.json"

# OpenSplat 1.1.5 CPU, one thread, seconds per training iteration (PEERS.md).
OPENSPLAT = [
    ("synthetic room 120x67", 120, 67, 4_500, 0.065),
    ("synthetic room 480x270", 480, 270, 4_500, 0.81),
    ("orbit at lego's size 100x100", 100, 100, 100_000, 0.47),
    ("orbit at lego's size 400x400", 400, 400, 100_000, 5.05),
]


def run_case(name: str, work: Path, iterations: int) -> dict:
    """One end-to-end case, in this process: decode, SfM, training, export, evaluation."""
    from splatcine.errors import SplatcineError
    from splatcine.io.ply import write_gaussians_ply
    from splatcine.train import resolve_config, train_scene

    row: dict = {"case": name, "preset": "preview", "iterations": iterations}
    scene_dir = work / "scene"
    t = time.perf_counter()
    if name == "capybara":
        shot, masks = CAPYBARA, None
        options = {"max_frames": 70, "max_image_size": 640}
    else:
        from scenes import make_clip

        clip = make_clip(name, work / "clip", frames=48, width=480, height=270)
        shot, masks, options = clip.video_path, clip.masks_dir, {}
        row["clip_seconds"] = time.perf_counter() - t
    try:
        from splatcine.reconstruct import reconstruct

        report = reconstruct(shot, scene_dir, masks=masks, sfm_only=True, overwrite=True, **options).report
        row["stages"] = {"decode": report.seconds.get("ingest", 0.0) + report.seconds.get("write_frames", 0.0),
                         "sfm": sum(v for k, v in report.seconds.items()
                                    if k not in ("ingest", "write_frames"))}  # fmt: skip
        row["cameras"] = "sfm"
    except (ImportError, SplatcineError) as err:
        if name == "capybara":
            raise
        from scenes import write_ground_truth_scene

        row["sfm_error"] = str(err)  # training is still measured, on the true cameras
        t = time.perf_counter()
        write_ground_truth_scene(name, scene_dir, frames=48, width=480, height=270)
        row["stages"] = {"decode": time.perf_counter() - t, "sfm": 0.0}
        row["cameras"] = "ground truth"
    config = resolve_config("preview", iterations=iterations, checkpoint_every=0)
    result = train_scene(scene_dir, config)
    t = time.perf_counter()
    write_gaussians_ply(work / "export.ply", result.gaussians)
    row["stages"].update(train=result.train_seconds, export=time.perf_counter() - t)
    ev = result.evaluation
    row.update(
        held_out_frames=len(ev.frames),
        train_resolution=f"{result.config.max_width} px wide",
        seconds_per_iteration=result.train_seconds / iterations,
        preview_iterations=resolve_config("preview").iterations,
        gaussians=len(result.gaussians),
        psnr=ev.psnr,
        ssim=ev.ssim,
        lpips=ev.lpips_status,
        peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    row["projected_preview_minutes"] = (row["seconds_per_iteration"] * row["preview_iterations"]
                                        + row["stages"]["decode"] + row["stages"]["sfm"]) / 60  # fmt: skip
    return row


def preview_e2e(work: Path, frames: int = 49) -> dict:
    """`splatcine reconstruct` with the preview preset on a procedural orbit, wall-clock timed."""
    root = Path(__file__).parent.parent
    subprocess.run([sys.executable, "-m", "scenes", "make", "orbit", "-o", str(work / "shot"),
                    "--frames", str(frames)], check=True, capture_output=True, cwd=root)  # fmt: skip
    cli = Path(sys.executable).parent / "splatcine"
    t = time.perf_counter()
    proc = subprocess.run([str(cli), "reconstruct", str(work / "shot" / "shot.mp4"), "-o", str(work / "scene")],
                          capture_output=True, text=True, cwd=root)  # fmt: skip
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        return {"case": f"orbit {frames} frames", "error": (proc.stdout + proc.stderr).strip().splitlines()[-1:]}
    metrics = json.loads((work / "scene" / "metrics.json").read_text())
    return {"case": f"orbit {frames} frames, 480x270", "command": "splatcine reconstruct shot.mp4 -o scene",
            "preset": metrics["preset"], "iterations": metrics["iterations"], "wall_seconds": wall,
            "wall_minutes": wall / 60, "train_seconds": metrics["train_seconds"],
            "gaussians": metrics["num_gaussians"], "psnr": metrics["psnr"], "ssim": metrics["ssim"],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "load_average": os.getloadavg()}  # fmt: skip


def step_scene(folder: Path, width: int, height: int, count: int) -> Path:
    """The procedural orbit the step-time rows train on (ours and OpenSplat alike), in `folder`."""
    from scenes import write_ground_truth_scene

    frames = max(8, -(-2 * count // (width * height)))  # enough pixels to draw the points from
    return write_ground_truth_scene("orbit", folder / "s", frames=frames, width=width + width % 2,
                                    height=height + height % 2, points=count)  # fmt: skip


def step_time(width: int, height: int, count: int, steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds per training step on the procedural orbit at `width` x `height` with
    `count` Gaussians. CPU time is summed over this process's threads: on a shared machine the
    wall time also holds the time other processes had the cores."""
    from splatcine.scene import load_scene
    from splatcine.train import resolve_config
    from splatcine.train.data import split_views
    from splatcine.train.init import init_gaussians, scene_extent
    from splatcine.train.strategy import Strategy
    from splatcine.train.trainer import TrainState

    with tempfile.TemporaryDirectory() as tmp:
        scene = load_scene(step_scene(Path(tmp), width, height, count))
        views, _ = split_views(scene, None, 0)
        extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
        config = resolve_config("preview", sh_degree=0, iterations=10 * steps)
        state = TrainState(config, init_gaussians(scene.points, scene.point_colors, 0), len(views), extent)
        state.strategy = Strategy(extent)  # densification off: the count stays as given
        for view in views[:2]:
            state.step(view)  # warm-up (first calls allocate)
        t, cpu = time.perf_counter(), time.process_time()
        for i in range(steps):
            state.step(views[i % len(views)])
        return (time.perf_counter() - t) / steps, (time.process_time() - cpu) / steps


def opensplat_time(binary: Path, width: int, height: int, count: int, steps: int) -> float:
    """OpenSplat's seconds per CPU step (one thread, as in PEERS.md) on the scene `step_time` trains."""
    from benchmarks.opensplat import opensplat_step_time  # here: --against runs this file on old checkouts

    with tempfile.TemporaryDirectory() as tmp:
        return opensplat_step_time(binary, step_scene(Path(tmp), width, height, count), steps)


def reference_step_time(root: Path, width: int, height: int, count: int, steps: int) -> tuple[float, float]:
    """`step_time` of the splatcine checkout at `root` (its own native build), in a subprocess."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--step-case",
                           f"{width},{height},{count},{steps}"], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root.resolve())})  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"error: timing the checkout at {root} failed: {proc.stderr.strip()[-500:]}")
    wall, cpu = json.loads(proc.stdout.strip().splitlines()[-1])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one procedural case, the small comparisons")
    parser.add_argument("--iterations", type=int, default=None, help="training steps per case")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's own; PEERS.md's OpenSplat ran on one)")
    parser.add_argument("--preview-e2e", action="store_true",
                        help="also time `splatcine reconstruct` (full preview preset) on a 49-frame orbit")
    parser.add_argument("--only", choices=("step-time", "preview-e2e"),
                        help="re-measure only this part; the other rows of the results file are kept")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also time each step-time row with the splatcine checkout at DIR")
    parser.add_argument("--opensplat", type=Path, metavar="BINARY",
                        help="time this OpenSplat build on the same scenes (default: `opensplat` on PATH, "
                        "else build/opensplat/opensplat; scripts/build_opensplat.sh makes one)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3,
                        help="with OpenSplat: time each row this many times, ours and OpenSplat in turn")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    parser.add_argument("--step-case", help=argparse.SUPPRESS)  # internal: W,H,N,STEPS -> JSON
    args, _ = parser.parse_known_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.step_case:
        w, h, count, steps = map(int, args.step_case.split(","))
        print(json.dumps(step_time(w, h, count, steps)))
        return
    iterations = args.iterations or (100 if args.quick else 200)
    if args.case:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(run_case(args.case, Path(tmp), iterations)))
        return
    console = Console(width=160)  # the tables stay whole in logs
    cases = ["orbit"]
    if CAPYBARA.is_file() and not args.quick:
        cases.append("capybara")
    rows: list[dict] = []
    comparisons: list[dict] = []
    e2e: list[dict] = []
    if args.only:  # re-time one part, keep the rest
        previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        rows, cases = previous.get("cases", []), []
        if args.only != "step-time":
            comparisons = previous.get("step_time", [])
        if args.only != "preview-e2e":
            e2e = previous.get("preview_e2e", [])

    def save() -> None:  # after every case, so an interrupted run keeps what it measured
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        kept = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}  # other benchmarks' keys
        RESULTS.write_text(json.dumps({**kept,
            "quick": args.quick, "iterations": iterations, "torch_threads": torch.get_num_threads(),
            "load_average": os.getloadavg(),  # other work on the machine inflates every figure
            "cases": rows, "step_time": comparisons, "preview_e2e": e2e}, indent=2) + "\n")  # fmt: skip

    from benchmarks.opensplat import find_opensplat

    opensplat_binary = None if args.only == "preview-e2e" else find_opensplat(args.opensplat)
    if opensplat_binary is None and args.only != "preview-e2e":
        console.print("no OpenSplat build (scripts/build_opensplat.sh): speed-ups are against PEERS.md's "
                      "figures from another machine", highlight=False)  # fmt: skip
    for label, w, h, count, opensplat in [] if args.only == "preview-e2e" else OPENSPLAT[:2] if args.quick \
            else OPENSPLAT:  # fmt: skip
        console.print(f"step time {label} ...", highlight=False)
        steps = 20 if count > 10_000 else 60  # means over this many steps: the shared cores jitter ~10%
        # With OpenSplat here: ours and theirs in turn, `--rounds` times, medians of each (this
        # machine's speed drifts ~25% from minute to minute; both sides see the same drift)
        ours_runs, theirs_runs = [], []
        for _ in range(args.rounds if opensplat_binary is not None else 1):
            ours_runs.append(step_time(w, h, count, steps))
            if opensplat_binary is not None:
                theirs_runs.append(opensplat_time(opensplat_binary, w, h, count, steps))
        ours, cpu = (statistics.median(x) for x in zip(*ours_runs))
        comparisons.append({"case": label, "width": w, "height": h, "gaussians": count,
                            "seconds_per_iteration": ours, "cpu_seconds_per_iteration": cpu,
                            "opensplat": opensplat, "speedup": opensplat / ours,
                            "load_average": os.getloadavg()})  # fmt: skip
        if theirs_runs:
            here = statistics.median(theirs_runs)
            comparisons[-1].update({"opensplat_here": here, "speedup_here": here / ours,
                                    "rounds": {"splatcine": [o for o, _ in ours_runs], "opensplat": theirs_runs},
                                    "opensplat_binary": str(opensplat_binary)})  # fmt: skip
        if args.against:
            theirs, their_cpu = reference_step_time(args.against, w, h, count, steps)
            commit = subprocess.run(["git", "-C", str(args.against), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip() or None  # fmt: skip
            comparisons[-1].update({"reference": str(args.against.resolve()), "reference_commit": commit,
                                    "reference_seconds_per_iteration":
                                    theirs, "reference_cpu_seconds_per_iteration": their_cpu,
                                    "speedup_vs_reference": theirs / ours,
                                    "cpu_speedup_vs_reference": their_cpu / cpu})  # fmt: skip
        save()
    for name in cases:
        console.print(f"case {name} ...", highlight=False)
        proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_train", "--case", name,
                               "--iterations", str(iterations), "--threads", str(torch.get_num_threads())],
                              capture_output=True, text=True,
                              cwd=Path(__file__).parent.parent)  # fmt: skip
        if proc.returncode != 0:
            rows.append({"case": name, "error": proc.stderr.strip().splitlines()[-1:]})
        else:
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        save()

    table = Table(title=f"splatcine train, end to end (preset preview, {iterations} iterations per case)")
    for col in ("case", "cameras", "decode s", "sfm s", "train s", "export s", "s/it", "Gaussians",
                "PSNR", "SSIM", "peak MiB", "preview min (proj.)"):
        table.add_column(col, justify="left" if col in ("case", "cameras") else "right")
    for r in rows:
        if "error" in r:
            table.add_row(r["case"], f"[red]{r['error']}[/]")
            continue
        s = r["stages"]
        table.add_row(r["case"], r["cameras"], f"{s['decode']:.1f}", f"{s['sfm']:.1f}", f"{s['train']:.1f}",
                      f"{s['export']:.2f}", f"{r['seconds_per_iteration']:.3f}", str(r["gaussians"]),
                      f"{r['psnr']:.2f}" if r["psnr"] else "-", f"{r['ssim']:.3f}" if r["ssim"] else "-",
                      f"{r['peak_rss_mib']:.0f}", f"{r['projected_preview_minutes']:.1f}")  # fmt: skip
    console.print(table)
    steps = Table(title="seconds per training step beside OpenSplat 1.1.5 CPU, one thread (target 10x)")
    for col in ("case", "Gaussians", "splatcine s/it", "CPU s/it", "OpenSplat here s/it", "speed-up here",
                "PEERS.md s/it", "speed-up vs PEERS.md", "load avg", "vs --against (wall / CPU)"):  # fmt: skip
        steps.add_column(col, justify="left" if col == "case" else "right")
    for c in comparisons:
        against = (f"{c['speedup_vs_reference']:.2f}x / {c['cpu_speedup_vs_reference']:.2f}x"
                   if "speedup_vs_reference" in c else "-")  # fmt: skip
        steps.add_row(c["case"], str(c["gaussians"]), f"{c['seconds_per_iteration']:.4f}",
                      f"{c.get('cpu_seconds_per_iteration', float('nan')):.4f}",
                      f"{c['opensplat_here']:.3f}" if "opensplat_here" in c else "-",
                      f"{c['speedup_here']:.1f}x" if "speedup_here" in c else "-", f"{c['opensplat']:.3f}",
                      f"{c['speedup']:.1f}x", f"{c.get('load_average', [float('nan')])[0]:.1f}", against)  # fmt: skip
    console.print(steps)
    if args.preview_e2e or args.only == "preview-e2e":
        console.print("preview end to end (splatcine reconstruct, 2000 steps) ...", highlight=False)
        with tempfile.TemporaryDirectory() as tmp:
            e2e.append(preview_e2e(Path(tmp)))
        save()
        full = Table(title="splatcine reconstruct, preview preset, end to end (target <= 10 min on 2 cores)")
        for col in ("case", "iterations", "wall min", "train s", "Gaussians", "PSNR", "load avg"):
            full.add_column(col, justify="left" if col == "case" else "right")
        for r in e2e:
            if "error" in r:
                full.add_row(r["case"], f"[red]{r['error']}[/]")
                continue
            full.add_row(r["case"], str(r["iterations"]), f"{r['wall_minutes']:.2f}", f"{r['train_seconds']:.0f}",
                         str(r["gaussians"]), f"{r['psnr']:.2f}", f"{r['load_average'][1]:.1f}")  # fmt: skip
        console.print(full)
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
