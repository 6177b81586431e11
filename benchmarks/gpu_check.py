"""The GPU path in one command: build, test, measure and write `benchmarks/results/gpu.json`.

On a CUDA machine (an H200 in about 7 minutes; each part has a time limit and the whole a
budget) it runs, each part in its own process so that a crash or a hang costs that part only:

  gsplat-build     gsplat's CUDA kernels, JIT-compiled in the background from the start
  build            the native extension with nvcc (CPU + CUDA kernels)
  tests            the CUDA tests and the parity suite on CUDA (pytest -m cuda tests/raster)
  tests-cpu        the CPU kernels' tests built for this host (its AVX-512 lanes, where it has them)
  train            a short training of a procedural orbit on the project's kernels
  render           a 121-frame render of a camera path through that splat (maps, Wan VACE bundle)
  generate         `generate` in bfloat16 with a tiny random Wan VACE pipeline on that render
  bench            rasterizer fwd and fwd+bwd at 832x480 and 1920x1080 with 100k/500k/2M
                   Gaussians, CUDA beside gsplat (ratio)
  parity           figures: CUDA, CPU and gsplat against the reference, forward and every gradient
  train-gsplat     the same training with gsplat's kernels
  tests-gsplat     the tests that need gsplat (pytest -m cuda -k gsplat)

A part that cannot run records why ("not installed", "no CUDA device", "budget spent");
none is skipped silently, and nothing it imports may need open3d or pycolmap (each part
checks). `--dry-run` rehearses the same parts on the CPU at tiny sizes (CI runs it).

    python -m benchmarks.gpu_check [--dry-run] [--results PATH] [--also-to DIR] [--budget-s S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "gpu.json"
DRY_RUN_RESULTS = ROOT / "build" / "gpu_check_dry_run.json"
FORBIDDEN = ("open3d", "pycolmap")  # cannot travel to the GPU machine: never imported by a part

# name: (limit on the GPU in s, limit in the dry run in s, needs gsplat's build finished)
PARTS: dict[str, tuple[float, float, bool]] = {
    "build": (150, 400, False),
    "tests": (150, 120, False),
    "tests-cpu": (90, 60, False),  # the CPU kernels on this host's ISA (AVX-512 where it has it)
    "train": (80, 90, False),
    "render": (60, 90, False),
    "generate": (75, 120, False),
    "bench": (120, 60, True),  # most wanted first: the budget may end before the last
    "parity": (60, 90, True),
    "train-gsplat": (80, 60, True),
    "tests-gsplat": (90, 60, True),
}
GSPLAT_BUILD_LIMIT = 330  # s; gsplat 1.5's JIT build compiles ~30 heavily templated .cu files


def sizes(dry_run: bool) -> dict:
    """Every size the parts use: the GPU's, or tiny ones for the CPU rehearsal."""
    if dry_run:
        return {"device": "cpu", "bench": [(64, 48, 1_000), (96, 64, 3_000)], "bench_repeats": 2,
                "train": dict(frames=8, width=64, height=48, points=3_000, iterations=20),
                "render": dict(frames=121, width=48, height=32),
                "generate": dict(frames=5, width=48, height=32, steps=2),
                "parity_n": (200, 600), "parity_size": (48, 36)}  # fmt: skip
    return {"device": "cuda",
            "bench": [(w, h, n) for w, h in ((832, 480), (1920, 1080)) for n in (100_000, 500_000, 2_000_000)],
            "bench_repeats": 10,
            "train": dict(frames=48, width=832, height=480, points=100_000, iterations=1_500),
            "render": dict(frames=121, width=832, height=480),
            "generate": dict(frames=121, width=832, height=480, steps=2),
            "parity_n": (3_000, 6_000), "parity_size": (160, 96)}  # fmt: skip


# ---------------------------------------------------------------------------------------------
# the parts (each runs in its own process: `--part NAME`)


def part_build(ctx: dict) -> dict:
    import torch

    from splatcine.raster import _native

    t = time.perf_counter()
    _native.load()
    row = {"seconds_build": time.perf_counter() - t, "with_cuda": _native._with_cuda,
           "cuda_toolkit": _native.cuda_toolkit(), "nvcc": _nvcc_version()}  # fmt: skip
    if torch.cuda.is_available() and not _native._with_cuda:
        return {**row, "status": "failed", "reason": "a GPU is present but the CUDA kernels were not built"}
    if not torch.cuda.is_available():
        return {**row, "status": "ok", "reason": "no CUDA device: CPU kernels only (rehearsal)"}
    return {**row, "status": "ok"}


