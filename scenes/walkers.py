"""A set with two movers of different sizes: a person-sized walker near the camera, a rolling ball.

The `walkers` clip tests motion masks: the walker (a 0.42 x 0.35 x 1.75 m textured figure)
walks away from the camera, 1.3 to 2.3 m in front of it, covering 15-30% of the frame; the
ball (`scenes.world.Mover`, 0.4 m radius) rolls across the room further back, against the
camera's sideways move. The walker's path is deliberately not parallel to the camera's:
a mover that translates along the camera's own direction looks, to any number of views,
like a static point at another depth (SfM even triangulates it), and no segmentation from
geometry alone can tell the two apart (see `splatcine.masks.motion`). The ball's path is
close to that case; its speed is what gives it away.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from splatcine.cameras import Camera
from scenes.geometry import Box
from scenes.textures import MipTexture, Style, make_texture
from scenes.world import PAINT, Mover, ProceduralSet

# Dark to light stops of a coat: saturated enough to stand out of the plaster walls.
COAT = ((70, 15, 25), (170, 50, 60), (240, 190, 170))


@dataclass(frozen=True)
class Walker:
    """An upright box the size of a person, its footprint centre at `start + velocity * time`."""

    start: tuple[float, float] = (-1.75, 1.1)  # (x, y) of the footprint centre at time 0
    velocity: tuple[float, float] = (0.75, -0.25)  # metres per second
    size: tuple[float, float, float] = (0.35, 0.42, 1.75)  # depth (x), width (y), height (z)

    @classmethod
    def crossing(cls, duration: float) -> "Walker":
        """Walking away from the camera at 0.8 m/s, through (-2.05, 0.3) half-way through `duration` s."""
        v = np.array(cls.velocity)
        return cls(start=tuple(np.array([-2.05, 0.3]) - v * duration / 2))

    def at(self, time: float) -> Box:
        x, y = np.add(self.start, np.multiply(self.velocity, time))
        dx, dy, h = self.size
        return Box((x - dx / 2, y - dy / 2, 0.0), (x + dx / 2, y + dy / 2, h))

    def textures(self, seed: int) -> list[MipTexture]:
        return _walker_textures(seed, self.size)


def walkers_set(seed: int = 0, duration: float = 2.0) -> ProceduralSet:
    """The room with the walker and the ball both crossing it in `duration` seconds."""
    # The ball rolls towards +y at 1.5 m/s through (-0.9, 0.4) half-way through the clip.
    ball = Mover(start=(-0.9, 0.4 - 0.75 * duration, 0.4), velocity=(0.0, 1.5, 0.0))
    return ProceduralSet(seed=seed, movers=(Walker.crossing(duration), ball))


def passing_set(seed: int = 0, duration: float = 2.0) -> ProceduralSet:
    """The room with a train-sized box (12 m long, 1.68 m high) passing 1.8 m in front of the
    `static` camera at 1.5 m/s, covering 86% of its frame all through `duration` s: DAVIS-like
    `train running`, a still camera whose largest rigid motion is the mover. The same images as a
    camera trucking past a wall with the rest of the view fixed to it (a dashboard): geometry
    alone cannot tell the two apart, and splatcine poses it (issue 9). At 1.5 m high (70% of the
    frame) the still part keeps most of the matches, and the shot is refused."""
    train = Walker(start=(-2.0, -1.1 - 0.75 * duration), velocity=(0.0, 1.5), size=(0.3, 12.0, 1.68))
    return ProceduralSet(seed=seed, movers=(train,))


# The `follow` move: the camera walks 3 m along the room's y axis at constant speed, the walker
# keeping pace 1.8 m in front of it (`follow_set`), so the walker holds still in the frame.
FOLLOW_EYE = np.array([-3.9, -2.0, 1.45])
FOLLOW_MOVE = np.array([0.0, 3.0, 0.0])


def follow_set(seed: int = 0, duration: float = 2.0) -> ProceduralSet:
    """The room with the walker keeping pace beside the `follow` camera for `duration` s: a
    tracking shot (DAVIS-like `lady running`). The walker holds still in the frame (about a fifth
    of it) while the room moves past: the same signature as the `passing` train's still camera,
    and the cameras that SfM finds from the room are right (issue 9)."""
    start = FOLLOW_EYE[:2] + [1.8, 0.15]
    return ProceduralSet(seed=seed, movers=(Walker(start=tuple(start), velocity=tuple(FOLLOW_MOVE[:2] / duration)),))


def follow(frames: int, width: int, height: int) -> list[Camera]:
    """A truck along the room at constant speed beside the walker of `follow_set`, turning 2
    degrees as it goes, as a hand-held tracking shot drifts (the cameras only)."""
    from scenes.moves import _track, intrinsics  # moves imports this module's names lazily

    s = np.linspace(0.0, 1.0, frames)[:, None]  # constant speed: the walker keeps pace
    eyes = FOLLOW_EYE + s * FOLLOW_MOVE
    targets = eyes + np.array([6.0, 0.1, -0.5]) + s * np.array([0.0, -6.0 * np.tan(np.radians(2.0)), 0.0])
    return _track(eyes, targets, intrinsics(width, height))


def walkers(frames: int, width: int, height: int) -> list[Camera]:
    """A truck to the right past the walker's path, looking down the room (the cameras only)."""
    from scenes.moves import _ramp, _track, intrinsics  # moves imports this module's names lazily

    s = _ramp(frames)[:, None]
    eyes = np.array([-3.9, -0.8, 1.45]) + s * np.array([0.2, 1.6, 0.0])
    targets = np.array([3.0, 0.6, 0.5]) + s * np.array([0.0, -1.2, 0.0])
    return _track(eyes, targets, intrinsics(width, height))


@functools.lru_cache(maxsize=4)
def _walker_textures(seed: int, size: tuple[float, float, float]) -> list[MipTexture]:
    shape = Walker(size=size).at(0.0)
    return [MipTexture(make_texture(*shape.face_extent(f), Style(COAT if f < 4 else PAINT, stamps=3.0),
                                    seed=(seed, 2 << 20, f)))
            for f in range(shape.n_faces)]
