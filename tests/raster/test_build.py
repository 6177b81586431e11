"""The native sources build the way the design promises: the CUDA files with plain
`nvcc -c` and no torch headers, and a missing compiler is a clear one-line error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CUDA_DIR = Path(__file__).resolve().parents[2] / "cuda"


def test_kernel_sources_include_no_torch_headers():
    kernel_files = sorted(CUDA_DIR.glob("*.cu")) + sorted(CUDA_DIR.glob("*_cpu.cpp")) + sorted(
        (CUDA_DIR / "include").glob("*.h")
    )
    assert len(kernel_files) >= 10
    for path in kernel_files:
        text = path.read_text()
        assert "#include <torch" not in text and "#include <ATen" not in text, path.name


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
def test_every_cu_file_compiles_with_plain_nvcc(tmp_path):
    sources = sorted(CUDA_DIR.glob("*.cu"))
    assert sources
    # one nvcc call for all files, default architecture, no torch include paths
    result = subprocess.run(
        ["nvcc", "-c", "-O1", "-std=c++17", f"-I{CUDA_DIR}", *map(str, sources)],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.stem for p in tmp_path.glob("*.o")) == sorted(p.stem for p in sources)


def test_missing_compiler_is_a_clear_error_and_auto_falls_back(tmp_path):
    script = textwrap.dedent(
        """
        import warnings, torch
        from splatcine.raster import _native, rasterize
        from splatcine.errors import MissingDependencyError
        try:
            _native.load()
        except MissingDependencyError as err:
            print("ERROR:", err)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = rasterize(torch.zeros(1, 3) + torch.tensor([0, 0, 2.0]), torch.tensor([[1.0, 0, 0, 0]]),
                            torch.full((1, 3), 0.1), torch.tensor([0.5]), torch.ones(1, 3),
                            torch.eye(4), torch.tensor([[10.0, 0, 4], [0, 10, 4], [0, 0, 1]]), 8, 8)
        print("FALLBACK:", [str(w.message) for w in caught], float(out.alpha.max()) > 0)
        """
    )
    env = dict(os.environ, CXX="/nonexistent/c++", SPLATCINE_CACHE_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ERROR: splatcine.raster: no C++ compiler '/nonexistent/c++'" in result.stdout
    assert "using the slow PyTorch reference" in result.stdout and "True" in result.stdout
    assert not any(tmp_path.rglob("*.so"))  # nothing was half-built
