"""Procedural outputs carry a splatcine manifest, so `--overwrite` (and a second `make demo`)
may replace them, while a user's folder of the same name is still refused."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from splatcine.atomic import MANIFEST, atomic_directory

CLIP_KIND = "splatcine procedural clip"


@contextlib.contextmanager
def procedural_directory(out_dir: Path, overwrite: bool, what: str) -> Iterator[Path]:
    """`atomic_directory` for a generated clip; `what` (e.g. "orbit clip") goes into the manifest."""
    with atomic_directory(out_dir, overwrite=overwrite, kind=CLIP_KIND) as tmp:
        yield tmp
        (tmp / MANIFEST).write_text(json.dumps({"kind": CLIP_KIND, "what": what}, indent=1))
