"""OpenSplat's CPU trainer, timed on one of our scene folders (the peer of `bench_train`'s step time).

PEERS.md's OpenSplat figures were measured on another machine of this kind; absolute times
drift between machines, so with a built OpenSplat (`scripts/build_opensplat.sh`) the
benchmark times it on the same scenes in the same run and reports the ratio of the two.

OpenSplat prints `Step N: loss (P%)` after each CPU step's backward (opensplat.cpp, `main`:
`displayStep = 1` on the CPU, flushed by `std::endl`), so the gaps between those lines,
stamped as they arrive, are its steps. Its defaults are kept except `--num-downscales 0`
(train at the images' own size from the first step, as our step time does); under 500
steps it neither densifies (`--warmup-length`) nor raises the SH degree (`--sh-degree-interval`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

WARMUP_STEPS = 5  # the first steps allocate and fault pages in: not counted


def opensplat_step_time(binary: Path, scene: Path, steps: int, threads: int = 1) -> float:
    """Mean seconds per OpenSplat CPU training step on `scene` (images/, transforms.json,
    points.ply as `scenes.write_ground_truth_scene` writes them), with `threads` OpenMP threads
    (PEERS.md's figures: one)."""
    with tempfile.TemporaryDirectory(prefix="opensplat-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        transforms = json.loads((scene / "transforms.json").read_text())
        transforms["ply_file_path"] = "points.ply"  # OpenSplat's nerfstudio reader needs its start points
        (project / "transforms.json").write_text(json.dumps(transforms))
        for name in ("images", "points.ply"):
            (project / name).symlink_to((scene / name).resolve())
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        command = [str(binary), str(project), "--cpu", "-n", str(steps + WARMUP_STEPS + 1),
                   "--num-downscales", "0", "-o", str(Path(tmp) / "out" / "splat.ply")]  # fmt: skip
        (Path(tmp) / "out").mkdir()
        stamps: list[float] = []
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env, bufsize=1) as proc:  # fmt: skip
            assert proc.stdout is not None
            tail: list[str] = []
            for line in proc.stdout:
                if line.startswith("Step "):
                    stamps.append(time.perf_counter())
                tail = (tail + [line.rstrip()])[-5:]
        if proc.returncode != 0 or len(stamps) < steps + WARMUP_STEPS:
            raise RuntimeError(f"{binary}: exit {proc.returncode} after {len(stamps)} steps: {' | '.join(tail)}")
    counted = stamps[WARMUP_STEPS:]
    return (counted[-1] - counted[0]) / (len(counted) - 1)  # a mean, as `bench_train.step_time` takes


BUILT = Path(__file__).parent.parent / "build" / "opensplat" / "opensplat"  # scripts/build_opensplat.sh's default


def find_opensplat(given: Path | None) -> Path | None:
    """`given`, else `opensplat` on PATH, else the one the build script made, else None (the
    benchmark then falls back to PEERS.md's figures, measured on another machine)."""
    if given is not None:
        if not given.is_file():
            raise SystemExit(f"error: {given}: no OpenSplat binary there (scripts/build_opensplat.sh builds one)")
        return given
    found = shutil.which("opensplat")
    return Path(found) if found else BUILT if BUILT.is_file() else None
