"""Rasterizer benchmark: forward and forward+backward time per backend, with ratios.

One synthetic scene (Gaussians spread through a camera's view, 1.5 to 6 units away,
screen radii from about 1 to 30 px) rendered at 480x270 and 832x480 with 10k, 100k and
500k Gaussians by every backend present: `reference` (plain PyTorch, timed once per
size, skipped at 500k), `cpu` (the C++/OpenMP kernels), and on a CUDA machine `cuda`
and `gsplat`. Ratios are measured in the same run: CPU kernel against the reference,
CUDA against gsplat. The CPU kernel's throughput (Gaussian-pixel evaluations per second)
is set beside the machine's peak:

    peak lane-ops/s = cores x GHz x SIMD fp32 lanes (16 with AVX-512, 8 with AVX2) x FMA units (2)
    peak evaluations/s = peak lane-ops/s / OPS_PER_EVAL

where OPS_PER_EVAL counts the vector instructions of one forward evaluation (sigma,
fast exp, cut-offs, blending) in cuda/rasterize_cpu.cpp. The peer line sets the
CPU kernel's training-step time (rasterizer forward+backward only) beside OpenSplat's
full iterations from PEERS.md at the same resolution and Gaussian count.

    .venv/bin/python -m benchmarks.bench_raster [--quick]

`--device cuda` times the GPU backends only (`cuda` beside `gsplat`, the ratio to gsplat)
at 832x480 and 1920x1080 with 100k, 500k and 2M Gaussians, into results/raster_cuda.json;
`benchmarks.gpu_check` runs the same measurement as one of its parts.
"""

from __future__ import annotations

import os

# Sleeping, not spinning, OpenMP waits (as `import splatcine` sets too): on a shared
# machine spinning threads collapse torch's ops and ours alike. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from splatcine.cameras import look_at  # noqa: E402
from splatcine.raster import rasterize  # noqa: E402
from splatcine.raster.reference import ALPHA_MIN  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "raster.json"
VFOV_DEG = 50.0
OPS_PER_EVAL = 30  # sigma 5, fast exp 12, clamp and cut-offs 5, transmittance and blend 8
OPENSPLAT = {(480, 270, 4500): 0.81, (400, 400, 100_000): 5.05}  # PEERS.md, s per iteration


