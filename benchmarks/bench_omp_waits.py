"""OpenMP wait settings beside busy processes: why `import splatcine` sets OMP_WAIT_POLICY=PASSIVE.

A thread that spins while it waits for the others wins when the cores are free and loses the
core's time slice when another process wants it. This times the 120x67 training step (the
smallest row of `bench_train`'s step-time table, where waits weigh most) under each setting, with
0, 1 and 2 processes busy-looping beside it, the settings interleaved so that drift in the
machine's speed falls on all of them alike. Each process reports 5 means of 60 steps.
Results in `benchmarks/results/train.json` under `omp_wait_policy_120x67`.

    .venv/bin/python -m benchmarks.bench_omp_waits [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "train.json"
CASE = (120, 67, 4500, 60)  # bench_train.step_time: width, height, Gaussians, steps
SETTINGS = {
    "passive (the default)": {"OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=1000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "1000"},
    "GOMP_SPINCOUNT=3000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "3000"},
    "GOMP_SPINCOUNT=10000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"},
    "GOMP_SPINCOUNT=30000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "30000"},
    # libgomp's own default when OMP_WAIT_POLICY is unset (env.c: 300000 spins, ~3 ms)
    "GOMP_SPINCOUNT=300000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "300000"},
    "one thread, passive": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"},
}


def step_ms(env: dict[str, str]) -> list[float]:
    """Five means of 60 steps (ms) in a fresh process (libgomp reads its settings once, at start)."""
    code = ("import json; from benchmarks.bench_train import step_time; "
            f"print(json.dumps([step_time(*{CASE})[0] for _ in range(5)]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parents[1], env={**os.environ, **env})  # fmt: skip
    return [round(1e3 * t, 2) for t in json.loads(proc.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per load")
    args = parser.parse_args()
    times: dict[str, dict[str, list[float]]] = {name: {} for name in SETTINGS}
    for busy in (0, 1, 2):
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        try:
            for _ in range(args.rounds):
                for name, env in SETTINGS.items():
                    times[name].setdefault(f"busy_{busy}", []).extend(step_ms(env))
                    print(f"{busy} busy, {name}: {times[name][f'busy_{busy}'][-5:]} ms/step", flush=True)
        finally:
            for loop in loops:
                loop.kill()
    medians = {n: {b: round(statistics.median(v), 2) for b, v in d.items()} for n, d in times.items()}
    for name, row in medians.items():
        print(f"{name:24s} " + "  ".join(f"{b}: {v:6.2f}" for b, v in row.items()) + "  ms/step (median)")
    doc = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    doc["omp_wait_policy_120x67"] = {
        "when": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()), "case": list(CASE), "ms_per_step": times,
        "median_ms_per_step": medians,
        "how": "5 means of 60 steps per setting and round, one process each; "
               "busy_N: N `while True: pass` processes beside it",
    }  # fmt: skip
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