def _pytest(ctx: dict, select: str, marker: str = "cuda") -> dict:
    junit = Path(ctx["work"]) / f"junit-{marker.replace(' ', '_')}-{select.replace(' ', '_')}.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marker, "tests/raster",
           f"--junitxml={junit}", "-k", select]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n")
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures = []
    if junit.is_file():
        import xml.etree.ElementTree as ET

        for case in ET.parse(junit).iter("testcase"):
            kinds = {child.tag for child in case}
            kind = "failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds else "passed"
            counts[kind] += 1
            if kind == "failed":
                failures.append(f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}")
    row = {**counts, "failures": failures, "returncode": proc.returncode}
    if counts["failed"] or proc.returncode not in (0, 5):
        return {**row, "status": "failed", "reason": "; ".join(failures[:5]) or proc.stdout[-300:]}
    if counts["passed"] == 0:
        return {**row, "status": "skipped", "reason": f"all {counts['skipped']} tests skipped here (no CUDA device)"}
    return {**row, "status": "ok"}


def part_tests(ctx: dict) -> dict:
    return _pytest(ctx, "not gsplat")


def part_tests_cpu(ctx: dict) -> dict:
    """The CPU raster tests, on a host whose vector width may differ from CI's (16 lanes with
    AVX-512, 8 with AVX2): the kernels pick their lane count when compiled with -march=native."""
    from splatcine.raster import _native

    # the rehearsal: one quick test; on the GPU host, all but the one that compiles a second
    # extension (a faked missing nvcc, ~60 s there, which CI covers)
    select = "thread_count" if ctx["dry_run"] else "not gsplat and not faked_missing_compiler"
    flags = _native._cpu_flags().split()
    isa = next((f for f in ("avx512f", "avx2") if f in flags), "neither avx2 nor avx512f")
    return {**_pytest(ctx, select, marker="not cuda"), "cpu_vector_isa": isa}


def part_tests_gsplat(ctx: dict) -> dict:
    return _pytest(ctx, "gsplat")


