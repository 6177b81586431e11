"""Shots for the SfM front end's failure classes (issue 9), each with its true cameras.

    from scenes.cases import CASES, make_case_clip
    clip = make_case_clip("forward", "build/forward", frames=32)   # clip.shot_path, clip.cameras

- `forward`: a dolly straight along the view axis (no turn): it leaves the focal length
  unconstrained for SfM (depth and focal trade off).
- `repeated`: the orbit with every frame shown three times (8 to 24 fps conversion).
- `tabletop`: looking down at the textured floor beside the table: one plane fills most
  of the frame, one object (the table with its box) gives the parallax.
- `photos`: a walk around the table written as a folder of JPEG photos in shuffled order.
- `long`: a slow 300-frame truck move (most frames barely differ).
- `orbit`, `dolly`, `pan`, `static`: the moves of `scenes.moves` (a pan and a static camera are negatives;
  the dolly pans 40 degrees while it moves in: its focal is constrained, but a mapper can stop on a
  wrong one).
- `chase`: the pan while a walker and a ball cross in front of it (`scenes.make_clip`): a negative
  whose movers alone show parallax.
- `passing`: a still camera while a train-sized box passes close in front (`scenes.make_clip`): a
  negative whose largest rigid motion is the mover.
- `follow`: a tracking shot, the camera walking beside the walker that holds still in its frame
  (`scenes.make_clip`): a positive with `passing`'s signature (a still part, the rest moving), the
  still part inside the frame where `passing`'s frames it.

`clip.cameras[i]` is the camera of source frame i as splatcine reads the shot (for `photos`,
the i-th file in name order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splatcine.cameras import Camera, look_at
from splatcine.io.video import write_image, write_video
from scenes.clip import make_clip
from scenes.moves import _ramp, dolly, intrinsics, orbit, pan, static, truck
from scenes.output import procedural_directory
from scenes.world import PIVOT, ProceduralSet

WIDTH, HEIGHT = 320, 180


@dataclass
class CaseClip:
    name: str
    shot_path: Path  # a video, or a folder of photos
    cameras: list[Camera]  # per source frame, in the order splatcine reads the shot


def forward(frames: int, width: int, height: int) -> list[Camera]:
    """Straight ahead 2.5 m along the view axis, the view direction fixed."""
    s = _ramp(frames)[:, None]
    start, direction = np.array([-4.3, 0.3, 1.4]), np.array([1.0, -0.08, -0.07])
    direction /= np.linalg.norm(direction)
    eyes = start + s * 2.5 * direction
    return [Camera(look_at(e, e + direction), intrinsics(width, height)) for e in eyes]


def tabletop(frames: int, width: int, height: int) -> list[Camera]:
    """1.4 m sideways at 2.6 m height, looking steeply down at the floor beside the table."""
    s = _ramp(frames)[:, None]
    eyes = np.array([-1.6, -1.9, 2.6]) + s * np.array([0.2, 1.4, 0.0])
    target = np.array([-0.6, 0.0, 0.0])
    return [Camera(look_at(e, target + np.array([0.0, 0.5 * (float(t) - 0.5), 0.0])), intrinsics(width, height))
            for e, t in zip(eyes, s[:, 0])]


def around(frames: int, width: int, height: int) -> list[Camera]:
    """A 120 degree walk around the table at varying heights, facing it (the photo capture)."""
    angles = np.radians(120.0 + 120.0 * np.linspace(0.0, 1.0, frames))
    heights = 0.7 + 0.4 * np.sin(np.linspace(0.0, 3.0, frames))
    eyes = PIVOT + np.stack([3.0 * np.cos(angles), 3.0 * np.sin(angles), heights], 1)
    return [Camera(look_at(e, PIVOT), intrinsics(width, height)) for e in eyes]


CASES = ("orbit", "dolly", "forward", "repeated", "tabletop", "photos", "long", "pan", "static", "chase", "passing", "follow")


def make_case_clip(name: str, out_dir: Path, frames: int = 32, width: int = WIDTH, height: int = HEIGHT,
                   seed: int = 0) -> CaseClip:
    """Render case `name` (see `CASES`) into `out_dir`: shot.mp4, or photos/ for `photos`."""
    if name not in CASES:
        raise ValueError(f"unknown case {name!r} (choose from: {', '.join(CASES)})")
    if name in ("chase", "passing", "follow"):  # movers: the clip of `scenes.make_clip` (its frames follow the movers' time)
        clip = make_clip(name, out_dir, frames=frames, width=width, height=height, seed=seed)
        return CaseClip(name, clip.video_path, clip.cameras)
    moves = {"orbit": orbit, "dolly": dolly, "forward": forward, "tabletop": tabletop, "long": truck, "pan": pan,
             "static": static, "repeated": orbit, "photos": around}
    cameras = moves[name](frames, width, height)
    world = ProceduralSet(seed=seed)
    out_dir = Path(out_dir)
    with procedural_directory(out_dir, True, f"{name} case") as tmp:
        if name == "photos":
            order = np.random.default_rng(seed).permutation(frames)  # a folder's name order is not the walk's
            (tmp / "photos").mkdir()
            for rank, i in enumerate(order):
                write_image(tmp / "photos" / f"IMG_{rank:04d}.jpg", world.render(cameras[i])[0])
            shot, cameras = out_dir / "photos", [cameras[i] for i in order]
        else:
            images = [world.render(c)[0] for c in cameras]
            if name == "repeated":
                images = [im for im in images for _ in range(3)]
                cameras = [c for c in cameras for _ in range(3)]
            write_video(tmp / "shot.mp4", images, fps=24)
            shot = out_dir / "shot.mp4"
    return CaseClip(name, shot, cameras)
