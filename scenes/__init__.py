"""Procedural test scenes whose answer is known: a textured room, camera moves, clips on disk.

Rendered by this package's own ray caster (never by the splat rasterizer, so tests built on
these scenes are not circular), with exact z-depth per pixel and the true cameras.

    from scenes import ProceduralSet, make_clip, write_ground_truth_scene
    clip = make_clip("dolly", "build/shot")          # shot.mp4, frames/, depth.npz, cameras.json
    scene_dir = write_ground_truth_scene("orbit", "build/scene")   # loads with splatcine.load_scene

Moves (`NAMES`): dolly, truck, orbit, pan, static, moving (a ball crosses the room; masks),
walkers (a person-sized walker and a ball cross it; masks), chase (the pan
while they cross: a negative whose movers alone show parallax), passing (a still camera while a
train-sized box passes close in front, 86% of the frame: a negative whose largest rigid
motion is the mover), follow (a tracking shot: the camera walks beside the walker, which holds still
in its frame), cut (three shots; `Clip.cuts`).
"""

from __future__ import annotations

from scenes.clip import Clip, back_project, load_clip, make_clip, set_for, write_ground_truth_scene
from scenes.moves import NAMES, cameras_for, cut, dolly, intrinsics, moving, orbit, pan, static
from scenes.moves import truck
from scenes.world import PIVOT, Mover, ProceduralSet, RenderLayers

__all__ = [
    "NAMES",
    "PIVOT",
    "Clip",
    "Mover",
    "ProceduralSet",
    "RenderLayers",
    "back_project",
    "cameras_for",
    "cut",
    "dolly",
    "intrinsics",
    "load_clip",
    "make_clip",
    "moving",
    "orbit",
    "pan",
    "set_for",
    "static",
    "truck",
    "write_ground_truth_scene",
]
