"""Render benchmark: throughput along an 81-frame 832x480 path, and conditioning fidelity.

Throughput: the ground-truth splat of the procedural set (one Gaussian per pixel of four
source frames, `splatcine.render.fidelity.gaussians_from_depth`) rendered along 81 cameras
at 832x480 by `render_cameras` (rasterize + depth-tested coverage against the source views +
normals + unseen mask), per backend present (the native CPU kernels; CUDA when there is a
GPU); the rasterizer alone is timed on the first 9 of those frames, so the cost of the maps
(and of rendering the source views once for the depth tests) shows as a ratio. Writing the shot directory with the `wan-vace` and `frames` formats is timed too.

Fidelity: for each procedural source move (truck, dolly, orbit) a new path leaves the
filmed set (it swings up to 60 degrees away and steps sideways); masked PSNR where the unseen
mask says "seen", and unseen-mask IoU and recall against the true disocclusion.

Memory (`--memory`, or `--only memory`): `render_path` end to end (frames stream to disk,
then the `wan-vace` and `gen3c` folders, gen3c fitted to its 121 frames) at 49 and 121 frames
of 1280x704 (GEN3C's size), each in a fresh process whose peak resident memory (ru_maxrss) is
recorded beside its resident memory once the scene is loaded; a small splat (the ground truth
of four 160x90 frames, 57.6k Gaussians) and four source views keep it to minutes on 2 cores. Streaming keeps the
peak flat in the frame count: 121 frames may take at most 20% more than 49.

    .venv/bin/python -m benchmarks.bench_render [--quick] [--only speed|memory]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import scenes
from splatcine.cameras import Camera, look_at
from splatcine.condition import write_formats
from splatcine.raster import rasterize
from splatcine.render import files, fidelity, render_cameras

RESULTS = Path(__file__).parent / "results" / "render.json"
SOURCE_FRAMES = 12
SPLAT_FRAMES = (0, 4, 8, 11)
RASTER_ONLY_FRAMES = 9  # frames of the path timed through the rasterizer alone


def ground_truth_splat(world, sources: list[Camera]):
    truth = [world.render(c) for c in sources]
    picks = [i for i in SPLAT_FRAMES if i < len(sources)]
    splat = fidelity.gaussians_from_depth([sources[i] for i in picks], [truth[i][0] for i in picks],
                                          [truth[i][1] for i in picks])  # fmt: skip
    return splat, truth


def leaving_path(sources: list[Camera], frames: int, width: int, height: int) -> list[Camera]:
    """The source move replayed with a growing sideways step (0.8 m) and yaw (up to 60 degrees)."""
    k = scenes.intrinsics(width, height)
    idx = np.linspace(0, len(sources) - 1, frames)
    out = []
    for s, i in zip(np.linspace(0, 1, frames), idx):
        src = sources[int(round(i))]
        forward, eye = src.forward, src.center
        right = np.cross(forward, [0.0, 0.0, 1.0])
        yaw = np.radians(60.0 * s)
        c, n = np.cos(yaw), np.sin(yaw)
        turned = np.array([c * forward[0] - n * forward[1], n * forward[0] + c * forward[1], forward[2]])
        eye = eye - 0.8 * s * right
        out.append(Camera(look_at(eye, eye + turned), k))
    return out


def coverage_timing(splat, cameras: list[Camera], sources: list[Camera], shot, frames: int = 5) -> dict:
    """The depth-tested coverage of `frames` rendered frames against the source views, on the
    C++ kernel and on the torch ops it replaced (one thread, as `render` runs it), same inputs."""
    from splatcine.progress import silent
    from splatcine.render import maps
    from splatcine.render import shot as shot_mod

    params = (splat.means, splat.quats, splat.scales, splat.opacities, splat.sh)
    views = shot_mod._source_views(params, splat.sh_degree, sources, "cpu", torch.device("cpu"), silent)
    inputs = []
    for i, cam in enumerate(cameras[:frames]):
        K = torch.tensor(cam.intrinsics.K, dtype=torch.float32)
        world_from_cam = torch.tensor(cam.world_from_cam, dtype=torch.float32)
        pts = maps.backproject(torch.from_numpy(shot.depth[i]), K) @ world_from_cam[:3, :3].T
        pts = pts + world_from_cam[:3, 3]
        inputs.append((pts.reshape(-1, 3).contiguous(), world_from_cam[:3, 3]))
    seconds, results = {}, {}
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, fn in (("native", maps._coverage_native), ("torch", maps.coverage_torch)):
            t = time.perf_counter()
            results[name] = [fn(pts, centre, views) for pts, centre in inputs]
            seconds[name] = (time.perf_counter() - t) / len(inputs)
    finally:
        torch.set_num_threads(before)
    agree = float(np.mean([(a[0] == b[0]).float().mean() for a, b in zip(results["native"], results["torch"])]))
    return {"coverage_native_s": seconds["native"], "coverage_torch_s": seconds["torch"],
            "coverage_speedup": seconds["torch"] / seconds["native"], "coverage_count_agreement": agree}


def throughput(frames: int, width: int, height: int, source_size: tuple[int, int]) -> list[dict]:
    world = scenes.ProceduralSet(seed=0)
    sources = scenes.truck(SOURCE_FRAMES, *source_size)
    splat, _ = ground_truth_splat(world, sources)
    cameras = leaving_path(scenes.truck(frames, width, height), frames, width, height)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        backend = "cpu" if device == "cpu" else "cuda"
        g = splat.to(device)
        render_cameras(g, cameras[:1], sources[:2], backend=backend, device=device)  # warm-up / build
        t = time.perf_counter()
        shot = render_cameras(g, cameras, sources, backend=backend, device=device)
        maps_s = time.perf_counter() - t
        raster_frames = cameras[:RASTER_ONLY_FRAMES]
        t = time.perf_counter()
        with torch.no_grad():
            for cam in raster_frames:
                rasterize(g.means, g.quats, g.scales, g.opacities, g.sh,
                          torch.tensor(cam.cam_from_world, dtype=torch.float32, device=device),
                          torch.tensor(cam.intrinsics.K, dtype=torch.float32, device=device),
                          width, height, sh_degree=0, backend=backend)  # fmt: skip
        if device == "cuda":
            torch.cuda.synchronize()
        raster_s = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            files.write_shot(shot, Path(tmp), {"kind": "benchmark"})
            write_formats(shot, Path(tmp), ["wan-vace", "frames"])
            write_s = time.perf_counter() - t
        rows.append({
            "device": device, "backend": backend, "frames": frames, "width": width, "height": height,
            "gaussians": len(splat), "source_views": len(sources),
            "render_fps": frames / maps_s, "raster_only_fps": len(raster_frames) / raster_s,
            "maps_cost_ratio": (maps_s / frames) / (raster_s / len(raster_frames)), "write_seconds": write_s,
            "mean_unseen_fraction": float(shot.unseen_fraction.mean()),
            **(coverage_timing(splat, cameras, sources, shot) if device == "cpu" else {}),
        })  # fmt: skip
    return rows


def fidelity_case(name: str, frames: int, width: int, height: int) -> dict:
    world = scenes.ProceduralSet(seed=0)
    sources, _ = scenes.cameras_for(name, SOURCE_FRAMES, width, height)
    splat, truth = ground_truth_splat(world, sources)
    cameras = leaving_path(sources, frames, width, height)
    shot = render_cameras(splat, cameras, sources)
    new_truth = [world.render(c) for c in cameras]
    true_unseen = np.stack([fidelity.true_unseen(c, d, sources, [t[1] for t in truth])
                            for c, (_, d) in zip(cameras, new_truth)])  # fmt: skip
    rgb = np.stack([t[0] for t in new_truth])
    seen = ~shot.unseen_binary
    return {
        "scene": name, "frames": frames, "width": width, "height": height,
        "masked_psnr_db": fidelity.masked_psnr(shot.color, rgb, seen),
        "psnr_where_truly_seen_db": fidelity.masked_psnr(shot.color, rgb, ~true_unseen),
        "mask_iou": fidelity.iou(shot.unseen_binary, true_unseen),
        "mask_recall": fidelity.recall(shot.unseen_binary, true_unseen),
        "true_unseen_fraction": float(true_unseen.mean()),
        "predicted_unseen_fraction": float(shot.unseen_binary.mean()),
    }  # fmt: skip


MEMORY_FRAMES = (49, 121)
MEMORY_SIZE = (1280, 704)  # GEN3C's frame size
MEMORY_FORMATS = ("wan-vace", "gen3c")
MEMORY_GROWTH_LIMIT = 1.20  # the bound: peak at 121 frames / peak at 49 frames


MEMORY_SOURCES = 4  # source views of the memory scene: each is a depth test per pixel of every frame


def memory_scene(root: Path) -> Path:
    """A procedural truck scene (4 frames at 160x90) with its ground-truth splat as splat.ply."""
    from splatcine.io.ply import write_gaussians_ply
    from splatcine.scene import layout

    scene_dir = scenes.write_ground_truth_scene("truck", root / "scene", frames=MEMORY_SOURCES, width=160, height=90)
    sources = scenes.truck(MEMORY_SOURCES, 160, 90)
    world = scenes.set_for("truck")
    truth = [world.render(c) for c in sources]
    splat = fidelity.gaussians_from_depth(sources, [t[0] for t in truth], [t[1] for t in truth])
    write_gaussians_ply(scene_dir / layout.SPLAT_PLY, splat)
    return scene_dir


def memory_child(frames: int, scene_dir: Path, out_dir: Path) -> dict:
    """Run in a fresh process: render_path of `frames` frames at 1280x704; peak and loaded RSS."""
    from splatcine.render import render_path
    from splatcine.scene import load_scene

    scene = load_scene(scene_dir)
    cameras = leaving_path(scenes.truck(frames, *MEMORY_SIZE), frames, *MEMORY_SIZE)
    loaded_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    render_path(scene, cameras, out_dir, formats=MEMORY_FORMATS, fit=True, fps=24.0)
    seconds = time.perf_counter() - t
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"frames": frames, "width": MEMORY_SIZE[0], "height": MEMORY_SIZE[1], "formats": list(MEMORY_FORMATS),
            "peak_rss_mib": peak_kib / 1024, "rss_after_scene_load_mib": loaded_kib / 1024,
            "render_path_seconds": seconds}  # fmt: skip


def memory() -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        scene_dir = memory_scene(Path(tmp))
        for frames in MEMORY_FRAMES:
            cmd = [sys.executable, "-m", "benchmarks.bench_render", "--memory-child", str(frames),
                   "--scene", str(scene_dir), "--out", str(Path(tmp) / f"shot{frames}")]  # fmt: skip
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    growth = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    return {"runs": rows, "peak_growth_121_over_49": growth, "limit": MEMORY_GROWTH_LIMIT,
            "within_limit": growth <= MEMORY_GROWTH_LIMIT}  # fmt: skip


def print_memory(console: Console, mem: dict) -> None:
    table = Table(title=f"render_path peak memory at {MEMORY_SIZE[0]}x{MEMORY_SIZE[1]} ({', '.join(MEMORY_FORMATS)})")
    for col in ("frames", "peak RSS MiB", "RSS with scene loaded MiB", "seconds"):
        table.add_column(col, justify="right")
    for r in mem["runs"]:
        table.add_row(str(r["frames"]), f"{r['peak_rss_mib']:.0f}", f"{r['rss_after_scene_load_mib']:.0f}",
                      f"{r['render_path_seconds']:.0f}")  # fmt: skip
    console.print(table)
    console.print(f"peak growth 121 / 49 frames: {mem['peak_growth_121_over_49']:.3f} "
                  f"(limit {mem['limit']:.2f}: {'within' if mem['within_limit'] else 'OVER'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="17 frames at 416x240 instead of 81 at 832x480")
    parser.add_argument("--only", choices=("speed", "memory"), help="measure one part, keep the other's results")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--scene", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.scene, args.out)))
        return
    console = Console()
    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if args.only == "memory":
        mem = memory()
        print_memory(console, mem)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({**previous, "memory": mem}, indent=2))
        console.print(f"wrote {RESULTS}")
        return
    size = (17, 416, 240) if args.quick else (81, 832, 480)
    speed = throughput(*size, source_size=(256, 144))
    table = Table(title=f"render throughput, {size[0]} frames {size[1]}x{size[2]}")
    for col in ("device", "Gaussians", "render fps (all maps)", "rasterize-only fps", "maps / raster", "write s",
                "coverage C++ / torch s a frame"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in speed:
        cov = (f"{r['coverage_native_s']:.3f} / {r['coverage_torch_s']:.3f} ({r['coverage_speedup']:.0f}x)"
               if "coverage_speedup" in r else "")  # fmt: skip
        table.add_row(r["device"], f"{r['gaussians']:,}", f"{r['render_fps']:.2f}", f"{r['raster_only_fps']:.2f}",
                      f"{r['maps_cost_ratio']:.2f}x", f"{r['write_seconds']:.1f}", cov)  # fmt: skip
    console.print(table)

    cases = [fidelity_case(name, 12, 160, 90) for name in ("truck", "dolly", "orbit")]
    table = Table(title="conditioning fidelity (procedural set, 12 new frames at 160x90)")
    for col in ("scene", "masked PSNR dB", "PSNR truly seen dB", "mask IoU", "mask recall", "unseen true / ours"):
        table.add_column(col, justify="right")
    for c in cases:
        table.add_row(c["scene"], f"{c['masked_psnr_db']:.2f}", f"{c['psnr_where_truly_seen_db']:.2f}",
                      f"{c['mask_iou']:.3f}", f"{c['mask_recall']:.3f}",
                      f"{c['true_unseen_fraction']:.2f} / {c['predicted_unseen_fraction']:.2f}")  # fmt: skip
    console.print(table)

    mem = previous.get("memory")
    if args.only != "speed":
        mem = memory()
        print_memory(console, mem)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    doc = {"machine": {"cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
                       "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
           "quick": args.quick, "throughput": speed, "fidelity": cases, "memory": mem}  # fmt: skip
    RESULTS.write_text(json.dumps(doc, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
