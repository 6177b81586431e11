"""Shared test fixtures.

`device` parametrizes a test over the torch devices present (CPU always, CUDA when
available), so a CPU-only run still exercises every CPU kernel and a GPU machine
runs the same tests on CUDA. Never hard-code `cuda:0` in a test module.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
# Sleeping (not spinning) OpenMP waits: spinning threads collapse torch ops and the
# rasterizer when a core is shared (measured 3-15x slower on these 2-core machines).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _devices() -> list:
    import torch

    params = [pytest.param("cpu", id="cpu")]
    params.append(
        pytest.param(
            "cuda",
            id="cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
            ],
        )
    )
    return params


@pytest.fixture(params=_devices())
def device(request) -> str:
    return request.param


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
