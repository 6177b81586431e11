"""Training checkpoints as safetensors: the only module that imports safetensors.

A checkpoint is a flat mapping of names to tensors (parameters, optimiser moments,
strategy accumulators, RNG states as uint8) plus a JSON document of the plain values
(iteration, config, optimiser steps). The trainer decides the names; this module
only stores and loads them, atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from splatcine.atomic import atomic_file
from splatcine.errors import InputError

_META_KEY = "splatcine"


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write `tensors` and the JSON-able `meta` to `path`, replacing it only when complete."""
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    with atomic_file(Path(path)) as tmp:
        save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta)})


class Tensors(dict):
    """A checkpoint's tensors by name; a missing one is an `InputError` naming the file."""

    def __init__(self, path: Path, tensors: dict[str, torch.Tensor]):
        super().__init__(tensors)
        self.path = path

    def __missing__(self, name: str) -> torch.Tensor:
        raise InputError(f"{self.path}: the checkpoint has no tensor '{name}' (truncated, or not "
                         f"written by this version of splatcine)")  # fmt: skip


def load_checkpoint(path: Path) -> tuple[Tensors, dict[str, Any]]:
    """The tensors and the plain values stored by `save_checkpoint`."""
    path = Path(path)
    meta = read_checkpoint_meta(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable checkpoint ({_first_line(err)})") from None
    return Tensors(path, tensors), meta


def read_checkpoint_meta(path: Path) -> dict[str, Any]:
    """Only the plain values of a checkpoint (its header; the tensors are not read)."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get(_META_KEY, "null"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such checkpoint") from None
    except (SafetensorError, OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable checkpoint ({_first_line(err)})") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path}: not a splatcine checkpoint (no '{_META_KEY}' metadata)")
    return meta


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