def _gsplat_state(ctx: dict) -> str | None:
    """Why gsplat cannot run here, or None when it can (its build finished)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("gsplat") is None:
        return "gsplat not installed"
    if not torch.cuda.is_available():
        return "gsplat needs a CUDA device"
    build = ctx.get("gsplat_build", {})
    if build.get("status") != "ok":
        return f"gsplat's build: {build.get('status', 'not run')} ({build.get('reason', '')})"
    return None


def part_parity(ctx: dict) -> dict:
    """Every backend present against the reference (float32, same device), forward and every gradient."""
    import torch
    import torch.nn.functional as F

    from splatcine.raster import rasterize

    sys.path.insert(0, str(ROOT / "tests" / "raster"))
    from raster_cases import dense_case, random_case, terminated_fraction

    device = ctx["sizes"]["device"]
    width, height = ctx["sizes"]["parity_size"]
    n_random, n_dense = ctx["sizes"]["parity_n"]
    backends = ["cpu"] + (["cuda"] if device == "cuda" else [])
    gsplat_why = _gsplat_state(ctx)
    if gsplat_why is None:
        backends.append("gsplat")
    cases = {"random, SH 3": random_case(0, n=n_random, width=width, height=height, sh_degree=3),
             # test_cuda_matches_cpu's first case: one Gaussian at pixel (46, 54) sits on the 1/255
             # cut, within float32 rounding (raster_cases.ALPHA_CUT_JUMP): builds differ there
             "random, colours (test_cuda's)":
                 random_case(0, n=2 * n_random // 3, width=width, height=height),
             "dense (early termination)": dense_case(1, n=n_dense, width=width, height=height),
             "dense, alpha < 0.9 (gsplat's clamp is 0.999)":
                 dense_case(2, n=n_dense, width=width, height=height, max_opacity=0.9)}  # fmt: skip
    names = ("means", "quats", "scales", "opacities", "colors")
    rows = []
    for label, case in cases.items():
        gen = torch.Generator().manual_seed(0)
        v = torch.randn(case.height, case.width, 5, generator=gen)
        results = {}
        for backend in ["reference"] + backends:
            dev = "cpu" if backend == "cpu" else device
            params = [p.detach().to(dev).clone().requires_grad_(True) for p in case.params()]
            out = rasterize(*params, case.cam_from_world.to(dev), case.K.to(dev), case.width, case.height,
                            sh_degree=case.sh_degree, backend=backend)  # fmt: skip
            vd = v.to(dev)
            loss = (out.rgb * vd[..., :3]).sum() + (out.depth * vd[..., 3]).sum() + (out.alpha * vd[..., 4]).sum()
            loss.backward()
            results[backend] = ({k: getattr(out, k).detach().cpu() for k in ("rgb", "alpha", "depth")},
                                [p.grad.cpu() for p in params])  # fmt: skip
        ref_out, ref_grads = results["reference"]
        for backend in backends:
            out, grads = results[backend]
            row = {"case": label, "backend": backend, "n": int(case.means.shape[0]),
                   "terminated_fraction": terminated_fraction(case)}  # fmt: skip
            for k in ("rgb", "alpha", "depth"):
                err = (out[k] - ref_out[k]).abs()
                row[f"{k}_mean_abs"], row[f"{k}_max_abs"] = float(err.mean()), float(err.max())
            for k, a, b in zip(names, grads, ref_grads):
                row[f"grad_{k}_cosine"] = float(F.cosine_similarity(a.flatten(), b.flatten(), dim=0))
                row[f"grad_{k}_rel_l2"] = float((a - b).norm() / b.norm().clamp_min(1e-30))
            rows.append(row)
    # the same bounds as tests/raster (test_parity.py, test_cuda.py): float32 rounding for our
    # kernels; gsplat's 3-sigma box and 0.999 clamp allow more
    bad = []
    for r in rows:
        loose = r["backend"] == "gsplat"
        cos_min = 0.99 if loose else 0.999
        if r["backend"] == "gsplat" and "0.9" not in r["case"]:
            continue  # recorded for the figures only: gsplat's clamp differs above alpha 0.99
        worst = min(r[f"grad_{k}_cosine"] for k in names)
        # test_parity.py's bound on any one pixel: one Gaussian kept or dropped at the 1/255 cut
        too_far = r["rgb_max_abs"] > 1 / 255 + 1e-5 and not loose
        if worst < cos_min or r["rgb_mean_abs"] > (5e-3 if loose else 1e-5) or too_far:
            bad.append(f"{r['backend']} on {r['case']}: rgb mean {r['rgb_mean_abs']:.1e}, "
                       f"max {r['rgb_max_abs']:.1e}, worst cosine {worst:.4f}")
    status = {"status": "failed", "reason": "; ".join(bad)} if bad else {"status": "ok"}
    if gsplat_why:
        status["gsplat"] = gsplat_why
    return {**status, "rows": rows}


def _ground_truth_scene(ctx: dict) -> Path:
    from scenes import write_ground_truth_scene

    t = ctx["sizes"]["train"]
    root = Path(ctx["work"]) / "scene"
    if not (root / "manifest.json").is_file():
        write_ground_truth_scene("orbit", root, frames=t["frames"], width=t["width"], height=t["height"],
                                 points=t["points"])  # fmt: skip
    return root


def _train(ctx: dict, backend: str, scene_dir: Path) -> dict:
    import torch

    from splatcine.train import resolve_config, train_scene

    t = ctx["sizes"]["train"]
    # `full` (the GPU preset: full resolution, SH 3, 3DGS densification) cut short; outlier
    # removal off because it needs open3d, which cannot travel to the GPU machine
    config = resolve_config("full", iterations=t["iterations"], checkpoint_every=0, outlier_neighbors=0,
                            backend=backend, device=ctx["sizes"]["device"])  # fmt: skip
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    result = train_scene(scene_dir, config)
    ev = result.evaluation
    row = {"backend": backend, "preset": "full", "iterations": result.iterations,
           "width": t["width"], "height": t["height"], "frames": t["frames"],
           "initial_gaussians": t["points"], "gaussians": len(result.gaussians),
           "train_seconds": result.train_seconds, "seconds_per_step": result.train_seconds / result.iterations,
           "psnr": ev.psnr, "ssim": ev.ssim, "held_out_frames": len(ev.frames),
           "outlier_removal": "off (open3d cannot travel)"}  # fmt: skip
    if torch.cuda.is_available():
        row["peak_gpu_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return {"status": "ok", **row}


def part_train(ctx: dict) -> dict:
    return _train(ctx, "cuda" if ctx["sizes"]["device"] == "cuda" else "cpu", _ground_truth_scene(ctx))


def part_train_gsplat(ctx: dict) -> dict:
    why = _gsplat_state(ctx)
    if why:
        return {"status": "skipped", "reason": why}
    root = Path(ctx["work"]) / "scene-gsplat"
    if not root.exists():  # the same start as `train`, in a directory of its own
        shutil.copytree(_ground_truth_scene(ctx), root, ignore=shutil.ignore_patterns("checkpoints", "splat.ply"))
    return _train(ctx, "gsplat", root)


def part_render(ctx: dict) -> dict:
    from splatcine.render import render_path

    r = ctx["sizes"]["render"]
    scene_dir = Path(ctx["work"]) / "scene"
    if not (scene_dir / "splat.ply").is_file():
        return {"status": "skipped", "reason": "no trained splat (the train part did not finish)"}
    path = Path(ctx["work"]) / "path.yaml"
    fps = 24
    path.write_text(
        f"fps: {fps}\nframes: {r['frames']}\nresolution: [{r['width']}, {r['height']}]\n"
        f"start:\n  from_frame: 0\nmoves:\n  - dolly: 0.3\n    orbit: 25\n    duration: {(r['frames'] - 1) / fps}\n"
    )  # fmt: skip
    out = Path(ctx["work"]) / "shot"
    t = time.perf_counter()
    result = render_path(scene_dir, path, out, formats=("wan-vace",), overwrite=True)
    seconds = time.perf_counter() - t
    row = {"frames": result.num_frames, "width": result.width, "height": result.height,
           "seconds": seconds, "frames_per_second": result.num_frames / seconds,
           "unseen_fraction": result.unseen_fraction, "formats": list(result.formats)}  # fmt: skip
    if result.num_frames != r["frames"]:
        return {**row, "status": "failed", "reason": f"rendered {result.num_frames} frames, not {r['frames']}"}
    return {"status": "ok", **row}


def part_generate(ctx: dict) -> dict:
    import importlib.util

    if importlib.util.find_spec("diffusers") is None:
        return {"status": "skipped", "reason": "diffusers not installed"}
    from scenes.tiny_models import save_tiny_wan_vace
    from splatcine.diffusion import generate

    g = ctx["sizes"]["generate"]
    shot = Path(ctx["work"]) / "shot"
    if not (shot / "manifest.json").is_file():
        return {"status": "skipped", "reason": "no rendered shot (the render part did not finish)"}
    t = time.perf_counter()
    model = save_tiny_wan_vace(Path(ctx["work"]) / "tiny-wan-vace")
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    result = generate(shot, model, "a dolly shot of the room", steps=g["steps"], num_frames=g["frames"],
                      height=g["height"], width=g["width"], device=ctx["sizes"]["device"])  # fmt: skip
    settings = json.loads(result.settings_path.read_text())
    row = {"seconds_model_build": build_s, "seconds": time.perf_counter() - t, "steps": g["steps"],
           "frames": result.num_frames, "width": result.width, "height": result.height,
           "dtype": settings["dtype"], "device": settings["device"], "diffusers": settings["versions"]["diffusers"]}  # fmt: skip
    want = "torch.bfloat16" if ctx["sizes"]["device"] == "cuda" else "torch.float32"
    if row["dtype"] != want:
        return {**row, "status": "failed", "reason": f"ran in {row['dtype']}, not {want}"}
    return {"status": "ok", **row}


def part_bench(ctx: dict) -> dict:
    from benchmarks import bench_raster

    gsplat_why = _gsplat_state(ctx)
    backends = [ctx["sizes"]["device"]] + ([] if gsplat_why else ["gsplat"])
    rows = bench_raster.device_rows(ctx["sizes"]["bench"], backends, ctx["sizes"]["bench_repeats"],
                                    deadline=ctx["deadline"] - 5)  # fmt: skip
    done = {(r["width"], r["height"], r["n"]) for r in rows}
    missing = [s for s in ctx["sizes"]["bench"] if tuple(s) not in done]
    row = {"status": "ok", "rows": rows}
    if gsplat_why:
        row["gsplat"] = gsplat_why
    if missing:
        row.update(status="partial", reason=f"time limit reached before {len(missing)} of the sizes")
    return row


PART_FUNCTIONS = {"build": part_build, "tests": part_tests, "tests-cpu": part_tests_cpu, "train": part_train,
                  "render": part_render, "generate": part_generate, "parity": part_parity,
                  "tests-gsplat": part_tests_gsplat, "bench": part_bench, "train-gsplat": part_train_gsplat}


def run_part_here(name: str, ctx: dict, result_path: Path) -> None:
    """The body of `--part NAME`: run it, add the forbidden-import check, write its JSON."""
    try:
        row = PART_FUNCTIONS[name](ctx)
    except Exception as err:  # recorded, not raised: the other parts still run
        traceback.print_exc()
        row = {"status": "failed", "reason": f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"}
    imported = [m for m in FORBIDDEN if m in sys.modules]
    if imported:
        row.update(status="failed", reason=f"imported {', '.join(imported)}, which cannot travel "
                                           f"to the GPU machine; {row.get('reason', '')}")  # fmt: skip
    result_path.write_text(json.dumps(row, default=str))


# ---------------------------------------------------------------------------------------------
# the orchestrator


def _nvcc_version() -> str | None:
    try:
        out = subprocess.run(["nvcc", "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.strip().splitlines()[-1] if out.strip() else None
    except (OSError, subprocess.SubprocessError):
        return None


def _run_process(cmd: list[str], limit: float, log: Path, env: dict | None = None) -> tuple[int | None, float]:
    """Run `cmd` in its own process group with a time limit; (returncode or None on timeout, seconds)."""
    t = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            return proc.wait(timeout=max(limit, 1)), time.perf_counter() - t
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return None, time.perf_counter() - t


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class GsplatBuild:
    """gsplat's JIT build in a background process, started first: it is the longest part."""

    def __init__(self, work: Path, dry_run: bool):
        import importlib.util

        self.log, self.proc, self.started, self.row = work / "gsplat-build.log", None, time.perf_counter(), None
        if importlib.util.find_spec("gsplat") is None:
            self.row = {"status": "skipped", "reason": "gsplat not installed (scripts/gpu_wheels.sh)", "seconds": 0.0}
            return
        import torch

        if not torch.cuda.is_available():
            self.row = {"status": "skipped", "reason": "gsplat needs a CUDA device", "seconds": 0.0}
            return
        major, minor = torch.cuda.get_device_capability()
        env = dict(os.environ, MAX_JOBS=os.environ.get("MAX_JOBS", str(max(1, (os.cpu_count() or 4) - 4))),
                   TORCH_CUDA_ARCH_LIST=os.environ.get("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}"))  # fmt: skip
        code = "from gsplat.cuda._backend import _C; assert _C is not None, 'gsplat has no kernels'; print('built')"
        self.proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip

    def wait(self, deadline: float) -> dict:
        if self.row is None:
            limit = min(GSPLAT_BUILD_LIMIT - (time.perf_counter() - self.started), deadline - time.perf_counter())
            try:
                rc = self.proc.wait(timeout=max(limit, 1))
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                rc = None
            seconds = time.perf_counter() - self.started
            if rc == 0:
                self.row = {"status": "ok", "seconds": seconds}
            elif rc is None:
                self.row = {"status": "timeout", "seconds": seconds,
                            "reason": f"gsplat's build did not finish in {seconds:.0f} s", "log_tail": _tail(self.log)}  # fmt: skip
            else:
                self.row = {"status": "failed", "seconds": seconds, "reason": _tail(self.log, 3),
                            "log_tail": _tail(self.log)}  # fmt: skip
        return self.row