def scene(n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """n Gaussians filling the view of a camera at the origin looking down +z (world = camera)."""
    rng = np.random.default_rng(seed)
    tan = math.tan(math.radians(VFOV_DEG) / 2)
    z = rng.uniform(1.5, 6.0, n)
    x = rng.uniform(-1.9, 1.9, n) * z * tan  # 16:9 and a little beyond the sides
    y = rng.uniform(-1.1, 1.1, n) * z * tan
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return dict(
        means=t(np.stack([x, y, z], 1)),
        quats=t(rng.normal(size=(n, 4))),
        scales=t(np.exp(rng.uniform(math.log(0.002), math.log(0.03), (n, 3)))),
        opacities=t(rng.uniform(0.05, 0.95, n)),
        colors=t(rng.uniform(0.0, 1.0, (n, 3))),
    )


def camera(width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    fy = 0.5 * height / math.tan(math.radians(VFOV_DEG) / 2)
    K = torch.tensor([[fy, 0, width / 2], [0, fy, height / 2], [0, 0, 1]], dtype=torch.float32)
    cam_from_world = torch.tensor(look_at(np.zeros(3), np.array([0, 0, 1.0]), np.array([0, -1.0, 0])),
                                  dtype=torch.float32)  # fmt: skip
    return cam_from_world, K


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_backend(gs: dict, width: int, height: int, backend: str, repeats: int) -> dict:
    """Median seconds of forward, and of forward + backward, after one warm-up (when repeats > 1)."""
    device = "cuda" if backend in ("cuda", "gsplat") else "cpu"
    cam_from_world, K = (t.to(device) for t in camera(width, height))
    params = {k: v.to(device).requires_grad_(True) for k, v in gs.items()}
    fwd, both, fwd_cpu = [], [], []
    for i in range(repeats + (1 if repeats > 1 else 0)):
        for p in params.values():
            p.grad = None
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        out = rasterize(*params.values(), cam_from_world, K, width, height, backend=backend)
        _sync(device)
        t1, c1 = time.perf_counter(), time.process_time()
        (out.rgb.sum() + out.depth.sum() + out.alpha.sum()).backward()
        _sync(device)
        t2 = time.perf_counter()
        if repeats == 1 or i > 0:
            fwd.append(t1 - t0)
            both.append(t2 - t0)
            fwd_cpu.append(c1 - c0)
    # CPU seconds (all threads) beside wall seconds: on a shared machine wall time also counts
    # the time other processes held the cores
    return {"fwd_s": float(np.median(fwd)), "fwd_bwd_s": float(np.median(both)),
            "fwd_cpu_s": float(np.median(fwd_cpu)),
            "repeats": len(fwd), "visible": int((out.radii > 0).sum())}  # fmt: skip


def device_rows(sizes: list[tuple[int, int, int]], backends: list[str], repeats: int,
                deadline: float | None = None, log=print) -> list[dict]:
    """Rows of `time_backend` for each (width, height, n) and backend, with the ratio of the
    first backend to gsplat when both ran; stops (keeping what it has) past `deadline` (time.time())."""
    rows = []
    for width, height, n in sizes:
        if deadline is not None and time.time() > deadline:
            break
        gs = scene(n)
        timed = {b: time_backend(gs, width, height, b, repeats) for b in backends}
        for backend, t in timed.items():
            row = {"width": width, "height": height, "n": n, "backend": backend, **t}
            if backend != "gsplat" and "gsplat" in timed:
                row["speedup_fwd_vs_gsplat"] = timed["gsplat"]["fwd_s"] / t["fwd_s"]
                row["speedup_fwd_bwd_vs_gsplat"] = timed["gsplat"]["fwd_bwd_s"] / t["fwd_bwd_s"]
            rows.append(row)
            log(f"{width}x{height} {n:>9,} {backend:7} fwd {1e3 * t['fwd_s']:8.2f} ms  "
                f"fwd+bwd {1e3 * t['fwd_bwd_s']:8.2f} ms")  # fmt: skip
        del gs
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return rows


def simd_lanes() -> int:
    """fp32 lanes of one SIMD register here: the CPU kernels' chunk width (cuda/rasterize_cpu.cpp)."""
    try:
        flags = next((ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")), "")
    except OSError:
        flags = ""
    return 16 if "avx512f" in flags else 8 if "avx2" in flags else 4


def evaluations(gs: dict, width: int, height: int) -> dict[str, int]:
    """Gaussian-pixel evaluations the CPU forward kernel issues, and how many of them reach
    alpha 1/255: for each (tile, Gaussian) entry, the SIMD chunks of each row that the
    Gaussian's footprint reaches (cuda/include/pixel.h, re-done here in float64), times the
    lanes per chunk. An upper bound: tiles stop early once every pixel is opaque."""
    from splatcine.raster import _native

    ext = _native.load()
    cam_from_world, K = camera(width, height)
    g = {k: v.contiguous() for k, v in gs.items()}
    means2d, depths, conics, comps, radii = ext.project_fwd(g["means"], g["quats"], g["scales"],
                                                            g["opacities"], cam_from_world, K, width,
                                                            height, 0.01, False, 0)  # fmt: skip
    opacities = (g["opacities"] * comps).contiguous()
    tile_offsets, flat_ids, _, _ = ext.bin_gaussians(means2d, conics, opacities, radii, depths, width, height, 0)
    tiles = tile_offsets.numel() - 1
    tile_of_entry = torch.repeat_interleave(torch.arange(tiles), tile_offsets.diff().long())
    tiles_x = (width + 15) // 16
    x0, y0 = ((tile_of_entry % tiles_x) * 16).double(), ((tile_of_entry // tiles_x) * 16).double()
    ids = flat_ids.long()
    c0, c1, c2 = conics[ids].double().unbind(-1)
    op = opacities[ids].double()
    mx, my = means2d[ids].double().unbind(-1)
    lanes = simd_lanes()
    log_op = torch.log(torch.clamp(op / ALPHA_MIN, min=1.0))
    L = 1.02 * log_op + 0.05  # the footprint's loosened bound (pixel.h)
    det = c0 * c2 - c1 * c1
    exact = (det > 1e-4 * c0 * c2) & (c0 > 0) & (c2 > 0)
    reach = torch.where(exact, torch.sqrt(2 * L * c0 / det), torch.sqrt(2 * log_op * c0 / det)) + 1
    rows = torch.arange(16, dtype=torch.float64)
    rows_in_tile = torch.clamp(height - y0, max=16)
    r0 = torch.clamp(torch.floor(my - reach - y0 - 0.5), min=0)
    r1 = torch.minimum(torch.ceil(my + reach - y0 - 0.5), rows_in_tile - 1)
    visited = (rows[None] >= r0[:, None]) & (rows[None] <= r1[:, None])  # [E, 16]
    dy = y0[:, None] + rows[None] + 0.5 - my[:, None]
    disc = 2 * L[:, None] * c0[:, None] - det[:, None] * dy**2
    half = torch.sqrt(torch.clamp(disc, min=0)) / c0[:, None]
    centre = -c1[:, None] * dy / c0[:, None]
    base = (x0 + 0.5 - mx)[:, None]
    c_lo = torch.clamp(torch.ceil(centre - half - 0.5 - base), min=0)
    c_hi = torch.clamp(torch.floor(centre + half + 0.5 - base), max=15)
    chunks = torch.where(exact[:, None], torch.where((disc >= 0) & (c_lo <= c_hi),
                         torch.div(c_hi, lanes, rounding_mode="floor") - torch.div(c_lo, lanes, rounding_mode="floor") + 1,
                         0), 16 // lanes)  # fmt: skip
    evaluated = int((chunks * visited).sum()) * lanes
    # lanes at which the Gaussian's alpha reaches 1/255 (inside the image)
    cols = torch.arange(16, dtype=torch.float64)
    reached = 0
    for part in torch.arange(len(ids)).split(20_000):
        dx = x0[part, None] + cols[None] + 0.5 - mx[part, None]  # [e, 16]
        dyp = dy[part]
        sigma = 0.5 * (c0[part, None, None] * dx[:, None, :] ** 2 + c2[part, None, None] * dyp[:, :, None] ** 2) \
            + c1[part, None, None] * dx[:, None, :] * dyp[:, :, None]  # fmt: skip
        inside = ((y0[part, None] + rows[None]) < height)[:, :, None] & ((x0[part, None] + cols[None]) < width)[:, None, :]
        reached += int(((op[part, None, None] * torch.exp(-sigma) >= ALPHA_MIN) & inside).sum())
    return {"evals": evaluated, "lanes_reaching_alpha_min": reached, "entries": len(ids)}


def machine_peak() -> dict:
    """cores x GHz x fp32 SIMD lanes x 2 FMA units, from /proc/cpuinfo and lscpu."""
    cores = os.cpu_count() or 1
    ghz, flags = None, ""
    try:
        info = Path("/proc/cpuinfo").read_text()
        flags = next((ln for ln in info.splitlines() if ln.startswith("flags")), "")
        model = next((ln for ln in info.splitlines() if ln.startswith("model name")), "")
        m = re.search(r"@\s*([\d.]+)\s*GHz", model)
        ghz = float(m.group(1)) if m else None
        if ghz is None:
            mhz = [float(ln.split(":")[1]) for ln in info.splitlines() if ln.startswith("cpu MHz")]
            ghz = max(mhz) / 1000 if mhz else None
    except OSError:
        pass
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        m = re.search(r"CPU max MHz:\s*([\d.]+)", lscpu)
        if m:
            ghz = float(m.group(1)) / 1000
    except (OSError, subprocess.SubprocessError):
        pass
    ghz = ghz or 2.3  # PEERS.md: 2.3 GHz Xeon when nothing says otherwise
    lanes = simd_lanes()
    lane_ops = cores * ghz * 1e9 * lanes * 2
    return {"cores": cores, "ghz": ghz, "fp32_lanes": lanes, "fma_units": 2,
            "peak_lane_ops_per_s": lane_ops, "ops_per_eval": OPS_PER_EVAL,
            "peak_evals_per_s": lane_ops / OPS_PER_EVAL}  # fmt: skip


def backends_present() -> list[str]:
    import importlib.util

    present = ["reference", "cpu"]
    if torch.cuda.is_available():
        present.append("cuda")
        if importlib.util.find_spec("gsplat") is not None:
            present.append("gsplat")
    return present


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small resolution and size")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: the GPU backends only, at GPU sizes (results/raster_cuda.json)")
    args = parser.parse_args()
    console = Console(width=150)
    if args.device == "cuda":
        main_cuda(console, max(args.repeats, 10))
        return
    resolutions = [(480, 270)] if args.quick else [(480, 270), (832, 480)]
    sizes = [10_000] if args.quick else [10_000, 100_000, 500_000]
    backends = backends_present()
    rows = []
    for width, height in resolutions:
        for n in sizes:
            gs = scene(n)
            timed = {}
            for backend in backends:
                if backend == "reference" and n > 100_000:
                    continue  # minutes per call; the ratio at 100k says enough
                repeats = 1 if backend == "reference" else args.repeats  # seconds to minutes a call
                timed[backend] = time_backend(gs, width, height, backend, repeats)
                console.log(f"{width}x{height} {n:>7} {backend:9} {timed[backend]}")
            counted = evaluations(gs, width, height)
            for backend, t in timed.items():
                row = {"width": width, "height": height, "n": n, "backend": backend, **t}
                base = {"cpu": "reference", "cuda": "gsplat"}.get(backend)
                if base in timed:
                    row["speedup_fwd_vs_" + base] = timed[base]["fwd_s"] / t["fwd_s"]
                    row["speedup_fwd_bwd_vs_" + base] = timed[base]["fwd_bwd_s"] / t["fwd_bwd_s"]
                if backend == "cpu":
                    row.update(counted)
                    row["evals_per_s"] = counted["evals"] / t["fwd_s"]
                    peak = machine_peak()
                    row["share_of_peak"] = row["evals_per_s"] / peak["peak_evals_per_s"]
                    # per CPU-second against one core's peak: what the kernel gets from the time it ran
                    row["evals_per_cpu_s"] = counted["evals"] / t["fwd_cpu_s"]
                    row["share_of_core_peak"] = row["evals_per_cpu_s"] / (peak["peak_evals_per_s"] / peak["cores"])
                rows.append(row)

    peers = []
    if not args.quick:
        for (width, height, n), their_s in OPENSPLAT.items():
            t = time_backend(scene(n), width, height, "cpu", args.repeats)
            peers.append({"width": width, "height": height, "n": n, "cpu_fwd_bwd_s": t["fwd_bwd_s"],
                          "opensplat_iteration_s": their_s, "ratio": their_s / t["fwd_bwd_s"]})  # fmt: skip

    peak = machine_peak()
    table = Table(title=f"rasterizer, {torch.get_num_threads()} threads (peak {peak['peak_evals_per_s']:.2e} evals/s)")
    for col in ("size", "N", "backend", "fwd ms", "fwd+bwd ms", "speedup fwd", "speedup fwd+bwd",
                "evals/s", "% of peak", "% of peak per CPU-s"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in rows:
        sp = next((k for k in r if k.startswith("speedup_fwd_vs_")), None)
        spb = next((k for k in r if k.startswith("speedup_fwd_bwd_vs_")), None)
        table.add_row(
            f"{r['width']}x{r['height']}", f"{r['n']:,}", r["backend"], f"{1e3 * r['fwd_s']:.1f}",
            f"{1e3 * r['fwd_bwd_s']:.1f}",
            f"{r[sp]:.1f}x vs {sp.rsplit('_', 1)[1]}" if sp else "",
            f"{r[spb]:.1f}x" if spb else "",
            f"{r['evals_per_s']:.2e}" if "evals_per_s" in r else "",
            f"{100 * r['evals_per_s'] / peak['peak_evals_per_s']:.1f}" if "evals_per_s" in r else "",
            f"{100 * r['share_of_core_peak']:.1f}" if "share_of_core_peak" in r else "",
        )  # fmt: skip
    console.print(table)
    for p in peers:
        console.print(f"peer: {p['width']}x{p['height']} {p['n']:,} Gaussians: cpu fwd+bwd "
                      f"{p['cpu_fwd_bwd_s']:.3f} s vs OpenSplat iteration {p['opensplat_iteration_s']} s "
                      f"({p['ratio']:.1f}x)")  # fmt: skip

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "torch": torch.__version__, "threads": torch.get_num_threads(),
                    "load_avg": os.getloadavg(), **peak},
        "quick": args.quick, "rows": rows, "peers": peers,
        "notes": "reference skipped at 500k and timed once per size; GPU rows only on a CUDA machine",
    }, indent=2))  # fmt: skip
    console.print(f"wrote {RESULTS}")


def main_cuda(console: Console, repeats: int) -> None:
    import importlib.util

    if not torch.cuda.is_available():
        raise SystemExit("error: --device cuda needs a CUDA device")
    backends = ["cuda"] + (["gsplat"] if importlib.util.find_spec("gsplat") is not None else [])
    sizes = [(w, h, n) for w, h in ((832, 480), (1920, 1080)) for n in (100_000, 500_000, 2_000_000)]
    rows = device_rows(sizes, backends, repeats, log=console.log)
    path = RESULTS.with_name("raster_cuda.json")
    path.write_text(json.dumps({"machine": {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__},
                                "repeats": repeats, "rows": rows}, indent=2))  # fmt: skip
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
