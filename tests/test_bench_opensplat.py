"""`benchmarks.opensplat`: how the peer's step time is read from its output, on a stand-in binary.

OpenSplat itself is built only on benchmark machines (scripts/build_opensplat.sh); this checks
the parts that do not need it: the project it is given, the steps counted, a failure reported.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from benchmarks.opensplat import WARMUP_STEPS, find_opensplat, opensplat_step_time


def _fake(tmp_path: Path, body: str) -> Path:
    """An executable that checks its project as OpenSplat's nerfstudio reader would, then runs `body`."""
    script = tmp_path / "opensplat"
    script.write_text(f"""#!/usr/bin/env python3
import json, sys, time
from pathlib import Path
project = Path(sys.argv[1])
t = json.loads((project / "transforms.json").read_text())
assert (project / t["ply_file_path"]).is_file() and (project / t["frames"][0]["file_path"]).is_file()
assert "--cpu" in sys.argv and sys.argv[sys.argv.index("--num-downscales") + 1] == "0"
steps = int(sys.argv[sys.argv.index("-n") + 1])
{body}
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _scene(tmp_path: Path) -> Path:
    scene = tmp_path / "scene"
    (scene / "images").mkdir(parents=True)
    (scene / "images" / "frame_00000.png").write_bytes(b"png")
    (scene / "points.ply").write_bytes(b"ply")
    (scene / "transforms.json").write_text(json.dumps({"frames": [{"file_path": "images/frame_00000.png"}]}))
    return scene


def test_step_time_is_the_mean_gap_between_step_lines_after_the_warm_up(tmp_path):
    # the warm-up steps take 0.2 s each, the rest 0.02 s: only the latter may count
    body = """for i in range(1, steps + 1):
    time.sleep(0.2 if i <= %d else 0.02)
    print(f"Step {i}: 0.1 ({i * 100 // steps}%%)", flush=True)""" % WARMUP_STEPS
    seconds = opensplat_step_time(_fake(tmp_path, body), _scene(tmp_path), steps=10)
    assert 0.015 < seconds < 0.05  # sleep granularity and process start-up jitter, not 0.2


def test_a_failing_binary_is_one_error_with_its_last_lines(tmp_path):
    body = """print("Step 1: 0.1 (1%)", flush=True)
print("something broke", flush=True)
sys.exit(3)"""
    with pytest.raises(RuntimeError, match="exit 3 after 1 steps: .*something broke"):
        opensplat_step_time(_fake(tmp_path, body), _scene(tmp_path), steps=10)


def test_a_named_binary_that_is_missing_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no OpenSplat binary there"):
        find_opensplat(tmp_path / "nope")