def machine() -> dict:
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "cpu_count": os.cpu_count(), "load_avg": os.getloadavg(), "nvcc": _nvcc_version()}  # fmt: skip
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=props.total_memory / 2**30,
                    capability=".".join(map(str, torch.cuda.get_device_capability())),
                    torch_cuda=torch.version.cuda)  # fmt: skip
    for name in ("gsplat", "diffusers", "transformers", "kornia", "pydantic", "imageio_ffmpeg"):
        try:
            from importlib import metadata

            info[name] = metadata.version(name.replace("_", "-"))
        except Exception:
            info[name] = None
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="rehearse every part on the CPU at tiny sizes")
    parser.add_argument("--results", type=Path, help=f"JSON to write (default {RESULTS.relative_to(ROOT)}, "
                        f"or {DRY_RUN_RESULTS.relative_to(ROOT)} with --dry-run)")  # fmt: skip
    parser.add_argument("--also-to", type=Path, help="also copy the JSON and every part's log here")
    parser.add_argument("--budget-s", type=float, default=None, help="the whole run's budget (470 on a GPU)")
    parser.add_argument("--only", help="comma-separated parts to run (the others record 'not selected')")
    parser.add_argument("--part", help=argparse.SUPPRESS)  # internal: run one part in this process
    parser.add_argument("--ctx", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if args.part:
        run_part_here(args.part, json.loads(args.ctx.read_text()), args.out)
        return 0

    import torch
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    dry_run = args.dry_run or not torch.cuda.is_available()
    if not args.dry_run and dry_run:
        console.print("[yellow]no CUDA device: running the CPU rehearsal (--dry-run)[/]")
    results_path = args.results or (DRY_RUN_RESULTS if dry_run else RESULTS)
    budget = args.budget_s or (470.0 if not dry_run else 900.0)
    started = time.perf_counter()
    deadline = started + budget
    work = Path(tempfile.mkdtemp(prefix="splatcine-gpu-check-"))
    (work / "logs").mkdir()
    selected = set(args.only.split(",")) if args.only else set(PARTS)
    doc = {"dry_run": dry_run, "budget_s": budget, "machine": machine(),
           "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "parts": {}}  # fmt: skip

    def save() -> None:
        doc["total_s"] = time.perf_counter() - started
        results_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        tmp.replace(results_path)

    gsplat = GsplatBuild(work, dry_run) if selected & {p for p, v in PARTS.items() if v[2]} else None
    ctx = {"dry_run": dry_run, "work": str(work), "sizes": sizes(dry_run)}
    for name, (gpu_limit, dry_limit, needs_gsplat) in PARTS.items():
        if name not in selected:
            doc["parts"][name] = {"status": "not selected", "reason": f"--only {args.only}"}
            continue
        if needs_gsplat and "gsplat_build" not in ctx:
            console.print("waiting for gsplat's build ...", highlight=False)
            ctx["gsplat_build"] = doc["parts"]["gsplat-build"] = gsplat.wait(deadline - 60)
            save()
        left = deadline - time.perf_counter()
        limit = min(dry_limit if dry_run else gpu_limit, left)
        if limit < 10:
            doc["parts"][name] = {"status": "not run", "reason": f"the {budget:.0f} s budget was spent"}
            console.print(f"{name}: [red]not run[/] (budget spent)", highlight=False)
            continue
        ctx["deadline"] = time.time() + limit  # wall clock: parts compare it with time.time()
        ctx_path, out_path, log = work / f"{name}.ctx.json", work / f"{name}.out.json", work / "logs" / f"{name}.log"
        ctx_path.write_text(json.dumps(ctx))
        console.print(f"{name} (limit {limit:.0f} s) ...", highlight=False)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        rc, seconds = _run_process([sys.executable, "-m", "benchmarks.gpu_check", "--part", name,
                                    "--ctx", str(ctx_path), "--out", str(out_path)], limit, log, env)  # fmt: skip
        if out_path.is_file():
            row = json.loads(out_path.read_text())
        elif rc is None:
            row = {"status": "timeout", "reason": f"over its {limit:.0f} s limit"}
        else:
            row = {"status": "failed", "reason": f"the process died (exit {rc}): {_tail(log, 2)}"}
        row.update(seconds=seconds, limit_s=limit)
        if row["status"] not in ("ok",):
            row["log_tail"] = _tail(log)
        doc["parts"][name] = row
        console.print(f"{name}: {row['status']} in {seconds:.1f} s {row.get('reason', '')}", highlight=False)
        save()
    if gsplat is not None and "gsplat_build" not in ctx:
        doc["parts"]["gsplat-build"] = gsplat.wait(deadline)
    doc["parts"].setdefault("gsplat-build", {"status": "not selected"})
    save()

    print_summary(console, doc, Table)
    if args.also_to:
        args.also_to.mkdir(parents=True, exist_ok=True)
        shutil.copy(results_path, args.also_to / results_path.name)
        with open(args.also_to / "gpu_check_logs.txt", "w") as f:
            for log in sorted((work / "logs").glob("*.log")) + [work / "gsplat-build.log"]:
                if log.is_file():
                    f.write(f"===== {log.name}\n{log.read_text(errors='replace')[-20000:]}\n")
    shutil.rmtree(work, ignore_errors=True)
    console.print(f"wrote {results_path} in {doc['total_s']:.0f} s")
    failed = [n for n, r in doc["parts"].items() if r["status"] in ("failed", "timeout")]
    return 1 if failed else 0


def print_summary(console, doc: dict, Table) -> None:
    parts = Table(title=f"gpu check{' (CPU rehearsal)' if doc['dry_run'] else ''}: "
                        f"{doc['machine'].get('gpu', 'no GPU')}, torch {doc['machine']['torch']}")  # fmt: skip
    for col in ("part", "status", "s", "figures / reason"):
        parts.add_column(col, justify="right" if col == "s" else "left")
    for name, r in doc["parts"].items():
        figures = r.get("reason", "")
        if name.startswith("train") and r["status"] == "ok":
            figures = (f"{r['iterations']} steps at {r['width']}x{r['height']}: {1e3 * r['seconds_per_step']:.1f} "
                       f"ms/step, PSNR {r['psnr']:.2f} dB, {r['gaussians']:,} Gaussians")  # fmt: skip
        elif name == "render" and r["status"] == "ok":
            figures = f"{r['frames']} frames at {r['width']}x{r['height']}: {r['frames_per_second']:.1f} fps"
        elif name == "generate" and r["status"] == "ok":
            figures = f"{r['frames']} frames {r['width']}x{r['height']}, {r['steps']} steps, {r['dtype']}"
        elif name.startswith("tests") and "passed" in r:
            figures = f"{r['passed']} passed, {r['failed']} failed, {r['skipped']} skipped " + figures
        parts.add_row(name, r["status"], f"{r.get('seconds', 0):.1f}", figures)
    console.print(parts)
    bench = doc["parts"].get("bench", {}).get("rows", [])
    if bench:
        table = Table(title="rasterizer (median ms)")
        for col in ("size", "N", "backend", "fwd", "fwd+bwd", "vs gsplat fwd", "vs gsplat fwd+bwd"):
            table.add_column(col, justify="right")
        for r in bench:
            table.add_row(f"{r['width']}x{r['height']}", f"{r['n']:,}", r["backend"], f"{1e3 * r['fwd_s']:.2f}",
                          f"{1e3 * r['fwd_bwd_s']:.2f}", f"{r['speedup_fwd_vs_gsplat']:.2f}x"
                          if "speedup_fwd_vs_gsplat" in r else "", f"{r['speedup_fwd_bwd_vs_gsplat']:.2f}x"
                          if "speedup_fwd_bwd_vs_gsplat" in r else "")  # fmt: skip
        console.print(table)
    parity = doc["parts"].get("parity", {}).get("rows", [])
    if parity:
        table = Table(title="parity against the reference (forward mean |error|, worst gradient cosine)")
        columns = ("case", "backend", "terminated px", "rgb", "rgb max", "alpha", "depth", "worst grad cosine")
        for col in columns:
            table.add_column(col, justify="left" if col == "case" else "right")
        for r in parity:
            worst = min(v for k, v in r.items() if k.endswith("_cosine"))
            table.add_row(r["case"], r["backend"], f"{100 * r['terminated_fraction']:.0f}%",
                          f"{r['rgb_mean_abs']:.1e}", f"{r['rgb_max_abs']:.1e}", f"{r['alpha_mean_abs']:.1e}",
                          f"{r['depth_mean_abs']:.1e}",
                          f"{worst:.5f}")  # fmt: skip
        console.print(table)


if __name__ == "__main__":
    sys.exit(main())
