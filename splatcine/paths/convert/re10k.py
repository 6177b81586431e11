"""`re10k`: RealEstate10K / CameraCtrl pose text, both ways.

A first line naming the source (the readers skip it), then per frame 19 numbers separated
by single spaces: `timestamp_us fx/W fy/H cx/W cy/H 0 0` and the 3x4 cam_from_world row-major.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splatcine.cameras import Intrinsics
from splatcine.errors import InputError
from splatcine.paths.build import SampledPath


def write(path: SampledPath, out: Path) -> None:
    out.write_text(to_re10k(path))


def to_re10k(path: SampledPath) -> str:
    lines = [f"splatcine://{Path(path.name).name or 'path'}"]
    for m, k, t in zip(path.cam_from_world, path.intrinsics, path.times):
        normalised = (k.fx / k.width, k.fy / k.height, k.cx / k.width, k.cy / k.height, 0.0, 0.0)
        values = [int(round(t * 1e6)), *normalised, *m[:3, :4].flatten()]
        lines.append(
            " ".join(str(values[0]) if i == 0 else repr(float(v)) for i, v in enumerate(values))
        )
    return "\n".join(lines) + "\n"


def read_re10k(file: Path, width: int, height: int, fps: float = 16.0) -> SampledPath:
    """RealEstate10K pose text (normalised intrinsics) for images of `width` x `height`."""
    file = Path(file)
    rows = []
    for n, line in enumerate(Path(file).read_text().splitlines()[1:], start=2):
        if not line.strip():
            continue
        try:
            values = [float(v) for v in line.split()]
        except ValueError:
            raise InputError(f"{file}:{n} is not a line of 19 numbers") from None
        if len(values) != 19:
            raise InputError(f"{file}:{n} has {len(values)} numbers; RealEstate10K lines have 19")
        rows.append(values)
    if not rows:
        raise InputError(f"{file}: no camera lines")
    data = np.asarray(rows)
    matrices = np.tile(np.eye(4), (len(data), 1, 1))
    matrices[:, :3, :4] = data[:, 7:].reshape(-1, 3, 4)
    intrinsics = [
        Intrinsics(r[1] * width, r[2] * height, r[3] * width, r[4] * height, width, height)
        for r in data
    ]
    return SampledPath(matrices, intrinsics, data[:, 0] / 1e6, fps, width, height, name=str(file))


