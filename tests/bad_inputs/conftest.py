"""The bad-input suite: every class of issue 12 run through the CLI.

Each case checks what the README promises a user: the exit code, exactly one `error:`
line, no traceback, nothing left beside the output, and no input or unrelated file
touched. Inputs are made small inside the tests; training runs at most a few steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splatcine.cli import app

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str | Path, cwd: Path | None = None):
    """Run `splatcine ARGS` in this process (typer's runner: fast, same code path as the console)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)


def cli_process(*args: str | Path, cwd: Path | None = None, timeout: float = 120, **popen) -> subprocess.Popen:
    """Start `python -m splatcine ARGS` as its own process (for signals and real stderr)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "splatcine", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def assert_one_error(result, exit_code: int = 2, *contains: str) -> str:
    """Exit code, exactly one `error:` line that says `contains`, and no traceback."""
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output, output
    assert len(errors) == 1, output
    assert code == exit_code, output
    for text in contains:
        assert text in errors[0], errors[0]
    return errors[0]


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file and folder under `roots` with a hash of its contents: compare before and after."""
    out = {}
    for root in roots:
        paths = [root] if root.is_file() else [root, *root.rglob("*")]
        for p in paths:
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


@pytest.fixture
def workdir(tmp_path):
    """A folder whose contents each test compares before and after (nothing may be left)."""
    return tmp_path


# A few steps of training on the 64x36 synthetic set: enough to checkpoint and resume.
# ssim_lambda differs from the preset so a resume that took the preset's config would be refused.
TINY_TRAIN = """\
iterations: {iterations}
max_width: null
checkpoint_every: 0
ssim_lambda: 0.3
holdout_every: 0
init: random
init_random_count: 300
strategy: {{kind: adc, refine_start: 1000, reset_every: 10000}}
"""


@pytest.fixture(scope="session")
def tiny_scene(tmp_path_factory) -> Path:
    """A complete, untrained 6-frame scene directory (known cameras and points)."""
    from tests.train.synthetic import write_scene

    root = write_scene(tmp_path_factory.mktemp("tiny") / "scene", frames=6, width=64, height=36)
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "kind": "splatcine scene"}))
    return root


def train_config(folder: Path, iterations: int) -> Path:
    path = folder / f"train-{iterations}.yaml"
    path.write_text(TINY_TRAIN.format(iterations=iterations))
    return path
