"""`make gpu-check DRY_RUN=1`: the GPU check rehearsed end to end on the CPU, so that the day a
GPU is lent finds no typo, missing import or path. Every part must run or say why it cannot."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_dry_run_runs_every_part_and_records_why_a_part_cannot(tmp_path):
    from benchmarks.gpu_check import PARTS

    results = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--dry-run", "--results", str(results),
                           "--also-to", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert results.is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(results.read_text())
    parts = doc["parts"]
    problems = {n: (r["status"], r.get("reason"), r.get("log_tail", "")[-800:]) for n, r in parts.items()
                if r["status"] not in ("ok", "skipped")}  # fmt: skip
    assert not problems, problems
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert set(parts) == set(PARTS) | {"gsplat-build"}
    for name, r in parts.items():
        if r["status"] == "skipped":  # never silently: the reason is recorded
            assert r["reason"], name
    # the parts that run on a CPU did their work, at the rehearsal's sizes
    assert parts["build"]["status"] == "ok" and parts["build"]["with_cuda"] is False
    assert parts["train"]["iterations"] == 20 and math.isfinite(parts["train"]["psnr"])
    assert parts["render"]["frames"] == 121
    dense = [r for r in parts["parity"]["rows"] if r["case"].startswith("dense")]
    assert dense and all(r["terminated_fraction"] > 0.5 for r in dense)
    assert {r["backend"] for r in parts["bench"]["rows"]} == {"cpu"}
    if parts["generate"]["status"] == "ok":  # the diffusion extra is installed here
        assert parts["generate"]["dtype"] == "torch.float32"
    # what a GPU session fetches back: the figures and every part's log
    assert (tmp_path / "out" / "gpu.json").is_file() and (tmp_path / "out" / "gpu_check_logs.txt").is_file()
