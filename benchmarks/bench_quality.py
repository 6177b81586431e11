"""Quality per minute: held-out PSNR/SSIM after 2, 5 and 10 minutes of `preview` training on 2 cores.

One run per scene, evaluated at marks of its own training time (initialisation included,
evaluations not): each mark records the steps reached, the Gaussians, held-out PSNR/SSIM
(mean and worst frame), wall seconds and the load average. The clock is the process's CPU
time: on a shared machine wall time measures the neighbours, while a run that uses at most
the 2 cores can never take longer on an idle machine than its CPU time (it takes between
1/2 and 1 of it), so a figure "at 10 minutes" is what an idle 2-core machine reaches in at
most 10 minutes of wall time: a conservative figure. A run stops at the last mark or when the preset's schedule
ends (its remaining marks then repeat the final figures, marked `finished`).

Scenes (cameras from `splatcine reconstruct --sfm-only`, made once into --work and reused):
- `crane`: the procedural object capture with alpha (`scenes/object.py`: 96 RGBA views at
  400x400 round a crane with thin rods and a 1.5 px cable; every 8th held out, composited on
  black; posed input through transforms.json, points triangulated), the lego-kind benchmark;
- `orbit`: the procedural room orbit of `make demo` (49 frames, 480x270, cameras by SfM);
- `re10k_0f47577`, `re10k_0bf152e`: real RealEstate10K clips (25 frames, 576x320);
- `capybara`: the DimensionX 360-degree orbit (generated, 60 keyframes at 640 px).
The real clips are read from /work/shared/data and left out, said so, when absent.

    .venv/bin/python -m benchmarks.bench_quality                      # every scene, 10 minutes each
    .venv/bin/python -m benchmarks.bench_quality --scenes crane --minutes 2,5,10 --set iterations=3000
    .venv/bin/python -m benchmarks.bench_quality --quick              # procedural scenes, 1 minute

`--label` names the rows (results for other labels are kept), `--set FIELD=VALUE` lays
TrainConfig fields over the preset (a sweep), `--nice` lowers the run's priority.
Run it as a file (`python benchmarks/bench_quality.py`) with PYTHONPATH pointing at another
checkout to measure that checkout's trainer on the same scenes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data")
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "quality.json"
REAL = {
    "re10k_0f47577": (DATA / "re10k_cameractrl/real/0f47577ab3441480_svdxt.mp4", {}),
    "re10k_0bf152e": (DATA / "re10k_cameractrl/real/0bf152ef84195293_svdxt.mp4", {}),
    "capybara": (DATA / "dimensionx_orbit/360_capybara.mp4", {"max_image_size": 640}),
}
SCENES = ("crane", "orbit", *REAL)


def prepare(name: str, work: Path) -> Path | None:
    """The scene directory (cameras and points, no training) of `name`, made once; None if absent."""
    scene = work / name / "scene"
    if (scene / "transforms.json").is_file():
        return scene
    from splatcine.reconstruct import reconstruct

    if name == "crane":
        from scenes.object import write_object_capture

        shot, options = write_object_capture(work / name / "capture", views=96, size=400), {}
    elif name == "orbit":
        from scenes import make_clip

        shot, options = make_clip("orbit", work / name / "clip", frames=49, width=480, height=270).video_path, {}
    else:
        shot, options = REAL[name]
        if not shot.exists():
            return None
    reconstruct(shot, scene, masks="none", sfm_only=True, overwrite=True, **options)
    return scene


def run(scene_dir: Path, marks_min: list[float], overrides: dict, save=lambda row: None,
        steps: list[int] = ()) -> dict:  # fmt: skip
    """Train on `scene_dir` with the preview preset (+ `overrides`), evaluating at each mark of
    CPU minutes and at each of `steps` (`save` gets the row so far after each)."""
    import splatcine  # noqa: F401  (before torch: it makes OpenMP wait passively, or spinning threads eat the CPU clock)
    import torch

    from splatcine.scene import load_scene
    from splatcine.train import resolve_config
    from splatcine.train.data import split_views
    from splatcine.train.evaluate import evaluate
    from splatcine.train.init import scene_extent
    from splatcine.train.run import initial_gaussians
    from splatcine.train.trainer import TrainState

    config = resolve_config("preview", **overrides)
    scene = load_scene(scene_dir)
    train_views, test_views = split_views(scene, config.max_width, config.holdout_every)
    extent = scene_extent(np.stack([c.center for c in scene.cameras]), scene.points)
    t0 = time.process_time()
    state = TrainState(config, initial_gaussians(scene, config, extent), len(train_views), extent)
    init_seconds, init_count = time.process_time() - t0, state.num_gaussians
    rows, clock, wall, marks = [], init_seconds, 0.0, list(marks_min)

    def record(minutes: float, finished: bool) -> None:
        ev = evaluate(state.gaussians(), test_views, config.backend, config.antialiased)
        worst = min(ev.frames, key=lambda f: f.psnr)
        rows.append({"minutes": minutes, "cpu_seconds": round(clock, 1), "wall_seconds": round(wall, 1),
                     "steps": state.step_index,
                     "gaussians": state.num_gaussians, "psnr": round(ev.psnr, 2), "ssim": round(ev.ssim, 4),
                     "worst_psnr": round(worst.psnr, 2), "worst_frame": worst.name, "finished": finished,
                     "loadavg": [round(x, 2) for x in os.getloadavg()]})  # fmt: skip
        print(f"  {minutes:>5.1f} min  step {state.step_index:>5}  {state.num_gaussians:>7} G  "
              f"{ev.psnr:6.2f} dB  ssim {ev.ssim:.3f}  worst {worst.psnr:5.2f} dB  "
              f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip

    def summary() -> dict:
        return {"scene": scene_dir.parent.name, "train_views": len(train_views), "held_out": len(test_views),
                "size": [train_views[0].width, train_views[0].height], "init_gaussians": init_count,
                "init_seconds": round(init_seconds, 1),
                "cpu_seconds_per_step": round(clock / max(state.step_index, 1), 4),
                "config": config.model_dump(mode="json"), "marks": rows, "torch_threads": torch.get_num_threads()}

    while marks:
        if state.step_index >= config.iterations:
            for m in marks:
                record(m, True)
            save(summary())
            break
        t, w = time.process_time(), time.perf_counter()
        state.step(train_views[state.view_for(state.step_index, len(train_views))])
        clock += time.process_time() - t
        wall += time.perf_counter() - w
        if clock >= 60.0 * marks[0] or state.step_index in steps:
            record(marks.pop(0) if clock >= 60.0 * marks[0] else round(clock / 60.0, 2), False)
            save(summary())
    return summary()


def parse_set(items: list[str]) -> dict:
    """FIELD=VALUE (dotted for nested fields, VALUE as YAML) -> nested overrides."""
    import yaml

    out: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", default=",".join(SCENES))
    parser.add_argument("--minutes", default="2,5,10", help="wall-clock marks of training time")
    parser.add_argument("--steps", default="", help="also evaluate at these steps (a sweep's curve)")
    parser.add_argument("--set", action="append", default=[], help="FIELD=VALUE over the preset")
    parser.add_argument("--label", default="preview")
    parser.add_argument("--work", type=Path, default=Path("build/bench_quality"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--nice", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="procedural scenes only, one minute")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # `python -m benchmarks` passes its own
    args = parser.parse_args()
    if args.nice:
        os.nice(args.nice)
    names = ["crane", "orbit"] if args.quick else [s for s in args.scenes.split(",") if s]
    marks = [1.0] if args.quick else [float(m) for m in args.minutes.split(",")]
    overrides = parse_set(args.set)
    doc = json.loads(args.out.read_text()) if args.out.is_file() else {}
    doc.setdefault("runs", {})
    doc["machine"] = {"cpus": os.cpu_count(), "note": "2 shared cores: loadavg beside every figure"}
    for name in names:
        if name not in SCENES:
            print(f"unknown scene {name!r} (choose from {', '.join(SCENES)})", file=sys.stderr)
            return 2
        scene = prepare(name, args.work)
        if scene is None:
            print(f"{name}: source not in {DATA}: left out")
            continue
        print(f"{name} [{args.label}] {json.dumps(overrides) if overrides else ''}", flush=True)
        commit = _commit()

        def save(row: dict, name: str = name) -> None:  # after every mark: a cut-off run keeps what it measured
            latest = json.loads(args.out.read_text()) if args.out.is_file() else doc  # other runs' rows too
            latest.setdefault("runs", {}).setdefault(args.label, {})[name] = {**row, "overrides": overrides,
                                                                              "commit": commit}
            latest["machine"] = doc["machine"]
            args.out.parent.mkdir(parents=True, exist_ok=True)
            tmp = args.out.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(latest, indent=1) + "\n")
            tmp.replace(args.out)

        run(scene, marks, overrides, save, [int(n) for n in args.steps.split(",") if n])
    return 0


def _commit() -> str | None:
    try:
        import splatcine

        root = Path(splatcine.__file__).resolve().parent.parent
        return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip() + f" ({root})"
    except (subprocess.CalledProcessError, OSError):
        return None


if __name__ == "__main__":
    sys.exit(main())
