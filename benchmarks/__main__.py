"""Run every benchmark in turn: `python -m benchmarks [--quick]`.

Each `bench_*.py` prints its own table and writes `benchmarks/results/<area>.json`.
Extra arguments are passed to every benchmark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for module in sorted(here.glob("bench_*.py")):
        name = f"benchmarks.{module.stem}"
        print(f"\n=== {name} ===", flush=True)
        if subprocess.call([sys.executable, "-m", name, *sys.argv[1:]], cwd=here.parent) != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
