"""A sampled path as rows of a text table (`splatcine path show`)."""

from __future__ import annotations

from splatcine.cameras import invert_rigid
from splatcine.paths.build import SampledPath


def frame_table(path: SampledPath, every: int = 1) -> tuple[list[str], list[list[str]]]:
    """Headers and rows describing every `every`-th frame (and the last) for a text table."""
    headers = ["frame", "time s", "position (x y z)", "forward (x y z)", "vfov deg", "fx px"]
    rows = []
    picked = sorted(set(range(0, len(path), max(1, every))) | {len(path) - 1})
    world_from_cam = invert_rigid(path.cam_from_world)
    for i in picked:
        c, f, k = world_from_cam[i, :3, 3], path.cam_from_world[i, 2, :3], path.intrinsics[i]
        rows.append(
            [
                str(i),
                f"{path.times[i]:.3f}",
                " ".join(f"{v:+.3f}" for v in c),
                " ".join(f"{v:+.3f}" for v in f),
                f"{k.vfov_deg:.2f}",
                f"{k.fx:.1f}",
            ]
        )
    return headers, rows
